import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADULT_TEST,
  ADULT_TRAIN,
  COMPAS_CSV,
  generateFixtures,
  type Fixtures,
} from '../../../evaluators/fixtures/generate.ts';
import {
  EVIDENCE_SCHEMA,
  evaluate,
  EvaluatorError,
  type EvaluationProgress,
  type MetricFamily,
} from '../../../evaluators/index.ts';
import { logisticOnnx } from '../../../evaluators/fixtures/models.ts';
import { encodeModel, FLOAT, INT64 } from '../../../evaluators/fixtures/onnx-writer.ts';
import { readRows, type Row } from '../../../evaluators/readers/rows.ts';
import { hostileOnnx } from '../../support/evaluators/hostile.ts';

// ProPublica's published table (compas-analysis, "Compas Analysis.ipynb" cells 75–77), as quoted in
// ../shared/datasets/compas/README.md: all 7,214 rows, prediction = score_text Medium or High.
const COMPAS_SPEC = `
label: { column: two_year_recid, positive: 1 }
prediction: { column: score_text, positive: [Medium, High], score: decile_score }
sensitive: [race, sex]
intersections: [[race, sex]]
min_group_size: 30
bootstrap: { resamples: 200, seed: 7 }
`;

let dir: string;
let fixtures: Fixtures;
const validate = new Ajv({ strict: false }).compile(EVIDENCE_SCHEMA);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-evaluate-'));
  fixtures = await generateFixtures(dir);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('evaluate on COMPAS with predictions from a column', () => {
  it("reproduces ProPublica's table to 4 decimals", async () => {
    const { evidence } = await evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC });
    expect(evidence.rows).toBe(7214);
    expect(evidence.performance!.confusion_matrix).toEqual({ tn: 2681, fp: 1282, fn: 1216, tp: 2035 });
    const race = evidence.fairness!.race!.groups;
    expect(race['African-American']).toMatchObject({
      count: 3696,
      confusion_matrix: { tn: 990, fp: 805, fn: 532, tp: 1369 },
    });
    expect(race.Caucasian).toMatchObject({
      count: 2454,
      confusion_matrix: { tn: 1139, fp: 349, fn: 461, tp: 505 },
    });
    const table = [
      [race['African-American']!, 0.4485, 0.2799],
      [race.Caucasian!, 0.2345, 0.4772],
    ] as const;
    for (const [group, fpr, fnr] of table) {
      expect(group.fpr!.toFixed(4)).toBe(fpr.toFixed(4));
      expect(group.fnr!.toFixed(4)).toBe(fnr.toFixed(4));
    }
    const all = evidence.performance!.confusion_matrix;
    expect((all.fp / (all.fp + all.tn)).toFixed(4)).toBe('0.3235');
    expect((all.fn / (all.fn + all.tp)).toFixed(4)).toBe('0.3740');
    expect(evidence.fairness!.race!.excluded_groups).toEqual([
      {
        group: 'Native American',
        count: 18,
        reason: 'count 18 is below min_group_size 30',
        from: ['demographic_parity', 'equalized_odds', 'impact_ratio'],
      },
    ]);
    expect(evidence.fairness!['race&sex']!.groups['African-American&Male']!.count).toBeGreaterThan(0);
    expect(evidence.skipped.map((s) => s.metric)).toEqual(
      expect.arrayContaining(['performance.log_loss', 'drift', 'robustness', 'explainability', 'security']),
    );
  });

  it('derives the same predictions from the decile score alone at a threshold (Medium and High are 5–10)', async () => {
    const fromScore = COMPAS_SPEC.replace(
      'prediction: { column: score_text, positive: [Medium, High], score: decile_score }',
      'prediction: { score: decile_score, threshold: 5 }',
    );
    const { evidence } = await evaluate({ data: COMPAS_CSV, spec: fromScore });
    expect(evidence.performance!.confusion_matrix).toEqual({ tn: 2681, fp: 1282, fn: 1216, tp: 2035 });
    expect(evidence.fairness!.race!.groups['African-American']!.fpr!.toFixed(4)).toBe('0.4485');
    expect(evidence.performance!.roc_auc).toBeGreaterThan(0.5);
    await expect(
      evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC.replace('score: decile_score', 'threshold: 5') }),
    ).rejects.toMatchObject({ code: 'EVAL_SPEC_INVALID' });
    await expect(
      evaluate({
        data: COMPAS_CSV,
        spec: fromScore.replace(
          'prediction: { score: decile_score, threshold: 5 }',
          'prediction: { score: decile_score }',
        ),
      }),
    ).rejects.toMatchObject({ code: 'EVAL_SPEC_INVALID' });
  });

  it('gives the same bytes and sha256 for the same inputs, valid against the evidence schema', async () => {
    const progress: EvaluationProgress[] = [];
    const a = await evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC, onProgress: (p) => progress.push(p) });
    const b = await evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC });
    expect(a.json).toBe(b.json);
    expect(a.sha256).toBe(b.sha256);
    expect(JSON.parse(a.json)).toEqual(a.evidence);
    expect(validate(a.evidence)).toBe(true);
    expect(a.evidence.subject.dataset_sha256).toBe(
      'c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d',
    );
    expect(progress.at(-1)).toEqual({ phase: 'done', rows: 7214 });
    const reseeded = await evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC.replace('seed: 7', 'seed: 8') });
    expect(reseeded.sha256).not.toBe(a.sha256);
  });

  it('without a label computes selection rates, LL144 and drift, and lists what it skipped', async () => {
    const spec = {
      prediction: { column: 'score_text', positive: ['Medium', 'High'], score: 'decile_score' },
      sensitive: ['race', 'sex'],
      drift: { features: ['age', 'c_charge_degree'] },
    };
    const { evidence } = await evaluate({ data: COMPAS_CSV, reference: COMPAS_CSV, spec });
    expect(evidence.performance).toBeUndefined();
    expect(evidence.fairness!.sex!.groups.Female).toEqual({
      count: 1395,
      selection_rate: expect.any(Number),
      impact_ratio: expect.any(Number),
    });
    expect(evidence.fairness!.sex!.ll144.scoring).not.toBeNull();
    // The scoring rates' split point, the full sample's median score (§5-301(c)(1)), computed here apart.
    const scores: number[] = [];
    for await (const row of readRows(COMPAS_CSV)) scores.push(Number(row.decile_score));
    scores.sort((a, b) => a - b);
    const half = scores.length / 2;
    const median = scores.length % 2 ? scores[Math.floor(half)]! : (scores[half - 1]! + scores[half]!) / 2;
    for (const attribute of ['race', 'sex'])
      expect(evidence.fairness![attribute]!.ll144.median_score).toBe(median);
    expect(evidence.drift!.features.age).toMatchObject({ test: 'ks', statistic: 0, psi: 0 });
    expect(evidence.drift!.features.c_charge_degree).toMatchObject({ test: 'chi_square', statistic: 0 });
    expect(evidence.skipped.map((s) => s.metric)).toEqual(
      expect.arrayContaining(['performance', 'fairness.equalized_odds', 'fairness.tpr_fpr_fnr_ppv_accuracy']),
    );
  });
});

