import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import { DecisionStore, WaiverStore, type PolicyTables } from '../../../policies/index.ts';
import { loadRegions, type Region } from '../../../regions/index.ts';
import type { ServerTables } from '../../../server/db/schema.ts';
import { ModelInventory } from '../../../server/inventory/models.ts';
import { renderHtml } from '../../../reports/index.ts';
import { assembleReportInput } from '../../../server/reports/report-data.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';

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

let tdb: TestDatabase;
let ledger: Ledger;
let nyc: Region;

/** Records a decision as the service does: its row committed with its ledger entry. */
async function recordDecision(
  id: string,
  decidedAt: string,
  evidence: Record<string, unknown> = { bias_audit: { completed_at: '2026-07-01T00:00:00Z' } },
): Promise<void> {
  const input = JSON.stringify({
    evidence: { schema: 'arbiter.evidence/v1', ...evidence },
    model_card: CARD,
  });
  await ledger.append(
    nyc.id,
    { type: 'decision', decision_id: id, model: 'screener', allow: true },
    {
      companion: ({ leafHash }) => ({
        table: 'policy_decision',
        seqColumn: 'ledger_seq',
        values: {
          decision_id: id,
          region: nyc.id,
          stage: 'deployment',
          model: 'screener',
          version: '2.0.0',
          input,
          input_sha256: 'x'.repeat(64),
          result: JSON.stringify({ allow: true, deny: [], warn: [], waived: [] }),
          allow: true,
          revision: 'r',
          bundle_sha256: 'b'.repeat(64),
          actor: 'ci',
          decided_at: decidedAt,
          leaf_hash: leafHash,
        },
      }),
    },
  );
}

beforeAll(async () => {
  tdb = await openTestDatabase();
  nyc = (await loadRegions()).get('us-nyc')!;
  ledger = await createLedger({
    db: tdb.db as unknown as Kysely<LedgerTables>,
    logs: [{ region: nyc.id, origin: nyc.ledger.origin }],
    keys: TEST_KEYS,
  });
  // New York's calendar year 2026 runs from 2026-01-01T05:00Z to 2027-01-01T05:00Z (EST on both ends).
  await recordDecision('dec-2025-last-minute', '2026-01-01T04:59:00Z');
  await recordDecision('dec-2026-first', '2026-01-01T05:00:00Z');
  await recordDecision('dec-2026-summer', '2026-08-01T00:00:00Z');
  await recordDecision('dec-2027-first', '2027-01-01T05:00:00Z');
  await ledger.integrate(nyc.id);
});
afterAll(async () => {
  await ledger?.stop();
  await tdb?.close();
});

/** A report's input (by default the LL144 report's for calendar year 2026), read through the real stores. */
function assemble(now: Date, template = 'us-nyc/ll144-bias-audit', period = '2026', maxDecisions?: number) {
  const db = tdb.db as unknown as Kysely<PolicyTables>;
  return assembleReportInput({
    region: nyc,
    template,
    period,
    trigger: 'on_demand',
    clock: () => now,
    inventory: new ModelInventory(tdb.db as unknown as Kysely<ServerTables>),
    decisions: new DecisionStore(db),
    waivers: new WaiverStore(db, {
      regions: new Set([nyc.id]),
      append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
    }),
    ledger,
    ...(maxDecisions === undefined ? {} : { maxDecisions }),
  });
}

