import { numericValue } from '../onnx/features.ts';
import type { Cell, Row } from '../readers/rows.ts';
import { createRng, rate, type Rng } from './stats.ts';

// Robustness and explainability probe the model on a seeded sample of rows. The model arrives as a
// predict function (scores in [0, 1]), so these stay pure apart from that call. A variant the model cannot
// score (NaN: a value it cannot read, such as a category swapped into a numeric feature) takes no part in
// the rates and means, and is counted as `unscorable`.
export type Predict = (rows: Row[]) => Promise<Float64Array>;

/**
 * Throws to stop a probe (the evaluation's time limit or a cancel): called before each model run and each
 * round of a probe's loops, as a probe may score millions of variants.
 */
export type Check = () => void;
const unchecked: Check = () => {};

export interface CounterfactualResult {
  attribute: string;
  rows: number;
  flip_rate: number | null;
  mean_abs_score_change: number | null;
  /** By the value a row had, then the value swapped in: values are data, and no separator is safe in a key. */
  swaps: Record<string, Record<string, { rows: number; flip_rate: number | null }>>;
  unscorable: number;
}

/** Share of rows whose decision changes when the sensitive attribute alone is set to another value. */
export async function counterfactualFlips(
  rows: Row[],
  attribute: string,
  values: string[],
  predict: Predict,
  threshold: number,
  check: Check = unchecked,
): Promise<CounterfactualResult> {
  check();
  const eligible = rows.filter((r) => r[attribute] !== null && r[attribute] !== undefined);
  const variants: Row[] = [];
  const origin: { row: number; from: string; to: string }[] = [];
  eligible.forEach((row, i) => {
    const from = String(row[attribute]);
    for (const to of values) {
      if (to === from) continue;
      variants.push({ ...row, [attribute]: to });
      origin.push({ row: i, from, to });
    }
  });
  check();
  const base = await predict(eligible);
  check();
  const swapped = variants.length > 0 ? await predict(variants) : new Float64Array(0);
  const flippedRow = new Uint8Array(eligible.length);
  const scoredRow = new Uint8Array(eligible.length);
  const swaps = new Map<string, Map<string, { rows: number; flips: number }>>();
  let change = 0;
  let scored = 0;
  let unscorable = 0;
  origin.forEach((o, k) => {
    if (!Number.isFinite(base[o.row]!) || !Number.isFinite(swapped[k]!)) {
      unscorable++;
      return;
    }
    scored++;
    scoredRow[o.row] = 1;
    const before = base[o.row]! >= threshold;
    const after = swapped[k]! >= threshold;
    change += Math.abs(swapped[k]! - base[o.row]!);
    let from = swaps.get(o.from);
    if (!from) swaps.set(o.from, (from = new Map()));
    const s = from.get(o.to) ?? { rows: 0, flips: 0 };
    s.rows++;
    if (before !== after) {
      s.flips++;
      flippedRow[o.row] = 1;
    }
    from.set(o.to, s);
  });
  const sorted = <V>(map: Map<string, V>) => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: CounterfactualResult['swaps'] = Object.fromEntries(
    sorted(swaps).map(([from, to]) => [
      from,
      Object.fromEntries(
        sorted(to).map(([value, s]) => [value, { rows: s.rows, flip_rate: rate(s.flips, s.rows) }]),
      ),
    ]),
  );
  return {
    attribute,
    rows: eligible.length,
    flip_rate: rate(
      flippedRow.reduce((a, b) => a + b, 0),
      scoredRow.reduce((a, b) => a + b, 0),
    ),
    mean_abs_score_change: rate(change, scored),
    swaps: out,
    unscorable,
  };
}

export interface PerturbationResult {
  relative_noise: number;
  seed: number;
  rows: number;
  features: string[];
  flip_rate: number | null;
  mean_abs_score_change: number | null;
  max_abs_score_change: number | null;
  unscorable: number;
}

/**
 * Gaussian noise of relative_noise × (feature's standard deviation) on every numeric feature at once. A feature
 * with `whole` set feeds an integer input: its noisy value is rounded, as the model could not take it otherwise.
 */
