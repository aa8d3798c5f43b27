import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import { WaiverStore, type Actor, type PolicyTables } from '../../../policies/index.ts';
import { LOCAL_ISSUER, LocalTokens } from '../../../server/auth/index.ts';
import type { ServerTables } from '../../../server/db/schema.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';

// Four-eyes across local tokens: a token's subject is its id, so two tokens of one person differ as subjects.
// The database follows api_token.created_by: a waiver is not decided by a token in its requester's line of
// creators, nor by one whose line holds its requester.
const now = new Date('2026-11-23T12:00:00Z');
let handle: TestDatabase;
let ledger: Ledger;
let store: WaiverStore;
let tokens: LocalTokens;
let ids = 0;

beforeAll(async () => {
  handle = await openTestDatabase();
  ledger = await createLedger({
    db: handle.db as unknown as Kysely<LedgerTables>,
    logs: [{ region: 'eu', origin: 'arbiter.example/eu' }],
    keys: TEST_KEYS,
    clock: () => now,
  });
  store = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
    regions: new Set(['eu']),
    rules: () => ({ ids: new Set(['SEC-FINDING']), nonWaivable: new Set() }),
    clock: () => now,
    newId: () => `lineage-${++ids}`,
    append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
  });
  tokens = new LocalTokens(handle.db as unknown as Kysely<ServerTables>, () => now);
});

afterAll(async () => {
  await ledger?.stop();
  await handle?.close();
});

/** A local token's identity as the routes record it, minted by `createdBy` (a subject). */
const mint = async (role: 'admin' | 'compliance_officer', createdBy: string): Promise<Actor> => {
  const { id } = await tokens.create({ role, createdBy });
  return { subject: id, role, issuer: LOCAL_ISSUER };
};

const requestBy = async (actor: Actor) =>
  (
    await store.request(
      {
        rule: 'SEC-FINDING',
        model: 'credit-scoring',
        region: 'eu',
        reason: 'false positive in the pickle scanner, fixed in the next release',
        expires_at: '2026-12-01T00:00:00Z',
      },
      actor,
    )
  ).waiver;

/** The waiver's ledger entries, in order. */
const entriesOf = async (waiverId: string) => {
  await ledger.integrate('eu');
  const { size } = await ledger.reader.treeHead('eu');
  const all = await ledger.reader.entries('eu', { from: 0, to: size });
  return all.filter((e) => e.entry.waiver_id === waiverId).map((e) => e.entry.type);
};

describe('four-eyes on waivers across local tokens', () => {
  it('refuses a decision by a token the requester minted, directly or through tokens it minted', async () => {
    const admin = await mint('admin', 'arbiter');
    const direct = await mint('compliance_officer', admin.subject);
    const deputy = await mint('admin', admin.subject);
    const indirect = await mint('compliance_officer', deputy.subject);
    const waiver = await requestBy(admin);
    for (const officer of [direct, indirect]) {
      for (const decide of [store.approve.bind(store), store.reject.bind(store)]) {
        await expect(decide(waiver.id, officer)).rejects.toMatchObject({
          code: 'WAIVER_FOUR_EYES',
          message: expect.stringContaining(
            `requested by ${admin.subject}: one's token was minted by the other`,
          ),
        });
      }
    }
    expect((await store.get(waiver.id)).status).toBe('requested');
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested']);
  });

  it('refuses a decision by a token in whose line the requester was minted', async () => {
    // A compliance officer's subject that minted the requester's token (an OIDC identity that was an admin
    // then, say): the other way round.
    const officer: Actor = { subject: 'olga@example.com', role: 'compliance_officer', issuer: 'https://idp' };
    const ownAdmin = await mint('admin', 'Olga@Example.com ');
    const requester = await mint('admin', ownAdmin.subject);
    const waiver = await requestBy(requester);
    await expect(store.approve(waiver.id, officer)).rejects.toMatchObject({ code: 'WAIVER_FOUR_EYES' });
    const coToken = await mint('compliance_officer', 'arbiter');
    const minted = await mint('admin', coToken.subject);
    await expect(store.approve((await requestBy(minted)).id, coToken)).rejects.toMatchObject({
      code: 'WAIVER_FOUR_EYES',
    });
    expect((await store.get(waiver.id)).status).toBe('requested');
  });

  it('refuses it in the database too, whoever writes the change', async () => {
    const admin = await mint('admin', 'arbiter');
    const officer = await mint('compliance_officer', admin.subject);
    const waiver = await requestBy(admin);
    const change = (changedBy: string) =>
      (handle.db as unknown as Kysely<PolicyTables>)
        .insertInto('policy_waiver_change')
        .values({
          waiver_id: waiver.id,
          status: 'approved',
          changed_by: changedBy,
          changed_at: now,
          note: null,
          ledger_seq: 0,
        })
        .execute();
    await expect(change(officer.subject)).rejects.toMatchObject({ constraint: 'policy_waiver_four_eyes' });
    expect((await store.get(waiver.id)).status).toBe('requested');
  });

  it('lets a token minted by the same admin, not by the requester, decide: only as separate as that admin', async () => {
    const admin = await mint('admin', 'arbiter');
    const first = await mint('compliance_officer', admin.subject);
    const second = await mint('compliance_officer', admin.subject);
    const waiver = await requestBy(first);
    const approved = await store.approve(waiver.id, second, 'checked the scanner output');
    // The approval records the token that gave it; its row in api_token says who minted it.
    expect(approved.waiver).toMatchObject({ status: 'approved', decided_by: second.subject });
    expect(approved.entry.actor).toEqual(second);
  });
});
