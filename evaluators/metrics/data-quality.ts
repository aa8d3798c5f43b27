import { binIndex, quantileEdges } from './drift.ts';
import { rate, sortPresent } from './stats.ts';

/** A column as the evaluator keeps it: numbers (NaN when missing or not numeric) and dictionary codes. */
export interface ColumnData {
  name: string;
  nums: Float64Array;
  /** Dictionary code per row, -1 when missing or a value past the category cap (ColumnCollector). */
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
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x >= 0 && y >= 0) table[x * kb + y]!++;
  }
  return cramersVOfTable(table, ka, kb);
}

/**
 * Cramér's V of a ka × kb contingency table of counts. Rows and columns that are all zero take no part, so
 * a table sized to an upper bound of the codes gives the same value as one sized to the largest code.
 */
function cramersVOfTable(table: Float64Array, ka: number, kb: number): number | null {
  const rows = new Float64Array(ka);
  const cols = new Float64Array(kb);
  let n = 0;
  for (let x = 0; x < ka; x++) {
    for (let y = 0; y < kb; y++) {
      const c = table[x * kb + y]!;
      rows[x]! += c;
      cols[y]! += c;
      n += c;
    }
  }
  let nonEmptyRows = 0;
  let nonEmptyCols = 0;
  for (const r of rows) if (r > 0) nonEmptyRows++;
  for (const c of cols) if (c > 0) nonEmptyCols++;
  const k = Math.min(nonEmptyRows, nonEmptyCols);
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
// Largest range of an integer column that is binned through a lookup table.
const MAX_BIN_TABLE = 1 << 16;

/**
 * Numeric columns are cut into quantile bins so that one association measure serves both kinds; `bound` is
 * one more than the largest code there can be.
 */
export function binnedCodes(
  column: ColumnData,
  numeric: boolean,
  bins = 10,
): { codes: Int32Array; bound: number } {
  if (!numeric) return { codes: column.codes, bound: column.values.length };
  const nums = column.nums;
  const stride = Math.max(1, Math.floor(nums.length / EDGE_SAMPLE));
  const picked = new Float64Array(Math.ceil(nums.length / stride));
  for (let i = 0, j = 0; i < nums.length; i += stride) picked[j++] = nums[i]!;
  const edges = quantileEdges(sortPresent(picked).values, bins);
  const out = new Int32Array(nums.length);
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (let i = 0; i < nums.length; i++) {
    const x = nums[i]!;
    if (Number.isNaN(x)) continue;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x !== Math.floor(x)) integral = false;
  }
  // min > max when no value is present (a column declared numeric that holds none): every code is -1 then.
  if (integral && min <= max && max - min < MAX_BIN_TABLE) {
    // Integers over a modest range (ages, counts) look their bin up by value: the codes binIndex gives,
    // without a search per row.
    const table = new Int32Array(max - min + 1);
    for (let v = 0; v < table.length; v++) table[v] = binIndex(edges, min + v);
    for (let i = 0; i < nums.length; i++) out[i] = Number.isNaN(nums[i]!) ? -1 : table[nums[i]! - min]!;
  } else {
    for (let i = 0; i < nums.length; i++) out[i] = Number.isNaN(nums[i]!) ? -1 : binIndex(edges, nums[i]!);
  }
  return { codes: out, bound: edges.length + 1 };
}

// Largest feature-code × joint-sensitive-code table filled directly; past it, one table per attribute.
const MAX_JOINT_TABLE = 1 << 20;

/**
 * Cramér's V of every feature against every sensitive attribute. The sensitive attributes are combined into
 * one joint code per row (missing being a value of its own), so each feature's rows are counted in one
 * table with a single increment per row; each attribute's table is then summed out of it. Counts are exact
 * integers, so the tables and the values are the same as counting each pair on its own.
 */
export function proxiesOf(
  features: { column: ColumnData; numeric: boolean }[],
  sensitive: ColumnData[],
  threshold: number,
): ProxyFinding[] {
  if (sensitive.length === 0) return [];
  const radix = sensitive.map((s) => s.values.length + 1);
  const jointSize = radix.reduce((p, r) => p * r, 1);
  let joint: Int32Array | null = null;
  const findings: ProxyFinding[] = [];
  for (const feature of features) {
    const { codes, bound } = binnedCodes(feature.column, feature.numeric);
    const report = (k: number, table: Float64Array) => {
      const s = sensitive[k]!;
      if (s.name === feature.column.name) return;
      const v = cramersVOfTable(table, bound, radix[k]! - 1);
      findings.push({
        feature: feature.column.name,
        sensitive: s.name,
        cramers_v: v,
        method: feature.numeric ? 'quantile_bins' : 'categories',
        flagged: v !== null && v >= threshold,
      });
    };
    if (bound * jointSize <= MAX_JOINT_TABLE) {
      // Every table at once, from one pass over the joint codes: the tables are small.
      const tables = sensitive.map((s) => new Float64Array(bound * s.values.length));
      joint ??= jointCodes(sensitive, radix);
      const counts = new Float64Array(bound * jointSize);
      for (let i = 0; i < codes.length; i++) {
        const x = codes[i]!;
        if (x >= 0) counts[x * jointSize + joint[i]!]!++;
      }
      for (let x = 0; x < bound; x++) {
        for (let j = 0; j < jointSize; j++) {
          const c = counts[x * jointSize + j]!;
          if (c === 0) continue;
          // Decode j (mixed radix, last attribute fastest); code 0 is "missing".
          for (let k = sensitive.length - 1, rest = j; k >= 0; k--) {
            const y = (rest % radix[k]!) - 1;
            rest = Math.floor(rest / radix[k]!);
            if (y >= 0) tables[k]![x * (radix[k]! - 1) + y]! += c;
          }
        }
      }
      tables.forEach((table, k) => report(k, table));
    } else {
      // One table at a time: each may hold millions of cells, and all of them at once, gigabytes.
      sensitive.forEach((s, k) => {
        const table = new Float64Array(bound * s.values.length);
        for (let i = 0; i < codes.length; i++) {
          const x = codes[i]!;
          const y = s.codes[i]!;
          if (x >= 0 && y >= 0) table[x * (radix[k]! - 1) + y]!++;
        }
        report(k, table);
      });
    }
  }
  return findings;
}

function jointCodes(sensitive: ColumnData[], radix: number[]): Int32Array {
  const n = sensitive[0]?.codes.length ?? 0;
  const joint = new Int32Array(n);
  for (let k = 0; k < sensitive.length; k++) {
    const codes = sensitive[k]!.codes;
    const r = radix[k]!;
    for (let i = 0; i < n; i++) joint[i] = joint[i]! * r + codes[i]! + 1;
  }
  return joint;
}

export function representationOf(
  column: ColumnData,
): Record<string, { count: number; share: number | null }> {
  const counts = new Float64Array(column.values.length);
  let total = 0;
  for (let i = 0; i < column.codes.length; i++) {
    const c = column.codes[i]!;
    if (c >= 0) {
      counts[c]!++;
      total++;
    }
  }
  // From entries: a value such as __proto__ is an own key like any other.
  return Object.fromEntries(
    [...column.values.keys()]
      .sort((x, y) => (column.values[x]! < column.values[y]! ? -1 : 1))
      .map((c) => [column.values[c]!, { count: counts[c]!, share: rate(counts[c]!, total) }]),
  );
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
  for (let i = 0; i < label.length; i++) {
    const y = label[i]!;
    if (y === 1) positive++;
    else if (y === 0) negative++;
    else missing++;
  }
  return { positive, negative, missing, positive_share: rate(positive, positive + negative) };
}