describe('positive values', () => {
  it('match as pandas writes them: True for true, 1.0 for 1, in CSV and JSON Lines', async () => {
    const csv = path.join(dir, 'pandas.csv');
    await writeFile(csv, 'sex,y,p\nF,True,1.0\nF,False,1.0\nM,True,0.0\nM,TRUE,1.0\nM,false,0.0\n');
    const jsonl = path.join(dir, 'pandas.jsonl');
    await writeFile(
      jsonl,
      [
        { sex: 'F', y: true, p: 1 },
        { sex: 'F', y: false, p: 1 },
        { sex: 'M', y: true, p: 0 },
        { sex: 'M', y: true, p: 1 },
        { sex: 'M', y: false, p: 0 },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    for (const [data, positive] of [
      [csv, true],
      [csv, 'true'],
      [jsonl, 1],
      [jsonl, true],
    ] as const) {
      const { evidence } = await evaluate({
        data,
        spec: {
          label: { column: 'y', positive },
          prediction: { column: 'p', positive: 1 },
          sensitive: ['sex'],
          min_group_size: 1,
        },
      });
      expect(evidence.performance!.confusion_matrix, `${data} ${positive}`).toEqual({
        tp: 2,
        fp: 1,
        fn: 1,
        tn: 1,
      });
    }
  });

  it('compare text exactly when it is not a number or a boolean', async () => {
    const csv = path.join(dir, 'text.csv');
    await writeFile(csv, 'sex,y,p\nF,yes,High\nF,no,high\nM,yes,Low\n');
    const { evidence } = await evaluate({
      data: csv,
      spec: {
        label: { column: 'y', positive: 'yes' },
        prediction: { column: 'p', positive: ['High'] },
        sensitive: ['sex'],
        min_group_size: 1,
      },
    });
    expect(evidence.performance!.confusion_matrix).toEqual({ tp: 1, fp: 0, fn: 1, tn: 1 });
  });
});

describe('rows with a missing label, attribute or prediction', () => {
  it('are counted per field in rows_missing, not silently dropped', async () => {
    const data = path.join(dir, 'gaps.csv');
    await writeFile(data, 'sex,label,y_pred\nFemale,1,1\nFemale,,0\n,0,1\nMale,1,\nMale,0,0\nMale,1,1\n');
    const { evidence } = await evaluate({
      data,
      spec: {
        label: { column: 'label', positive: 1 },
        prediction: { column: 'y_pred', positive: 1 },
        sensitive: ['sex'],
        min_group_size: 1,
      },
    });
    expect(evidence.rows).toBe(6);
    expect(evidence.rows_missing).toEqual({ prediction: 1, label: 1, sex: 1 });
  });

  it('count a scored row without a decision in the LL144 scoring rates, and a decided one without a score in the selection rates', async () => {
    // A: 4 rows scored 0.9, two of them not decided; 2 decided rows without a score. B: 4 rows scored 0.1.
    // The median of the 8 scores is 0.5: A scores above it 4 of 4, B 0 of 4.
    const data = path.join(dir, 'undecided.csv');
    await writeFile(
      data,
      'g,decision,score\nA,,0.9\nA,,0.9\nA,1,0.9\nA,0,0.9\nA,1,\nA,1,\nB,0,0.1\nB,0,0.1\nB,1,0.1\nB,0,0.1\n',
    );
    const { evidence } = await evaluate({
      data,
      spec: {
        prediction: { column: 'decision', positive: 1, score: 'score' },
        sensitive: ['g'],
        min_group_size: 1,
        metrics: ['fairness'],
      },
    });
    const ll144 = evidence.fairness!.g!.ll144;
    expect(ll144).toMatchObject({ total: 8, unknown_count: 0, scoring_total: 8, scoring_unknown_count: 0 });
    expect(ll144.median_score).toBe(0.5);
    expect(ll144.selection.A).toMatchObject({ count: 4, selection_rate: 0.75 });
    expect(ll144.scoring!.A).toEqual({
      count: 4,
      scoring_rate: 1,
      impact_ratio: 1,
      excluded_under_2pct: false,
    });
    expect(ll144.scoring!.B).toMatchObject({ count: 4, scoring_rate: 0, impact_ratio: 0 });
    expect(evidence.fairness!.g!.groups.A!.count).toBe(4);
  });

  it('count a sensitive value that names the unknown category as missing for fairness, and na_values as missing everywhere', async () => {
    // Male 15 of 30 selected, Female 12 of 30 (0.8 of Male's rate); "Unknown", the most selected (6 of 10), and
    // "Not provided" are LL144's unknown category. "Prefer not to say" is missing only because na_values says so.
    const blocks: [sex: string, rows: number, selected: number][] = [
      ['Male', 30, 15],
      ['Female', 30, 12],
      ['Unknown', 10, 6],
      ['Not provided', 3, 3],
      ['Prefer not to say', 2, 2],
      ['', 2, 0],
    ];
    const lines = ['sex,pred'];
    for (const [sex, rows, selected] of blocks)
      for (let i = 0; i < rows; i++) lines.push(`${sex},${i < selected ? 1 : 0}`);
    const data = path.join(dir, 'unknown-sex.csv');
    await writeFile(data, `${lines.join('\n')}\n`);
    // The list adds to the default spellings: the empty cells stay missing without naming them.
    const read = { na_values: ['Prefer not to say'] };
    const { evidence } = await evaluate({
      data,
      reference: data,
      spec: {
        prediction: { column: 'pred', positive: 1 },
        sensitive: ['sex'],
        min_group_size: 1,
        drift: { features: ['sex'] },
        metrics: ['fairness', 'data_quality', 'drift'],
        data: read,
        reference_data: read,
      },
    });
    expect(validate(evidence)).toBe(true);
    const sex = evidence.fairness!.sex!;
    expect(Object.keys(sex.groups)).toEqual(['Female', 'Male']);
    expect([sex.missing, sex.unknown_values]).toEqual([17, ['Not provided', 'Unknown']]);
    expect(sex.four_fifths.reference_group).toBe('Male');
    expect(sex.groups.Female!.impact_ratio).toBe(0.8);
    expect(sex.ll144).toMatchObject({ total: 77, unknown_count: 17, excluded_under_2pct: [] });
    // The data holds these values: data quality and drift see them as they are, and only na_values as missing.
    expect(evidence.rows_missing.sex).toBe(4);
    const values = ['Female', 'Male', 'Not provided', 'Unknown'];
    const { representation } = evidence.data_quality as { representation: Record<string, object> };
    expect(Object.keys(representation.sex!)).toEqual(values);
    expect(evidence.drift!.features.sex).toMatchObject({ binning: { categories: values } });
  });

  it('add na_values to the default missing spellings: an empty label, prediction or attribute stays missing', async () => {
    const data = path.join(dir, 'na-added.csv');
    await writeFile(
      data,
      'y,pred,grp\n1,1,a\n,1,a\nNA,1,a\n0,0,b\n1,,b\n1,1,Prefer not to say\n1,1,\n0,0,null\n',
    );
    const spec = {
      label: { column: 'y', positive: 1 },
      prediction: { column: 'pred', positive: 1 },
      sensitive: ['grp'],
      min_group_size: 1,
      metrics: ['performance' as const, 'fairness' as const],
    };
    const plain = (await evaluate({ data, spec })).evidence;
    const added = (await evaluate({ data, spec: { ...spec, data: { na_values: ['Prefer not to say'] } } }))
      .evidence;
    // Rows without a label or a prediction are left out of performance either way, not read as class 0.
    for (const evidence of [plain, added]) {
      expect(evidence.performance).toMatchObject({
        accuracy: 1,
        confusion_matrix: { tn: 2, fp: 0, fn: 0, tp: 3 },
      });
      expect(evidence.rows_missing).toMatchObject({ label: 2, prediction: 1 });
    }
    expect(Object.keys(plain.fairness!.grp!.groups)).toEqual(['Prefer not to say', 'a', 'b']);
    expect(Object.keys(added.fairness!.grp!.groups)).toEqual(['a', 'b']);
    expect([plain.fairness!.grp!.missing, added.fairness!.grp!.missing]).toEqual([2, 3]);
  });
});

describe('drift of a column whose values are not all numbers', () => {
  const csv = (ages: string[]): string =>
    'y,p,age\n' + ages.map((age, i) => `${i % 2},${(i >> 1) % 2},${age}`).join('\n') + '\n';
  const ages = (from: number, n: number): string[] =>
    Array.from({ length: n }, (_, i) => `${from + (i % 50)}`);
  const spec = {
    label: { column: 'y', positive: 1 },
    prediction: { column: 'p' },
    drift: { features: ['age'] },
    metrics: ['drift' as const, 'data_quality' as const],
  };

  it('compares the same kind of column on both sides, judged from all the values, not the first', async () => {
    // adult's ? for an unknown value, first in the reference: the column is text there, so on both sides.
    const data = path.join(dir, 'ages.csv');
    const reference = path.join(dir, 'ages-reference.csv');
    await writeFile(data, csv(ages(20, 200)));
    await writeFile(reference, csv(['?', ...ages(60, 199)]));
    const { evidence } = await evaluate({ data, reference, spec });
    expect(evidence.drift!.features.age).toMatchObject({
      test: 'chi_square',
      reference_count: 200,
      current_count: 200,
      statistic: expect.any(Number),
    });
    // With ? read as missing in the reference, as the README says to for adult, both sides are numbers.
    const { evidence: na } = await evaluate({
      data,
      reference,
      spec: { ...spec, reference_data: { na_values: ['', '?'] } },
    });
    expect(na.drift!.features.age).toMatchObject({ test: 'ks', reference_count: 199, current_count: 200 });
    // spec.data is how the data file is read, not the reference.
    const { evidence: dataOnly } = await evaluate({
      data,
      reference,
      spec: { ...spec, data: { na_values: ['', '?'] } },
    });
    expect(dataOnly.drift!.features.age).toMatchObject({ test: 'chi_square', reference_count: 200 });
  });

  it("reads a column's declared kind from the spec's own keys: `constructor` is a column like any other", async () => {
    const data = path.join(dir, 'constructor.csv');
    await writeFile(data, csv(ages(20, 200)).replaceAll('age', 'constructor'));
    const { evidence } = await evaluate({
      data,
      reference: data,
      spec: {
        ...spec,
        drift: { features: ['constructor'] },
        data_quality: { columns: { p: 'categorical' as const } },
      },
    });
    expect(evidence.drift!.features.constructor).toMatchObject({ test: 'ks', statistic: 0 });
  });

  it('leaves infinite numbers out of the numbers, without making the column text', async () => {
    const data = path.join(dir, 'infinite.csv');
    await writeFile(data, csv([...ages(20, 34), 'Infinity', '-1e999', ...ages(20, 4)]));
    const first = await evaluate({ data, reference: data, spec });
    expect(first.evidence.drift!.features.age).toMatchObject({
      test: 'ks',
      statistic: 0,
      reference_count: 38,
      current_count: 38,
    });
    expect(first.json).toBe((await evaluate({ data, reference: data, spec })).json);
  });

  it('gives data quality for a column declared numeric that holds no number', async () => {
    const data = path.join(dir, 'no-numbers.csv');
    await writeFile(
      data,
      'y,p,g,x\n' +
        Array.from({ length: 40 }, (_, i) => `${i % 2},${(i >> 1) % 2},${i % 3 ? 'a' : 'b'},`).join('\n'),
    );
    const { evidence } = await evaluate({
      data,
      spec: {
        ...spec,
        sensitive: ['g'],
        drift: { features: ['x'] },
        data_quality: { columns: { x: 'numeric' } },
        metrics: ['data_quality'],
      },
    });
    const proxies = (
      evidence.data_quality as { proxies: { features: { feature: string; cramers_v: unknown }[] } }
    ).proxies.features;
    expect(proxies.find((p) => p.feature === 'x')).toMatchObject({ cramers_v: null });
  });
});

describe('evaluate with an ONNX model', () => {
  it('shows the fairness problem of a COMPAS model that takes race as a feature', async () => {
    const spec = {
      ...fixtures.compasMlp.spec,
      bootstrap: { resamples: 100, seed: 1 },
      drift: { features: ['age', 'race'] },
    };
    const { evidence } = await evaluate({
      model: fixtures.compasMlp.model,
      data: COMPAS_CSV,
      reference: COMPAS_CSV,
      spec,
      executionProvider: 'cpu',
    });
    expect(validate(evidence)).toBe(true);
    expect(evidence.runtime).toMatchObject({
      engine: 'onnxruntime-node',
      version: '1.29.0',
      execution_provider: 'cpu',
    });
    expect(evidence.subject.model_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(evidence.performance!.roc_auc).toBeGreaterThan(0.65);
    expect(evidence.fairness!.race!.demographic_parity_difference).toBeGreaterThan(0.2);
    expect(evidence.fairness!.race!.four_fifths.adverse_impact).toContain('Caucasian');
    const robustness = evidence.robustness as { counterfactual: { attribute: string; flip_rate: number }[] };
    expect(robustness.counterfactual.find((c) => c.attribute === 'race')!.flip_rate).toBeGreaterThan(0);
    const explain = evidence.explainability as {
      permutation_importance: { features: { feature: string }[] };
      reasons: {
        not_given_as_reasons: string[];
        baseline: Row;
        rows: { row: number; reasons: { feature: string; value: unknown }[] }[];
      };
    };
    expect(explain.permutation_importance.features[0]!.feature).toBe('priors_count');
    // The model scores by race, but an adverse-action reason never names a sensitive attribute; each row is
    // the applicant's position in the data, so a notice can be tied to them.
    expect(explain.reasons.not_given_as_reasons.sort()).toEqual(['race', 'sex']);
    expect(explain.reasons.rows).toHaveLength(10);
    const compas: Row[] = [];
    for await (const row of readRows(COMPAS_CSV)) compas.push(row);
    for (const { row, reasons } of explain.reasons.rows) {
      for (const reason of reasons) {
        expect(['race', 'sex']).not.toContain(reason.feature);
        // As the model read it: a numeric feature (its baseline a median) as a number, not the CSV's text.
        const cell = compas[row]![reason.feature];
        const numeric = typeof explain.reasons.baseline[reason.feature] === 'number';
        expect(reason.value).toEqual(numeric ? Number(cell) : cell);
      }
    }
    expect(explain.reasons.rows.flatMap((r) => r.reasons).length).toBeGreaterThan(0);
    expect(evidence.security!.findings).toEqual([]);
    expect((evidence.data_quality as { proxies: { flagged: string[] } }).proxies.flagged).toBeInstanceOf(
      Array,
    );
  });

  /** A logistic model of two numeric features, age and x. */
  const ageXModel = async (): Promise<string> => {
    const model = path.join(dir, 'age-x.onnx');
    await writeFile(
      model,
      logisticOnnx({ in: 2, out: 1, w: Float32Array.of(0.05, 1), b: Float32Array.of(-2) }),
    );
    return model;
  };
  /** Its spec: age is both a feature and the sensitive attribute. */
  const ageXSpec = (metrics: ('robustness' | 'explainability')[]) => ({
    label: { column: 'y', positive: 1 },
    features: ['age', 'x'],
    sensitive: ['age'],
    min_group_size: 1,
    metrics,
  });

  it('probes a model around the values it cannot score, counting them, not averaging NaN', async () => {
    // age is sensitive and a numeric feature: swapping in its one text value gives no score. x has a value
    // that overflows to infinity: its spread, which scales the perturbation, comes from the finite values.
    const model = await ageXModel();
    const data = path.join(dir, 'age-x.csv');
    const lines = ['y,age,x'];
    for (let i = 0; i < 200; i++)
      lines.push(`${i % 2},${i === 7 ? 'unknown' : 20 + (i % 50)},${i === 9 ? '1e999' : (i % 10) / 5}`);
    await writeFile(data, lines.join('\n'));
    const spec = ageXSpec(['robustness', 'explainability']);
    const result = await evaluate({ model, data, spec, executionProvider: 'cpu' });
    const robustness = result.evidence.robustness as {
      counterfactual: { rows: number; flip_rate: number; unscorable: number }[];
      perturbation: { rows: number; mean_abs_score_change: number; unscorable: number };
    };
    expect(robustness.counterfactual[0]).toMatchObject({
      rows: 198,
      flip_rate: expect.any(Number),
      unscorable: 198,
    });
    expect(robustness.perturbation).toMatchObject({
      rows: 198,
      mean_abs_score_change: expect.any(Number),
      unscorable: 0,
    });
    expect(result.json).toBe((await evaluate({ model, data, spec, executionProvider: 'cpu' })).json);
  });

  it('skips the counterfactual of a sensitive attribute of more values than it swaps in, saying so', async () => {
    const model = await ageXModel();
    const data = path.join(dir, 'age-x-wide.csv');
    const lines = ['y,age,x'];
    for (let i = 0; i < 300; i++) lines.push(`${i % 2},${18 + (i % 150)},${(i % 10) / 5}`);
    await writeFile(data, lines.join('\n'));
    const spec = ageXSpec(['robustness']);
    const { evidence } = await evaluate({ model, data, spec, executionProvider: 'cpu' });
    expect(evidence.skipped).toContainEqual({
      metric: 'robustness.counterfactual.age',
      reason:
        'age takes 150 distinct values, more than the 100 a counterfactual swaps in; a banded column (an age band, say) can be probed',
    });
    expect((evidence.robustness as { counterfactual: unknown[] }).counterfactual).toEqual([]);
  });

  it('evaluates an sklearn-shaped adult model on the test file, with the train file as reference', async () => {
    // adult.test's first line is not data; adult.data has no such line, and keeps every row.
    const spec = {
      ...fixtures.adultLogisticSklearn.spec,
      data: { ...fixtures.adultLogisticSklearn.spec.data, skip_lines: 1 },
      reference_data: fixtures.adultLogisticSklearn.spec.data,
      drift: { features: ['age', 'sex'] },
      metrics: ['performance' as const, 'fairness' as const, 'drift' as const],
    };
    const test = await evaluate({
      model: fixtures.adultLogisticSklearn.model,
      data: ADULT_TEST,
      spec,
      reference: ADULT_TRAIN,
      executionProvider: 'auto',
    });
    expect(test.evidence.rows).toBe(16281);
    expect(test.evidence.drift!.features.age).toMatchObject({ reference_count: 32561, current_count: 16281 });
    expect(test.evidence.performance!.accuracy).toBeGreaterThan(0.8);
    expect(test.evidence.fairness!.sex!.groups.Female!.selection_rate).toBeLessThan(
      test.evidence.fairness!.sex!.groups.Male!.selection_rate!,
    );
    expect((test.evidence.model as { output_used: { kind: string } }).output_used.kind).toBe('zipmap');
  });

  it('perturbs a column fed to an integer input by whole numbers, and leaves a bool input alone', async () => {
    // p = sigmoid(0.2 × (age + x + flag − 40)), with age an int64 input and flag a bool one.
    const BOOL = 9;
    const model = path.join(dir, 'integer-inputs.onnx');
    await writeFile(
      model,
      encodeModel({
        name: 'integer_inputs',
        inputs: [
          { name: 'age', elemType: INT64, shape: ['N', 1] },
          { name: 'x', elemType: FLOAT, shape: ['N', 1] },
          { name: 'flag', elemType: BOOL, shape: ['N', 1] },
        ],
        outputs: [{ name: 'probabilities', shape: ['N', 2] }],
        initializers: [
          { name: 'one', dims: [1], data: [1] },
          { name: 'c', dims: [1], data: [40] },
          { name: 'k', dims: [1], data: [0.2] },
        ],
        nodes: [
          { op: 'Cast', inputs: ['age'], outputs: ['agef'], attributes: { to: FLOAT } },
          { op: 'Cast', inputs: ['flag'], outputs: ['flagf'], attributes: { to: FLOAT } },
          { op: 'Add', inputs: ['agef', 'x'], outputs: ['ax'] },
          { op: 'Add', inputs: ['ax', 'flagf'], outputs: ['axf'] },
          { op: 'Sub', inputs: ['axf', 'c'], outputs: ['d'] },
          { op: 'Mul', inputs: ['d', 'k'], outputs: ['logit'] },
          { op: 'Sigmoid', inputs: ['logit'], outputs: ['p1'] },
          { op: 'Sub', inputs: ['one', 'p1'], outputs: ['p0'] },
          { op: 'Concat', inputs: ['p0', 'p1'], outputs: ['probabilities'], attributes: { axis: 1 } },
        ],
      }),
    );
    const data = path.join(dir, 'integer-inputs.csv');
    let csv = 'age,x,flag,y\n';
    for (let i = 0; i < 200; i++) csv += `${20 + (i % 40)},${(i % 7) / 7},${i % 3 === 0 ? 1 : 0},${i % 2}\n`;
    await writeFile(data, csv);
    const { evidence } = await evaluate({
      model,
      data,
      spec: {
        features: ['age', 'x', 'flag'],
        label: { column: 'y', positive: 1 },
        prediction: { output: 'probabilities', positive_class: 1 },
        metrics: ['robustness'],
      },
      executionProvider: 'cpu',
    });
    const { perturbation } = evidence.robustness as {
      perturbation: { features: string[]; unscorable: number; flip_rate: number | null };
    };
    expect(perturbation.features).toEqual(['age', 'x']);
    expect(perturbation.unscorable).toBe(0);
    expect(perturbation.flip_rate).not.toBeNull();
    expect(evidence.skipped).toContainEqual({
      metric: 'robustness.perturbation.flag',
      reason: 'flag feeds a bool input: noise has no meaning there',
    });
  });

  it('gives a model that outputs labels no median score and no scoring rates, and says so', async () => {
    const { evidence } = await evaluate({
      model: fixtures.adultLogisticSklearn.model,
      data: ADULT_TRAIN,
      spec: {
        ...fixtures.adultLogisticSklearn.spec,
        prediction: { output: 'label' },
        metrics: ['fairness' as const],
      },
      executionProvider: 'cpu',
    });
    const ll144 = evidence.fairness!.sex!.ll144;
    expect(ll144.median_score).toBeNull();
    expect(ll144.scoring).toBeNull();
    expect(ll144.selection.Female!.selection_rate).not.toBeNull();
    expect(evidence.skipped).toContainEqual({
      metric: 'fairness.ll144.scoring',
      reason: 'no scores to compute scoring rates',
    });
  });

  it('gives the reasons of every row given the adverse decision, for adverse-action notices', async () => {
    const spec = { ...fixtures.compasMlp.spec, explainability: { adverse_decision: 'positive' as const } };
    let lines = '';
    const phases = new Set<string>();
    const { evidence } = await evaluate({
      model: fixtures.compasMlp.model,
      data: COMPAS_CSV,
      spec,
      executionProvider: 'cpu',
      onAdverseReasons: async (chunk) => void (lines += chunk),
      onProgress: (p) => void phases.add(p.phase),
    });
    expect(phases).toContain('reasons');
    type Notice = {
      row: number;
      score: number;
      decision: number;
      reasons: { feature: string; value: unknown; baseline: unknown; contribution: number }[];
    };
    const explain = evidence.explainability as {
      reasons: { baseline: Row; rows: Notice[]; adverse: { decision: string; rows: number; sha256: string } };
    };
    const { tp, fp } = evidence.performance!.confusion_matrix as { tp: number; fp: number };
    expect(explain.reasons.adverse).toEqual({
      decision: 'positive',
      rows: tp + fp,
      sha256: createHash('sha256').update(lines).digest('hex'),
      rows_without_reasons: lines.split('\n').filter((l) => l.includes('"reasons":[]')).length,
      // Every reset to the baseline was scored.
      unscorable: Object.fromEntries(
        ['age', 'juv_fel_count', 'juv_misd_count', 'juv_other_count', 'priors_count', 'c_charge_degree'].map(
          (f) => [f, 0],
        ),
      ),
    });
    const notices = lines
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Notice);
    expect(notices).toHaveLength(tp + fp);
    const compas: Row[] = [];
    for await (const row of readRows(COMPAS_CSV)) compas.push(row);
    notices.forEach((notice, i) => {
      if (i > 0) expect(notice.row).toBeGreaterThan(notices[i - 1]!.row);
      expect(notice.decision).toBe(1);
      expect(notice.score).toBeGreaterThanOrEqual(0.5);
      expect(notice.reasons.length).toBeLessThanOrEqual(3);
      notice.reasons.forEach((reason, k) => {
        // Never a protected characteristic; each pushes the score up, the strongest first.
        expect(['race', 'sex']).not.toContain(reason.feature);
        const cell = compas[notice.row]![reason.feature];
        expect(reason.value).toEqual(typeof reason.baseline === 'number' ? Number(cell) : cell);
        expect(reason.baseline).toEqual(explain.reasons.baseline[reason.feature]);
        expect(reason.contribution).toBeGreaterThan(0);
        if (k > 0) expect(reason.contribution).toBeLessThanOrEqual(notice.reasons[k - 1]!.contribution);
      });
    });
    // The evidence's sampled rows given the adverse decision read the same in the full list.
    const byRow = new Map(notices.map((n) => [n.row, n]));
    const sampledAdverse = explain.reasons.rows.filter((r) => r.decision === 1);
    expect(sampledAdverse.length).toBeGreaterThan(0);
    for (const sampled of sampledAdverse) {
      const full = byRow.get(sampled.row)!;
      expect(full.score).toBeCloseTo(sampled.score, 5);
      expect(full.reasons.map((r) => r.feature)).toEqual(sampled.reasons.map((r) => r.feature));
    }
  });

  it('refuses adverse_decision when the spec leaves explainability out', async () => {
    await expect(
      evaluate({
        model: fixtures.compasMlp.model,
        data: COMPAS_CSV,
        spec: {
          ...fixtures.compasMlp.spec,
          metrics: ['performance'],
          explainability: { adverse_decision: 'negative' },
        },
      }),
    ).rejects.toMatchObject({
      code: 'EVAL_SPEC_INVALID',
      message: expect.stringContaining('spec.metrics leaves out explainability'),
    });
  });

  it('refuses a model that fails the security scan, without loading it', async () => {
    const model = path.join(dir, 'evil.onnx');
    await writeFile(model, hostileOnnx.externalData('../../../../etc/passwd'));
    await expect(evaluate({ model, data: COMPAS_CSV, spec: fixtures.compasMlp.spec })).rejects.toMatchObject({
      code: 'EVAL_MODEL_INVALID',
      message: expect.stringContaining('onnx.external_data_path_traversal'),
    });
  });
});

describe('a model with its weights in another file', () => {
  it('is refused with the way to embed them, though the file is harmless', async () => {
    const folder = await mkdtemp(path.join(dir, 'external-'));
    const model = path.join(folder, 'model.onnx');
    await writeFile(model, hostileOnnx.externalData('w.bin'));
    await writeFile(path.join(folder, 'w.bin'), Buffer.from(Float32Array.of(0.25, 0.5).buffer));
    await expect(
      evaluate({
        model,
        data: COMPAS_CSV,
        spec: { features: ['age', 'priors_count'] },
        executionProvider: 'cpu',
      }),
    ).rejects.toMatchObject({
      code: 'EVAL_MODEL_UNSUPPORTED',
      message: expect.stringContaining('save_as_external_data=False'),
    });
  });
});

describe('evaluate limits', () => {
  it('refuses JSON Lines whose rows name more than 100,000 distinct columns', async () => {
    // 1,001 rows of 100 keys each, every key new: not a table.
    const data = path.join(dir, 'keys.jsonl');
    const lines = Array.from({ length: 1_001 }, (_, r) =>
      JSON.stringify(
        Object.fromEntries([['p', r % 2], ...Array.from({ length: 100 }, (_, k) => [`c${r}_${k}`, 1])]),
      ),
    );
    await writeFile(data, lines.join('\n') + '\n');
    await expect(
      evaluate({ data, spec: { prediction: { column: 'p' }, metrics: ['data_quality'] } }),
    ).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('data names more than 100000 distinct columns by row'),
    });
  });

  it('stops at maxRows, maxBytes, a timeout and a cancel, with clear codes', async () => {
    await expect(
      evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC, limits: { maxRows: 5000 } }),
    ).rejects.toMatchObject({ code: 'EVAL_LIMIT_ROWS' });
    await expect(
      evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC, limits: { maxBytes: 1000 } }),
    ).rejects.toMatchObject({ code: 'EVAL_LIMIT_BYTES' });
    // Refused before any work: a folder where a file should be.
    await expect(evaluate({ data: dir, spec: COMPAS_SPEC })).rejects.toMatchObject({
      code: 'EVAL_DATA_INVALID',
      message: `cannot read data file ${dir}: is a directory`,
    });
    await expect(
      evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC, limits: { timeoutMs: 0 } }),
    ).rejects.toMatchObject({ code: 'EVAL_TIMEOUT' });
    const controller = new AbortController();
    controller.abort();
    const cancelled = evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC, signal: controller.signal });
    await expect(cancelled).rejects.toBeInstanceOf(EvaluatorError);
    await expect(cancelled).rejects.toMatchObject({ code: 'EVAL_ABORTED' });
    // Cancelled once the rows are read: the metric families check for it between them.
    const late = new AbortController();
    const afterData = evaluate({
      data: COMPAS_CSV,
      spec: COMPAS_SPEC,
      signal: late.signal,
      onProgress: (p) => p.phase === 'metrics' && late.abort(),
    });
    await expect(afterData).rejects.toMatchObject({ code: 'EVAL_ABORTED' });
  });
  it('skips a fairness bootstrap that would keep more rates than it may, saying how to fit', async () => {
    const csv = path.join(dir, 'group-a-row.csv');
    await writeFile(
      csv,
      'y,p,g\n' + Array.from({ length: 4000 }, (_, i) => `${i % 2},${(i >> 1) % 2},g${i}\n`).join(''),
    );
    const spec = (resamples: number) =>
      `label: { column: y, positive: 1 }\nprediction: { column: p, positive: 1 }\nsensitive: [g]\n` +
      `bootstrap: { resamples: ${resamples}, seed: 1 }\nmetrics: [fairness]\n`;
    // 2,000 resamples × (3 rates × 4,000 groups + 2 gaps) = 24,004,000 rates.
    const { evidence } = await evaluate({ data: csv, spec: spec(2000) });
    expect(evidence.skipped).toContainEqual({
      metric: 'fairness.bootstrap',
      reason:
        '2000 resamples of these groups would keep 24004000 rates, more than 20000000: lower spec.bootstrap.resamples',
    });
    expect(evidence.fairness!.g!.bootstrap).toBeUndefined();
    const { evidence: fits } = await evaluate({ data: csv, spec: spec(2) });
    expect(fits.fairness!.g!.bootstrap).toMatchObject({ resamples: 2 });
  });

  it('reads an infinite score as no score, and takes statistics of values near ±1.8e308 without overflow', async () => {
    const scores = path.join(dir, 'infinite-scores.csv');
    await writeFile(scores, 'y,p,s,g\n1,1,Infinity,a\n0,0,0.1,b\n1,0,1e309,a\n0,1,0.6,b\n1,1,0.7,a\n');
    const { evidence } = await evaluate({
      data: scores,
      spec: 'label: { column: y, positive: 1 }\nprediction: { column: p, positive: 1, score: s }\nsensitive: [g]\nmin_group_size: 1\n',
    });
    expect(evidence.fairness!.g!.ll144!.median_score).toBe(0.6);
    const current = path.join(dir, 'overflow-current.csv');
    const reference = path.join(dir, 'overflow-reference.csv');
    await writeFile(current, 'p,x\n1,1\n0,2\n');
    await writeFile(
      reference,
      'p,x\n' + ['-1e308', '-1e308', ...Array(9).fill('1e308')].map((x) => `1,${x}\n`).join(''),
    );
    // The reference's 10% quantile lies between -1e308 and 1e308, whose difference no double holds.
    const drifted = await evaluate({
      data: current,
      reference,
      spec: 'prediction: { column: p }\ndrift: { features: [x], bins: 20 }\nmetrics: [drift]\n',
    });
    const x = drifted.evidence.drift!.features.x as {
      statistic: number;
      psi: number;
      binning: { edges: number[] };
    };
    expect(x.binning.edges).toEqual([-1e308, 0, 1e308]);
    expect(x.statistic).toBeCloseTo(9 / 11, 12);
    expect(Number.isFinite(x.psi)).toBe(true);
    // Two scores whose sum overflows: the LL144 median is halfway between them.
    const huge = path.join(dir, 'huge-scores.csv');
    await writeFile(huge, 'y,p,s,g\n1,1,1.7e308,a\n0,0,1.5e308,b\n');
    const median = await evaluate({
      data: huge,
      spec: 'label: { column: y, positive: 1 }\nprediction: { column: p, positive: 1, score: s }\nsensitive: [g]\nmin_group_size: 1\n',
    });
    expect(median.evidence.fairness!.g!.ll144!.median_score).toBe(1.6e308);
  });

  it('rejects a spec without a prediction source', async () => {
    await expect(evaluate({ data: COMPAS_CSV, spec: { sensitive: ['race'] } })).rejects.toMatchObject({
      code: 'EVAL_SPEC_INVALID',
    });
  });
});