export async function perturbationSensitivity(
  rows: Row[],
  numeric: { column: string; std: number; whole?: boolean }[],
  predict: Predict,
  threshold: number,
  relativeNoise: number,
  seed: number,
  check: Check = unchecked,
): Promise<PerturbationResult> {
  check();
  const rng = createRng(seed);
  const noisy = rows.map((row) => {
    const copy: Row = { ...row };
    for (const f of numeric) {
      const v = row[f.column];
      const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
      if (!Number.isFinite(x)) continue;
      const moved = x + relativeNoise * f.std * gaussian(rng);
      copy[f.column] = f.whole ? Math.round(moved) : moved;
    }
    return copy;
  });
  check();
  const base = await predict(rows);
  check();
  const moved = await predict(noisy);
  let flips = 0;
  let sum = 0;
  let max = 0;
  let scored = 0;
  for (let i = 0; i < rows.length; i++) {
    if (!Number.isFinite(base[i]!) || !Number.isFinite(moved[i]!)) continue;
    scored++;
    const d = Math.abs(moved[i]! - base[i]!);
    sum += d;
    max = Math.max(max, d);
    if (base[i]! >= threshold !== moved[i]! >= threshold) flips++;
  }
  return {
    relative_noise: relativeNoise,
    seed,
    rows: rows.length,
    features: numeric.map((f) => f.column),
    flip_rate: rate(flips, scored),
    mean_abs_score_change: rate(sum, scored),
    max_abs_score_change: scored === 0 ? null : max,
    unscorable: rows.length - scored,
  };
}

function gaussian(rng: Rng): number {
  let u = rng();
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export interface PermutationImportance {
  metric: 'accuracy_drop' | 'mean_abs_score_change';
  repeats: number;
  seed: number;
  rows: number;
  /** importance and std are null where no shuffle of the feature had a row to measure the loss on. */
  features: { feature: string; importance: number | null; std: number | null }[];
  /** Shuffled rows, over every feature and repeat, that the model could not score. */
  unscorable: number;
}

/**
 * The loss of one shuffle, over the rows scored both before and after it: the accuracy drop with labels, over
 * the labelled ones among them (an unlabelled row is neither right nor wrong, as scikit-learn's
 * permutation_importance never sees it); the mean absolute score change without. Null when no row counts.
 */
function lossOf(
  base: Float64Array,
  shuffled: Float64Array,
  labels: Int8Array | null,
  threshold: number,
): { loss: number | null; unscorable: number } {
  let scored = 0;
  let labelled = 0;
  let change = 0;
  let rightBefore = 0;
  let rightAfter = 0;
  for (let i = 0; i < base.length; i++) {
    if (!Number.isFinite(base[i]!) || !Number.isFinite(shuffled[i]!)) continue;
    scored++;
    change += Math.abs(shuffled[i]! - base[i]!);
    if (labels && labels[i]! >= 0) {
      labelled++;
      if ((base[i]! >= threshold ? 1 : 0) === labels[i]) rightBefore++;
      if ((shuffled[i]! >= threshold ? 1 : 0) === labels[i]) rightAfter++;
    }
  }
  return {
    loss: labels
      ? labelled === 0
        ? null
        : rightBefore / labelled - rightAfter / labelled
      : rate(change, scored),
    unscorable: base.length - scored,
  };
}

/**
 * Permutation importance: shuffle one raw column across the sample and measure the loss. With labels the
 * loss is the accuracy drop (scikit-learn's permutation_importance with accuracy); without, the mean
 * absolute change of the score.
 */
export async function permutationImportance(
  rows: Row[],
  features: string[],
  labels: Int8Array | null,
  predict: Predict,
  threshold: number,
  repeats: number,
  seed: number,
  check: Check = unchecked,
): Promise<PermutationImportance> {
  const rng = createRng(seed);
  check();
  const base = await predict(rows);
  const result: PermutationImportance['features'] = [];
  let unscorable = 0;
  for (const feature of features) {
    const losses: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const column: Cell[] = rows.map((row) => row[feature] ?? null);
      for (let i = column.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [column[i], column[j]] = [column[j]!, column[i]!];
      }
      check();
      const scores = await predict(rows.map((row, i) => ({ ...row, [feature]: column[i]! })));
      const shuffle = lossOf(base, scores, labels, threshold);
      if (shuffle.loss !== null) losses.push(shuffle.loss);
      unscorable += shuffle.unscorable;
    }
    const mean = rate(
      losses.reduce((a, b) => a + b, 0),
      losses.length,
    );
    const std =
      mean === null ? null : Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / losses.length);
    result.push({ feature, importance: mean, std });
  }
  // Most important first; features without an importance last.
  result.sort(
    (a, b) => (b.importance ?? -Infinity) - (a.importance ?? -Infinity) || (a.feature < b.feature ? -1 : 1),
  );
  return {
    metric: labels ? 'accuracy_drop' : 'mean_abs_score_change',
    repeats,
    seed,
    rows: rows.length,
    features: result,
    unscorable,
  };
}

