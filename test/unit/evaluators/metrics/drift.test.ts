import { describe, expect, it } from 'vitest';
import {
  categoricalDrift,
  histogramOfSorted,
  jensenShannon,
  ksStatistic,
  numericDrift,
  psi,
} from '../../../../evaluators/metrics/drift.ts';

describe('drift', () => {
  it('KS statistic is the largest CDF gap', () => {
    expect(ksStatistic(Float64Array.from([1, 2, 3, 4]), Float64Array.from([3, 4, 5, 6]))).toBe(0.5);
    expect(ksStatistic(Float64Array.from([1, 2]), Float64Array.from([1, 2]))).toBe(0);
  });
  it('PSI and Jensen–Shannon distance match hand computation', () => {
    // (0.25 − 0.5)·ln(0.5) + (0.75 − 0.5)·ln(1.5)
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.2746530721670274, 12);
    expect(jensenShannon([50, 50], [25, 75])).toBeCloseTo(0.22089576884901735, 12);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(psi([0, 0], [1, 1])).toBeNull();
  });
  it('chi-square test of two categorical samples', () => {
    const d = categoricalDrift(
      new Map([
        ['a', 30],
        ['b', 70],
      ]),
      new Map([
        ['a', 50],
        ['b', 50],
      ]),
    );
    expect(d.statistic).toBeCloseTo(8.333333333333334, 9);
    expect(d.df).toBe(1);
    expect(d.p_value).toBeCloseTo(0.003892417122778627, 6); // df 1: erfc(sqrt(x/2))
    expect(d.binning.categories).toEqual(['a', 'b']);
  });
  it('numeric drift records its binning and ignores missing values', () => {
    const ref = Float64Array.from({ length: 100 }, (_, i) => i);
    const d = numericDrift(ref, Float64Array.from([...ref, Number.NaN]), 4);
    expect(d.statistic).toBe(0);
    expect(d.psi).toBe(0);
    // numpy.quantile(range(100), [0.25, 0.5, 0.75]): each bin holds 25 of the 100 values.
    expect(d.binning.edges).toEqual([24.75, 49.5, 74.25]);
    expect(d.current_count).toBe(100);
  });
  it('cuts the reference into bins of equal shares at its quantiles, as numpy interpolates them', () => {
    const ref = Float64Array.from({ length: 40 }, (_, i) => i);
    const { edges } = numericDrift(ref, ref, 10).binning;
    expect(edges).toHaveLength(9);
    expect(edges[0]).toBeCloseTo(3.9, 12); // numpy.quantile(range(40), 0.1)
    expect([...histogramOfSorted(ref, edges)]).toEqual(Array.from({ length: 10 }, () => 4));
  });
  it('puts a value equal to an edge in the bin below it, and says so', () => {
    const ref = Float64Array.from([1, 2, 3, 4]);
    const { edges, closed } = numericDrift(ref, ref, 2).binning;
    expect(edges).toEqual([2.5]);
    expect(closed).toBe('right');
    expect([...histogramOfSorted(Float64Array.from([2, 2.5, 3]), edges)]).toEqual([2, 1]);
  });
  it('is null where a sample is empty', () => {
    const d = numericDrift(Float64Array.from([1, 2]), new Float64Array(0));
    expect(d.statistic).toBeNull();
    expect(d.p_value).toBeNull();
    expect(d.p_value_method).toBeNull();
  });
  it('gives small samples the exact KS p-value, as scipy ks_2samp does, and says which it gave', () => {
    // 1..10 against 6..15: D = 1/2 (at 5 and at 10). Exact for n = m = 10: 2 (C(20, 5) − 1) / C(20, 10).
    const ref = Float64Array.from({ length: 10 }, (_, i) => i + 1);
    const d = numericDrift(
      ref,
      ref.map((x) => x + 5),
      2,
    );
    expect(d).toMatchObject({ statistic: 0.5, p_value_method: 'exact' });
    expect(d.p_value).toBeCloseTo(31006 / 184756, 14);
    // 4,000 values a side pass the exact method's bound: the asymptotic Kolmogorov form.
    const big = Float64Array.from({ length: 4000 }, (_, i) => i);
    expect(numericDrift(big, big).p_value_method).toBe('asymptotic');
  });
});
