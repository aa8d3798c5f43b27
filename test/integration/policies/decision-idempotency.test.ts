import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, MAX_ENTRY_BYTES, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import {
  createPolicyEngine,
  decide,
  DecisionStore,
  earlierDecision,
  idempotencyClaim,
  isKeyHeld,
  WaiverStore,
  type Actor,
  type DecideDeps,
  type PolicyEngine,
  type PolicyTables,
} from '../../../policies/index.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';
import { buildRepositoryBundle, loadSamples, SAMPLE_CLOCK } from './support.ts';

const ci: Actor = { subject: 'ci-pipeline', role: 'ci', issuer: 'arbiter-local' };
const DAY_MS = 86_400_000;

let handle: TestDatabase;
let engine: PolicyEngine;
let ledger: Ledger;
let decisions: DecisionStore;
let waivers: WaiverStore;
let cleanupBundle: () => Promise<void>;

const request = (await loadSamples()).find(
  (s) => s.name === 'deployment/samples/allowed/eu-credit-scoring-high-risk.json',
)!.body;
const deps = (overrides: Partial<DecideDeps> = {}): DecideDeps => ({
  engine,
  appendToLedger: (region, entry, record) => ledger.append(region, { ...entry }, { companion: record }),
  waivers,
  clock: () => SAMPLE_CLOCK,
  actor: ci,
  ledgerEntryLimit: MAX_ENTRY_BYTES,
  ...overrides,
});
const ledgerSize = async () => (await ledger.integrate('eu')).size;

beforeAll(async () => {
  handle = await openTestDatabase();
  const db = handle.db as unknown as Kysely<PolicyTables>;
  decisions = new DecisionStore(db);
  ledger = await createLedger({
    db: handle.db as unknown as Kysely<LedgerTables>,
    logs: [{ region: 'eu', origin: 'arbiter.example/eu' }],
    keys: TEST_KEYS,
    clock: () => SAMPLE_CLOCK,
  });
  const built = await buildRepositoryBundle('rev-1');
  cleanupBundle = built.cleanup;
  waivers = new WaiverStore(db, {
    regions: new Set(['eu']),
    rules: () => ({ ids: new Set(built.bundle.rules), nonWaivable: new Set(built.bundle.nonWaivableRules) }),
    clock: () => SAMPLE_CLOCK,
    append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
  });
  engine = await createPolicyEngine({ bundle: built.bundle, poolSize: 1 });
});

afterAll(async () => {
  await ledger?.stop();
  await engine?.close();
  await cleanupBundle?.();
  await handle?.close();
});

describe('a decision with an Idempotency-Key', () => {
  it('holds the key in the transaction of its row: a second decision with it records nothing', async () => {
    const claim = idempotencyClaim('job-1', request as unknown as Record<string, unknown>);
    const before = await ledgerSize();
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => decide(request, deps({ idempotency: claim }))),
    );
    const kept = results.filter((r) => r.status === 'fulfilled');
    expect(kept).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) expect(isKeyHeld(r.reason)).toBe(true);
    expect(await ledgerSize()).toBe(before + 1);
    // The earlier decision answers for the key, as it was received.
    const first = (kept[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof decide>>>).value;
    expect(await earlierDecision(decisions, ci, claim, SAMPLE_CLOCK)).toEqual(first);
    expect(await decisions.get(first.decision_id)).toMatchObject({
      idempotency_key: 'job-1',
      request_sha256: claim.requestSha256,
    });
  });

  it('refuses the key with another body, and leaves it to another caller or after 24 hours', async () => {
    const claim = idempotencyClaim('job-2', request as unknown as Record<string, unknown>);
    const first = await decide(request, deps({ idempotency: claim }));
    const other = idempotencyClaim('job-2', { ...request, context: { attempt: 2 } });
    await expect(earlierDecision(decisions, ci, other, SAMPLE_CLOCK)).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    const someoneElse: Actor = { ...ci, subject: 'another-pipeline' };
    expect(await earlierDecision(decisions, someoneElse, claim, SAMPLE_CLOCK)).toBeUndefined();
    await decide(request, deps({ idempotency: claim, actor: someoneElse }));

    const later = new Date(SAMPLE_CLOCK.getTime() + DAY_MS);
    expect(await earlierDecision(decisions, ci, other, later)).toBeUndefined();
    const second = await decide(request, deps({ idempotency: other, clock: () => later }));
    expect(second.decision_id).not.toBe(first.decision_id);
    expect(await earlierDecision(decisions, ci, other, later)).toEqual(second);
  });

  it('refuses a body too deep to hash as the decision would', () => {
    const deep = { ...request, context: { deep: JSON.parse('['.repeat(6000) + ']'.repeat(6000)) } };
    expect(() => idempotencyClaim('job-3', deep)).toThrow(
      expect.objectContaining({ code: 'POLICY_INPUT_INVALID', field: 'context' }),
    );
  });
});