/** The kind of model input a numeric feature feeds: its baseline must be a value that input can take. */
export type NumericInput = 'float' | 'integer' | 'bool';

/**
 * A numeric feature's baseline, from its values sorted ascending (no NaN): the median for a float input; for an
 * integer input the lower median of its whole values (a value the data holds, where the half-way median of an
 * even count, 4.5, is one an int64 input cannot take, and every reset to it would go unscored); for a bool
 * input the mode of its 0s and 1s (a tie: 0). Null when there is no such value.
 */
export function numericBaseline(sorted: Float64Array, input: NumericInput): number | null {
  if (input === 'float') {
    if (sorted.length === 0) return null;
    const mid = sorted.length >> 1;
    if (sorted.length % 2) return sorted[mid]!;
    const [a, b] = [sorted[mid - 1]!, sorted[mid]!];
    // Two values near 1.8e308 overflow their sum, not their halves.
    return Number.isFinite(a + b) ? (a + b) / 2 : a / 2 + b / 2;
  }
  if (input === 'bool') {
    let zeros = 0;
    let ones = 0;
    for (const x of sorted) {
      if (x === 0) zeros++;
      else if (x === 1) ones++;
    }
    return zeros + ones === 0 ? null : ones > zeros ? 1 : 0;
  }
  const whole = sorted.filter((x) => Number.isSafeInteger(x));
  return whole.length === 0 ? null : whole[(whole.length - 1) >> 1]!;
}

export interface RowReasons {
  row: number;
  score: number;
  decision: 0 | 1;
  reasons: { feature: string; value: Cell; baseline: Cell; contribution: number }[];
}

export interface Reasons {
  rows: RowReasons[];
  /**
   * By feature, the rows whose score the model could not give with that feature reset to its baseline: their
   * reasons leave the feature out, and this says how often that happened.
   */
  unscorable: Record<string, number>;
}

/**
 * Per-row reasons for adverse-action notices: each feature's contribution is the score change when that
 * feature alone is reset to a baseline (median or mode); the top ones pushing toward the decision made. A
 * reset the model cannot score has no contribution, and is counted in `unscorable`.
 */
export async function topReasons(
  rows: Row[],
  features: string[],
  baseline: Row,
  predict: Predict,
  threshold: number,
  k: number,
  check: Check = unchecked,
): Promise<Reasons> {
  check();
  const base = await predict(rows);
  const variants: Row[] = [];
  for (const row of rows) for (const f of features) variants.push({ ...row, [f]: baseline[f] ?? null });
  check();
  const scores = await predict(variants);
  const unscorable = new Array<number>(features.length).fill(0);
  const reasons = rows.map((row, i) => {
    const decision: 0 | 1 = base[i]! >= threshold ? 1 : 0;
    const contributions = features.map((f, j) => {
      const contribution = base[i]! - scores[i * features.length + j]!;
      if (Number.isNaN(contribution)) unscorable[j]!++;
      return {
        feature: f,
        value: asBaseline(row[f] ?? null, baseline[f] ?? null),
        baseline: baseline[f] ?? null,
        contribution,
      };
    });
    const toward = contributions
      .filter((c) => (decision === 1 ? c.contribution > 0 : c.contribution < 0))
      .sort(
        (a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || (a.feature < b.feature ? -1 : 1),
      );
    return { row: i, score: base[i]!, decision, reasons: toward.slice(0, k) };
  });
  return { rows: reasons, unscorable: Object.fromEntries(features.map((f, j) => [f, unscorable[j]!])) };
}

/**
 * A cell as its feature's baseline is: a numeric feature's baseline is a number (the median), and its cells,
 * read from CSV as text, are given as the number the model was fed, so that a reason compares like with like.
 */
function asBaseline(value: Cell, baseline: Cell): Cell {
  if (typeof baseline !== 'number' || typeof value !== 'string') return value;
  const x = numericValue(value);
  return Number.isFinite(x) ? x : value;
}
