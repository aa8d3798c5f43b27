import { describe, expect, it } from 'vitest';
import { UNKNOWN_CATEGORY } from '../../../../evaluators/categories.ts';
import {
  bootstrapFairness,
  buildCells,
  cellsFromRecords,
  fairnessOf,
} from '../../../../evaluators/metrics/fairness.ts';

type Rec = Parameters<typeof cellsFromRecords>[1][number];
const rows = (group: string, labels: (0 | 1)[], preds: (0 | 1)[]): Rec[] =>
  labels.map((label, i) => ({ groups: [group], label, pred: preds[i]! }));

describe('fairnessOf', () => {
  // A: TPR 1/2, FPR 1/2, selection 1/2. B: TPR 1, FPR 1/3, selection 1/2. C: two rows, below min size 3.
  const cells = cellsFromRecords(
    ['g'],
    [
      ...rows('A', [1, 1, 0, 0], [1, 0, 1, 0]),
      ...rows('B', [1, 0, 0, 0], [1, 1, 0, 0]),
      ...rows('C', [1, 0], [1, 1]),
      { groups: [null], label: 1, pred: 1 },
    ],
  );
  const f = fairnessOf(cells, [0], { minGroupSize: 3, hasLabel: true, hasScore: false });

  it('computes per-group rates as Fairlearn does', () => {
    expect(f.groups.A).toMatchObject({
      count: 4,
      selection_rate: 0.5,
      tpr: 0.5,
      fpr: 0.5,
      fnr: 0.5,
      ppv: 0.5,
      accuracy: 0.5,
    });
    expect(f.groups.B).toMatchObject({
      count: 4,
      selection_rate: 0.5,
      tpr: 1,
      fnr: 0,
      ppv: 0.5,
      accuracy: 0.75,
    });
    expect(f.groups.B!.fpr).toBeCloseTo(1 / 3, 12);
    expect(f.groups.B!.confusion_matrix).toEqual({ tn: 2, fp: 1, fn: 0, tp: 1 });
    expect(f.missing).toBe(1);
  });

  it('computes the gaps over groups of at least min_group_size, listing the others with the reason', () => {
    expect(f.demographic_parity_difference).toBe(0);
    expect(f.demographic_parity_ratio).toBe(1);
    expect(f.equalized_odds_difference).toBeCloseTo(0.5, 12); // max(|1 − 1/2|, |1/2 − 1/3|)
    expect(f.equalized_odds_ratio).toBeCloseTo(0.5, 12); // min(1/2 ÷ 1, (1/3) ÷ (1/2))
    expect(f.excluded_groups).toEqual([
      {
        group: 'C',
        count: 2,
        reason: 'count 2 is below min_group_size 3',
        from: ['demographic_parity', 'equalized_odds', 'impact_ratio'],
      },
    ]);
    // C selects everyone, but as an excluded group it does not set the reference rate.
    expect(f.groups.C!.impact_ratio).toBe(2);
  });

  it('reports a rate with no denominator as null, and a range over fewer than two groups as null', () => {
    const c = cellsFromRecords(
      ['g'],
      [...rows('A', [1, 0, 1, 0], [1, 0, 0, 1]), ...rows('B', [0, 0, 0, 0], [1, 0, 0, 0])],
    );
    const r = fairnessOf(c, [0], { minGroupSize: 1, hasLabel: true, hasScore: false });
    expect(r.groups.B!.tpr).toBeNull();
    expect(r.groups.B!.fnr).toBeNull();
    expect(r.groups.B!.ppv).toBe(0);
    expect(r.excluded_groups).toEqual([
      {
        group: 'B',
        count: 4,
        reason: 'tpr undefined (no positive labels); its fpr still counts in the fpr range',
        from: ['equalized_odds'],
      },
    ]);
    // Only A has a TPR, so the TPR range compares nothing: equalized odds is unknown, not a perfect 0.
    expect(r.equalized_odds_difference).toBeNull();
    expect(r.equalized_odds_ratio).toBeNull();
    expect(r.demographic_parity_difference).toBe(0.25);
  });

  it('keeps a group whose TPR is undefined in the FPR range', () => {
    const ones = (n: number, k: number): (0 | 1)[] => Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
    // A: no positive labels, FPR 9/10. B: TPR 1/2, FPR 1/10. C: TPR 3/5, FPR 2/10.
    const c = cellsFromRecords(
      ['g'],
      [
        ...rows('A', ones(10, 0), ones(10, 9)),
        ...rows('B', [...ones(2, 2), ...ones(10, 0)], [...ones(2, 1), ...ones(10, 1)]),
        ...rows('C', [...ones(5, 5), ...ones(10, 0)], [...ones(5, 3), ...ones(10, 2)]),
      ],
    );
    const r = fairnessOf(c, [0], { minGroupSize: 1, hasLabel: true, hasScore: false });
    expect(r.groups.A!.fpr).toBeCloseTo(0.9, 12);
    expect(r.excluded_groups.map((e) => e.group)).toEqual(['A']);
    expect(r.equalized_odds_difference).toBeCloseTo(0.8, 12); // max(3/5 − 1/2, 9/10 − 1/10)
    expect(r.equalized_odds_ratio).toBeCloseTo(1 / 9, 12); // min((1/2) ÷ (3/5), (1/10) ÷ (9/10))
    // The bootstrap counts A's FPR in every resample too; at 100 times the rows its interval is tight around
    // 0.8, where an A left out would put the gap near 0.1.
    const big = cellsFromRecords(
      ['g'],
      [
        ...rows('A', ones(1000, 0), ones(1000, 900)),
        ...rows('B', [...ones(200, 200), ...ones(1000, 0)], [...ones(200, 100), ...ones(1000, 100)]),
        ...rows('C', [...ones(500, 500), ...ones(1000, 0)], [...ones(500, 300), ...ones(1000, 200)]),
      ],
    );
    const [boot] = bootstrapFairness(big, [[0]], {
      resamples: 200,
      seed: 3,
      confidence: 0.9,
      minGroupSize: 1,
      hasLabel: true,
    });
    const [low, high] = boot!.equalized_odds_difference!;
    expect(low).toBeGreaterThan(0.75);
    expect(high).toBeLessThan(0.85);
  });

  it('has no gaps when min_group_size leaves one group to compare', () => {
    const c = cellsFromRecords(
      ['g'],
      [...rows('A', [1, 1, 0, 0, 1], [1, 0, 1, 0, 1]), ...rows('B', [1, 0], [0, 0])],
    );
    const r = fairnessOf(c, [0], { minGroupSize: 3, hasLabel: true, hasScore: false });
    expect(r.groups.B!.selection_rate).toBe(0);
    expect(r.demographic_parity_difference).toBeNull();
    expect(r.demographic_parity_ratio).toBeNull();
    expect(r.equalized_odds_difference).toBeNull();
    expect(r.equalized_odds_ratio).toBeNull();
    const [boot] = bootstrapFairness(c, [[0]], {
      resamples: 50,
      seed: 1,
      confidence: 0.9,
      minGroupSize: 3,
      hasLabel: true,
    });
    expect(boot!.demographic_parity_difference).toBeNull();
    expect(boot!.equalized_odds_difference).toBeNull();
  });

  it('asks before each resample whether to go on, and stops when told', () => {
    const c = cellsFromRecords(['g'], [...rows('A', [1, 0, 1], [1, 0, 0]), ...rows('B', [1, 0], [0, 1])]);
    let calls = 0;
    const options = { resamples: 40, seed: 1, confidence: 0.9, minGroupSize: 1, hasLabel: true };
    bootstrapFairness(c, [[0]], { ...options, check: () => void calls++ });
    expect(calls).toBe(40);
    calls = 0;
    const stop = () => {
      if (++calls > 5) throw new Error('deadline');
    };
    expect(() => bootstrapFairness(c, [[0]], { ...options, check: stop })).toThrow('deadline');
    expect(calls).toBe(6);
  });

  it('says a group without any label has neither rate', () => {
    const c = cellsFromRecords(
      ['g'],
      [...rows('A', [1, 0], [1, 0]), { groups: ['B'], label: null, pred: 1 }],
    );
    const r = fairnessOf(c, [0], { minGroupSize: 1, hasLabel: true, hasScore: false });
    expect(r.excluded_groups).toEqual([
      { group: 'B', count: 1, reason: 'tpr and fpr undefined (no labels)', from: ['equalized_odds'] },
    ]);
  });

  it('without labels computes selection rates only', () => {
    const c = cellsFromRecords(
      ['g'],
      [
        { groups: ['A'], pred: 1 },
        { groups: ['A'], pred: 0 },
        { groups: ['B'], pred: 0 },
        { groups: ['B'], pred: 0 },
      ],
    );
    const r = fairnessOf(c, [0], { minGroupSize: 1, hasLabel: false, hasScore: false });
    expect(r.groups.A).toEqual({ count: 2, selection_rate: 0.5, impact_ratio: 1 });
    expect(r.groups.B!.impact_ratio).toBe(0);
    expect(r.demographic_parity_ratio).toBe(0);
    expect(r.equalized_odds_difference).toBeNull();
  });

  it('names intersection groups by joining values with &', () => {
    const c = cellsFromRecords(
      ['race', 'sex'],
      [
        { groups: ['a', 'f'], label: 1, pred: 1 },
        { groups: ['a', 'm'], label: 0, pred: 0 },
        { groups: ['b', null], label: 0, pred: 0 },
      ],
    );
    const r = fairnessOf(c, [0, 1], { minGroupSize: 1, hasLabel: true, hasScore: false });
    expect(Object.keys(r.groups)).toEqual(['a&f', 'a&m']);
    expect(r.missing).toBe(1);
    expect(r.attributes).toEqual(['race', 'sex']);
  });

  it('keeps intersection groups apart when their values hold &, escaping it in the name', () => {
    const c = cellsFromRecords(
      ['a', 'b'],
      [
        { groups: ['X&Y', 'Z'], pred: 1 },
        { groups: ['X', 'Y&Z'], pred: 0 },
        { groups: ['X\\', 'Z'], pred: 0 },
      ],
    );
    const r = fairnessOf(c, [0, 1], { minGroupSize: 1, hasLabel: false, hasScore: false });
    expect(r.groups).toEqual({
      'X&Y\\&Z': { count: 1, selection_rate: 0, impact_ratio: 0 },
      'X\\&Y&Z': { count: 1, selection_rate: 1, impact_ratio: 1 },
      'X\\\\&Z': { count: 1, selection_rate: 0, impact_ratio: 0 },
    });
    expect(r.demographic_parity_difference).toBe(1);
    // A single attribute's groups are its values as they are.
    expect(
      Object.keys(fairnessOf(c, [0], { minGroupSize: 1, hasLabel: false, hasScore: false }).groups),
    ).toEqual(['X', 'X&Y', 'X\\']);
  });

  it('computes the gaps of an intersection of hundreds of thousands of groups', () => {
    // One group per row: the ranges are a loop, not Math.max(...rates), which overflows the stack with an
    // argument per group.
    const n = 200_000;
    const values = Array.from({ length: n }, (_, i) => `v${i}`);
    const codes = Int32Array.from({ length: n }, (_, i) => i);
    const pred = Int8Array.from({ length: n }, (_, i) => i % 2);
    const c = buildCells(['a', 'b'], [values, ['x']], [codes, new Int32Array(n)], null, pred, null);
    const r = fairnessOf(c, [0, 1], { minGroupSize: 1, hasLabel: false, hasScore: false });
    expect(Object.keys(r.groups)).toHaveLength(n);
    expect(r.demographic_parity_difference).toBe(1);
    expect(r.demographic_parity_ratio).toBe(0);
  }, 60_000);
});

