import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultSpec, compasSpec, loadMatrix } from '../../../evaluators/fixtures/datasets.ts';
import { ADULT_TEST, ADULT_TRAIN, COMPAS_CSV } from '../../../evaluators/fixtures/generate.ts';
import { logisticOnnx, mlpOnnx } from '../../../evaluators/fixtures/models.ts';
import { encodeModel, FLOAT, INT64 } from '../../../evaluators/fixtures/onnx-writer.ts';
import { trainLogistic, trainMlp } from '../../../evaluators/fixtures/train.ts';
import { evaluate, type EvaluationProgress } from '../../../evaluators/index.ts';
import type { Cell } from '../../../evaluators/readers/rows.ts';

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

type Reason = { feature: string; value: Cell; baseline: Cell; contribution: number };
type Notice = { row: number; score: number; decision: number; reasons: Reason[] };
type Explained = {
  reasons: {
    baseline: Record<string, Cell>;
    rows: Notice[];
    unscorable: Record<string, number>;
    baseline_from: { decision: string; rows: number };
    adverse?: { rows: number; rows_without_reasons: number; unscorable: Record<string, number> };
  };
};

/** evaluate() with adverse-action reasons, and the lines it gave. */
async function withReasons(model: string, data: string, spec: object) {
  let lines = '';
  const { evidence } = await evaluate({
    model,
    data,
    spec: { metrics: ['explainability'], ...spec },
    executionProvider: 'cpu',
    onAdverseReasons: async (chunk) => void (lines += chunk),
  });
  const notices = lines
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Notice);
  return { evidence, explained: evidence.explainability as Explained, notices };
}

/** Probabilities [1 − p, p] of p = sigmoid(logit), the nodes that compute `logit` given. */
function sigmoidModel(
  name: string,
  inputs: { name: string; elemType: number }[],
  initializers: { name: string; data: number[] }[],
  nodes: Parameters<typeof encodeModel>[0]['nodes'],
): Uint8Array {
  return encodeModel({
    name,
    inputs: inputs.map((i) => ({ ...i, shape: ['N', 1] })),
    outputs: [{ name: 'probabilities', shape: ['N', 2] }],
    initializers: [{ name: 'one', dims: [1], data: [1] }, ...initializers.map((i) => ({ ...i, dims: [1] }))],
    nodes: [
      ...nodes,
      { op: 'Sigmoid', inputs: ['logit'], outputs: ['p1'] },
      { op: 'Sub', inputs: ['one', 'p1'], outputs: ['p0'] },
      { op: 'Concat', inputs: ['p0', 'p1'], outputs: ['probabilities'], attributes: { axis: 1 } },
    ],
  });
}

