import { describe, expect, it } from 'vitest';
import { findTemplate } from '../../../reports/templates.ts';
import type { EvidenceDocument } from '../../../reports/index.ts';
import { aiaLevel, attributeTable, buildViewModel } from '../../../reports/view-model.ts';
import { FIRST_EVIDENCE, makeReportInput } from './fixture.ts';

const fairness = FIRST_EVIDENCE.fairness!;

// The NYC report's rule: LL144's own impact ratios, under its 2% rule (the gate's min_group_size plays no part).
const LL144 = { threshold: 0.8, smallShare: 0.02, minGroupSize: null };
// Every other report's: the policy gate's comparison, with the region's min_group_size.
const GATE = { threshold: 0.8, smallShare: 0, minGroupSize: 30 };

describe('attributeTable (NYC §5-301)', () => {
  it('divides each rate by the highest, counting unknowns apart', () => {
    const t = attributeTable('sex', fairness['sex']!, LL144);
    expect(t.reference_group).toBe('Male');
    expect(t.unknown_count).toBe(30);
    expect(t.total).toBe(1100);
    expect(t.rows.map((r) => [r.group, r.count, r.selected, r.impact_ratio, r.below])).toEqual([
      ['Female', 500, 175, 0.7, true],
      ['Male', 600, 300, 1, false],
    ]);
  });

  it('leaves a category under 2% out of the impact ratios, even when its rate is the highest', () => {
    const t = attributeTable('race', fairness['race']!, LL144);
    const nhpi = t.rows.find((r) => r.group === 'Native Hawaiian or Pacific Islander')!;
    expect(nhpi.excluded).toBe(true);
    expect(nhpi.excluded_reason).toBe('under 2% of the data: left out of the impact ratios (§5-301(d))');
    expect(nhpi.impact_ratio).toBeNull();
    expect(nhpi.rate).toBe(0.6);
    expect(t.reference_group).toBe('White');
    expect(t.rows.find((r) => r.group === 'Black or African American')?.impact_ratio).toBeCloseTo(0.76, 10);
    expect(t.excluded_groups).toEqual(['Native Hawaiian or Pacific Islander']);
  });

  it('does not flag a ratio that equals the threshold but for floating-point rounding (0.44 / 0.55)', () => {
    const t = attributeTable('race&sex', fairness['race&sex']!, LL144);
    const row = t.rows.find((r) => r.group === 'White Female')!;
    expect(row.impact_ratio).toBeCloseTo(0.8, 12);
    expect(row.below).toBe(false);
    expect(t.below_groups).toEqual(['Asian Female', 'Black or African American Female']);
  });

  it('keeps an undefined rate null rather than 0, and uses scoring rates when there are no selection rates', () => {
    const t = attributeTable(
      'sex',
      { groups: { A: { count: 10, scoring_rate: 0.5 }, B: { count: 10, scoring_rate: null } } },
      LL144,
    );
    expect(t.rate_kind).toBe('scoring');
    expect(t.rows.find((r) => r.group === 'B')).toMatchObject({
      rate: null,
      selected: null,
      impact_ratio: null,
      below: false,
    });
  });
});