describe('the reference file, read as spec.reference_data says', () => {
  it('skips the lines spec.data skips in the data file only', async () => {
    // A headerless pair like adult.data / adult.test: only the test file starts with a line that is no data.
    const columns = ['age', 'sex', 'y', 'p'];
    const rows = (n: number): string =>
      Array.from(
        { length: n },
        (_, i) => `${20 + (i % 40)},${i % 3 ? 'F' : 'M'},${i % 2},${(i >> 1) % 2}\n`,
      ).join('');
    const reference = path.join(dir, 'pair.data');
    const data = path.join(dir, 'pair.test');
    await writeFile(reference, rows(50));
    await writeFile(data, '|1x3 Cross validator\n' + rows(40));
    const spec = {
      label: { column: 'y', positive: 1 },
      prediction: { column: 'p', positive: 1 },
      drift: { features: ['age', 'sex'] },
      metrics: ['drift' as const],
      data: { format: 'csv' as const, columns, skip_lines: 1 },
      reference_data: { format: 'csv' as const, columns },
    };
    const { evidence } = await evaluate({ data, reference, spec });
    expect(evidence.rows).toBe(40);
    expect(evidence.drift!.features.age).toMatchObject({ reference_count: 50, current_count: 40 });
    // Without spec.reference_data the reference is read with no options: its first row is its header.
    await expect(
      evaluate({ data, reference, spec: { ...spec, reference_data: undefined } }),
    ).rejects.toMatchObject({
      code: 'EVAL_SPEC_INVALID',
      field: 'spec.drift.features[0]',
      message: expect.stringContaining('spec.drift.features[0]: column "age" is not in the reference data'),
    });
  });
});

