import { describe, expect, it } from 'vitest';
import {
  chiSquareSf,
  createRng,
  erfc,
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
  it('KS p-value follows the Kolmogorov distribution for large samples', () => {
    const n = 1e7;
    const en = Math.sqrt((n * n) / (2 * n));
    expect(ksPValue(1.36 / en, n, n)).toBeCloseTo(0.0494, 3);
    expect(ksPValue(1.63 / en, n, n)).toBeCloseTo(0.0098, 3);
  });
  it('KS p-value is the Kolmogorov survival function for small statistics too', () => {
    // Q(λ) from its alternating series summed to 100,000 terms (Python), on both sides of the switch at 1.18.
    const n = 1e12;
    const en = Math.sqrt(n / 2);
    const q = (lambda: number) => ksPValue(lambda / (en + 0.12 + 0.11 / en), n, n);
    expect(q(0.5)).toBeCloseTo(0.9639452436648751, 12);
    expect(q(0.8)).toBeCloseTo(0.5441424115741981, 12);
    expect(q(1.17)).toBeCloseTo(0.12939004218561884, 12);
    expect(q(1.18)).toBeCloseTo(0.1234538094297657, 12);
    expect(q(2)).toBeCloseTo(0.0006709252557796953, 12);
    // Near-identical large samples: no evidence of drift at all (the truncated series gave 0.096 here).
    expect(ksPValue(1e-5, 100_000, 100_000)).toBe(1);
    expect(ksPValue(1 / 7000, 7000, 7000)).toBe(1);
  });
  it('numpy-style linear quantiles', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
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
