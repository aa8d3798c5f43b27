import { describe, expect, it } from 'vitest';
import {
  chiSquareSf,
  createRng,
  erfc,
  ksAsymptoticPValue,
  ksExactPValue,
  ksPValue,
  poisson,
  quantileSorted,
  rate,
  sortPresent,
} from '../../../../evaluators/metrics/stats.ts';

describe('stats', () => {
  it('rate is null for a zero denominator', () => {
    expect(rate(0, 0)).toBeNull();
    expect(rate(1, 4)).toBe(0.25);
  });
  it('erfc matches table values', () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(erfc(1)).toBeCloseTo(0.157299207, 7);
    expect(erfc(-1)).toBeCloseTo(1.842700793, 7);
  });
  it('chi-square survival matches closed forms and tables', () => {
    expect(chiSquareSf(2, 2)).toBeCloseTo(Math.exp(-1), 12); // df 2: exp(−x/2)
    expect(chiSquareSf(3.841458820694124, 1)).toBeCloseTo(0.05, 9);
    expect(chiSquareSf(11.070497693516351, 5)).toBeCloseTo(0.05, 9);
  });
  it('asymptotic KS p-value follows the Kolmogorov distribution for large samples', () => {
    const n = 1e7;
    const en = Math.sqrt((n * n) / (2 * n));
    expect(ksAsymptoticPValue(1.36 / en, n, n)).toBeCloseTo(0.0494, 3);
    expect(ksAsymptoticPValue(1.63 / en, n, n)).toBeCloseTo(0.0098, 3);
  });
  it('asymptotic KS p-value is the Kolmogorov survival function for small statistics too', () => {
    // Q(λ) from its alternating series summed to 100,000 terms (Python), on both sides of the switch at 1.18.
    const n = 1e12;
    const en = Math.sqrt(n / 2);
    const q = (lambda: number) => ksAsymptoticPValue(lambda / (en + 0.12 + 0.11 / en), n, n);
    expect(q(0.5)).toBeCloseTo(0.9639452436648751, 12);
    expect(q(0.8)).toBeCloseTo(0.5441424115741981, 12);
    expect(q(1.17)).toBeCloseTo(0.12939004218561884, 12);
    expect(q(1.18)).toBeCloseTo(0.1234538094297657, 12);
    expect(q(2)).toBeCloseTo(0.0006709252557796953, 12);
    // Near-identical large samples: no evidence of drift at all (the truncated series gave 0.096 here).
    expect(ksAsymptoticPValue(1e-5, 100_000, 100_000)).toBe(1);
    expect(ksAsymptoticPValue(1 / 7000, 7000, 7000)).toBe(1);
  });
  it('exact KS p-value is the share of orders of the pooled values whose statistic reaches d', () => {
    // n = m: Gnedenko's closed form P(D ≥ k/n) = 2 Σ_{j≥1} (−1)^(j+1) C(2n, n − jk) / C(2n, n).
    // n = 10, k = 5: 2 (C(20, 5) − C(20, 0)) / C(20, 10) = 31006 / 184756 (scipy's ks_2samp gives 0.1678).
    expect(ksExactPValue(0.5, 10, 10)).toBeCloseTo(31006 / 184756, 14);
    // k = 6: 2 C(20, 4) / C(20, 10) = 9690 / 184756, which the asymptotic form puts below 0.05 (0.031).
    expect(ksExactPValue(0.6, 10, 10)).toBeCloseTo(9690 / 184756, 14);
    expect(ksAsymptoticPValue(0.6, 10, 10)).toBeLessThan(0.05);
    // D = 1 only when one sample lies wholly below the other: 2 of the C(7, 3) = 35 orders.
    expect(ksExactPValue(1, 3, 4)).toBeCloseTo(2 / 35, 15);
    // Every order of two against two has D ≥ 1/2 (its first value alone makes it).
    expect(ksExactPValue(0.5, 2, 2)).toBe(1);
    expect(ksExactPValue(0, 5, 7)).toBe(1);
    // A statistic a float ulp under its lattice value (1 − 2/3 computed in floats) is that value.
    expect(ksExactPValue(1 - 2 / 3, 3, 3)).toBe(ksExactPValue(1 / 3, 3, 3));
  });
  it('exact KS p-value agrees with counting every order of small samples', () => {
    // Each of the C(n+m, n) orders of the pooled values, as a bit mask (1: a value of the first sample).
    const statistics = (n: number, m: number): number[] => {
      const out: number[] = [];
      for (let mask = 0; mask < 2 ** (n + m); mask++) {
        let i = 0;
        let j = 0;
        let d = 0;
        for (let k = 0; k < n + m; k++) {
          if ((mask >> k) & 1) i++;
          else j++;
          d = Math.max(d, Math.abs(i * m - j * n));
        }
        if (i === n) out.push(d); // in units of 1 / (n·m)
      }
      return out;
    };
    for (const [n, m] of [
      [4, 6],
      [5, 5],
      [3, 8],
      [7, 2],
    ] as const) {
      const all = statistics(n, m);
      for (const d of new Set(all)) {
        const share = all.filter((x) => x >= d).length / all.length;
        expect(ksExactPValue(d / (n * m), n, m)).toBeCloseTo(share, 12);
      }
    }
  });
  it('exact KS p-value keeps its digits far in the tail', () => {
    // D = 1 for n = m = 50: 2 / C(100, 50), C(100, 50) = 100891344545564193334812497256 ≈ 1.00891e29.
    let binomial = 1;
    for (let k = 1; k <= 50; k++) binomial = (binomial * (50 + k)) / k;
    expect(binomial / 1.008913445455642e29 - 1).toBeCloseTo(0, 12);
    expect(ksExactPValue(1, 50, 50) / (2 / binomial) - 1).toBeCloseTo(0, 9);
  });
  it('KS p-value is exact up to KS_EXACT_MAX_CELLS lattice cells, and asymptotic past them', () => {
    expect(ksPValue(0.5, 10, 10)).toEqual({ p_value: ksExactPValue(0.5, 10, 10), method: 'exact' });
    expect(ksPValue(0.05, 999, 9999)).toEqual({ p_value: ksExactPValue(0.05, 999, 9999), method: 'exact' });
    expect(ksPValue(0.03, 5000, 5000)).toEqual({
      p_value: ksAsymptoticPValue(0.03, 5000, 5000),
      method: 'asymptotic',
    });
  });
  it('numpy-style linear quantiles', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
  });
  it("gives numpy's bits past the midpoint, interpolating back from the upper value as numpy's _lerp does", () => {
    // 2.7 + 1.2 * 0.9 is 3.7800000000000002; numpy computes 3.9 - 1.2 * 0.1 = 3.78.
    expect(quantileSorted([2.7, 3.9], 0.9)).toBe(3.78);
    expect(quantileSorted([2.7, 3.9], 0.1)).toBe(2.7 + (3.9 - 2.7) * 0.1);
  });
  it('interpolates between values whose difference overflows a double', () => {
    expect(quantileSorted([-1.5e308, 1.5e308], 0.5)).toBe(0);
    expect(quantileSorted([-1.5e308, 1.5e308], 0.75)).toBe(0.75e308);
    expect(quantileSorted([-1.5e308, 1.5e308], 0)).toBe(-1.5e308);
  });
  it('seeded random streams repeat', () => {
    const a = createRng(5);
    const b = createRng(5);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(createRng(6)()).not.toBe(createRng(5)());
  });
  it('Poisson samples have the right mean and variance, for small and large means', () => {
    const rng = createRng(1);
    for (const lambda of [3, 50, 20_000]) {
      const n = 20_000;
      let sum = 0;
      let squares = 0;
      let invalid = 0;
      for (let i = 0; i < n; i++) {
        const k = poisson(rng, lambda);
        if (!Number.isInteger(k) || k < 0) invalid++;
        sum += k;
        squares += k * k;
      }
      expect(invalid).toBe(0);
      const mean = sum / n;
      const variance = squares / n - mean * mean;
      expect(Math.abs(mean - lambda)).toBeLessThan(5 * Math.sqrt(lambda / n));
      expect(variance / lambda).toBeGreaterThan(0.95);
      expect(variance / lambda).toBeLessThan(1.05);
    }
    expect(poisson(rng, 0)).toBe(0);
  });

  describe('sortPresent', () => {
    const bytes = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const nativeSorted = (values: Float64Array): Float64Array =>
      Float64Array.from([...values].filter((x) => !Number.isNaN(x))).sort();
    const rng = createRng(3);
    const samples: [string, () => number][] = [
      ['special values', () => [0, -0, NaN, Infinity, -Infinity, 5e-324, -5e-324, 1, -1][(rng() * 9) | 0]!],
      ['signed, wide exponents', () => (rng() - 0.5) * 2 ** (rng() * 200 - 100)],
      ['small integers', () => 17 + Math.floor(rng() * 70)],
      ['float32 scores', () => Math.fround(rng())],
      ['one value', () => 0.25],
    ];

    it.each(samples)('gives the bytes Float64Array#sort gives, without NaN: %s', (_, draw) => {
      for (const n of [0, 1, 7, 3000]) {
        const values = Float64Array.from({ length: n }, draw);
        expect(bytes(sortPresent(values).values)).toEqual(bytes(nativeSorted(values)));
      }
    });

    it('carries each label along with its value', () => {
      const values = Float64Array.from({ length: 2000 }, () => Math.floor(rng() * 50) - 25);
      values[7] = Number.NaN;
      const labels = Int8Array.from(values, (x) => (x > 0 ? 1 : x < 0 ? 0 : -1));
      const sorted = sortPresent(values, labels);
      expect(sorted.values).toHaveLength(1999);
      sorted.values.forEach((x, i) => expect(sorted.labels[i]).toBe(x > 0 ? 1 : x < 0 ? 0 : -1));
    });
  });
});
