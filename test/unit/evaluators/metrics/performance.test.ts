import { describe, expect, it } from 'vitest';
import {
  calibrationOf,
  confusionOf,
  performanceOf,
  rocAuc,
} from '../../../../evaluators/metrics/performance.ts';
import { createRng } from '../../../../evaluators/metrics/stats.ts';

const y = Int8Array.from([1, 1, 0, 0, 1, 0]);
const pred = Int8Array.from([1, 0, 0, 1, 1, 0]);
const score = Float64Array.from([0.9, 0.4, 0.35, 0.8, 0.7, 0.1]);

describe('performanceOf', () => {
  it('matches a hand-checked confusion matrix and rates', () => {
    const p = performanceOf(y, pred, score);
    expect(p.confusion_matrix).toEqual({ tn: 2, fp: 1, fn: 1, tp: 2 });
    expect(p.accuracy).toBeCloseTo(4 / 6, 12);
    expect(p.precision).toBeCloseTo(2 / 3, 12);
    expect(p.recall).toBeCloseTo(2 / 3, 12);
    expect(p.f1).toBeCloseTo(2 / 3, 12);
    // Positive/negative pairs ranked correctly: 0.9 beats 3, 0.4 beats 2, 0.7 beats 2, of 9 pairs.
    expect(p.roc_auc).toBeCloseTo(7 / 9, 12);
    const logLoss =
      -(Math.log(0.9) + Math.log(0.4) + Math.log(0.65) + Math.log(0.2) + Math.log(0.7) + Math.log(0.9)) / 6;
    expect(p.log_loss).toBeCloseTo(logLoss, 12);
    expect(p.brier).toBeCloseTo((0.01 + 0.36 + 0.1225 + 0.64 + 0.09 + 0.01) / 6, 12);
  });

  it('clips scores of exactly 0 and 1 to machine epsilon before the log, as scikit-learn 1.5 does', () => {
    const p = performanceOf(Int8Array.from([1, 0]), Int8Array.from([0, 0]), Float64Array.from([0, 0]));
    // −(log ε + log(1 − ε)) / 2 with ε = 2.220446049250313e-16, computed in Python
    expect(p.log_loss).toBeCloseTo(18.021826694558577, 9);
  });

  it('counts ties in ROC AUC as one half', () => {
    expect(rocAuc(Int8Array.from([1, 0]), Float64Array.from([0.5, 0.5]))).toBe(0.5);
  });

  it('gives the ROC AUC of counting every positive–negative pair, with ties, missing labels and scores', () => {
    const rng = createRng(11);
    const n = 400;
    const y = Int8Array.from({ length: n }, () => (rng() < 0.1 ? -1 : rng() < 0.4 ? 1 : 0));
    const s = Float64Array.from({ length: n }, () =>
      rng() < 0.05 ? Number.NaN : Math.round(rng() * 20) / 20,
    );
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (y[i] !== 1 || y[j] !== 0 || Number.isNaN(s[i]!) || Number.isNaN(s[j]!)) continue;
        pairs++;
        wins += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
    expect(rocAuc(y, s)).toBe(wins / pairs);
  });

  it('leaves out rows with a missing label or prediction', () => {
    const c = confusionOf(Int8Array.from([1, -1, 0]), Int8Array.from([1, 1, -1]));
    expect(c).toEqual({ tn: 0, fp: 0, fn: 0, tp: 1 });
  });

  describe('when a rate is undefined', () => {
    it('is null, never 0', () => {
      const p = performanceOf(Int8Array.from([0, 0]), Int8Array.from([0, 0]), Float64Array.from([0.2, 0.3]));
      expect(p.recall).toBeNull();
      expect(p.precision).toBeNull();
      expect(p.f1).toBeNull();
      expect(p.roc_auc).toBeNull();
      expect(p.accuracy).toBe(1);
    });
    it('has null accuracy when no row has both label and prediction', () => {
      expect(performanceOf(Int8Array.from([-1]), Int8Array.from([1]), null).accuracy).toBeNull();
    });
  });
});

describe('calibrationOf', () => {
  it('computes expected calibration error over equal-width bins', () => {
    // Bin [0.1,0.2): mean score .15, positive rate .5; bin [0.8,0.9): mean .85, rate 1 → .5·.35 + .5·.15.
    const c = calibrationOf(Int8Array.from([0, 1, 1, 1]), Float64Array.from([0.15, 0.15, 0.85, 0.85]));
    expect(c.ece).toBeCloseTo(0.25, 12);
    expect(c.bins[1]).toEqual({ lower: 0.1, upper: 0.2, count: 2, mean_score: 0.15, positive_rate: 0.5 });
    expect(c.bins[0]!.mean_score).toBeNull();
  });
  it('puts a score of exactly 1 in the last bin', () => {
    expect(calibrationOf(Int8Array.from([1]), Float64Array.from([1])).bins[9]!.count).toBe(1);
  });
  it("gives each group's ECE, as calibrationOf of that group's rows alone, in the same pass", () => {
    const rng = createRng(5);
    const n = 300;
    const y = Int8Array.from({ length: n }, () => (rng() < 0.05 ? -1 : rng() < 0.5 ? 1 : 0));
    const score = Float64Array.from({ length: n }, () => (rng() < 0.05 ? Number.NaN : rng()));
    const codes = Int32Array.from({ length: n }, () => Math.floor(rng() * 4) - 1);
    const { byGroup } = calibrationOf(y, score, 10, [{ codes, groups: 4 }]);
    for (let g = 0; g < 3; g++) {
      const rows = [...codes.keys()].filter((i) => codes[i] === g);
      const alone = calibrationOf(
        Int8Array.from(rows, (i) => y[i]!),
        Float64Array.from(rows, (i) => score[i]!),
      );
      expect(byGroup[0]![g]).toBe(alone.ece);
    }
    expect(byGroup[0]![3]).toBeNull();
  });
});
