import { describe, expect, it } from 'vitest';
import { findTemplate } from '../../../reports/templates.ts';
import { aiaLevel, attributeTable, buildViewModel } from '../../../reports/view-model.ts';
import { FIRST_EVIDENCE, makeReportInput } from './fixture.ts';

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
});
