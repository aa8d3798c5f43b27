import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultSpec, loadMatrix } from '../../../evaluators/fixtures/datasets.ts';
import { ADULT_TEST, ADULT_TRAIN, COMPAS_CSV } from '../../../evaluators/fixtures/generate.ts';
import { logisticOnnx } from '../../../evaluators/fixtures/models.ts';
import { trainLogistic } from '../../../evaluators/fixtures/train.ts';
import type { Evidence } from '../../../evaluators/index.ts';
import { ARBITER_BIN, runCli, type CliResult } from '../../support/cli.ts';

// COMPAS as ProPublica scored it: "high risk" is score_text Medium or High (../shared/datasets/compas).
// The spec names no prediction column: --prediction-column supplies it.
const COMPAS_SPEC = `
label: { column: two_year_recid, positive: 1 }
prediction: { positive: [Medium, High] }
sensitive: [race, sex]
`;
// The sha256 of compas-scores-two-years.csv, from ../shared/datasets/compas/README.md.
const COMPAS_SHA256 = 'c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d';

/** An error as the CLI must report it: one line on stderr, exit code 2, no stack trace. */
function expectOneLineError(result: CliResult, ...fragments: string[]): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^arbiter: /);
  for (const fragment of fragments) expect(lines[0]).toContain(fragment);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** `arbiter evaluate` on COMPAS, predictions from score_text, with these further arguments. */
const compas = (args: string[]) =>
  runCli(['evaluate', '--prediction-column', 'score_text', '--data', COMPAS_CSV, ...args]);

