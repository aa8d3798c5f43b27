import { UNKNOWN_CATEGORY } from '../categories.ts';
import { createRng, normalTwoSidedP, poisson, quantileSorted, rate } from './stats.ts';

/**
 * Outcomes aggregated into cells: one cell per combination of sensitive-attribute values, label, prediction
 * and "score above the median". Every fairness number is a function of cell counts, so the metrics and the
 * bootstrap cost O(cells) whatever the row count.
 */
export interface OutcomeCells {
  attributes: string[];
  /** Per attribute, code → value. */
  values: string[][];
  /** cellCount × attributes.length codes; -1 where the attribute is missing or names the unknown category. */
  keys: Int32Array;
  /** Per attribute, the values of kept rows counted as missing because they name the unknown category; sorted. */
  unknownValues: string[][];
  /** Per cell: 1, 0, or -1 for no label. */
  label: Int8Array;
  /** Per cell: 1, 0, or -1 for a row scored but without a prediction (it counts in LL144 scoring rates only). */
  pred: Int8Array;
  /** Per cell: 1 when the score is above the overall median, 0 below or equal, -1 without a score. */
  high: Int8Array;
  count: Float64Array;
}

/**
 * Builds cells from per-row arrays. Rows with neither a prediction (pred < 0) nor a score (high < 0) are left
 * out; a scored row without a prediction is kept for the LL144 scoring rates, which need no selection. A value
 * that names the unknown category (UNKNOWN_CATEGORY) gets the code of a missing one.
 */
export function buildCells(
  attributes: string[],
  values: string[][],
  codes: Int32Array[],
  label: Int8Array | null,
  pred: Int8Array,
  high: Int8Array | null,
): OutcomeCells {
  const index = new Map<number | string, number>();
  const radixProduct = values.reduce((p, v) => p * (v.length + 1), 27);
  // A dense lookup table when the key space is small (the usual case), a Map otherwise. Past 2^53 a number
  // no longer tells every key apart (distinct cells would merge): the key is then the codes as text.
  const dense = radixProduct <= 1 << 22 ? new Int32Array(radixProduct).fill(-1) : null;
  const exact = radixProduct <= Number.MAX_SAFE_INTEGER;
  const keys: number[] = [];
  const labels: number[] = [];
  const preds: number[] = [];
  const highs: number[] = [];
  const counts: number[] = [];
  const radix = values.map((v) => v.length + 1);
  // Per attribute, code + 1 → the code the cells keep: -1 for a missing value and for an unknown category's.
  const kept = values.map((v) => Int32Array.from({ length: v.length + 1 }, (_, c) => c - 1));
  const unknownCodes = values.map((v) => v.flatMap((value, c) => (UNKNOWN_CATEGORY.test(value) ? [c] : [])));
  unknownCodes.forEach((list, a) => list.forEach((c) => (kept[a]![c + 1] = -1)));
  const unknownSeen = values.map((v) => new Uint8Array(v.length));
  const row = new Int32Array(codes.length);
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i]!;
    const h = high ? high[i]! : -1;
    if (p < 0 && h < 0) continue;
    const y = label ? label[i]! : -1;
    for (let a = 0; a < codes.length; a++) {
      const code = codes[a]![i]!;
      row[a] = kept[a]![code + 1]!;
      if (row[a]! < 0 && code >= 0) unknownSeen[a]![code] = 1;
    }
    let key: number | string;
    if (exact) {
      let k = 0;
      for (let a = 0; a < codes.length; a++) k = k * radix[a]! + (row[a]! + 1);
      key = ((k * 3 + (y + 1)) * 3 + (p + 1)) * 3 + (h + 1);
    } else {
      let k = `${y},${p},${h}`;
      for (let a = 0; a < codes.length; a++) k += `,${row[a]!}`;
      key = k;
    }
    let cell = dense ? dense[key as number]! : (index.get(key) ?? -1);
    if (cell < 0) {
      cell = counts.length;
      if (dense) dense[key as number] = cell;
      else index.set(key, cell);
      for (let a = 0; a < codes.length; a++) keys.push(row[a]!);
      labels.push(y);
      preds.push(p);
      highs.push(h);
      counts.push(0);
    }
    counts[cell]!++;
  }
  return {
    attributes,
    values,
    keys: Int32Array.from(keys),
    unknownValues: unknownCodes.map((list, a) =>
      list
        .filter((c) => unknownSeen[a]![c] === 1)
        .map((c) => values[a]![c]!)
        .sort(),
    ),
    label: Int8Array.from(labels),
    pred: Int8Array.from(preds),
    high: Int8Array.from(highs),
    count: Float64Array.from(counts),
  };
}