describe('cells over a key space past 2^53', () => {
  it('keeps every combination apart', () => {
    // Five attributes of 5,000 values each: about 5.6e19 keys, beyond what a float tells apart.
    const n = 5_000;
    const values = Array.from({ length: 5 }, () => Array.from({ length: n }, (_, i) => `v${i}`));
    const rows = 4;
    // Rows 0 and 1 differ in the last attribute only (codes 4998 and 4999); as numbers their keys collide.
    const codes = values.map((_, a) =>
      Int32Array.from({ length: rows }, (_, r) => (a === 4 ? 4996 + r : 4999)),
    );
    const label = Int8Array.of(0, 1, 1, 0);
    const pred = Int8Array.of(1, 1, 0, 0);
    const c = buildCells(['a', 'b', 'c', 'd', 'e'], values, codes, label, pred, null);
    expect(Array.from(c.count)).toEqual([1, 1, 1, 1]);
    const groups = fairnessOf(c, [4], { minGroupSize: 1, hasLabel: true, hasScore: false }).groups;
    expect(Object.keys(groups).sort()).toEqual(['v4996', 'v4997', 'v4998', 'v4999']);
    expect(groups.v4997).toMatchObject({ count: 1, selection_rate: 1, tpr: 1 });
  });
});

describe('four-fifths rule', () => {
  // 60/100 versus 30/100: ratio 0.5; pooled two-proportion z = −4.2640, two-sided p = 2.0079e-5.
  const records: Rec[] = [];
  for (let i = 0; i < 100; i++)
    records.push({ groups: ['hi'], pred: i < 60 ? 1 : 0 }, { groups: ['lo'], pred: i < 30 ? 1 : 0 });
  const r = fairnessOf(cellsFromRecords(['g'], records), [0], {
    minGroupSize: 30,
    hasLabel: false,
    hasScore: false,
  });
  it('flags a group below 4/5 of the top rate when the difference is significant', () => {
    expect(r.four_fifths.reference_group).toBe('hi');
    expect(r.four_fifths.groups.lo!.impact_ratio).toBe(0.5);
    expect(r.four_fifths.groups.lo!.z).toBeCloseTo(-4.264014327112208, 9);
    expect(r.four_fifths.groups.lo!.p_value).toBeCloseTo(2.007865612426492e-5, 9);
    expect(r.four_fifths.adverse_impact).toEqual(['lo']);
    expect(r.four_fifths.groups.hi).toMatchObject({ impact_ratio: 1, below_threshold: false, z: null });
  });
});