const JSON_COMPAS_SPEC = {
  label: { column: 'two_year_recid', positive: 1 },
  prediction: { column: 'score_text', positive: ['Medium', 'High'], score: 'decile_score' },
  sensitive: ['race', 'sex'],
  intersections: [['race', 'sex']],
};

describe('columns the spec names that the data does not hold', () => {
  const gaps = (field: string, column: string) =>
    expect.objectContaining({
      code: 'EVAL_SPEC_INVALID',
      field,
      message: expect.stringMatching(
        new RegExp(
          `^${field.replace(/[.[\]]/g, '\\$&')}: column "${column}" is not in the data \\(columns: id, name, `,
        ),
      ),
    });

  it.each([
    ['spec.sensitive[1]', 'grpp', { sensitive: ['race', 'grpp'], intersections: [] }],
    ['spec.label.column', 'yy', { label: { column: 'yy', positive: 1 } }],
    ['spec.prediction.column', 'score_txt', { prediction: { column: 'score_txt', positive: 'High' } }],
    ['spec.prediction.score', 'decile', { prediction: { column: 'score_text', score: 'decile' } }],
    ['spec.features[0]', 'agee', { features: ['agee'] }],
    ['spec.features[1].column', 'sexx', { features: ['age', { column: 'sexx', categories: ['Male'] }] }],
    ['spec.drift.features[0]', 'ageee', { drift: { features: ['ageee'] } }],
    [
      'spec.data_quality.columns.prior',
      'prior',
      { data_quality: { columns: { prior: 'numeric' as const } } },
    ],
  ])('refuses %s naming %s, before any metric is computed', async (field, column, change) => {
    await expect(evaluate({ data: COMPAS_CSV, spec: { ...JSON_COMPAS_SPEC, ...change } })).rejects.toEqual(
      gaps(field, column),
    );
  });

  it('names every absent column at once, the first as the field', async () => {
    const error = await evaluate({
      data: COMPAS_CSV,
      spec: {
        ...JSON_COMPAS_SPEC,
        label: { column: 'yy', positive: 1 },
        sensitive: ['race', 'grpp'],
        intersections: [],
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EVAL_SPEC_INVALID', field: 'spec.label.column' });
    expect((error as Error).message).toMatch(
      /^spec\.label\.column: column "yy".*; spec\.sensitive\[1\]: column "grpp"/,
    );
  });

  it('refuses a column a headerless file lacks, listing the names spec.data gave', async () => {
    const data = path.join(dir, 'headerless.csv');
    await writeFile(data, '1,F,1\n0,M,0\n');
    await expect(
      evaluate({
        data,
        spec: {
          prediction: { column: 'p' },
          sensitive: ['gender'],
          data: { format: 'csv', columns: ['y', 'sex', 'p'] },
        },
      }),
    ).rejects.toMatchObject({
      code: 'EVAL_SPEC_INVALID',
      message: 'spec.sensitive[0]: column "gender" is not in the data (columns: y, sex, p)',
    });
  });

  it('takes a JSON Lines column that only later lines hold, and refuses one that none holds', async () => {
    const data = path.join(dir, 'late-column.jsonl');
    const lines = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify(i < 4500 ? { p: i % 2 } : { p: i % 2, sex: i % 3 ? 'F' : 'M' }),
    );
    await writeFile(data, lines.join('\n'));
    const spec = { prediction: { column: 'p' }, sensitive: ['sex'], min_group_size: 1 };
    const { evidence } = await evaluate({ data, spec });
    expect(evidence.rows_missing.sex).toBe(4500);
    await expect(evaluate({ data, spec: { ...spec, sensitive: ['gender'] } })).rejects.toMatchObject({
      code: 'EVAL_SPEC_INVALID',
      message: 'spec.sensitive[0]: column "gender" is not in the data (columns: p, sex)',
    });
  });
});

describe('data without rows', () => {
  it.each([
    ['an empty file', 'empty.csv', '', {}],
    ['a header and nothing after it', 'header-only.csv', 'race,p\n', {}],
    ['a file whose lines skip_lines skips', 'skipped.csv', 'race,p\nA,1\n', { skip_lines: 2 }],
    ['an empty JSON Lines file', 'empty.jsonl', '\n\n', {}],
  ])('refuses %s', async (_what, name, text, data) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    await expect(
      evaluate({ data: file, spec: { prediction: { column: 'p' }, sensitive: ['race'], data } }),
    ).rejects.toMatchObject({
      code: 'EVAL_DATA_INVALID',
      message: expect.stringMatching(new RegExp(`^data file ${file.replace(/[.]/g, '\\.')} holds no rows`)),
    });
  });

  it('says so of the reference too', async () => {
    const empty = path.join(dir, 'empty-reference.csv');
    await writeFile(empty, 'race,p\n');
    await expect(
      evaluate({ data: COMPAS_CSV, reference: empty, spec: JSON_COMPAS_SPEC }),
    ).rejects.toMatchObject({ code: 'EVAL_DATA_INVALID', message: `reference file ${empty} holds no rows` });
  });

  it('names the part of the spec that says how to read a file whose name tells no format', async () => {
    const reference = path.join(dir, 'reference.dat');
    await writeFile(reference, 'race,p\nA,1\n');
    await expect(evaluate({ data: COMPAS_CSV, reference, spec: JSON_COMPAS_SPEC })).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: `cannot tell the format of ${reference} from its name; set spec.reference_data.format`,
    });
  });
});