/** Cells from plain objects; convenient for small hand-checked cases. */
export function cellsFromRecords(
  attributes: string[],
  records: { groups: (string | null)[]; label?: 0 | 1 | null; pred: 0 | 1; high?: 0 | 1 | null }[],
): OutcomeCells {
  const values = attributes.map(() => [] as string[]);
  const codes = attributes.map(() => new Int32Array(records.length));
  records.forEach((r, i) => {
    r.groups.forEach((g, a) => {
      if (g === null) {
        codes[a]![i] = -1;
        return;
      }
      let c = values[a]!.indexOf(g);
      if (c < 0) c = values[a]!.push(g) - 1;
      codes[a]![i] = c;
    });
  });
  const hasLabel = records.some((r) => r.label !== undefined);
  const hasHigh = records.some((r) => r.high !== undefined);
  return buildCells(
    attributes,
    values,
    codes,
    hasLabel
      ? Int8Array.from(records, (r) => (r.label === null || r.label === undefined ? -1 : r.label))
      : null,
    Int8Array.from(records, (r) => r.pred),
    hasHigh ? Int8Array.from(records, (r) => (r.high === null || r.high === undefined ? -1 : r.high)) : null,
  );
}

// Per-group counters, laid out flat so that bootstrap resamples reuse one buffer.
const N = 0;
const SELECTED = 1;
const TP = 2;
const FP = 3;
const FN = 4;
const TN = 5;
const SCORED = 6;
const HIGH = 7;
const WIDTH = 8;

interface GroupIndex {
  names: string[];
  /** cell → group, or -1 when an attribute of the set is missing in that cell. */
  ofCell: Int32Array;
}

/**
 * An intersection group's name: its values joined by `&` ("African-American&Male"), each with `\` and `&`
 * escaped by a `\`, so that the values X&Y, Z and X, Y&Z name two groups, not one.
 */
function intersectionName(values: string[]): string {
  return values.length === 1 ? values[0]! : values.map((v) => v.replace(/[\\&]/g, '\\$&')).join('&');
}

function indexGroups(cells: OutcomeCells, attrs: number[]): GroupIndex {
  const width = cells.attributes.length;
  // Groups are told apart by their tuple of codes; the name is only for the evidence.
  const byCodes = new Map<string, number>();
  const names: string[] = [];
  const ofCell = new Int32Array(cells.count.length);
  for (let c = 0; c < cells.count.length; c++) {
    const codes: number[] = [];
    for (const a of attrs) {
      const code = cells.keys[c * width + a]!;
      if (code < 0) break;
      codes.push(code);
    }
    if (codes.length < attrs.length) {
      ofCell[c] = -1;
      continue;
    }
    const key = codes.join(',');
    let g = byCodes.get(key);
    if (g === undefined) {
      g = names.push(intersectionName(codes.map((code, k) => cells.values[attrs[k]!]![code]!))) - 1;
      byCodes.set(key, g);
    }
    ofCell[c] = g;
  }
  // Sorted names make the evidence independent of row order.
  const order = names
    .map((_, i) => i)
    .sort((x, y) => (names[x]! < names[y]! ? -1 : names[x]! > names[y]! ? 1 : 0));
  const rank = new Int32Array(names.length);
  order.forEach((g, r) => (rank[g] = r));
  for (let c = 0; c < ofCell.length; c++) if (ofCell[c]! >= 0) ofCell[c] = rank[ofCell[c]!]!;
  return { names: order.map((g) => names[g]!), ofCell };
}

