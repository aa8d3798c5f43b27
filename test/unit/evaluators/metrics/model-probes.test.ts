import { describe, expect, it } from 'vitest';
import {
  counterfactualFlips,
  numericBaseline,
  permutationImportance,
  perturbationSensitivity,
  topReasons,
  type Predict,
} from '../../../../evaluators/metrics/model-probes.ts';
import type { Row } from '../../../../evaluators/readers/rows.ts';

// A transparent scoring function stands in for a model here: these tests check the probes' arithmetic.
const byGroup: Predict = async (rows) => Float64Array.from(rows, (r) => (r.g === 'a' ? 0.9 : 0.1));
const byX: Predict = async (rows) => Float64Array.from(rows, (r) => ((r.x as number) > 5 ? 0.8 : 0.2));
const byX01: Predict = async (rows) => Float64Array.from(rows, (r) => (r.x === 1 ? 0.9 : 0.1));
const rows: Row[] = Array.from({ length: 10 }, (_, i) => ({ g: i % 2 ? 'a' : 'b', x: i, y: 100 - i }));

describe('model probes', () => {
  it('counterfactual flip rate when the sensitive attribute is swapped', async () => {
    const r = await counterfactualFlips(rows, 'g', ['a', 'b'], byGroup, 0.5);
    expect(r.flip_rate).toBe(1);
    expect(r.swaps).toEqual({
      a: { b: { rows: 5, flip_rate: 1 } },
      b: { a: { rows: 5, flip_rate: 1 } },
    });
    expect(r.mean_abs_score_change).toBeCloseTo(0.8, 12);
    expect((await counterfactualFlips(rows, 'g', ['a', 'b'], byX, 0.5)).flip_rate).toBe(0);
  });
  it('keeps swaps between values that spell each other with a separator apart', async () => {
    const tricky: Row[] = [{ g: 'a->b' }, { g: 'a' }];
    const r = await counterfactualFlips(tricky, 'g', ['a->b', 'a', 'b->c', 'c'], byGroup, 0.5);
    // Joined with '->', a->b swapped to c and a swapped to b->c would be one key: a->b->c.
    expect(r.swaps['a->b']!['c']).toEqual({ rows: 1, flip_rate: 0 });
    expect(r.swaps['a']!['b->c']).toEqual({ rows: 1, flip_rate: 1 });
  });
  it('leaves out and counts the variants a model cannot score, instead of averaging NaN', async () => {
    // NaN is what the runner gives a row it cannot read: a category swapped into a numeric feature, or a
    // value pushed to infinity by noise of an infinite spread.
    const byNumber: Predict = async (batch) =>
      Float64Array.from(batch, (r) =>
        r.g === 'unknown' || !Number.isFinite(r.x) ? Number.NaN : String(r.g) === '1' ? 0.9 : 0.1,
      );
    const numbers: Row[] = rows.map((r, i) => ({ ...r, g: i % 2 }));
    const counterfactual = await counterfactualFlips(numbers, 'g', ['0', '1', 'unknown'], byNumber, 0.5);
    expect(counterfactual).toMatchObject({ rows: 10, flip_rate: 1, unscorable: 10 });
    expect(counterfactual.mean_abs_score_change).toBeCloseTo(0.8, 12);
    expect(counterfactual.swaps).toMatchObject({ '0': { '1': { rows: 5 } }, '1': { '0': { rows: 5 } } });
    expect(Object.keys(counterfactual.swaps['0']!)).toEqual(['1']);
    const noise = [{ column: 'x', std: Infinity }];
    expect(await perturbationSensitivity(numbers, noise, byNumber, 0.5, 0.1, 3)).toMatchObject({
      rows: 10,
      flip_rate: null,
      mean_abs_score_change: null,
      max_abs_score_change: null,
      unscorable: 10,
    });
    const oddUnscorable: Predict = async (batch) =>
      Float64Array.from(batch, (r) => ((r.x as number) % 2 ? Number.NaN : (r.x as number) > 5 ? 0.8 : 0.2));
    for (const labels of [Int8Array.from(rows, () => 1), null]) {
      const importance = await permutationImportance(rows, ['x'], labels, oddUnscorable, 0.5, 2, 1);
      expect(Number.isFinite(importance.features[0]!.importance)).toBe(true);
      expect(importance.unscorable).toBeGreaterThan(0);
    }
  });
  it('perturbation sensitivity is zero for a model that ignores the perturbed feature', async () => {
    const r = await perturbationSensitivity(rows, [{ column: 'y', std: 3 }], byX, 0.5, 0.1, 3);
    expect(r).toMatchObject({ flip_rate: 0, mean_abs_score_change: 0, max_abs_score_change: 0 });
  });
  it('permutation importance is zero for an unused feature and positive for the used one', async () => {
    const labels = Int8Array.from(rows, (r) => ((r.x as number) > 5 ? 1 : 0));
    const r = await permutationImportance(rows, ['x', 'y'], labels, byX, 0.5, 5, 1);
    expect(r.features[0]!.feature).toBe('x');
    expect(r.features[0]!.importance).toBeGreaterThan(0);
    expect(r.features[1]).toEqual({ feature: 'y', importance: 0, std: 0 });
  });
  it('measures the accuracy drop over labelled rows only, as scikit-learn sees only rows with a y', async () => {
    // One labelled row (x = 1, label 1, scored 0.9: right) among three unlabelled ones (x = 0). A shuffle
    // either leaves its 1 with it (loss 0) or moves it away (the row scores 0.1: loss 1 over 1 labelled row),
    // whatever the seed. So every loss is 0 or 1, and importance p with std √(p(1 − p)), the spread of 0s and
    // 1s; dividing by the 4 scored rows instead would give losses of 0 or 1/4.
    const sample: Row[] = [{ x: 1 }, { x: 0 }, { x: 0 }, { x: 0 }];
    const labels = Int8Array.of(1, -1, -1, -1);
    const repeats = 40;
    const { features } = await permutationImportance(sample, ['x'], labels, byX01, 0.5, repeats, 7);
    const { importance, std } = features[0]!;
    expect(importance).toBeGreaterThan(0);
    const moved = importance! * repeats;
    expect(moved).toBeCloseTo(Math.round(moved), 9);
    expect(std).toBeCloseTo(Math.sqrt(importance! * (1 - importance!)), 12);
  });
  it('gives no importance (null, not 0) when no row could be measured', async () => {
    const unlabelled = await permutationImportance(
      [{ x: 1 }, { x: 0 }],
      ['x'],
      Int8Array.of(-1, -1),
      byX01,
      0.5,
      3,
      1,
    );
    expect(unlabelled.features).toEqual([{ feature: 'x', importance: null, std: null }]);
    for (const labels of [new Int8Array(0), null]) {
      const empty = await permutationImportance([], ['x', 'y'], labels, byX01, 0.5, 3, 1);
      expect(empty.features).toEqual([
        { feature: 'x', importance: null, std: null },
        { feature: 'y', importance: null, std: null },
      ]);
    }
  });
  it('top reasons name the feature that moved the decision', async () => {
    const { rows: explained, unscorable } = await topReasons(
      [{ g: 'a', x: 9, y: 1 }],
      ['x', 'y'],
      { x: 0, y: 0 },
      byX,
      0.5,
      2,
    );
    const [reason] = explained;
    expect(unscorable).toEqual({ x: 0, y: 0 });
    expect(reason!.decision).toBe(1);
    expect(reason!.reasons).toEqual([
      { feature: 'x', value: 9, baseline: 0, contribution: expect.closeTo(0.6, 12) },
    ]);
  });
  it('gives a numeric feature read from text as the number its baseline is', async () => {
    const byText: typeof byX = async (rs) => byX(rs.map((r) => ({ ...r, x: Number(r.x) })));
    const {
      rows: [reason],
    } = await topReasons([{ x: '9', c: 'b' }], ['x', 'c'], { x: 0, c: 'a' }, byText, 0.5, 2);
    expect(reason!.reasons).toEqual([
      { feature: 'x', value: 9, baseline: 0, contribution: expect.closeTo(0.6, 12) },
    ]);
  });
  it('takes a baseline an integer input can hold: the lower median, and for a bool the mode', () => {
    // An even count of whole values: the median is half-way, 4.5, which no int64 or int32 input takes.
    const counts = Float64Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    expect(numericBaseline(counts, 'float')).toBe(4.5);
    expect(numericBaseline(counts, 'integer')).toBe(4);
    // Values no integer input takes (an unscorable row's 3.5) are no candidates.
    expect(numericBaseline(Float64Array.of(1, 3.5, 3.5, 3.5, 7, 8), 'integer')).toBe(7);
    expect(numericBaseline(Float64Array.of(0, 0, 1, 1, 1), 'bool')).toBe(1);
    expect(numericBaseline(Float64Array.of(0, 1), 'bool')).toBe(0);
    expect(numericBaseline(Float64Array.of(2, 3), 'bool')).toBeNull();
    expect(numericBaseline(new Float64Array(0), 'float')).toBeNull();
  });
});
