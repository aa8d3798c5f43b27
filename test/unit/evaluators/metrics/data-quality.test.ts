import { describe, expect, it } from 'vitest';
import { createRng } from '../../../../evaluators/metrics/stats.ts';
import {
  binnedCodes,
  classBalanceOf,
  cramersV,
  proxiesOf,
  representationOf,
  type ColumnData,
} from '../../../../evaluators/metrics/data-quality.ts';

const column = (name: string, values: string[], codes: number[], nums?: number[]): ColumnData => ({
  name,
  values,
  codes: Int32Array.from(codes),
  nums: Float64Array.from(nums ?? codes.map(() => Number.NaN)),
  missing: codes.filter((c) => c < 0).length,
  nonNumeric: 0,
});

describe('data quality', () => {
  it("Cramér's V is 1 for a perfect association and 0 for independence", () => {
    expect(cramersV(Int32Array.from([0, 0, 1, 1]), Int32Array.from([1, 1, 0, 0]))).toBeCloseTo(1, 12);
    expect(cramersV(Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 0, 1]))).toBeCloseTo(0, 12);
    expect(cramersV(Int32Array.from([0, 0]), Int32Array.from([0, 1]))).toBeNull();
  });
  it('flags numeric and categorical proxies of a sensitive attribute', () => {
    const sex = column('sex', ['f', 'm'], [0, 0, 0, 1, 1, 1]);
    const height = column('height', [], [-1, -1, -1, -1, -1, -1], [150, 155, 160, 180, 185, 190]);
    const color = column('color', ['r', 'g'], [0, 1, 0, 1, 0, 1]);
    const found = proxiesOf(
      [
        { column: height, numeric: true },
        { column: color, numeric: false },
      ],
      [sex],
      0.5,
    );
    expect(found.map((p) => [p.feature, p.flagged])).toEqual([
      ['height', true],
      ['color', false],
    ]);
  });
  it("gives Cramér's V of each feature–attribute pair, whether attributes are counted jointly or apart", () => {
    const rng = createRng(9);
    const n = 500;
    const categorical = (name: string, k: number): ColumnData =>
      column(
        name,
        Array.from({ length: k }, (_, i) => `${name}${i}`),
        Array.from({ length: n }, () => Math.floor(rng() * (k + 1)) - 1),
      );
    const age = column(
      'age',
      [],
      Array.from({ length: n }, () => -1),
      Array.from({ length: n }, () => (rng() < 0.1 ? Number.NaN : 18 + Math.floor(rng() * 60))),
    );
    const features = [
      { column: age, numeric: true },
      { column: categorical('job', 4), numeric: false },
    ];
    // Few categories: one joint table; 120³ joint codes: a table per attribute.
    for (const sensitive of [
      [categorical('sex', 2), categorical('race', 5)],
      [categorical('a', 120), categorical('b', 120), categorical('c', 120)],
    ]) {
      const expected = features.flatMap((f) =>
        sensitive.map((s) => cramersV(binnedCodes(f.column, f.numeric).codes, s.codes)),
      );
      expect(proxiesOf(features, sensitive, 0.5).map((p) => p.cramers_v)).toEqual(expected);
    }
  });
  it('bins a numeric column without any value as all missing', () => {
    // A column declared numeric that holds no number, or is absent from the data.
    const empty = column('x', [], [-1, -1, -1], [Number.NaN, Number.NaN, Number.NaN]);
    expect(binnedCodes(empty, true)).toEqual({ codes: Int32Array.from([-1, -1, -1]), bound: 1 });
    const sex = column('sex', ['f', 'm'], [0, 1, 1]);
    expect(proxiesOf([{ column: empty, numeric: true }], [sex], 0.5)).toEqual([
      { feature: 'x', sensitive: 'sex', cramers_v: null, method: 'quantile_bins', flagged: false },
    ]);
  });
  it('class balance and representation', () => {
    expect(classBalanceOf(Int8Array.from([1, 0, 0, -1]))).toEqual({
      positive: 1,
      negative: 2,
      missing: 1,
      positive_share: 1 / 3,
    });
    expect(representationOf(column('g', ['b', 'a'], [0, 1, 1, -1]))).toEqual({
      a: { count: 2, share: 2 / 3 },
      b: { count: 1, share: 1 / 3 },
    });
  });
  it('represents a group named __proto__ as an own key, so that the shares add up to 1', () => {
    const shares = representationOf(column('g', ['A', '__proto__'], [0, 1, 1, 1]));
    expect(Object.keys(shares)).toEqual(['A', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(shares, '__proto__')?.value).toEqual({ count: 3, share: 0.75 });
    expect(JSON.parse(JSON.stringify(shares))).toEqual({
      A: { count: 1, share: 0.25 },
      ['__proto__']: { count: 3, share: 0.75 },
    });
  });
});