describe('assembleReportInput', () => {
  it('reads an annual report’s calendar year on the region’s clock, with its four quarters as trends', async () => {
    const input = await assemble(new Date('2027-01-15T00:00:00Z'));
    expect(input.period).toBe('2026');
    expect(input.decisions.map((d) => d.decision_id)).toEqual(['dec-2026-first', 'dec-2026-summer']);
    expect([...new Set(input.trends.map((t) => t.period))]).toEqual([
      '2026-Q1',
      '2026-Q2',
      '2026-Q3',
      '2026-Q4',
    ]);
    expect(input.trends.map((t) => t.decisions)).toEqual([1, 0, 1, 0]);
    expect(input.verification.vkey).toBe((await ledger.reader.keys(nyc.id)).ed25519_vkey);
  });

  it('refuses a period with more decisions than it reads, and trends only the quarters read in full', async () => {
    const now = new Date('2027-01-15T00:00:00Z');
    // 2026-Q3's trends reach back to 2025-Q4: its three decisions are dec-2025-last-minute (New York's
    // 2025-12-31), dec-2026-first (the first instant of 2026-Q1) and dec-2026-summer.
    expect((await assemble(now, 'governance-quarterly', '2026-Q3')).trends.map((t) => t.period)).toEqual([
      '2025-Q4',
      '2026-Q1',
      '2026-Q2',
      '2026-Q3',
    ]);
    // Two read: the period is whole, but 2026-Q1 may have more at its first instant and 2025-Q4 is unread.
    const cut = await assemble(now, 'governance-quarterly', '2026-Q3', 2);
    expect(cut.decisions.map((d) => d.decision_id)).toEqual(['dec-2026-summer']);
    expect(cut.trends.map((t) => [t.period, t.decisions])).toEqual([
      ['2026-Q2', 0],
      ['2026-Q3', 1],
    ]);
    // One read: the period itself may hold more than the report would count.
    await expect(assemble(now, 'governance-quarterly', '2026-Q3', 1)).rejects.toMatchObject({
      code: 'REPORT_TOO_MANY_DECISIONS',
      message: 'us-nyc has more than 1 decisions in 2026-Q3; a report covers at most that many',
    });
  });

  it('carries the model card’s distribution date, data source, signer, assessments and changes', async () => {
    const input = await assemble(new Date('2026-11-01T00:00:00Z'));
    expect(input.models[0]).toMatchObject({
      owner: 'talent@employer.example',
      distribution_date: '2025-02-03',
      documentation: { human_review: 'A recruiter reviews every rejection' },
      impact_assessments: [CARD.impact_assessments[0]],
      changes: CARD.changes,
    });
    expect(input.evidence[0]).toMatchObject({
      id: 'dec-2026-summer',
      data_source: 'historical applications 2025, employer-only',
      signed_by: 'Head of Validation',
      document: { bias_audit: { completed_at: '2026-07-01T00:00:00Z' } },
    });
  });
  it('lists the waivers in force during the period, each until its expiry or its revocation', async () => {
    let now = new Date('2025-03-01T00:00:00Z');
    const store = new WaiverStore(tdb.db as unknown as Kysely<PolicyTables>, {
      regions: new Set([nyc.id]),
      rules: () => ({ ids: new Set(['LL144-AUDIT-AGE']), nonWaivable: new Set() }),
      clock: () => now,
      append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
    });
    const officer = (subject: string) => ({ subject, role: 'compliance_officer' }) as const;
    const grant = async (expiresAt: string) => {
      const { waiver } = await store.request(
        {
          rule: 'LL144-AUDIT-AGE',
          model: 'screener',
          region: nyc.id,
          reason: 'the bias audit was rescheduled with the new auditor',
          expires_at: expiresAt,
        },
        officer('alice'),
      );
      await store.approve(waiver.id, officer('bob'));
      return waiver.id;
    };
    // Would be in force into 2026 by its expiry, but was revoked in 2025.
    const endedBefore = await grant('2026-02-01T00:00:00Z');
    now = new Date('2025-06-01T00:00:00Z');
    await store.revoke(endedBefore, officer('carol'), 'the audit was completed early after all');
    now = new Date('2026-03-01T00:00:00Z');
    const endedDuring = await grant('2026-12-01T00:00:00Z');
    now = new Date('2026-05-01T00:00:00Z');
    await store.revoke(endedDuring, officer('carol'), 'the audit found a new adverse impact');
    const inForce = await grant('2026-12-15T00:00:00Z');
    const input = await assemble(new Date('2027-01-15T00:00:00Z'));
    expect(input.waivers.map((w) => [w.id, w.revoked_at])).toEqual([
      [endedDuring, '2026-05-01T00:00:00.000Z'],
      [inForce, undefined],
    ]);
    // Each cites its waiver.requested entry, where an auditor finds the rest of its history.
    for (const waiver of input.waivers) {
      const { entry } = await ledger.reader.entry(nyc.id, waiver.seq!);
      expect(entry).toMatchObject({ type: 'waiver.requested', waiver_id: waiver.id });
    }
  });

  it('shows the policy in force as the period began and every policy change within it, each proven', async () => {
    const carol = 'Carol Compliance <carol@example.org>';
    const record = async (entry: Record<string, unknown>) =>
      (await ledger.append(nyc.id, { committer: carol, author: carol, ...entry })).seq;
    const activated = (commit: string, at: string, restored = false) =>
      record({
        type: 'policy.activated',
        commit,
        bundle_sha256: commit.slice(0, 1).repeat(64),
        branch: 'main',
        ...(restored ? { restored: true } : {}),
        at,
      });
    const rejected = (commit: string, at: string) =>
      record({
        type: 'policy.rejected',
        commit,
        reason: 'policy_test.rego: FAIL',
        reason_truncated: false,
        reason_bytes: 22,
        reason_sha256: 'f'.repeat(64),
        at,
      });
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((x) => x.repeat(40)) as [string, ...string[]];
    await activated(a, '2025-06-01T00:00:00Z');
    const inForce = await activated(b, '2025-11-01T00:00:00Z');
    // A refusal before the period is no change within it, and does not end the activation before it.
    await rejected(c, '2025-12-01T00:00:00Z');
    const refused = await rejected(d, '2026-02-01T00:00:00Z');
    const restarted = await activated(b, '2026-03-01T00:00:00Z', true);
    const next = await activated(e, '2026-04-01T00:00:00Z');
    // After the period: not shown.
    await activated(a, '2027-02-01T00:00:00Z');

    const input = await assemble(new Date('2027-03-01T00:00:00Z'));
    expect(input.policy_changes!.map((p) => [p.seq, p.kind, p.commit])).toEqual([
      [inForce, 'activated', b],
      [refused, 'rejected', d],
      [restarted, 'restored', b],
      [next, 'activated', e],
    ]);
    expect(input.policy_changes![1]).toMatchObject({ committer: carol, reason: 'policy_test.rego: FAIL' });
    expect(input.policy_changes![3]).toMatchObject({
      bundle_sha256: 'e'.repeat(64),
      at: '2026-04-01T00:00:00Z',
    });
    expect(input.decisions.map((dec) => dec.policy_revision)).toEqual(['r', 'r']);
    // Each is cited with its inclusion proof, against the report's checkpoint.
    const cited = new Map(input.verification.entries.map((x) => [x.seq, x]));
    for (const change of input.policy_changes!) {
      const entry = cited.get(change.seq)!;
      expect(entry.type).toBe(change.kind === 'rejected' ? 'policy.rejected' : 'policy.activated');
      const proof = await ledger.reader.inclusionProof(nyc.id, change.seq, input.verification.tree_size);
      expect(entry).toMatchObject({ leaf_hash: proof.leaf_hash, proof: proof.proof });
    }
  });

  it('has no incidents, for want of a source, and the report says it holds none rather than that none occurred', async () => {
    const input = await assemble(new Date('2026-10-15T00:00:00Z'), 'governance-quarterly', '2026-Q3');
    expect(input).not.toHaveProperty('incidents');
    const html = await renderHtml(input);
    expect(html).toContain('Arbiter holds no incident records for this period');
    expect(html).not.toContain('No incidents were recorded');
  });

  it('trends the lowest impact ratio of the groups the gate compares, not of one too small to compare', async () => {
    // us-nyc's min_group_size is 30: the 4-person group's 0.25 is left out, as FAIR-IMPACT-RATIO leaves it out.
    await recordDecision('dec-2026-spring', '2026-05-01T00:00:00Z', {
      fairness: {
        race: {
          groups: {
            White: { count: 500, selection_rate: 0.5, impact_ratio: 1 },
            Black: { count: 400, selection_rate: 0.425, impact_ratio: 0.85 },
            Tiny: { count: 4, selection_rate: 0.125, impact_ratio: 0.25 },
          },
        },
      },
    });
    const input = await assemble(new Date('2027-01-15T00:00:00Z'));
    expect(input.trends.find((t) => t.period === '2026-Q2')?.min_impact_ratio).toBe(0.85);
  });

  it('trends the ratio of a group the evidence left out under a larger min_group_size than the region’s', async () => {
    // The evaluator's spec said 50; us-nyc says 30, and FAIR-IMPACT-RATIO judges the 40-person group's 0.5.
    await recordDecision('dec-2026-winter', '2026-02-01T00:00:00Z', {
      fairness: {
        race: {
          groups: {
            White: { count: 400, selection_rate: 0.5, impact_ratio: 1 },
            Black: { count: 400, selection_rate: 0.45, impact_ratio: 0.9 },
            Asian: { count: 40, selection_rate: 0.25, impact_ratio: 0.5 },
          },
          excluded_groups: [
            { group: 'Asian', reason: 'count 40 is below min_group_size 50', from: ['impact_ratio'] },
          ],
        },
      },
    });
    const input = await assemble(new Date('2027-01-15T00:00:00Z'));
    expect(input.trends.find((t) => t.period === '2026-Q1')?.min_impact_ratio).toBe(0.5);
  });
});
