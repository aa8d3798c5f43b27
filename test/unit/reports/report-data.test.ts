import { describe, expect, it } from 'vitest';
import type { Ledger } from '../../../ledger/index.ts';
import type { DecisionRow, DecisionStore, WaiverStore } from '../../../policies/index.ts';
import { loadRegions } from '../../../regions/index.ts';
import type { ModelInventory } from '../../../server/inventory/models.ts';
import { assembleReportInput } from '../../../server/reports/report-data.ts';

const CARD = {
  owner: 'talent@employer.example',
  intended_purpose: 'Ranking applicants for interview',
  risk_tier: 'high',
  distribution_date: '2025-02-03',
  data_source: 'historical applications 2025, employer-only',
  signed_by: 'Head of Validation',
  human_review: 'A recruiter reviews every rejection',
  impact_assessments: [
    { kind: 'aia', name: 'AIA v2', date: '2026-01-10', raw_score: 40, max_score: 100 },
    { kind: 'aia', name: 'no date' },
  ],
  changes: [{ version: '2.0.0', date: '2026-03-01', change: 'retrained', substantial_modification: false }],
};

const row = (overrides: Partial<DecisionRow>): DecisionRow => ({
  decision_id: 'dec-1',
  region: 'us-nyc',
  stage: 'deployment',
  model: 'screener',
  version: '2.0.0',
  input: JSON.stringify({
    evidence: { schema: 'arbiter.evidence/v1', bias_audit: { completed_at: '2026-07-01T00:00:00Z' } },
    model_card: CARD,
  }),
  input_sha256: 'x',
  result: JSON.stringify({ allow: true, deny: [], waived: [] }),
  allow: true,
  revision: 'r',
  bundle_sha256: 'b',
  actor: 'ci',
  decided_at: new Date('2026-08-01T00:00:00Z'),
  ledger_seq: 0,
  leaf_hash: 'h',
  created_at: new Date('2026-08-01T00:00:00Z'),
  ...overrides,
});

const ledger = {
  integrate: async () => ({ size: 0 }),
  reader: {
    checkpoints: async () => [{ note: 'checkpoint' }],
    keys: async () => ({ ed25519_vkey: 'arbiter.example/us-nyc+1234abcd+AQID' }),
  },
} as unknown as Ledger;

describe('assembleReportInput', () => {
  it('carries the model card’s distribution date, data source, signer, assessments and changes', async () => {
    const region = (await loadRegions()).get('us-nyc')!;
    const asked: { since: Date; before: Date }[] = [];
    const input = await assembleReportInput({
      region,
      template: 'us-nyc/ll144-bias-audit',
      period: '2026',
      trigger: 'on_demand',
      clock: () => new Date('2026-11-01T00:00:00Z'),
      inventory: { list: async () => [] } as unknown as ModelInventory,
      decisions: {
        list: async (query: { since: Date; before: Date }) => {
          asked.push(query);
          return [row({})];
        },
      } as unknown as DecisionStore,
      waivers: { list: async () => [] } as unknown as WaiverStore,
      ledger,
    });
    expect(input.models[0]).toMatchObject({
      distribution_date: '2025-02-03',
      documentation: { human_review: 'A recruiter reviews every rejection' },
      impact_assessments: [CARD.impact_assessments[0]],
      changes: CARD.changes,
    });
    expect(input.evidence[0]).toMatchObject({
      data_source: 'historical applications 2025, employer-only',
      signed_by: 'Head of Validation',
      document: { bias_audit: { completed_at: '2026-07-01T00:00:00Z' } },
    });
    expect(input.verification.vkey).toBe('arbiter.example/us-nyc+1234abcd+AQID');
    // The annual LL144 report reads the calendar year in New York (EST on both ends), trends by its quarters.
    expect(input.period).toBe('2026');
    expect(asked).toMatchObject([
      { since: new Date('2026-01-01T05:00:00Z'), before: new Date('2027-01-01T05:00:00Z') },
    ]);
    expect([...new Set(input.trends.map((t) => t.period))]).toEqual([
      '2026-Q1',
      '2026-Q2',
      '2026-Q3',
      '2026-Q4',
    ]);
  });
});