describe('NYC LL144', () => {
  const records: Rec[] = [];
  for (let i = 0; i < 100; i++) {
    records.push({ groups: ['A'], pred: i < 50 ? 1 : 0, high: i < 40 ? 1 : 0 });
    records.push({ groups: ['B'], pred: i < 25 ? 1 : 0, high: i < 60 ? 1 : 0 });
  }
  for (let i = 0; i < 3; i++) records.push({ groups: ['C'], pred: 1, high: 1 });
  for (let i = 0; i < 5; i++) records.push({ groups: [null], pred: 1, high: 0 });
  const r = fairnessOf(cellsFromRecords(['g'], records), [0], {
    minGroupSize: 1,
    hasLabel: false,
    hasScore: true,
  });
  it('reports selection and scoring rates, impact ratios and unknowns, excluding categories under 2%', () => {
    expect(r.ll144.total).toBe(208);
    expect(r.ll144.unknown_count).toBe(5);
    expect(r.ll144.excluded_under_2pct).toEqual(['C']); // 3 / 208 < 2%
    expect(r.ll144.selection.A).toEqual({
      count: 100,
      selection_rate: 0.5,
      impact_ratio: 1,
      excluded_under_2pct: false,
    });
    expect(r.ll144.selection.B!.impact_ratio).toBe(0.5);
    expect(r.ll144.selection.C!.impact_ratio).toBeNull();
    expect(r.ll144.scoring!.B).toEqual({
      count: 100,
      scoring_rate: 0.6,
      impact_ratio: 1,
      excluded_under_2pct: false,
    });
    expect(r.ll144.scoring!.A!.impact_ratio).toBeCloseTo(0.4 / 0.6, 12);
  });

  it('records no median score for a tool that gives no scores', () => {
    const unscored = fairnessOf(cellsFromRecords(['g'], records), [0], {
      minGroupSize: 1,
      hasLabel: false,
      hasScore: false,
      medianScore: 0.5,
    });
    expect(unscored.ll144.median_score).toBeNull();
    expect(unscored.ll144.scoring).toBeNull();
  });
});