describe('attributeTable (the policy gate’s comparison)', () => {
  // The evaluator's evidence: 4 people all selected is no reference; FAIR-IMPACT-RATIO passed Black at 0.84.
  const race = {
    groups: {
      White: { count: 1000, selection_rate: 0.5, impact_ratio: 1 },
      Black: { count: 1000, selection_rate: 0.42, impact_ratio: 0.84 },
      'Native Hawaiian or Pacific Islander': { count: 4, selection_rate: 1, impact_ratio: 2 },
    },
    excluded_groups: [
      {
        group: 'Native Hawaiian or Pacific Islander',
        reason: 'count 4 is below min_group_size 30',
        from: ['demographic_parity', 'impact_ratio'],
      },
    ],
    four_fifths: { reference_group: 'White' },
  };

  it('prints the evidence’s ratios and reference, and shows a group too small to compare as left out', () => {
    const t = attributeTable('race', race, GATE);
    expect(t.reference_group).toBe('White');
    expect(t.ratios_from_evidence).toBe(true);
    expect(t.below_groups).toEqual([]);
    expect(t.rows.map((r) => [r.group, r.impact_ratio, r.below, r.excluded_reason])).toEqual([
      ['Black', 0.84, false, null],
      [
        'Native Hawaiian or Pacific Islander',
        null,
        false,
        'count 4 is below min_group_size 30: left out of the impact ratios',
      ],
      ['White', 1, false, null],
    ]);
    expect(t.excluded_groups).toEqual(['Native Hawaiian or Pacific Islander']);
  });

  it('leaves out a group under the region’s min_group_size that the evidence does not list', () => {
    const { excluded_groups: _, ...unlisted } = race;
    const t = attributeTable('race', unlisted, GATE);
    expect(t.reference_group).toBe('White');
    expect(t.rows[1]).toMatchObject({
      group: 'Native Hawaiian or Pacific Islander',
      excluded: true,
      excluded_reason: 'count 4 is below min_group_size 30: left out of the impact ratios',
      impact_ratio: null,
    });
    // With no min_group_size in the region's policy data, no group is too small: the evidence's list is not it.
    expect(attributeTable('race', unlisted, { ...GATE, minGroupSize: null }).excluded_groups).toEqual([]);
    expect(attributeTable('race', race, { ...GATE, minGroupSize: null }).excluded_groups).toEqual([]);
  });

  it('compares a group the evidence left out under a larger min_group_size than the region’s, as the gate does', () => {
    // The evaluator's spec said 50; the region says 30. FAIR-IMPACT-RATIO judges the 40 Asian applicants' 0.5.
    const t = attributeTable(
      'race',
      {
        groups: {
          White: { count: 400, selection_rate: 0.5, impact_ratio: 1 },
          Black: { count: 400, selection_rate: 0.45, impact_ratio: 0.9 },
          Asian: { count: 40, selection_rate: 0.25, impact_ratio: 0.5 },
          Other: { count: 20, selection_rate: 0.6, impact_ratio: 1.2 },
        },
        excluded_groups: [
          { group: 'Asian', reason: 'count 40 is below min_group_size 50', from: ['impact_ratio'] },
          { group: 'Other', reason: 'count 20 is below min_group_size 50', from: ['impact_ratio'] },
        ],
        four_fifths: { reference_group: 'White' },
      },
      GATE,
    );
    expect(t.rows.map((r) => [r.group, r.impact_ratio, r.below, r.excluded_reason])).toEqual([
      ['Asian', 0.5, true, null],
      ['Black', 0.9, false, null],
      ['Other', null, false, 'count 20 is below min_group_size 30: left out of the impact ratios'],
      ['White', 1, false, null],
    ]);
    expect(t.below_groups).toEqual(['Asian']);
    expect(t.excluded_groups).toEqual(['Other']);
  });

  it('still compares a group the evidence left out of equalized odds only', () => {
    const t = attributeTable(
      'race',
      {
        ...race,
        excluded_groups: [
          { group: 'Black', reason: 'tpr undefined (no positive labels)', from: ['equalized_odds'] },
        ],
      },
      { ...GATE, minGroupSize: 1 },
    );
    expect(t.excluded_groups).toEqual([]);
    expect(t.rows.find((r) => r.group === 'Black')?.impact_ratio).toBe(0.84);
  });

  it('computes the ratios from the rates against the highest compared group when the evidence has none', () => {
    const t = attributeTable(
      'race',
      {
        groups: {
          A: { count: 100, selection_rate: 0.5 },
          B: { count: 100, selection_rate: 0.3 },
          C: { count: 10, selection_rate: 0.9 },
        },
      },
      GATE,
    );
    expect(t.ratios_from_evidence).toBe(false);
    expect(t.reference_group).toBe('A');
    expect(t.rows.map((r) => [r.group, r.impact_ratio, r.excluded])).toEqual([
      ['A', 1, false],
      ['B', 0.6, false],
      ['C', null, true],
    ]);
  });

  it('carries the evidence’s z-test and the shortfall to four fifths of the reference rate (UGESP)', () => {
    const sex = attributeTable('sex', fairness['sex']!, GATE);
    expect(sex.alpha).toBe(0.05);
    // 0.8 · 50% · 500 = 200 selections needed; 175 were made.
    expect(sex.rows.map((r) => [r.group, r.selected, r.z, r.p_value, r.significant, r.shortfall])).toEqual([
      ['Female', 175, -5.001, 5.7e-7, true, 25],
      ['Male', 300, null, null, false, 0],
    ]);
    const t = attributeTable('race', fairness['race']!, GATE);
    expect(t.rows.map((r) => [r.group, r.selected, r.shortfall])).toEqual([
      ['Asian', 128, 0],
      ['Black or African American', 114, 6],
      ['Native Hawaiian or Pacific Islander', 9, null],
      ['White', 250, 0],
    ]);
    // 0.8 · 0.5 · 1000 is 400.00000000000006 in floating point: 400 selections are needed, not 401.
    const exact = attributeTable(
      'sex',
      {
        groups: {
          M: { count: 1000, selection_rate: 0.5, impact_ratio: 1 },
          F: { count: 1000, selection_rate: 0.39, impact_ratio: 0.78 },
        },
      },
      GATE,
    );
    expect(exact.rows.find((r) => r.group === 'F')?.shortfall).toBe(10);
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

describe('buildViewModel', () => {
  const ll144 = findTemplate('us-nyc/ll144-bias-audit')!;

  it('counts a decision as allowed under a waiver only when it was allowed', () => {
    const input = makeReportInput({ template: 'governance-quarterly', models: 1, decisions: 0 });
    const decision = {
      model_id: 'model-001',
      stage: 'deployment',
      denied_rules: ['fairness.impact_ratio', 'drift.psi_max'],
      decided_at: '2026-08-01T00:00:00Z',
    };
    const vm = buildViewModel(
      {
        ...input,
        waivers: [],
        decisions: [
          { ...decision, seq: 1, decision_id: 'd1', allow: false, waived_rules: ['drift.psi_max'] },
          { ...decision, seq: 2, decision_id: 'd2', allow: true, waived_rules: decision.denied_rules },
        ],
      },
      findTemplate('governance-quarterly')!,
    );
    expect(vm.decisions.waived).toBe(1);
  });

  it('prints verify commands the CLI accepts, pinning the region log’s key', () => {
    const input = makeReportInput({ template: ll144.id, models: 1, decisions: 0 });
    const withKey = buildViewModel(
      {
        ...input,
        verification: {
          ...input.verification,
          server_url: undefined,
          vkey: 'arbiter.example/us-nyc+0a1b2c3d+AQID',
        },
      },
      ll144,
    );
    expect(withKey.verification.commands).toEqual([
      'arbiter verify --trusted-vkey arbiter.example/us-nyc+0a1b2c3d+AQID --report report.pdf us-nyc-2026.bundle.json',
    ]);
    const withServer = buildViewModel(
      { ...input, verification: { ...input.verification, server_url: 'https://arbiter.example' } },
      ll144,
    );
    expect(withServer.verification.commands).toEqual([
      "arbiter verify --trusted-vkey '<ed25519_vkey of GET /v1/ledger/us-nyc/keys>' --report report.pdf --server https://arbiter.example",
      "arbiter verify --trusted-vkey '<ed25519_vkey of GET /v1/ledger/us-nyc/keys>' --report report.pdf us-nyc-2026.bundle.json",
    ]);
  });

  it('dates the LL144 audit by the independent audit in the evidence, naming the auditor', () => {
    const input = makeReportInput({ template: ll144.id, models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const bias_audit = { completed_at: '2026-06-30T00:00:00Z', auditor: 'Independent Audits LLC' };
    const vm = buildViewModel(
      { ...input, evidence: [{ ...ev, document: { ...ev.document, bias_audit } }] },
      ll144,
    );
    expect(vm.models[0]?.evidence?.bias_audit).toEqual(bias_audit);
    expect(buildViewModel(input, ll144).models[0]?.evidence?.bias_audit).toBeNull();
  });

  describe('the LL144 intersectional table (race/ethnicity × sex)', () => {
    const input = makeReportInput({ template: ll144.id, models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const ageBySex = {
      groups: {
        'Under 40&Male': { count: 500, selection_rate: 0.5 },
        'Under 40&Female': { count: 600, selection_rate: 0.45 },
      },
    };
    const withFairness = (fairness: Record<string, unknown>) =>
      buildViewModel(
        { ...input, evidence: [{ ...ev, document: { ...ev.document, fairness } }] } as typeof input,
        ll144,
      ).models[0]!.ll144;

    it('is race × sex even where another intersection sorts first', () => {
      const tables = withFairness({ ...ev.document.fairness, 'age_band&sex': ageBySex });
      expect(tables.intersectional.map((t) => t.attribute)).toEqual(['race&sex']);
      expect(tables.other_intersections).toEqual(['age_band&sex']);
    });

    it('is found in either order of the two attributes', () => {
      const { 'race&sex': raceBySex, ...rest } = ev.document.fairness!;
      const tables = withFairness({ ...rest, 'age_band&sex': ageBySex, 'sex&ethnicity': raceBySex });
      expect(tables.intersectional.map((t) => t.attribute)).toEqual(['sex&ethnicity']);
    });

    it('is missing, and no other intersection takes its place, when the evidence has no race × sex', () => {
      const { 'race&sex': _, ...rest } = ev.document.fairness!;
      const tables = withFairness({ ...rest, 'age_band&sex': ageBySex, 'disability&race': ageBySex });
      expect(tables.intersectional).toEqual([]);
      expect(tables.other_intersections).toEqual(['age_band&sex', 'disability&race']);
    });
  });

  describe('the LL144 race/ethnicity tables (§5-301(b) Tables 2 and 3)', () => {
    const input = makeReportInput({ template: ll144.id, models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const g = (count: number, selection_rate: number) => ({ count, selection_rate });
    const byRaceAndEthnicity = {
      sex: { groups: { Male: g(500, 0.5), Female: g(500, 0.4) } },
      ethnicity: { groups: { 'Hispanic or Latino': g(200, 0.45), 'Not Hispanic or Latino': g(800, 0.45) } },
      race: { groups: { White: g(500, 0.5), 'Black or African American': g(300, 0.3), Asian: g(200, 0.45) } },
      'race&sex': { groups: { 'White&Male': g(250, 0.55), 'White&Female': g(250, 0.45) } },
      'ethnicity&sex': {
        groups: { 'Hispanic or Latino&Male': g(100, 0.5), 'Hispanic or Latino&Female': g(100, 0.4) },
      },
    };
    const tablesOf = (fairness: Record<string, unknown>) =>
      buildViewModel(
        { ...input, evidence: [{ ...ev, document: { ...ev.document, fairness } }] } as typeof input,
        ll144,
      ).models[0]!.ll144;

    it('are race’s and ethnicity’s, race first, where the evidence has them apart: neither alone is the table', () => {
      const tables = tablesOf(byRaceAndEthnicity);
      expect(tables.race.map((t) => t.attribute)).toEqual(['race', 'ethnicity']);
      expect(tables.race[0]?.rows.map((r) => r.group)).toEqual([
        'Asian',
        'Black or African American',
        'White',
      ]);
      expect(tables.intersectional.map((t) => t.attribute)).toEqual(['race&sex', 'ethnicity&sex']);
    });

    it('are the combined race/ethnicity attribute alone where the evidence has one', () => {
      const tables = tablesOf({
        ...byRaceAndEthnicity,
        race_ethnicity: { groups: { 'Hispanic or Latino': g(200, 0.45), White: g(500, 0.5) } },
        'sex&race_ethnicity': { groups: { 'Male&White': g(250, 0.55), 'Female&White': g(250, 0.45) } },
      });
      expect(tables.race.map((t) => t.attribute)).toEqual(['race_ethnicity']);
      expect(tables.intersectional.map((t) => t.attribute)).toEqual(['sex&race_ethnicity']);
    });
  });

  describe('Annex IV T-A2 (performance by group)', () => {
    const annex = findTemplate('eu/ai-act-annex-iv')!;
    const input = makeReportInput({ template: annex.id, models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    // As the evaluator writes it: no performance_by_group, each group's accuracy over its labelled rows.
    const { performance_by_group: _, ...document } = {
      ...ev.document,
      performance: { accuracy: 0.85 },
      fairness: {
        sex: {
          groups: {
            Female: { count: 120, labelled: 100, accuracy: 0.8 },
            Male: { count: 60, labelled: 50, accuracy: 0.9 },
            Other: { count: 10, labelled: 10, accuracy: 0 },
            Unlabelled: { count: 5, labelled: 0, accuracy: null },
          },
        },
      },
    };
    const rowsOf = (doc: EvidenceDocument) =>
      buildViewModel({ ...input, evidence: [{ ...ev, document: doc }] }, annex).models[0]!;

    it('is built from the fairness evidence’s accuracy and labelled counts, with 95% Wilson intervals', () => {
      const model = rowsOf(document);
      expect(model.performance_by_group_from_fairness).toBe(true);
      const rows = model.performance_by_group;
      expect(rows.map((r) => [r.metric, r.attribute, r.group, r.n, r.value])).toEqual([
        ['accuracy', 'sex', 'Female', 100, 0.8],
        ['accuracy', 'sex', 'Male', 50, 0.9],
        ['accuracy', 'sex', 'Other', 10, 0],
        ['accuracy', 'sex', 'Unlabelled', 0, null],
      ]);
      // Wilson's interval of 80 of 100 is 0.7112 to 0.8666; of 45 of 50, 0.7864 to 0.9565; of 0 of 10, 0 to 0.2775.
      const [female, male, other, unlabelled] = rows;
      expect(female?.ci_low).toBeCloseTo(0.7112, 4);
      expect(female?.ci_high).toBeCloseTo(0.8666, 4);
      expect(male?.ci_low).toBeCloseTo(0.7864, 4);
      expect(male?.ci_high).toBeCloseTo(0.9565, 4);
      expect([other?.ci_low, other?.ci_high?.toFixed(4)]).toEqual([0, '0.2775']);
      expect(female?.gap).toBeCloseTo(-0.05, 12);
      expect(male?.gap).toBeCloseTo(0.05, 12);
      expect(unlabelled).toMatchObject({ ci_low: null, ci_high: null, gap: null });
    });

    it('is the evidence’s own where it has performance_by_group, and empty for evidence without labels', () => {
      const own = buildViewModel(input, annex).models[0]!;
      expect(own.performance_by_group_from_fairness).toBe(false);
      expect(own.performance_by_group.map((r) => [r.attribute, r.group, r.n, r.ci_low])).toEqual([
        [null, 'Female', 500, 0.754],
        [null, 'Male', 600, 0.8],
      ]);
      const unlabelled = rowsOf({
        ...document,
        fairness: { sex: { groups: { Female: { count: 120 }, Male: { count: 60 } } } },
      });
      expect(unlabelled.performance_by_group).toEqual([]);
    });
  });

  it('has no incident list without an incident source, and an empty one when the source recorded none', () => {
    const governance = findTemplate('governance-quarterly')!;
    const { incidents: _, ...input } = makeReportInput({ template: governance.id, models: 1, decisions: 0 });
    expect(buildViewModel(input, governance).incidents).toBeNull();
    expect(buildViewModel({ ...input, incidents: [] }, governance).incidents).toEqual([]);
  });
});