describe('positive values that no row holds', () => {
  it('are no error, but a warning in the evidence, which stays canonical', async () => {
    const data = path.join(dir, 'no-positives.csv');
    await writeFile(data, 'sex,y,p\nF,no,Low\nM,no,Low\nM,yes,Low\n');
    const spec = {
      label: { column: 'y', positive: 'Yes' },
      prediction: { column: 'p', positive: ['High'] },
      sensitive: ['sex'],
      min_group_size: 1,
    };
    const first = await evaluate({ data, spec });
    expect(first.evidence).toMatchObject({
      warnings: [
        'spec.label.positive: no value of column "y" in the data matches "Yes"',
        'spec.prediction.positive: no value of column "p" in the data matches ["High"]',
      ],
    });
    expect(validate(first.evidence)).toBe(true);
    expect(first.json).toBe((await evaluate({ data, spec })).json);
    // The default positive, 1, is said to be the default.
    const { evidence } = await evaluate({
      data,
      spec: { ...spec, label: undefined, prediction: { column: 'p' } },
    });
    expect(evidence).toMatchObject({
      warnings: ['spec.prediction.positive: no value of column "p" in the data matches 1 (the default)'],
    });
    // Where positives occur, the evidence has no warnings key at all: earlier evidence keeps its bytes.
    const { evidence: clean } = await evaluate({ data: COMPAS_CSV, spec: COMPAS_SPEC });
    expect(clean).not.toHaveProperty('warnings');
  });
});

