import { binIndex, quantileEdges } from './drift.ts';
import { rate } from './stats.ts';

/** A column as the evaluator keeps it: numbers (NaN when missing or not numeric) and dictionary codes. */
export interface ColumnData {
  name: string;
  nums: Float64Array;
  /** Dictionary code per row, -1 when missing. */
  codes: Int32Array;
  values: string[];
  missing: number;
  /** Present values that do not parse as numbers. */
  nonNumeric: number;
}

export interface ProxyFinding {
  feature: string;
  sensitive: string;
  cramers_v: number | null;
  method: 'categories' | 'quantile_bins';
  flagged: boolean;
}

/** Cramér's V (no bias correction) of two code arrays; rows where either code is missing are left out. */
export function cramersV(a: Int32Array, b: Int32Array): number | null {
  let ka = 0;
  let kb = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! >= ka) ka = a[i]! + 1;
    if (b[i]! >= kb) kb = b[i]! + 1;
  }
  const table = new Float64Array(ka * kb);
  const rows = new Float64Array(ka);
  const cols = new Float64Array(kb);
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < 0 || y < 0) continue;
    table[x * kb + y]!++;
    rows[x]!++;
    cols[y]!++;
    n++;
  }
  const k = Math.min(rows.filter((r) => r > 0).length, cols.filter((c) => c > 0).length);
  if (n === 0 || k < 2) return null;
  let chi2 = 0;
  for (let x = 0; x < ka; x++) {
    if (rows[x] === 0) continue;
    for (let y = 0; y < kb; y++) {
      if (cols[y] === 0) continue;
      const expected = (rows[x]! * cols[y]!) / n;
      chi2 += (table[x * kb + y]! - expected) ** 2 / expected;
    }
  }
  return Math.sqrt(chi2 / (n * (k - 1)));
}

// Quantile edges for proxy binning come from an even stride of at most this many values: exact enough for an
// association screen, and it spares sorting every numeric column of a million rows.
const EDGE_SAMPLE = 100_000;

/** Numeric columns are cut into quantile bins so that one association measure serves both kinds. */
export function binnedCodes(column: ColumnData, numeric: boolean, bins = 10): Int32Array {
  if (!numeric) return column.codes;
  const stride = Math.max(1, Math.floor(column.nums.length / EDGE_SAMPLE));
  const picked = new Float64Array(Math.ceil(column.nums.length / stride));
  let n = 0;
  for (let i = 0; i < column.nums.length; i += stride)
    if (!Number.isNaN(column.nums[i]!)) picked[n++] = column.nums[i]!;
  const present = picked.subarray(0, n).sort();
  const edges = quantileEdges(present, bins);
  const out = new Int32Array(column.nums.length);
  column.nums.forEach((x, i) => {
    out[i] = Number.isNaN(x) ? -1 : binIndex(edges, x);
  });
  return out;
}

export function proxiesOf(
  features: { column: ColumnData; numeric: boolean }[],
  sensitive: ColumnData[],
  threshold: number,
): ProxyFinding[] {
  const findings: ProxyFinding[] = [];
  for (const feature of features) {
    const codes = binnedCodes(feature.column, feature.numeric);
    for (const s of sensitive) {
      if (s.name === feature.column.name) continue;
      const v = cramersV(codes, s.codes);
      findings.push({
        feature: feature.column.name,
        sensitive: s.name,
        cramers_v: v,
        method: feature.numeric ? 'quantile_bins' : 'categories',
        flagged: v !== null && v >= threshold,
      });
    }
  }
  return findings;
}

export function representationOf(
  column: ColumnData,
): Record<string, { count: number; share: number | null }> {
  const counts = new Float64Array(column.values.length);
  let total = 0;
  for (const c of column.codes) {
    if (c >= 0) {
      counts[c]!++;
      total++;
    }
  }
  const out: Record<string, { count: number; share: number | null }> = {};
  [...column.values.keys()]
    .sort((x, y) => (column.values[x]! < column.values[y]! ? -1 : 1))
    .forEach((c) => (out[column.values[c]!] = { count: counts[c]!, share: rate(counts[c]!, total) }));
  return out;
}

export function classBalanceOf(label: Int8Array): {
  positive: number;
  negative: number;
  missing: number;
  positive_share: number | null;
} {
  let positive = 0;
  let negative = 0;
  let missing = 0;
  for (const y of label) {
    if (y === 1) positive++;
    else if (y === 0) negative++;
    else missing++;
  }
  return { positive, negative, missing, positive_share: rate(positive, positive + negative) };
}