describe('arbiter evaluate', () => {
  let dir: string;
  let compasSpec: string;
  let adultModel: string;
  let adultSpecFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-evaluate-cli-'));
    compasSpec = path.join(dir, 'compas.yaml');
    await writeFile(compasSpec, COMPAS_SPEC);
    // A logistic regression on adult, written as ONNX the way evaluators/fixtures/generate.ts writes its
    // fixtures (only this one model: training the whole set takes longer than every test here).
    const spec = adultSpec();
    const weights = trainLogistic(await loadMatrix(ADULT_TRAIN, spec), { iterations: 200 });
    adultModel = path.join(dir, 'adult-logistic.onnx');
    await writeFile(adultModel, logisticOnnx(weights, { metadata: { dataset: 'adult' } }));
    // adult.test's first line is not data.
    adultSpecFile = path.join(dir, 'adult.spec.json');
    await writeFile(adultSpecFile, JSON.stringify({ ...spec, data: { ...spec.data, skip_lines: 1 } }));
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  /** `arbiter evaluate` of the adult logistic regression on adult.test, with these further arguments. */
  const adult = (args: string[]) =>
    runCli(['evaluate', '--model', adultModel, '--data', ADULT_TEST, ...args]);

  it('evaluates COMPAS predictions from a column and reproduces ProPublica’s false positive rates', async () => {
    const out = path.join(dir, 'compas-evidence.json');
    const result = await compas(['--spec', compasSpec, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    // stderr is not a terminal here: no progress bar, nothing at all.
    expect(result.stderr).toBe('');
    expect(existsSync(out)).toBe(true);
    const bytes = await readFile(out);
    const evidence = JSON.parse(bytes.toString('utf8')) as Evidence;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(result.stdout).toContain(`wrote ${out}: 7214 rows, sha256 ${sha256}`);
    expect(result.stdout).toContain('predictions: from data column score_text (no model run)');
    expect(result.stdout).not.toContain('undefined');

    expect(evidence.schema).toBe('arbiter.evidence/v1');
    expect(evidence.rows).toBe(7214);
    expect(evidence.subject.dataset_sha256).toBe(COMPAS_SHA256);
    expect(evidence.subject.spec_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(evidence.runtime).toEqual({ engine: 'none (predictions from a column)' });
    // The same figures test/integration/evaluators/evaluate.test.ts asserts (ProPublica's table).
    const race = evidence.fairness!.race!.groups;
    expect(race['African-American']).toMatchObject({
      count: 3696,
      confusion_matrix: { tn: 990, fp: 805, fn: 532, tp: 1369 },
    });
    expect(race['African-American']!.fpr!.toFixed(4)).toBe('0.4485');
    expect(race['African-American']!.fnr!.toFixed(4)).toBe('0.2799');
    expect(race.Caucasian!.fpr!.toFixed(4)).toBe('0.2345');
    expect(race.Caucasian!.fnr!.toFixed(4)).toBe('0.4772');
    expect(evidence.performance!.confusion_matrix).toEqual({ tn: 2681, fp: 1282, fn: 1216, tp: 2035 });
  });

  it('says on stderr what looks like a typo in the spec, and records it in the evidence', async () => {
    const spec = path.join(dir, 'compas-typo.yaml');
    await writeFile(spec, COMPAS_SPEC.replace('positive: [Medium, High]', 'positive: [medium, high]'));
    const out = path.join(dir, 'compas-typo.json');
    const result = await compas(['--spec', spec, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    const warning =
      'spec.prediction.positive: no value of column "score_text" in the data matches ["medium","high"]';
    expect(result.stderr).toBe(`warning: ${warning}\n`);
    const evidence = JSON.parse(await readFile(out, 'utf8')) as Evidence;
    expect(evidence.warnings).toEqual([warning]);
  });
  // Four runs of the CLI, two over all of COMPAS.
  it(
    'gives the same bytes for the same inputs and the same --generated-at',
    { timeout: 90_000 },
    async () => {
      const run = (out: string) =>
        compas([
          '--spec',
          compasSpec,
          '--generated-at',
          '2026-12-01T09:00:00Z',
          '--out',
          path.join(dir, out),
        ]);
      for (const out of ['first.json', 'second.json']) expect((await run(out)).code).toBe(0);
      const first = await readFile(path.join(dir, 'first.json'));
      expect((await readFile(path.join(dir, 'second.json'))).equals(first)).toBe(true);
      expect(JSON.parse(first.toString('utf8')).generated_at).toBe('2026-12-01T09:00:00.000Z');
      // Not a time at all, and a day February lacks (which Date would roll over into March 2).
      for (const time of ['yesterday', '2026-02-30T00:00:00Z']) {
        const bad = await compas([
          '--spec',
          compasSpec,
          '--generated-at',
          time,
          '--out',
          path.join(dir, 'bad.json'),
        ]);
        expectOneLineError(bad, '--generated-at');
      }
    },
  );

  it('fills in the column for a spec whose prediction has only a score, and refuses a different column', async () => {
    const spec = path.join(dir, 'compas-score.yaml');
    await writeFile(
      spec,
      'label: { column: two_year_recid, positive: 1 }\nprediction: { score: decile_score }\nsensitive: [race]\n',
    );
    const out = path.join(dir, 'compas-score-evidence.json');
    const base = ['evaluate', '--data', COMPAS_CSV, '--spec', spec, '--out', out];
    const ok = await runCli([...base, '--prediction-column', 'score_text']);
    expect(ok.code, ok.stderr).toBe(0);
    const evidence = JSON.parse(await readFile(out, 'utf8')) as Evidence;
    expect(evidence.rows).toBe(7214);
    expect(evidence.performance!.roc_auc).toBeGreaterThan(0.6);

    // With a threshold, the score alone gives the predictions: no flag needed.
    await writeFile(
      spec,
      'label: { column: two_year_recid, positive: 1 }\nprediction: { score: decile_score, threshold: 5 }\n',
    );
    const scored = await runCli(['evaluate', '--data', COMPAS_CSV, '--spec', spec, '--out', out]);
    expect(scored.code, scored.stderr).toBe(0);
    expect(scored.stdout).toContain('predictions: data column decile_score at or above 5 (no model run)');
    expect((JSON.parse(await readFile(out, 'utf8')) as Evidence).performance!.confusion_matrix).toEqual({
      tn: 2681,
      fp: 1282,
      fn: 1216,
      tp: 2035,
    });

    const named = path.join(dir, 'compas-named.yaml');
    await writeFile(named, 'prediction: { column: score_text, positive: [High] }\nsensitive: [race]\n');
    expectOneLineError(
      await runCli([
        'evaluate',
        '--data',
        COMPAS_CSV,
        '--spec',
        named,
        '--out',
        out,
        '--prediction-column',
        'decile_score',
      ]),
      '--prediction-column decile_score',
      'spec.prediction.column (score_text)',
    );
  });

  it('evaluates an ONNX model on adult and records the runtime', async () => {
    const out = path.join(dir, 'adult-evidence.json');
    const result = await adult(['--spec', adultSpecFile, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const evidence = JSON.parse(await readFile(out, 'utf8')) as Evidence;
    expect(evidence.rows).toBe(16281);
    expect(evidence.runtime.engine).toBe('onnxruntime-node');
    expect(['cpu', 'cuda']).toContain(evidence.runtime.execution_provider);
    expect(evidence.subject.model_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(evidence.performance!.accuracy).toBeGreaterThan(0.8);
    const { version, execution_provider: provider, device } = evidence.runtime;
    expect(result.stdout).toContain(
      `runtime: onnxruntime-node ${version}, execution provider ${provider}, device ${device}`,
    );
  });

  it('writes the adverse-action reasons of every adverse row with --reasons, pinned by the evidence', async () => {
    // In adult, the positive class is the high income: the negative decision is the adverse one.
    const spec = path.join(dir, 'adult-adverse.spec.json');
    const base = JSON.parse(await readFile(adultSpecFile, 'utf8')) as Record<string, unknown>;
    await writeFile(
      spec,
      JSON.stringify({ ...base, explainability: { adverse_decision: 'negative', top_reasons: 2 } }),
    );
    const out = path.join(dir, 'adult-adverse-evidence.json');
    const reasonsFile = path.join(dir, 'adult-reasons.jsonl');
    const result = await adult(['--spec', spec, '--out', out, '--reasons', reasonsFile]);
    expect(result.code, result.stderr).toBe(0);
    const evidence = JSON.parse(await readFile(out, 'utf8')) as Evidence;
    const { adverse } = (
      evidence.explainability as { reasons: { adverse: { decision: string; rows: number; sha256: string } } }
    ).reasons;
    const bytes = await readFile(reasonsFile);
    expect(adverse.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const lines = bytes.toString('utf8').trimEnd().split('\n');
    // Every row the model scored below the threshold, and no other.
    const { tn, fn } = evidence.performance!.confusion_matrix as { tn: number; fn: number };
    expect(adverse).toMatchObject({ decision: 'negative', rows: tn + fn });
    expect(lines).toHaveLength(tn + fn);
    const notices = lines.map(
      (line) => JSON.parse(line) as { row: number; decision: number; reasons: unknown[] },
    );
    expect(
      notices.every(
        (n, i) => n.decision === 0 && n.reasons.length <= 2 && (i === 0 || n.row > notices[i - 1]!.row),
      ),
    ).toBe(true);
    expect(existsSync(`${reasonsFile}.partial`)).toBe(false);
    expect(result.stdout).toContain(
      `wrote ${reasonsFile}: reasons for the ${tn + fn} rows given the negative decision, sha256 ${adverse.sha256}`,
    );

    // The same evaluation without --reasons gives the same evidence: the reasons are a function of its inputs.
    const again = path.join(dir, 'adult-adverse-again.json');
    const plain = await adult(['--spec', spec, '--out', again]);
    expect(plain.code, plain.stderr).toBe(0);
    const first = JSON.parse(await readFile(out, 'utf8')) as Evidence;
    const second = JSON.parse(await readFile(again, 'utf8')) as Evidence;
    expect(second.explainability).toEqual(first.explainability);
  });

  it('stops on Ctrl-C with one line and exit code 130, leaving no file behind', async () => {
    const spec = path.join(dir, 'adult-interrupted.spec.json');
    const base = JSON.parse(await readFile(adultSpecFile, 'utf8')) as Record<string, unknown>;
    await writeFile(spec, JSON.stringify({ ...base, explainability: { adverse_decision: 'negative' } }));
    const out = path.join(dir, 'interrupted-evidence.json');
    const reasonsFile = path.join(dir, 'interrupted-reasons.jsonl');
    const args = [
      '--model',
      adultModel,
      '--data',
      ADULT_TEST,
      '--spec',
      spec,
      '--out',
      out,
      '--reasons',
      reasonsFile,
    ];
    const child = spawn(process.execPath, [ARBITER_BIN, 'evaluate', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // The .partial file is opened once Ctrl-C is handled, before the evaluation starts.
    while (!existsSync(`${reasonsFile}.partial`) && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toBe('arbiter: interrupted\n');
    for (const file of [out, reasonsFile, `${reasonsFile}.partial`])
      expect(existsSync(file), file).toBe(false);
  });

  it('ends at once on a second Ctrl-C, with exit code 130 and no file behind', async () => {
    // A heavy probe: 10,000 rows × 100 shuffles of every feature. The first Ctrl-C stops it within a batch; the
    // second does not wait for that, and the process exits 130 itself rather than die of the signal.
    const spec = path.join(dir, 'adult-twice.spec.json');
    const base = JSON.parse(await readFile(adultSpecFile, 'utf8')) as Record<string, unknown>;
    await writeFile(
      spec,
      JSON.stringify({
        ...base,
        explainability: { adverse_decision: 'negative', sample: 10_000, repeats: 100 },
      }),
    );
    const out = path.join(dir, 'twice-evidence.json');
    const reasonsFile = path.join(dir, 'twice-reasons.jsonl');
    const args = ['--model', adultModel, '--data', ADULT_TEST, '--spec', spec, '--out', out];
    const child = spawn(process.execPath, [ARBITER_BIN, 'evaluate', ...args, '--reasons', reasonsFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    while (!existsSync(`${reasonsFile}.partial`) && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited, stderr).toEqual([130, null]);
    expect(stderr).toBe('arbiter: interrupted\n');
    for (const file of [out, reasonsFile, `${reasonsFile}.partial`])
      expect(existsSync(file), file).toBe(false);
  });

  it('refuses --reasons without a model or without spec.explainability.adverse_decision, writing nothing', async () => {
    const out = path.join(dir, 'never-reasons.json');
    const reasonsFile = path.join(dir, 'never-reasons.jsonl');
    const [noModel, noDecision] = await Promise.all([
      compas(['--spec', compasSpec, '--out', out, '--reasons', reasonsFile]),
      adult(['--spec', adultSpecFile, '--out', out, '--reasons', reasonsFile]),
    ]);
    expectOneLineError(noModel, '--reasons needs --model');
    expectOneLineError(noDecision, 'spec.explainability.adverse_decision');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(reasonsFile)).toBe(false);
  });

  it('exits 2 naming the field when the spec is invalid', async () => {
    const spec = path.join(dir, 'invalid.yaml');
    await writeFile(spec, `${COMPAS_SPEC}min_group_size: 0\n`);
    const out = path.join(dir, 'invalid-evidence.json');
    const result = await compas(['--spec', spec, '--out', out]);
    expectOneLineError(result, 'spec.min_group_size');
    expect(existsSync(out)).toBe(false);
  });

  it('exits 2 with one line for --model with --prediction-column, a missing --data, and unreadable data', async () => {
    const out = path.join(dir, 'never.json');
    const [both, noData, noFile] = await Promise.all([
      runCli([
        'evaluate',
        '--model',
        adultModel,
        '--prediction-column',
        'score_text',
        '--data',
        COMPAS_CSV,
        '--spec',
        compasSpec,
        '--out',
        out,
      ]),
      runCli(['evaluate', '--prediction-column', 'score_text', '--spec', compasSpec, '--out', out]),
      runCli([
        'evaluate',
        '--prediction-column',
        'score_text',
        '--data',
        path.join(dir, 'no-such.csv'),
        '--spec',
        compasSpec,
        '--out',
        out,
      ]),
    ]);
    expectOneLineError(both, '--model and --prediction-column');
    expectOneLineError(noData, '--data');
    expectOneLineError(noFile, 'cannot read data file', 'no-such.csv');
    expect(existsSync(out)).toBe(false);
  });
});