describe('unknown categories', () => {
  it('counts the data rows only: neither the reference nor the probes’ variants', async () => {
    // One-hot g (a, b) and a number x; g is c in every 10th of the 200 rows: 20 unknown.
    const model = path.join(dir, 'g-x.onnx');
    await writeFile(
      model,
      logisticOnnx({ in: 3, out: 1, w: Float32Array.of(1, -1, 0.5), b: Float32Array.of(-0.2) }),
    );
    const data = path.join(dir, 'g-x.csv');
    const lines = ['y,g,x'];
    for (let i = 0; i < 200; i++)
      lines.push(`${i % 2},${i % 10 === 0 ? 'c' : i % 3 ? 'a' : 'b'},${(i % 7) / 3}`);
    await writeFile(data, lines.join('\n'));
    const spec = {
      label: { column: 'y', positive: 1 },
      features: [{ column: 'g', categories: ['a', 'b'] }, 'x'],
      sensitive: ['g'],
      min_group_size: 1,
    };
    const unknown = async (metrics: MetricFamily[], reference?: string): Promise<unknown> => {
      const { evidence } = await evaluate({
        model,
        data,
        reference,
        spec: {
          ...spec,
          metrics,
          // The adverse-action pass scores every row once more.
          ...(metrics.includes('explainability')
            ? { explainability: { adverse_decision: 'positive' as const } }
            : {}),
        },
        executionProvider: 'cpu',
      });
      return (evidence.data_quality as { unknown_categories: number }).unknown_categories;
    };
    expect(await unknown(['data_quality'])).toBe(20);
    expect(await unknown(['data_quality', 'robustness'])).toBe(20);
    expect(await unknown(['data_quality', 'explainability'])).toBe(20);
    expect(await unknown(['data_quality', 'robustness', 'explainability', 'drift'], data)).toBe(20);
  });
});