describe('NYC LL144 for a scoring tool (§5-301(c)(1))', () => {
  // By hand: sorted, the eight scores are 0.10 0.15 0.20 0.35 | 0.40 0.70 0.80 0.90, so the median of the full
  // sample is (0.35 + 0.40) / 2 = 0.375. Above it: M 0.90, 0.70, 0.40 (3 of 4); F 0.80 (1 of 4); F's impact
  // ratio is 0.25 / 0.75 = 1/3.
  const scored: readonly { group: string; score: number }[] = [
    { group: 'M', score: 0.9 },
    { group: 'M', score: 0.7 },
    { group: 'M', score: 0.4 },
    { group: 'M', score: 0.1 },
    { group: 'F', score: 0.8 },
    { group: 'F', score: 0.35 },
    { group: 'F', score: 0.2 },
    { group: 'F', score: 0.15 },
  ];
  const sorted = scored.map((s) => s.score).sort((a, b) => a - b);
  const median = (sorted[3]! + sorted[4]!) / 2;
  const r = fairnessOf(
    cellsFromRecords(
      ['sex'],
      scored.map(({ group, score }) => ({ groups: [group], pred: 0, high: score > median ? 1 : 0 })),
    ),
    [0],
    { minGroupSize: 1, hasLabel: false, hasScore: true, medianScore: median },
  );

  it('records the median score of the full sample beside the scoring rates taken against it', () => {
    expect(median).toBe(0.375);
    expect(r.ll144.median_score).toBe(0.375);
    expect(r.ll144.scoring!.M).toEqual({
      count: 4,
      scoring_rate: 0.75,
      impact_ratio: 1,
      excluded_under_2pct: false,
    });
    expect(r.ll144.scoring!.F!.scoring_rate).toBe(0.25);
    expect(r.ll144.scoring!.F!.impact_ratio).toBeCloseTo(1 / 3, 12);
  });
});

