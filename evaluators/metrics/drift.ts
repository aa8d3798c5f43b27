import { chiSquareSf, ksPValue, quantileSorted, sortPresent, type KsMethod } from './stats.ts';

// Empty bins would make PSI infinite; like Evidently, proportions are floored at a small epsilon, and the
// value used is recorded with the binning.
export const PSI_EPSILON = 1e-4;

export interface NumericDrift {
  test: 'ks';
  statistic: number | null;
  p_value: number | null;
  /** How p_value was found (ksPValue): exact for small samples, as scipy's ks_2samp; null without one. */
  p_value_method: KsMethod | null;
  psi: number | null;
  jensen_shannon_distance: number | null;
  reference_count: number;
  current_count: number;
  binning: {
    method: 'reference_quantiles';
    edges: number[];
    /**
     * Which end of each bin holds a value equal to an edge: 'right', (−∞, e1], (e1, e2], …, (ek, ∞), as
     * pandas.cut(right=True). numpy.histogram closes bins on the left, so its PSI on the same edges differs.
     */
    closed: 'right';
    psi_epsilon: number;
    js_log_base: 2;
  };
}

export interface CategoricalDrift {
  test: 'chi_square';
  statistic: number | null;
  p_value: number | null;
  df: number;
  psi: number | null;
  jensen_shannon_distance: number | null;
  reference_count: number;
  current_count: number;
  binning: { method: 'categories'; categories: string[]; psi_epsilon: number; js_log_base: 2 };
}

/** Two-sample Kolmogorov–Smirnov statistic of two ascending-sorted samples. */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < a.length && a[i]! <= x) i++;
    while (j < b.length && b[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/** Population stability index of two distributions given as counts over the same bins. */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>): number | null {
  const rTotal = sum(reference);
  const cTotal = sum(current);
  if (rTotal === 0 || cTotal === 0) return null;
  let value = 0;
  for (let k = 0; k < reference.length; k++) {
    const e = Math.max(reference[k]! / rTotal, PSI_EPSILON);
    const a = Math.max(current[k]! / cTotal, PSI_EPSILON);
    value += (a - e) * Math.log(a / e);
  }
  return value;
}

/** Jensen–Shannon distance (square root of the divergence, log base 2, so in [0, 1]), as scipy computes it. */
export function jensenShannon(reference: ArrayLike<number>, current: ArrayLike<number>): number | null {
  const rTotal = sum(reference);
  const cTotal = sum(current);
  if (rTotal === 0 || cTotal === 0) return null;
  let divergence = 0;
  for (let k = 0; k < reference.length; k++) {
    const p = reference[k]! / rTotal;
    const q = current[k]! / cTotal;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m);
  }
  return Math.sqrt(Math.max(0, divergence));
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

export function binIndex(edges: number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Bins (−∞, e1], (e1, e2], …, (ek, ∞) with edges at the reference's k/bins quantiles as numpy computes them
 * (linear interpolation), so that the bins hold equal shares of the reference as far as ties allow;
 * duplicates dropped. No values, no edges.
 */
export function quantileEdges(sortedReference: Float64Array, bins: number): number[] {
  const edges: number[] = [];
  if (sortedReference.length === 0) return edges;
  for (let k = 1; k < bins; k++) {
    const e = quantileSorted(sortedReference, k / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return edges;
}

/** Counts per bin of ascending-sorted values, in one walk: the bin only moves up as the values do. */
export function histogramOfSorted(sorted: Float64Array, edges: number[]): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let bin = 0;
  for (let i = 0; i < sorted.length; i++) {
    const x = sorted[i]!;
    while (bin < edges.length && x > edges[bin]!) bin++;
    counts[bin]!++;
  }
  return counts;
}

export function numericDrift(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  bins = 10,
): NumericDrift {
  return numericDriftOfSorted(sortPresent(reference).values, sortPresent(current).values, bins);
}

/** numericDrift of samples already sorted, without missing values (see sortPresent). */
export function numericDriftOfSorted(r: Float64Array, c: Float64Array, bins = 10): NumericDrift {
  const edges = quantileEdges(r, bins);
  const empty = r.length === 0 || c.length === 0;
  const rh = histogramOfSorted(r, edges);
  const ch = histogramOfSorted(c, edges);
  const d = empty ? null : ksStatistic(r, c);
  const p = d === null ? null : ksPValue(d, r.length, c.length);
  return {
    test: 'ks',
    statistic: d,
    p_value: p?.p_value ?? null,
    p_value_method: p?.method ?? null,
    psi: empty ? null : psi(rh, ch),
    jensen_shannon_distance: empty ? null : jensenShannon(rh, ch),
    reference_count: r.length,
    current_count: c.length,
    binning: {
      method: 'reference_quantiles',
      edges,
      closed: 'right',
      psi_epsilon: PSI_EPSILON,
      js_log_base: 2,
    },
  };
}

/** Chi-square test of homogeneity over the union of categories (2 × k table). */
export function categoricalDrift(
  reference: Map<string, number>,
  current: Map<string, number>,
): CategoricalDrift {
  const categories = [...new Set([...reference.keys(), ...current.keys()])].sort();
  const r = categories.map((k) => reference.get(k) ?? 0);
  const c = categories.map((k) => current.get(k) ?? 0);
  const rTotal = sum(r);
  const cTotal = sum(c);
  const n = rTotal + cTotal;
  let statistic = 0;
  let df = -1;
  for (let k = 0; k < categories.length; k++) {
    const column = r[k]! + c[k]!;
    if (column === 0) continue;
    df++;
    const er = (rTotal * column) / n;
    const ec = (cTotal * column) / n;
    statistic += (r[k]! - er) ** 2 / er + (c[k]! - ec) ** 2 / ec;
  }
  const defined = rTotal > 0 && cTotal > 0 && df > 0;
  return {
    test: 'chi_square',
    statistic: defined ? statistic : null,
    p_value: defined ? chiSquareSf(statistic, df) : null,
    df: Math.max(df, 0),
    psi: psi(r, c),
    jensen_shannon_distance: jensenShannon(r, c),
    reference_count: rTotal,
    current_count: cTotal,
    binning: { method: 'categories', categories, psi_epsilon: PSI_EPSILON, js_log_base: 2 },
  };
}