describe('names and values of the data that are Object.prototype keys', () => {
  it('reports a group and a column named __proto__ like any other', async () => {
    // g = A on 40 rows, 14 of them selected (i % 3 = 0); g = __proto__ on 40 rows, 8 selected (i % 5 = 0).
    // The column __proto__ is missing on every fourth row.
    const lines = ['g,y,p,__proto__'];
    for (let i = 0; i < 40; i++) lines.push(`A,${i % 2},${i % 3 === 0 ? 1 : 0},${i % 4 ? i : ''}`);
    for (let i = 0; i < 40; i++) lines.push(`__proto__,${i % 2},${i % 5 === 0 ? 1 : 0},${i % 4 ? i : ''}`);
    const data = path.join(dir, 'proto.csv');
    await writeFile(data, lines.join('\n') + '\n');
    const { evidence, json } = await evaluate({
      data,
      reference: data,
      spec: {
        label: { column: 'y', positive: 1 },
        prediction: { column: 'p', positive: 1 },
        sensitive: ['g'],
        drift: { features: ['__proto__'] },
        metrics: ['fairness', 'drift', 'data_quality'],
      },
    });
    const parsed = JSON.parse(json);
    const g = parsed.fairness.g;
    expect(Object.keys(g.groups)).toEqual(['A', '__proto__']);
    expect(g.groups.__proto__).toMatchObject({ count: 40, selection_rate: 0.2 });
    expect(g.groups.__proto__.impact_ratio).toBeCloseTo(0.2 / 0.35, 12);
    expect(g.demographic_parity_difference).toBeCloseTo(0.35 - 0.2, 12);
    expect(Object.keys(g.four_fifths.groups)).toEqual(['A', '__proto__']);
    expect(Object.keys(g.ll144.selection)).toEqual(['A', '__proto__']);
    expect(parsed.data_quality.representation.g).toEqual({
      A: { count: 40, share: 0.5 },
      ['__proto__']: { count: 40, share: 0.5 },
    });
    expect(Object.hasOwn(parsed.data_quality.missing_values, '__proto__')).toBe(true);
    expect(parsed.data_quality.missing_values.__proto__).toEqual({ count: 20, share: 0.25 });
    expect(parsed.data_quality.columns.__proto__).toEqual({ missing_rate: 0.25 });
    expect(Object.hasOwn(parsed.drift.features, '__proto__')).toBe(true);
    expect(parsed.drift.features.__proto__).toMatchObject({ test: 'ks', statistic: 0, p_value: 1 });
    expect(Object.hasOwn(evidence.fairness!, 'g')).toBe(true);
  });
});

