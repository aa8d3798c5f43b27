import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compasSpec, loadMatrix } from '../../../evaluators/fixtures/datasets.ts';
import { COMPAS_CSV } from '../../../evaluators/fixtures/generate.ts';
import { mlpOnnx } from '../../../evaluators/fixtures/models.ts';
import { trainMlp } from '../../../evaluators/fixtures/train.ts';
import { evaluate, type EvaluationProgress } from '../../../evaluators/index.ts';

// The model probes (robustness, explainability) on real models: the fixture MLP trained on COMPAS as
// evaluators/fixtures/generate.ts trains it.
let dir: string;
let compasMlp: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-model-probes-'));
  const matrix = await loadMatrix(COMPAS_CSV, compasSpec());
  compasMlp = path.join(dir, 'compas-mlp.onnx');
  await writeFile(compasMlp, mlpOnnx(trainMlp(matrix, { hidden: 8, epochs: 15 }), { dataset: 'compas' }));
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the model probes stop when the evaluation is stopped', () => {
  // 10,000 rows × 100 shuffles × 8 features: about two minutes of inference on two cores, checked only once it
  // was done before.
  const heavy = compasSpec({ metrics: ['explainability'], explainability: { sample: 10_000, repeats: 100 } });

  it('stops permutation importance at the time limit, within a batch', async () => {
    const started = Date.now();
    await expect(
      evaluate({
        model: compasMlp,
        data: COMPAS_CSV,
        spec: heavy,
        executionProvider: 'cpu',
        limits: { timeoutMs: 1500 },
      }),
    ).rejects.toMatchObject({ code: 'EVAL_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('stops the probes and the adverse-action pass on a cancel, within a batch', async () => {
    // The probes are cancelled a while into their phase, not as it starts, when a check of its own sees it; the
    // adverse-action pass, which takes less than that, when it reports its first batch.
    const adverse = compasSpec({
      metrics: ['explainability'],
      explainability: { adverse_decision: 'positive' },
    });
    for (const [phase, spec, delay] of [
      ['metrics', heavy, 300],
      ['reasons', adverse, 0],
    ] as const) {
      const cancel = new AbortController();
      let cancelledAt = 0;
      const onProgress = (p: EvaluationProgress): void => {
        if (p.phase !== phase || cancelledAt !== 0) return;
        cancelledAt = -1;
        const stop = (): void => {
          cancelledAt = Date.now();
          cancel.abort();
        };
        if (delay === 0) stop();
        else setTimeout(stop, delay);
      };
      await expect(
        evaluate({
          model: compasMlp,
          data: COMPAS_CSV,
          spec,
          executionProvider: 'cpu',
          signal: cancel.signal,
          onProgress,
        }),
      ).rejects.toMatchObject({ code: 'EVAL_ABORTED' });
      expect(cancelledAt, phase).toBeGreaterThan(0);
      expect(Date.now() - cancelledAt, phase).toBeLessThan(2000);
    }
  });
});

describe('each probing family draws its own sample', () => {
  type Probed = {
    robustness?: { sample_rows: number; perturbation: { rows: number } };
    explainability: {
      sample_rows: number;
      permutation_importance: { rows: number };
      reasons: { rows: { row: number }[] };
    };
  };
  const run = async (extra: Parameters<typeof compasSpec>[0]) => {
    const { evidence } = await evaluate({
      model: compasMlp,
      data: COMPAS_CSV,
      spec: compasSpec(extra),
      executionProvider: 'cpu',
    });
    return { probed: evidence as unknown as Probed, seeds: evidence.seeds };
  };

  it('of its own size and seed, whatever the other family asks for', async () => {
    const both = await run({
      metrics: ['robustness', 'explainability'],
      robustness: { sample: 2000, seed: 1 },
      explainability: { sample: 50, seed: 9 },
    });
    expect(both.probed.robustness!.sample_rows).toBe(2000);
    expect(both.probed.robustness!.perturbation.rows).toBe(2000);
    expect(both.probed.explainability.sample_rows).toBe(50);
    expect(both.probed.explainability.permutation_importance.rows).toBe(50);
    expect(both.seeds).toMatchObject({
      robustness_sample: 1,
      perturbation: 1,
      explainability_sample: 9,
      permutation: 9,
    });
    // The explained rows are explainability's, the same with robustness asked for or not, at any seed of its.
    const alone = await run({
      metrics: ['explainability'],
      robustness: { sample: 50, seed: 2 },
      explainability: { sample: 50, seed: 9 },
    });
    expect(alone.probed.explainability).toEqual(both.probed.explainability);
    const reseeded = await run({ metrics: ['explainability'], explainability: { sample: 50, seed: 10 } });
    expect(reseeded.probed.explainability.reasons.rows).not.toEqual(both.probed.explainability.reasons.rows);
  });
});

describe('the rows the evidence explains', () => {
  it('are a seeded pick of the whole sample, not its first slots, which lean to the first rows of the file', async () => {
    // A reservoir of 500 of COMPAS's 7,214 rows keeps row i in slot i (i < 500) with chance 500 / 7,214, and
    // any later row with chance 1 / 7,214: the first 10 slots held one of the file's first 10 rows 0.69 times
    // a run; a uniform pick of 10 rows holds one 0.014 times.
    let early = 0;
    for (let seed = 0; seed < 10; seed++) {
      const { evidence } = await evaluate({
        model: compasMlp,
        data: COMPAS_CSV,
        spec: compasSpec({ metrics: ['explainability'], explainability: { seed, repeats: 1 } }),
        executionProvider: 'cpu',
      });
      const rows = (evidence.explainability as { reasons: { rows: { row: number }[] } }).reasons.rows.map(
        (r) => r.row,
      );
      expect(rows).toHaveLength(10);
      expect(new Set(rows).size).toBe(10);
      expect(rows).toEqual([...rows].sort((a, b) => a - b));
      expect(evidence.seeds.reason_rows).toEqual(expect.any(Number));
      early += rows.filter((row) => row < 10).length;
    }
    expect(early).toBeLessThanOrEqual(1);
  });
});