describe('a value that names the unknown category (NYC LL144 §5-301: counted, never rated)', () => {
  it('is "Unknown", "Not provided" or "Undisclosed", in any case, with spaces around it', () => {
    for (const v of ['Unknown', 'UNKNOWN', 'not provided ', ' Not Provided', 'undisclosed\t'])
      expect(UNKNOWN_CATEGORY.test(v), v).toBe(true);
    for (const v of ['Unknown race', 'Not', 'N/A', '', 'Male'])
      expect(UNKNOWN_CATEGORY.test(v), v).toBe(false);
  });

  // Male 150 of 300 selected, Female 120 of 300 (impact ratio 0.8), "Unknown" 60 of 100 and "not provided " 10
  // of 10: rated as groups, they would be the most selected and Female's ratio 0.4 / 1 against them. Other: 14
  // of the 729 assessed, under 2% of them (but not of the 614 whose sex is known). 5 rows hold no sex.
  const records: Rec[] = [];
  const add = (sex: string | null, n: number, selected: number, high: number) => {
    for (let i = 0; i < n; i++)
      records.push({ groups: [sex], pred: i < selected ? 1 : 0, high: i < high ? 1 : 0 });
  };
  add('Male', 300, 150, 100);
  add('Female', 300, 120, 90);
  add('Unknown', 100, 60, 100);
  add('not provided ', 10, 10, 10);
  add('Other', 14, 7, 0);
  add(null, 5, 5, 0);
  const options = { minGroupSize: 1, hasLabel: false, hasScore: true, medianScore: 0.5 };
  const r = fairnessOf(cellsFromRecords(['sex'], records), [0], options);

  it('counts it as missing, never as a group nor the reference, and names the values it counted', () => {
    expect(Object.keys(r.groups)).toEqual(['Female', 'Male', 'Other']);
    expect(r.missing).toBe(115);
    expect(r.unknown_values).toEqual(['Unknown', 'not provided ']);
    expect(r.four_fifths.reference_group).toBe('Male');
    expect(r.groups.Female!.impact_ratio).toBe(0.8);
    expect(r.four_fifths.groups.Female).toMatchObject({ impact_ratio: 0.8, below_threshold: false });
    expect(r.demographic_parity_difference).toBeCloseTo(0.1, 12);
  });

  it('is LL144’s unknown category: counted in the totals and their 2% shares, in no table', () => {
    expect(r.ll144).toMatchObject({
      total: 729,
      unknown_count: 115,
      scoring_total: 729,
      scoring_unknown_count: 115,
      excluded_under_2pct: ['Other'],
    });
    expect(Object.keys(r.ll144.selection)).toEqual(['Female', 'Male', 'Other']);
    expect(Object.keys(r.ll144.scoring!)).toEqual(['Female', 'Male', 'Other']);
    expect(r.ll144.selection.Male!.impact_ratio).toBe(1);
    expect(r.ll144.selection.Female!.impact_ratio).toBe(0.8);
    expect(r.ll144.scoring!.Female!.impact_ratio).toBe(0.9);
    expect(r.ll144.scoring!.Other).toMatchObject({
      count: 14,
      impact_ratio: null,
      excluded_under_2pct: true,
    });
  });

  it('says nothing of unknown values where the data holds none, and names them whatever the row order', () => {
    const known = records.filter((rec) => rec.groups[0] === null || !UNKNOWN_CATEGORY.test(rec.groups[0]));
    expect(fairnessOf(cellsFromRecords(['sex'], known), [0], options)).not.toHaveProperty('unknown_values');
    expect(fairnessOf(cellsFromRecords(['sex'], [...records].reverse()), [0], options)).toEqual(r);
  });

  it('makes an intersection group unknown when any of its values is, as a missing one does', () => {
    const c = cellsFromRecords(
      ['race', 'sex'],
      [
        ...[1, 1, 0, 0].map((pred) => ({ groups: ['White', 'Male'], pred: pred as 0 | 1 })),
        ...[1, 0, 0, 0].map((pred) => ({ groups: ['White', 'Female'], pred: pred as 0 | 1 })),
        ...[1, 1, 1].map(() => ({ groups: ['White', 'Unknown'], pred: 1 as const })),
        ...[1, 1].map(() => ({ groups: ['Undisclosed', 'Female'], pred: 1 as const })),
        { groups: ['Black', 'NOT PROVIDED'], pred: 1 },
        { groups: [null, 'Male'], pred: 0 },
        { groups: ['Black', 'Male'], pred: 1 },
        { groups: ['Black', 'Male'], pred: 0 },
      ],
    );
    const opts = { minGroupSize: 1, hasLabel: false, hasScore: false };
    const both = fairnessOf(c, [0, 1], opts);
    expect(Object.keys(both.groups)).toEqual(['Black&Male', 'White&Female', 'White&Male']);
    expect(both.missing).toBe(7);
    expect(both.ll144).toMatchObject({ total: 17, unknown_count: 7 });
    expect(both.unknown_values).toEqual(['NOT PROVIDED', 'Undisclosed', 'Unknown']);
    expect(both.groups['White&Female']!.impact_ratio).toBe(0.5);
    const race = fairnessOf(c, [0], opts);
    expect([Object.keys(race.groups), race.missing, race.unknown_values]).toEqual([
      ['Black', 'White'],
      3,
      ['Undisclosed'],
    ]);
    expect(race.groups.White).toMatchObject({ count: 11, selection_rate: 6 / 11 });
    const sex = fairnessOf(c, [1], opts);
    expect([Object.keys(sex.groups), sex.missing, sex.unknown_values]).toEqual([
      ['Female', 'Male'],
      4,
      ['NOT PROVIDED', 'Unknown'],
    ]);
    const [boot] = bootstrapFairness(c, [[0, 1]], { ...opts, resamples: 5, seed: 1, confidence: 0.9 });
    expect(Object.keys(boot!.groups)).toEqual(['Black&Male', 'White&Female', 'White&Male']);
  });
});

