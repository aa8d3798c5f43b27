import { describe, expect, it } from 'vitest';
import { aiaLevel, attributeTable } from '../../../reports/view-model.ts';
import { FIRST_EVIDENCE } from './fixture.ts';

const fairness = FIRST_EVIDENCE.fairness!;

describe('attributeTable (NYC §5-301)', () => {
  it('divides each rate by the highest, counting unknowns apart', () => {
    const t = attributeTable('sex', fairness['sex']!, { threshold: 0.8, smallShare: 0.02 });
    expect(t.reference_group).toBe('Male');
    expect(t.unknown_count).toBe(30);
    expect(t.total).toBe(1100);
    expect(t.rows.map((r) => [r.group, r.impact_ratio, r.below])).toEqual([
      ['Female', 0.7, true],
      ['Male', 1, false],
    ]);
  });

  it('leaves a category under 2% out of the impact ratios, even when its rate is the highest', () => {
    const t = attributeTable('race', fairness['race']!, { threshold: 0.8, smallShare: 0.02 });
    const nhpi = t.rows.find((r) => r.group === 'Native Hawaiian or Pacific Islander')!;
    expect(nhpi.excluded).toBe(true);
    expect(nhpi.impact_ratio).toBeNull();
    expect(nhpi.rate).toBe(0.6);
    expect(t.reference_group).toBe('White');
    expect(t.rows.find((r) => r.group === 'Black or African American')?.impact_ratio).toBeCloseTo(0.76, 10);
    expect(t.excluded_groups).toEqual(['Native Hawaiian or Pacific Islander']);
  });

  it('does not flag a ratio that equals the threshold but for floating-point rounding (0.44 / 0.55)', () => {
    const t = attributeTable('race&sex', fairness['race&sex']!, { threshold: 0.8, smallShare: 0.02 });
    const row = t.rows.find((r) => r.group === 'White Female')!;
    expect(row.impact_ratio).toBeCloseTo(0.8, 12);
    expect(row.below).toBe(false);
    expect(t.below_groups).toEqual(['Asian Female', 'Black or African American Female']);
  });

  it('without the 2% rule the small group is the reference', () => {
    const t = attributeTable('race', fairness['race']!, { threshold: 0.8, smallShare: 0 });
    expect(t.reference_group).toBe('Native Hawaiian or Pacific Islander');
    expect(t.rows.find((r) => r.group === 'White')?.impact_ratio).toBeCloseTo(0.5 / 0.6, 10);
  });

  it('keeps an undefined rate null rather than 0, and uses scoring rates when there are no selection rates', () => {
    const t = attributeTable(
      'sex',
      { groups: { A: { count: 10, scoring_rate: 0.5 }, B: { count: 10, scoring_rate: null } } },
      { threshold: 0.8, smallShare: 0.02 },
    );
    expect(t.rate_kind).toBe('scoring');
    expect(t.rows.find((r) => r.group === 'B')).toMatchObject({
      rate: null,
      impact_ratio: null,
      below: false,
    });
  });
});

describe('aiaLevel (Canada DADM)', () => {
  it('maps the share of the maximum score to levels I-IV', () => {
    expect(aiaLevel({ kind: 'aia', name: 'a', date: 'd', raw_score: 25, max_score: 100 })?.level).toBe('I');
    expect(aiaLevel({ kind: 'aia', name: 'a', date: 'd', raw_score: 26, max_score: 100 })?.level).toBe('II');
    expect(aiaLevel({ kind: 'aia', name: 'a', date: 'd', raw_score: 75, max_score: 100 })?.level).toBe('III');
    expect(aiaLevel({ kind: 'aia', name: 'a', date: 'd', raw_score: 76, max_score: 100 })?.level).toBe('IV');
  });

  it('lowers the score by 15% when mitigation reaches 80%', () => {
    const l = aiaLevel({
      kind: 'aia',
      name: 'a',
      date: 'd',
      raw_score: 55,
      max_score: 100,
      mitigation_score: 8,
      mitigation_max: 10,
    });
    expect(l).toMatchObject({ mitigation_applied: true, level: 'II' });
    expect(l?.adjusted_share).toBeCloseTo(0.4675, 10);
    expect(aiaLevel({ kind: 'aia', name: 'a', date: 'd' })).toBeNull();
  });
});
