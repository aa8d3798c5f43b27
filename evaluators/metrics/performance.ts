import { finiteOrNull, rate } from './stats.ts';

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
 * Mann–Whitney form of the ROC AUC, ties counted half (as scikit-learn's roc_auc_score): positives' and
 * negatives' scores are sorted apart and merged, O(n log n) with typed-array sorts.
 */
export function rocAuc(y: Int8Array, score: Float64Array): number | null {
  let p = 0;
  let q = 0;
  const pos = new Float64Array(y.length);
  const neg = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const s = score[i]!;
    if (y[i]! < 0 || Number.isNaN(s)) continue;
    if (y[i] === 1) pos[p++] = s;
    else neg[q++] = s;
  }
  if (p === 0 || q === 0) return null;
  const P = pos.subarray(0, p).sort();
  const N = neg.subarray(0, q).sort();
  let wins = 0;
  let below = 0;
  let equal = 0;
  let j = 0;
  for (let i = 0; i < p; i++) {
    const s = P[i]!;
    if (i === 0 || s !== P[i - 1]) {
      while (j < q && N[j]! < s) j++;
      below = j;
      let k = j;
      while (k < q && N[k] === s) k++;
      equal = k - j;
    }
    wins += below + equal / 2;
  }
  return wins / (p * q);
}

// scikit-learn clips probabilities away from 0 and 1 before taking logs.
const LOG_LOSS_EPS = 1e-15;

export function logLoss(y: Int8Array, score: Float64Array): number | null {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const s = score[i]!;
    if (y[i]! < 0 || Number.isNaN(s)) continue;
    const p = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, s));
    sum -= y[i] === 1 ? Math.log(p) : Math.log(1 - p);
    n++;
  }
  return n === 0 ? null : finiteOrNull(sum / n);
}

export function brier(y: Int8Array, score: Float64Array): number | null {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const s = score[i]!;
    if (y[i]! < 0 || Number.isNaN(s)) continue;
    sum += (s - y[i]!) ** 2;
    n++;
  }
  return n === 0 ? null : sum / n;
}

export function performanceOf(y: Int8Array, pred: Int8Array, score: Float64Array | null): Performance {
  const c = confusionOf(y, pred);
  const precision = rate(c.tp, c.tp + c.fp);
  const recall = rate(c.tp, c.tp + c.fn);
  // F1 = 2TP / (2TP + FP + FN); undefined only when there is neither a positive label nor a positive prediction.
  const f1 = rate(2 * c.tp, 2 * c.tp + c.fp + c.fn);
  const rows = c.tn + c.fp + c.fn + c.tp;
  return {
    accuracy: rate(c.tp + c.tn, rows),
    precision,
    recall,
    f1,
    roc_auc: score ? rocAuc(y, score) : null,
    log_loss: score ? logLoss(y, score) : null,
    brier: score ? brier(y, score) : null,
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

/**
 * Expected calibration error over equal-width score bins: sum over bins of (bin share) * |positive rate −
 * mean score|. The upper edge of the last bin is closed.
 */
export function calibrationOf(
  y: Int8Array,
  score: Float64Array,
  binCount = 10,
  mask?: (i: number) => boolean,
): Calibration {
  const count = new Float64Array(binCount);
  const sumScore = new Float64Array(binCount);
  const sumLabel = new Float64Array(binCount);
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const s = score[i]!;
    if (y[i]! < 0 || Number.isNaN(s) || (mask && !mask(i))) continue;
    const b = Math.min(binCount - 1, Math.max(0, Math.floor(s * binCount)));
    count[b]!++;
    sumScore[b]! += s;
    sumLabel[b]! += y[i]!;
    n++;
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
  return { ece: n === 0 ? null : ece, bins };
}

/** ECE per group in one pass over the rows (codes: group per row, -1 when missing). */
export function eceByGroup(
  y: Int8Array,
  score: Float64Array,
  codes: Int32Array,
  groups: number,
  binCount = 10,
): (number | null)[] {
  const width = binCount * 3;
  const acc = new Float64Array(groups * width);
  const totals = new Float64Array(groups);
  for (let i = 0; i < y.length; i++) {
    const g = codes[i]!;
    const s = score[i]!;
    if (g < 0 || y[i]! < 0 || Number.isNaN(s)) continue;
    const b = Math.min(binCount - 1, Math.max(0, Math.floor(s * binCount)));
    const o = g * width + b * 3;
    acc[o]!++;
    acc[o + 1]! += s;
    acc[o + 2]! += y[i]!;
    totals[g]!++;
  }
  const out: (number | null)[] = [];
  for (let g = 0; g < groups; g++) {
    if (totals[g] === 0) {
      out.push(null);
      continue;
    }
    let ece = 0;
    for (let b = 0; b < binCount; b++) {
      const o = g * width + b * 3;
      const c = acc[o]!;
      if (c > 0) ece += (c / totals[g]!) * Math.abs(acc[o + 2]! / c - acc[o + 1]! / c);
    }
    out.push(ece);
  }
  return out;
}