/**
 * Per-group counters of the cells under `weights`. `missing`: rows with a prediction but an attribute of the set
 * missing; `missingScored`: the same among scored rows (LL144's unknown category of its scoring table).
 */
function tally(
  cells: OutcomeCells,
  index: GroupIndex,
  weights: ArrayLike<number>,
): { table: Float64Array; missing: number; missingScored: number } {
  const table = new Float64Array(index.names.length * WIDTH);
  let missing = 0;
  let missingScored = 0;
  for (let c = 0; c < weights.length; c++) {
    const w = weights[c]!;
    if (w === 0) continue;
    const g = index.ofCell[c]!;
    const p = cells.pred[c]!;
    const h = cells.high[c]!;
    if (g < 0) {
      if (p >= 0) missing += w;
      if (h >= 0) missingScored += w;
      continue;
    }
    const o = g * WIDTH;
    if (p >= 0) {
      const y = cells.label[c]!;
      table[o + N]! += w;
      if (p === 1) table[o + SELECTED]! += w;
      if (y === 1) table[o + (p === 1 ? TP : FN)]! += w;
      else if (y === 0) table[o + (p === 1 ? FP : TN)]! += w;
    }
    if (h >= 0) {
      table[o + SCORED]! += w;
      if (h === 1) table[o + HIGH]! += w;
    }
  }
  return { table, missing, missingScored };
}

export interface GroupMetrics {
  count: number;
  selection_rate: number | null;
  impact_ratio: number | null;
  labelled?: number;
  tpr?: number | null;
  fpr?: number | null;
  fnr?: number | null;
  ppv?: number | null;
  accuracy?: number | null;
  confusion_matrix?: { tn: number; fp: number; fn: number; tp: number };
}

export interface ExcludedGroup {
  group: string;
  count: number;
  reason: string;
  /** The gaps this group was left out of. */
  from: string[];
}

export interface FourFifths {
  threshold: number;
  reference_group: string | null;
  groups: Record<
    string,
    {
      impact_ratio: number | null;
      below_threshold: boolean;
      z: number | null;
      p_value: number | null;
      significant: boolean;
    }
  >;
  /** Groups below four fifths of the reference group's selection rate with p < alpha (two-proportion z-test). */
  adverse_impact: string[];
  alpha: number;
}

export interface Ll144 {
  total: number;
  unknown_count: number;
  /**
   * The median score of the full sample, the cut the scoring rates count "above" from; 6 RCNY §5-301(c)(1)
   * asks a scoring tool's audit to report it. Null when the tool gives no scores.
   */
  median_score: number | null;
  selection: Record<
    string,
    {
      count: number;
      selection_rate: number | null;
      impact_ratio: number | null;
      excluded_under_2pct: boolean;
    }
  >;
  scoring: Record<
    string,
    { count: number; scoring_rate: number | null; impact_ratio: number | null; excluded_under_2pct: boolean }
  > | null;
  /** Scored individuals, unknown category included; null without scores. */
  scoring_total: number | null;
  /** Scored individuals whose category is unknown; null without scores. */
  scoring_unknown_count: number | null;
  /** The categories under 2% of `total`, left out of the selection impact ratios (scoring: per category). */
  excluded_under_2pct: string[];
}

export interface FairnessAttribute {
  attributes: string[];
  groups: Record<string, GroupMetrics>;
  /** Rows with a prediction whose value of an attribute of the set is missing or names the unknown category. */
  missing: number;
  /**
   * The values of the set's attributes that were counted as the unknown category (in `missing` and LL144's
   * unknown counts) because they name it (UNKNOWN_CATEGORY); absent when the data holds none.
   */
  unknown_values?: string[];
  demographic_parity_difference: number | null;
  demographic_parity_ratio: number | null;
  equalized_odds_difference: number | null;
  equalized_odds_ratio: number | null;
  excluded_groups: ExcludedGroup[];
  four_fifths: FourFifths;
  ll144: Ll144;
  bootstrap?: BootstrapIntervals;
}