describe('the baseline of the reasons', () => {
  /**
   * p = sigmoid(0.6 × priors_count − 0.05 × age), both int64 inputs, and 100 rows of them: priors_count 0..9
   * and age 20..69, each repeated.
   */
  const intInputs = async (): Promise<{ model: string; data: string }> => {
    const model = path.join(dir, 'int-inputs.onnx');
    await writeFile(
      model,
      sigmoidModel(
        'int_inputs',
        [
          { name: 'age', elemType: INT64 },
          { name: 'priors_count', elemType: INT64 },
        ],
        [
          { name: 'wa', data: [-0.05] },
          { name: 'wp', data: [0.6] },
        ],
        [
          { op: 'Cast', inputs: ['age'], outputs: ['af'], attributes: { to: FLOAT } },
          { op: 'Cast', inputs: ['priors_count'], outputs: ['pf'], attributes: { to: FLOAT } },
          { op: 'Mul', inputs: ['af', 'wa'], outputs: ['a'] },
          { op: 'Mul', inputs: ['pf', 'wp'], outputs: ['p'] },
          { op: 'Add', inputs: ['a', 'p'], outputs: ['logit'] },
        ],
      ),
    );
    const data = path.join(dir, 'int-inputs.csv');
    const lines = ['age,priors_count'];
    for (let i = 0; i < 100; i++) lines.push(`${20 + (i % 50)},${i % 10}`);
    await writeFile(data, `${lines.join('\n')}\n`);
    return { model, data };
  };

  it('is a value an integer input can hold, so that every reset is scored', async () => {
    // Both medians of intInputs' data are half-way (4.5, 44.5): values an int64 input cannot take, which left
    // every reset unscored and all 60 rows given the adverse decision without a reason.
    const { model, data } = await intInputs();
    const { evidence, explained, notices } = await withReasons(model, data, {
      features: [
        { column: 'age', input: 'age' },
        { column: 'priors_count', input: 'priors_count' },
      ],
      prediction: { output: 'probabilities', threshold: 0.5 },
      explainability: { adverse_decision: 'positive', top_reasons: 2 },
    });
    const { baseline } = explained.reasons;
    expect(
      Number.isInteger(baseline.age) && Number.isInteger(baseline.priors_count),
      JSON.stringify(baseline),
    ).toBe(true);
    expect(explained.reasons.unscorable).toEqual({ age: 0, priors_count: 0 });
    expect(explained.reasons.adverse!.unscorable).toEqual({ age: 0, priors_count: 0 });
    expect(evidence.warnings).toBeUndefined();
    expect(notices).toHaveLength(explained.reasons.adverse!.rows);
    expect(notices.length).toBeGreaterThan(0);
    for (const notice of notices) {
      // More priors than the baseline's push the score up: a reason of every such row.
      const priors = notice.reasons.find((r) => r.feature === 'priors_count');
      if (notice.row % 10 > (baseline.priors_count as number))
        expect(priors, JSON.stringify(notice)).toBeDefined();
      for (const r of notice.reasons) expect(r.contribution).toBeGreaterThan(0);
    }
  });

  it('counts, by feature, the resets the model cannot score, and says so, rather than drop them unseen', async () => {
    // p = sigmoid(x × (d − 5) / (d − 5)): d takes 3 and 7 alike, so its median is 5, where the model gives NaN.
    const model = path.join(dir, 'nan-at-baseline.onnx');
    await writeFile(
      model,
      sigmoidModel(
        'nan_at_baseline',
        [
          { name: 'x', elemType: FLOAT },
          { name: 'd', elemType: FLOAT },
        ],
        [{ name: 'five', data: [5] }],
        [
          { op: 'Sub', inputs: ['d', 'five'], outputs: ['dm'] },
          { op: 'Div', inputs: ['dm', 'dm'], outputs: ['unit'] },
          { op: 'Mul', inputs: ['x', 'unit'], outputs: ['logit'] },
        ],
      ),
    );
    const data = path.join(dir, 'nan-at-baseline.csv');
    const lines = ['x,d'];
    for (let i = 0; i < 200; i++) lines.push(`${i % 2 ? 2 : -2},${(i >> 1) % 2 ? 3 : 7}`);
    await writeFile(data, `${lines.join('\n')}\n`);
    const { evidence, explained, notices } = await withReasons(model, data, {
      features: [
        { column: 'x', input: 'x' },
        { column: 'd', input: 'd' },
      ],
      prediction: { output: 'probabilities', threshold: 0.5 },
      explainability: { adverse_decision: 'positive' },
    });
    expect(explained.reasons.baseline.d).toBe(5);
    expect(explained.reasons.unscorable).toEqual({ x: 0, d: explained.reasons.rows.length });
    expect(explained.reasons.adverse).toMatchObject({ rows: 100, unscorable: { x: 0, d: 100 } });
    expect(notices).toHaveLength(100);
    for (const notice of notices) expect(notice.reasons.map((r) => r.feature)).toEqual(['x']);
    expect(evidence.warnings).toEqual([
      expect.stringContaining(`rows explained`),
      expect.stringContaining('of the 100 rows given the positive decision'),
    ]);
    expect(evidence.warnings![1]).toContain('d (to 5): 100');
  });

  it('is the profile of a favourable outcome, so that a row turned down has a reason where it differs from it', async () => {
    // The fixture logistic regression on adult, as generate.ts trains it; income at most 50K is adverse. Over
    // every row, the baseline was the average applicant, whom the model also turns down: 692 of the 13,206
    // rows it turned down resembled that profile and got no reason at all.
    const spec = adultSpec();
    const model = path.join(dir, 'adult-logistic.onnx');
    await writeFile(
      model,
      logisticOnnx(trainLogistic(await loadMatrix(ADULT_TRAIN, spec), { iterations: 200 }), {
        metadata: { dataset: 'adult' },
      }),
    );
    const { evidence, explained, notices } = await withReasons(model, ADULT_TEST, {
      ...spec,
      data: { ...spec.data, skip_lines: 1 },
      explainability: { adverse_decision: 'negative', top_reasons: 4 },
    });
    const { reasons } = explained;
    // The rows of the sample the model gave more than 50K.
    expect(reasons.baseline_from.decision).toBe('positive');
    expect(reasons.baseline_from.rows).toBeGreaterThan(0);
    expect(reasons.baseline_from.rows).toBeLessThan(
      (evidence.explainability as { sample_rows: number }).sample_rows,
    );
    expect(reasons.baseline['education-num']).toBeGreaterThan(10);
    expect(reasons.baseline['marital-status']).toBe('Married-civ-spouse');
    expect(notices).toHaveLength(reasons.adverse!.rows);
    const empty = notices.filter((n) => n.reasons.length === 0).length;
    expect(reasons.adverse!.rows_without_reasons).toBe(empty);
    expect(empty).toBeLessThan(notices.length / 100);
    for (const notice of notices) {
      expect(notice.decision).toBe(0);
      for (const r of notice.reasons) {
        expect(r.contribution).toBeLessThan(0);
        expect(['sex', 'race']).not.toContain(r.feature);
      }
    }
  });

  it('falls back to every sampled row when none got the favourable decision, and says so', async () => {
    // At threshold 0 every row gets the positive (adverse) decision; some then resemble the baseline, the
    // medians of every row, and have no reason: counted, and named in warnings.
    const { model, data } = await intInputs();
    const { evidence, explained, notices } = await withReasons(model, data, {
      features: [
        { column: 'age', input: 'age' },
        { column: 'priors_count', input: 'priors_count' },
      ],
      prediction: { output: 'probabilities', threshold: 0 },
      explainability: { adverse_decision: 'positive' },
    });
    expect(explained.reasons.baseline_from).toEqual({ decision: 'any', rows: 100 });
    expect(explained.reasons.baseline).toEqual({ age: 44, priors_count: 4 });
    const empty = notices.filter((n) => n.reasons.length === 0).length;
    expect(empty).toBeGreaterThan(0);
    expect(explained.reasons.adverse).toMatchObject({ rows: 100, rows_without_reasons: empty });
    expect(evidence.warnings).toEqual([
      'explainability.reasons.baseline: none of the 100 sampled rows was given the negative (favourable) decision; the baseline is taken over all of them',
      `explainability.reasons.adverse.rows_without_reasons: ${empty} of the 100 rows given the positive decision have no reason: no feature, reset alone to its baseline, moves their score away from that decision`,
    ]);
  });
});