describe('bootstrapFairness', () => {
  const records: Rec[] = [];
  for (let i = 0; i < 400; i++)
    records.push({
      groups: [i % 2 ? 'A' : 'B'],
      label: i % 3 === 0 ? 1 : 0,
      pred: i % 5 < (i % 2 ? 3 : 1) ? 1 : 0,
    });
  const cells = cellsFromRecords(['g'], records);
  const options = { resamples: 300, seed: 11, confidence: 0.9, minGroupSize: 30, hasLabel: true };

  it('is reproducible from its seed', () => {
    expect(bootstrapFairness(cells, [[0]], options)).toEqual(bootstrapFairness(cells, [[0]], options));
    expect(bootstrapFairness(cells, [[0]], { ...options, seed: 12 })).not.toEqual(
      bootstrapFairness(cells, [[0]], options),
    );
  });

  it('gives the same intervals for the same rows in another order', () => {
    const reversed = cellsFromRecords(['g'], [...records].reverse());
    expect(Array.from(reversed.count)).not.toEqual(Array.from(cells.count));
    expect(bootstrapFairness(reversed, [[0]], options)).toEqual(bootstrapFairness(cells, [[0]], options));
  });

  it('gives intervals around the point estimates', () => {
    const [b] = bootstrapFairness(cells, [[0]], options);
    const point = fairnessOf(cells, [0], { minGroupSize: 30, hasLabel: true, hasScore: false });
    const [lo, hi] = b!.demographic_parity_difference!;
    expect(lo).toBeLessThan(point.demographic_parity_difference!);
    expect(hi).toBeGreaterThan(point.demographic_parity_difference!);
    const [slo, shi] = b!.groups.A!.selection_rate!;
    expect(slo).toBeLessThan(0.6);
    expect(shi).toBeGreaterThan(0.6);
    expect(shi - slo).toBeLessThan(0.2);
  });
});