export interface FairnessOptions {
  minGroupSize: number;
  hasLabel: boolean;
  hasScore: boolean;
  /** With `hasScore`: the median of every present score, the cut the cells' `high` flags were taken at. */
  medianScore?: number;
  fourFifthsThreshold?: number;
  alpha?: number;
}

const sel = (t: Float64Array, g: number): number | null => rate(t[g * WIDTH + SELECTED]!, t[g * WIDTH + N]!);
const tprOf = (t: Float64Array, g: number): number | null =>
  rate(t[g * WIDTH + TP]!, t[g * WIDTH + TP]! + t[g * WIDTH + FN]!);
const fprOf = (t: Float64Array, g: number): number | null =>
  rate(t[g * WIDTH + FP]!, t[g * WIDTH + FP]! + t[g * WIDTH + TN]!);

interface Gaps {
  dpd: number | null;
  dpr: number | null;
  eod: number | null;
  eor: number | null;
}

// A loop, not Math.max(...values): spreading one argument per group overflows the stack on an intersection
// of tens of thousands of groups. A gap needs two groups: with one (the rest too small, or their rate
// undefined) it is null, not a perfect 0, so that a policy cannot pass on a comparison that was never made.
function rangeOf(values: (number | null)[]): { diff: number | null; ratio: number | null } {
  let min = Infinity;
  let max = -Infinity;
  let defined = 0;
  for (const v of values) {
    if (v === null) continue;
    defined++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (defined < 2) return { diff: null, ratio: null };
  return { diff: max - min, ratio: rate(min, max) };
}

/**
 * Over the included groups. Each range of equalized odds takes the groups whose rate is defined: a group
 * without positive labels still has an FPR to compare, and one without negative labels a TPR.
 */
function gapsOf(table: Float64Array, included: number[], hasLabel: boolean): Gaps {
  const dp = rangeOf(included.map((g) => sel(table, g)));
  if (!hasLabel) return { dpd: dp.diff, dpr: dp.ratio, eod: null, eor: null };
  const tpr = rangeOf(included.map((g) => tprOf(table, g)));
  const fpr = rangeOf(included.map((g) => fprOf(table, g)));
  // Fairlearn: difference = the larger of the two ranges, ratio = the smaller of the two min/max ratios.
  const eod = tpr.diff === null || fpr.diff === null ? null : Math.max(tpr.diff, fpr.diff);
  const eor = tpr.ratio === null || fpr.ratio === null ? null : Math.min(tpr.ratio, fpr.ratio);
  return { dpd: dp.diff, dpr: dp.ratio, eod, eor };
}

function twoProportionZ(x1: number, n1: number, x2: number, n2: number): number | null {
  if (n1 === 0 || n2 === 0) return null;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return se === 0 ? null : (x2 / n2 - x1 / n1) / se;
}

interface Prepared {
  index: GroupIndex;
  included: number[];
}

function prepare(
  cells: OutcomeCells,
  attrs: number[],
  minGroupSize: number,
): Prepared & { table: Float64Array; missing: number; missingScored: number } {
  const index = indexGroups(cells, attrs);
  const { table, missing, missingScored } = tally(cells, index, cells.count);
  const included = index.names.map((_, g) => g).filter((g) => table[g * WIDTH + N]! >= minGroupSize);
  return { index, included, table, missing, missingScored };
}

/** Fairness metrics for one attribute (attrs of length 1) or one intersection, following Fairlearn. */
export function fairnessOf(
  cells: OutcomeCells,
  attrs: number[],
  options: FairnessOptions,
): FairnessAttribute {
  const { index, included, table, missing, missingScored } = prepare(cells, attrs, options.minGroupSize);
  const threshold = options.fourFifthsThreshold ?? 0.8;
  const alpha = options.alpha ?? 0.05;
  const excluded: ExcludedGroup[] = [];
  const gapNames = options.hasLabel
    ? ['demographic_parity', 'equalized_odds', 'impact_ratio']
    : ['demographic_parity', 'impact_ratio'];
  index.names.forEach((name, g) => {
    const n = table[g * WIDTH + N]!;
    if (n < options.minGroupSize) {
      excluded.push({
        group: name,
        count: n,
        reason: `count ${n} is below min_group_size ${options.minGroupSize}`,
        from: gapNames,
      });
    }
  });
  if (options.hasLabel) {
    for (const g of included) {
      const tpr = tprOf(table, g) === null;
      const fpr = fprOf(table, g) === null;
      if (!tpr && !fpr) continue;
      excluded.push({
        group: index.names[g]!,
        count: table[g * WIDTH + N]!,
        reason:
          tpr && fpr
            ? 'tpr and fpr undefined (no labels)'
            : tpr
              ? 'tpr undefined (no positive labels); its fpr still counts in the fpr range'
              : 'fpr undefined (no negative labels); its tpr still counts in the tpr range',
        from: ['equalized_odds'],
      });
    }
  }
  let best = -1;
  for (const g of included) if (best < 0 || sel(table, g)! > sel(table, best)!) best = g;
  const bestRate = best < 0 ? null : sel(table, best);
  // Group names are data: every map keyed by them is built from entries, so that a value such as __proto__
  // is an own key like any other (assigned to an object literal, it would set the prototype instead).
  const groupEntries = index.names.map((name, g): [string, GroupMetrics] => {
    const o = g * WIDTH;
    const s = sel(table, g);
    const metrics: GroupMetrics = {
      count: table[o + N]!,
      selection_rate: s,
      impact_ratio: s === null || bestRate === null ? null : rate(s, bestRate),
    };
    if (options.hasLabel) {
      const [tp, fp, fn, tn] = [table[o + TP]!, table[o + FP]!, table[o + FN]!, table[o + TN]!];
      metrics.labelled = tp + fp + fn + tn;
      metrics.tpr = rate(tp, tp + fn);
      metrics.fpr = rate(fp, fp + tn);
      metrics.fnr = rate(fn, tp + fn);
      metrics.ppv = rate(tp, tp + fp);
      metrics.accuracy = rate(tp + tn, tp + fp + fn + tn);
      metrics.confusion_matrix = { tn, fp, fn, tp };
    }
    return [name, metrics];
  });
  const groups: Record<string, GroupMetrics> = Object.fromEntries(groupEntries);
  const gaps = gapsOf(table, included, options.hasLabel);

  const fourFifthsGroups: [string, FourFifths['groups'][string]][] = [];
  const adverseImpact: string[] = [];
  for (const g of included) {
    const name = index.names[g]!;
    const ratio = groupEntries[g]![1].impact_ratio;
    const z =
      best < 0 || g === best
        ? null
        : twoProportionZ(
            table[best * WIDTH + SELECTED]!,
            table[best * WIDTH + N]!,
            table[g * WIDTH + SELECTED]!,
            table[g * WIDTH + N]!,
          );
    const p = z === null ? null : normalTwoSidedP(z);
    const below = ratio !== null && ratio < threshold;
    const significant = p !== null && p < alpha;
    fourFifthsGroups.push([
      name,
      { impact_ratio: ratio, below_threshold: below, z, p_value: p, significant },
    ]);
    if (below && significant) adverseImpact.push(name);
  }
  const fourFifths: FourFifths = {
    threshold,
    reference_group: best < 0 ? null : index.names[best]!,
    groups: Object.fromEntries(fourFifthsGroups),
    adverse_impact: adverseImpact,
    alpha,
  };

  const unknownValues = [...new Set(attrs.flatMap((a) => cells.unknownValues[a]!))].sort();
  return {
    attributes: attrs.map((a) => cells.attributes[a]!),
    groups,
    missing,
    ...(unknownValues.length > 0 ? { unknown_values: unknownValues } : {}),
    demographic_parity_difference: gaps.dpd,
    demographic_parity_ratio: gaps.dpr,
    equalized_odds_difference: gaps.eod,
    equalized_odds_ratio: gaps.eor,
    excluded_groups: excluded,
    four_fifths: fourFifths,
    ll144: ll144Of(
      index,
      table,
      missing,
      options.hasScore ? missingScored : null,
      options.medianScore ?? null,
    ),
  };
}

// NYC Local Law 144 (6 RCNY §5-300): selection rate and, for scores, the scoring rate (share scoring above
// the sample's median); impact ratio = rate / the highest category's rate. A category under 2% of the data
// may be excluded from the impact ratios; unknown-category individuals are counted and reported.
const LL144_MIN_SHARE = 0.02;

/**
 * `unknownScored` is null without scores. The scoring table counts the scored rows (a row may be scored and not
 * decided, or decided and not scored), so its total, unknown category and 2% shares are its own.
 */
function ll144Of(
  index: GroupIndex,
  table: Float64Array,
  unknown: number,
  unknownScored: number | null,
  medianScore: number | null,
): Ll144 {
  const sharesOf = (column: number, unknownCount: number) => {
    let total = unknownCount;
    index.names.forEach((_, g) => (total += table[g * WIDTH + column]!));
    const small = index.names.map((_, g) => table[g * WIDTH + column]! < LL144_MIN_SHARE * total);
    return { total, small };
  };
  // A loop, not Math.max(...rates): with no rows of a kind, every one of thousands of groups counts.
  const highest = (small: boolean[], rateOf: (g: number) => number | null) =>
    small.reduce((max, isSmall, g) => (isSmall ? max : Math.max(max, rateOf(g) ?? 0)), 0);
  const { total, small } = sharesOf(N, unknown);
  const maxSel = highest(small, (g) => sel(table, g));
  const scored = sharesOf(SCORED, unknownScored ?? 0);
  const scoringRate = (g: number): number | null =>
    rate(table[g * WIDTH + HIGH]!, table[g * WIDTH + SCORED]!);
  const maxScoring = highest(scored.small, scoringRate);
  const selection: Ll144['selection'] = Object.fromEntries(
    index.names.map((name, g) => {
      const s = sel(table, g);
      return [
        name,
        {
          count: table[g * WIDTH + N]!,
          selection_rate: s,
          impact_ratio: small[g] || s === null ? null : rate(s, maxSel),
          excluded_under_2pct: small[g]!,
        },
      ];
    }),
  );
  const scoring: NonNullable<Ll144['scoring']> = Object.fromEntries(
    index.names.map((name, g) => {
      const r = scoringRate(g);
      return [
        name,
        {
          count: table[g * WIDTH + SCORED]!,
          scoring_rate: r,
          impact_ratio: scored.small[g] || r === null ? null : rate(r, maxScoring),
          excluded_under_2pct: scored.small[g]!,
        },
      ];
    }),
  );
  return {
    total,
    unknown_count: unknown,
    median_score: unknownScored === null ? null : medianScore,
    selection,
    scoring: unknownScored === null ? null : scoring,
    scoring_total: unknownScored === null ? null : scored.total,
    scoring_unknown_count: unknownScored,
    excluded_under_2pct: index.names.filter((_, g) => small[g]),
  };
}

export type Interval = [number, number] | null;

export interface BootstrapIntervals {
  resamples: number;
  seed: number;
  confidence: number;
  method: 'poisson_bootstrap_percentile';
  demographic_parity_difference: Interval;
  equalized_odds_difference: Interval;
  groups: Record<string, { selection_rate: Interval; tpr?: Interval; fpr?: Interval }>;
}

function interval(samples: number[], confidence: number): Interval {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  const tail = (1 - confidence) / 2;
  return [quantileSorted(sorted, tail), quantileSorted(sorted, 1 - tail)];
}

/**
 * The cells ordered by what they hold (each attribute's value, a missing one first, then label, prediction and
 * score flag), not by which row showed them first: the bootstrap draws in this order, so that the same rows
 * in another order give the same intervals.
 */
function canonicalOrder(cells: OutcomeCells): Int32Array {
  const width = cells.attributes.length;
  const compare = (x: number, y: number): number => {
    for (let a = 0; a < width; a++) {
      const cx = cells.keys[x * width + a]!;
      const cy = cells.keys[y * width + a]!;
      if (cx === cy) continue;
      if (cx < 0 || cy < 0) return cx - cy;
      const vx = cells.values[a]![cx]!;
      const vy = cells.values[a]![cy]!;
      return vx < vy ? -1 : 1;
    }
    return (
      cells.label[x]! - cells.label[y]! || cells.pred[x]! - cells.pred[y]! || cells.high[x]! - cells.high[y]!
    );
  };
  return Int32Array.from(cells.count, (_, c) => c).sort(compare);
}

/**
 * Percentile bootstrap intervals for every attribute set at once, from one seeded stream of resamples.
 * Resampling is the Poisson bootstrap (each row drawn Poisson(1) times; Hanley & MacGibbon 2006, Chamandy et
 * al. 2012), which on aggregated cells is one Poisson(count) draw per cell, so 1,000 resamples of a
 * million rows cost as much as of a thousand. Group membership in the gaps is fixed by the full-data
 * min_group_size.
 */
export function bootstrapFairness(
  cells: OutcomeCells,
  sets: number[][],
  options: {
    resamples: number;
    seed: number;
    confidence: number;
    minGroupSize: number;
    hasLabel: boolean;
    /** Called before each resample: throws to stop (a deadline, a cancel). */
    check?: () => void;
  },
): BootstrapIntervals[] {
  const rng = createRng(options.seed);
  const weights = new Float64Array(cells.count.length);
  const order = canonicalOrder(cells);
  const prepared = sets.map((attrs) => prepare(cells, attrs, options.minGroupSize));
  const samples = prepared.map((p) => ({
    dpd: [] as number[],
    eod: [] as number[],
    sel: p.index.names.map(() => [] as number[]),
    tpr: p.index.names.map(() => [] as number[]),
    fpr: p.index.names.map(() => [] as number[]),
  }));
  for (let r = 0; r < options.resamples; r++) {
    options.check?.();
    for (const c of order) weights[c] = poisson(rng, cells.count[c]!);
    prepared.forEach((p, s) => {
      const { table } = tally(cells, p.index, weights);
      const gaps = gapsOf(table, p.included, options.hasLabel);
      const out = samples[s]!;
      if (gaps.dpd !== null) out.dpd.push(gaps.dpd);
      if (gaps.eod !== null) out.eod.push(gaps.eod);
      p.index.names.forEach((_, g) => {
        const sr = sel(table, g);
        if (sr !== null) out.sel[g]!.push(sr);
        const t = tprOf(table, g);
        if (t !== null) out.tpr[g]!.push(t);
        const f = fprOf(table, g);
        if (f !== null) out.fpr[g]!.push(f);
      });
    });
  }
  return prepared.map((p, s) => {
    const out = samples[s]!;
    const groups: BootstrapIntervals['groups'] = Object.fromEntries(
      p.index.names.map((name, g) => [
        name,
        {
          selection_rate: interval(out.sel[g]!, options.confidence),
          ...(options.hasLabel
            ? {
                tpr: interval(out.tpr[g]!, options.confidence),
                fpr: interval(out.fpr[g]!, options.confidence),
              }
            : {}),
        },
      ]),
    );
    return {
      resamples: options.resamples,
      seed: options.seed,
      confidence: options.confidence,
      method: 'poisson_bootstrap_percentile',
      demographic_parity_difference: interval(out.dpd, options.confidence),
      equalized_odds_difference: options.hasLabel ? interval(out.eod, options.confidence) : null,
      groups,
    };
  });
}