describe('a categorical column past the cap of distinct values', () => {
  it('skips what would count its categories on part of the rows, and says so in warnings', async () => {
    // id and city take 5,001 distinct values on the first 5,001 rows; then 99 rows repeat the first ones.
    const lines = ['g,id,city,y,s'];
    for (let i = 0; i < 5100; i++) {
      const k = i % 5001;
      lines.push(`${i % 2 ? 'a' : 'b'},i${k},c${k},${i % 2},${(i % 10) / 10}`);
    }
    const data = path.join(dir, 'ids.csv');
    await writeFile(data, lines.join('\n') + '\n');
    const { evidence } = await evaluate({
      data,
      reference: data,
      spec: {
        label: { column: 'y', positive: 1 },
        prediction: { score: 's', threshold: 0.5 },
        sensitive: ['g', 'id'],
        intersections: [['g', 'id']],
        drift: { features: ['city'] },
        data_quality: { columns: { city: 'categorical' } },
        metrics: ['performance', 'fairness', 'drift', 'data_quality'],
      },
    });
    const past = (column: string, source = 'data') =>
      `column "${column}" holds more than 5000 distinct values in the ${source}; the rows of the values past the first 5000 belong to no category`;
    expect(evidence.warnings).toEqual([past('id'), past('city'), past('city', 'reference data')]);
    expect(evidence.skipped).toEqual(
      expect.arrayContaining([
        { metric: 'performance.calibration.ece_by_group.id', reason: past('id') },
        { metric: 'fairness.id', reason: past('id') },
        { metric: 'fairness.g&id', reason: past('id') },
        { metric: 'drift.features.city', reason: past('city') },
        { metric: 'data_quality.representation.id', reason: past('id') },
        { metric: 'data_quality.proxies.id', reason: past('id') },
        { metric: 'data_quality.proxies.city', reason: past('city') },
      ]),
    );
    expect(Object.keys(evidence.fairness!)).toEqual(['g']);
    expect(evidence.fairness!.g!.groups.a!.count).toBe(2550);
    expect(evidence.drift!.features).toEqual({});
    const calibration = evidence.performance!.calibration as { ece_by_group: Record<string, unknown> };
    expect(Object.keys(calibration.ece_by_group)).toEqual(['g']);
    expect(Object.keys(evidence.data_quality!.representation as object)).toEqual(['g']);
  });
});