describe('group names that are Object.prototype keys', () => {
  // __proto__: selection 1/4, TPR 1, FPR 0. A: selection 1/2, TPR 1/2, FPR 1/2 (the reference group).
  const cells = cellsFromRecords(
    ['g'],
    [...rows('A', [1, 1, 0, 0], [1, 0, 1, 0]), ...rows('__proto__', [1, 0, 0, 0], [1, 0, 0, 0])],
  );
  const f = fairnessOf(cells, [0], { minGroupSize: 1, hasLabel: true, hasScore: false });

  it('keeps __proto__ as an own key of every group map, with its own numbers', () => {
    for (const map of [f.groups, f.four_fifths.groups, f.ll144.selection]) {
      expect(Object.keys(map)).toEqual(['A', '__proto__']);
      expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    }
    expect(Object.getOwnPropertyDescriptor(f.groups, '__proto__')?.value).toMatchObject({
      count: 4,
      selection_rate: 0.25,
      impact_ratio: 0.5,
      tpr: 1,
      fpr: 0,
    });
    expect(Object.getOwnPropertyDescriptor(f.four_fifths.groups, '__proto__')?.value).toMatchObject({
      impact_ratio: 0.5,
      below_threshold: true,
    });
    expect(f.demographic_parity_difference).toBe(0.25);
    // Both groups reach JSON, as canonical JSON of the evidence writes them.
    expect(Object.keys(JSON.parse(JSON.stringify(f)).groups)).toEqual(['A', '__proto__']);
  });
  it('keeps it in the bootstrap intervals too', () => {
    const [boot] = bootstrapFairness(cells, [[0]], {
      resamples: 20,
      seed: 1,
      confidence: 0.9,
      minGroupSize: 1,
      hasLabel: true,
    });
    expect(Object.keys(boot!.groups)).toEqual(['A', '__proto__']);
    expect(Object.keys(Object.getOwnPropertyDescriptor(boot!.groups, '__proto__')!.value)).toEqual([
      'selection_rate',
      'tpr',
      'fpr',
    ]);
  });
});
