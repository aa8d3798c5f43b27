import { describe, expect, it } from 'vitest';
import {
  chiSquareSf,
  createRng,
  erfc,
  ksPValue,
  poisson,
  quantileSorted,
  rate,
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
});
