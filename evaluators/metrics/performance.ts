import { finiteOrNull, rate, sortPresent, type SortedValues } from './stats.ts';

// Labels and predictions are Int8Arrays holding 1, 0, or -1 for missing; scores are Float64Arrays with NaN
// for missing. A row enters a metric only when every input that metric needs is present.

export interface Confusion {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

export interface Performance {
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  roc_auc: number | null;
  log_loss: number | null;
  brier: number | null;
  confusion_matrix: Confusion;
  rows: number;
}

export function confusionOf(y: Int8Array, pred: Int8Array, mask?: (i: number) => boolean): Confusion {
  const c = { tn: 0, fp: 0, fn: 0, tp: 0 };
  for (let i = 0; i < y.length; i++) {
    const t = y[i]!;
    const p = pred[i]!;
    if (t < 0 || p < 0 || (mask && !mask(i))) continue;
    if (t === 1) {
      if (p === 1) c.tp++;
      else c.fn++;
    } else if (p === 1) c.fp++;
    else c.tn++;
  }
  return c;
}

/**
 * Mann–Whitney form of the ROC AUC, ties counted half (as scikit-learn's roc_auc_score), O(n log n) with
 * typed-array sorts.
 */
export function rocAuc(y: Int8Array, score: Float64Array): number | null {
  return rocAucOfSorted(sortPresent(score, y));
}

/**
 * ROC AUC from the scores sorted with their labels (rows without a label, -1, are passed over), walking tie
 * groups: each positive wins over the negatives below its score and half of those equal to it. Every term
 * is a multiple of ½ and the total stays under 2^53, so the sum is exact in any order.
 */
export function rocAucOfSorted(sorted: SortedValues<Int8Array>): number | null {
  const { values, labels } = sorted;
  let p = 0;
  let q = 0;
  let wins = 0;
  for (let i = 0; i < values.length;) {
    const s = values[i]!;
    let tiedPositives = 0;
    let tiedNegatives = 0;
    for (; i < values.length && values[i] === s; i++) {
      if (labels[i] === 1) tiedPositives++;
      else if (labels[i] === 0) tiedNegatives++;
    }
    wins += tiedPositives * q + (tiedPositives * tiedNegatives) / 2;
    p += tiedPositives;
    q += tiedNegatives;
  }
  if (p === 0 || q === 0) return null;
  return wins / (p * q);
}

// scikit-learn (1.5 and later) clips probabilities to [eps, 1 − eps] with eps the float64 machine epsilon
// before taking logs; earlier versions used 1e-15.
const LOG_LOSS_EPS = Number.EPSILON;

/** Log loss and Brier score in one pass over the rows that have both a label and a score. */
export function probabilityLosses(
  y: Int8Array,
  score: Float64Array,
): { logLoss: number | null; brier: number | null } {
  let logSum = 0;
  let squares = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const s = score[i]!;
    const t = y[i]!;
    if (t < 0 || Number.isNaN(s)) continue;
    const p = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, s));
    logSum -= t === 1 ? Math.log(p) : Math.log(1 - p);
    squares += (s - t) ** 2;
    n++;
  }
  return n === 0 ? { logLoss: null, brier: null } : { logLoss: finiteOrNull(logSum / n), brier: squares / n };
}

/** `sorted`: the scores sorted with their labels, when the caller has them already (see rocAucOfSorted). */
export function performanceOf(
  y: Int8Array,
  pred: Int8Array,
  score: Float64Array | null,
  sorted: SortedValues<Int8Array> | null = score ? sortPresent(score, y) : null,
): Performance {
  const c = confusionOf(y, pred);
  const precision = rate(c.tp, c.tp + c.fp);
  const recall = rate(c.tp, c.tp + c.fn);
  // F1 = 2TP / (2TP + FP + FN); undefined only when there is neither a positive label nor a positive prediction.
  const f1 = rate(2 * c.tp, 2 * c.tp + c.fp + c.fn);
  const rows = c.tn + c.fp + c.fn + c.tp;
  const losses = score ? probabilityLosses(y, score) : null;
  return {
    accuracy: rate(c.tp + c.tn, rows),
    precision,
    recall,
    f1,
    roc_auc: sorted ? rocAucOfSorted(sorted) : null,
    log_loss: losses ? losses.logLoss : null,
    brier: losses ? losses.brier : null,
    confusion_matrix: c,
    rows,
  };
}

export interface Calibration {
  ece: number | null;
  bins: {
    lower: number;
    upper: number;
    count: number;
    mean_score: number | null;
    positive_rate: number | null;
  }[];
}

/** Rows split into groups: code per row (-1 when missing), codes below `groups`. */
export interface Grouping {
  codes: Int32Array;
  groups: number;
}

/**
 * Expected calibration error over equal-width score bins: sum over bins of (bin share) * |positive rate −
 * mean score|. The upper edge of the last bin is closed. With groupings, also the ECE of each group
 * (`byGroup[k][code]`, null for a group without scored rows), in the same pass over the rows.
 */
export function calibrationOf(
  y: Int8Array,
  score: Float64Array,
  binCount = 10,
  groupings: Grouping[] = [],
): Calibration & { byGroup: (number | null)[][] } {
  const count = new Float64Array(binCount);
  const sumScore = new Float64Array(binCount);
  const sumLabel = new Float64Array(binCount);
  const width = binCount * 3;
  // Per grouping: count, score sum and label sum per (group, bin), and scored rows per group.
  const acc = groupings.map((g) => new Float64Array(g.groups * width));
  const totals = groupings.map((g) => new Float64Array(g.groups));
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const s = score[i]!;
    const t = y[i]!;
    if (t < 0 || Number.isNaN(s)) continue;
    const b = Math.min(binCount - 1, Math.max(0, Math.floor(s * binCount)));
    count[b]!++;
    sumScore[b]! += s;
    sumLabel[b]! += t;
    n++;
    for (let k = 0; k < groupings.length; k++) {
      const g = groupings[k]!.codes[i]!;
      if (g < 0) continue;
      const a = acc[k]!;
      const o = g * width + b * 3;
      a[o]!++;
      a[o + 1]! += s;
      a[o + 2]! += t;
      totals[k]![g]!++;
    }
  }
  let ece = 0;
  const bins: Calibration['bins'] = [];
  for (let b = 0; b < binCount; b++) {
    const c = count[b]!;
    if (c > 0) ece += (c / n) * Math.abs(sumLabel[b]! / c - sumScore[b]! / c);
    bins.push({
      lower: b / binCount,
      upper: (b + 1) / binCount,
      count: c,
      mean_score: rate(sumScore[b]!, c),
      positive_rate: rate(sumLabel[b]!, c),
    });
  }
  const byGroup = groupings.map((grouping, k) => {
    const out: (number | null)[] = [];
    for (let g = 0; g < grouping.groups; g++) {
      const total = totals[k]![g]!;
      if (total === 0) {
        out.push(null);
        continue;
      }
      let e = 0;
      for (let b = 0; b < binCount; b++) {
        const o = g * width + b * 3;
        const c = acc[k]![o]!;
        if (c > 0) e += (c / total) * Math.abs(acc[k]![o + 2]! / c - acc[k]![o + 1]! / c);
      }
      out.push(e);
    }
    return out;
  });
  return { ece: n === 0 ? null : ece, bins, byGroup };
}
