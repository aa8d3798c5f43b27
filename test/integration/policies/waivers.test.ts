import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import {
  buildBundle,
  WaiverStore,
  type Actor,
  type AppendWaiverEntry,
  type PolicyTables,
  type WaiverRules,
} from '../../../policies/index.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';
import { POLICIES_DIR } from './support.ts';

const alice: Actor = { subject: 'alice', role: 'compliance_officer' };
const bob: Actor = { subject: 'bob', role: 'compliance_officer' };
const ci: Actor = { subject: 'pipeline', role: 'ci' };

const REGIONS = new Set(['eu']);
// The rules these tests waive, as an active bundle would list them.
const RULES: WaiverRules = {
  ids: new Set(['SEC-FINDING', 'PERF-ACCURACY-MIN', 'DRIFT-PSI', 'DRIFT-KS', 'DATA-MISSING', 'DATA-BALANCE']),
  nonWaivable: new Set(),
};
let handle: TestDatabase;
let now = new Date('2026-11-23T12:00:00Z');
let store: WaiverStore;
let ledger: Ledger;
let ids = 0;
let append: AppendWaiverEntry;

beforeAll(async () => {
  handle = await openTestDatabase();
  ledger = await createLedger({
    db: handle.db as unknown as Kysely<LedgerTables>,
    logs: [{ region: 'eu', origin: 'arbiter.example/eu' }],
    keys: TEST_KEYS,
    clock: () => now,
  });
  append = (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record });
  store = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
    regions: REGIONS,
    rules: () => RULES,
    clock: () => now,
    newId: () => `w-${++ids}`,
    append,
  });
});

afterAll(async () => {
  await ledger?.stop();
  await handle?.close();
});

/** The waiver's ledger entries, in order. */
const entriesOf = async (waiverId: string) => {
  await ledger.integrate('eu');
  const { size } = await ledger.reader.treeHead('eu');
  const all = await ledger.reader.entries('eu', { from: 0, to: size });
  return all.filter((e) => e.entry.waiver_id === waiverId).map((e) => e.entry.type);
};

const request = (overrides: Partial<Parameters<WaiverStore['request']>[0]> = {}) =>
  store.request(
    {
      rule: 'SEC-FINDING',
      model: 'credit-scoring',
      region: 'eu',
      reason: 'false positive in the pickle scanner, fixed in the next release',
      expires_at: '2026-12-01T00:00:00Z',
      ...overrides,
    },
    alice,
  );

describe('WaiverStore', () => {
  it('requests, then a different compliance officer approves; the active waiver reaches the policy input', async () => {
    const requested = await request();
    expect(requested.ledger).toMatchObject({ region: 'eu', seq: expect.any(Number) });
    expect(requested.waiver.ledger_seq).toBe(requested.ledger.seq);
    expect(requested.entry).toEqual({
      type: 'waiver.requested',
      waiver_id: 'w-1',
      rule: 'SEC-FINDING',
      model: 'credit-scoring',
      region: 'eu',
      reason: 'false positive in the pickle scanner, fixed in the next release',
      expires_at: '2026-12-01T00:00:00.000Z',
      status: 'requested',
      note: null,
      actor: alice,
      at: '2026-11-23T12:00:00.000Z',
    });
    expect(await store.activeFor('credit-scoring', 'eu')).toEqual([]);
    const approved = await store.approve('w-1', bob, 'checked the scanner output');
    expect(approved.entry).toMatchObject({ type: 'waiver.approved', status: 'approved', actor: bob });
    expect(await store.activeFor('credit-scoring', 'eu')).toEqual([
      {
        id: 'w-1',
        rule: 'SEC-FINDING',
        model: 'credit-scoring',
        region: 'eu',
        expires_at: '2026-12-01T00:00:00.000Z',
      },
    ]);
    expect(await store.activeFor('credit-scoring', 'us')).toEqual([]);
    await expect(store.approve('w-1', bob)).rejects.toMatchObject({ code: 'WAIVER_NOT_PENDING' });
  });

  it('enforces four eyes: the requester cannot approve, and only compliance officers decide', async () => {
    const { waiver } = await request({ rule: 'PERF-ACCURACY-MIN' });
    await expect(store.approve(waiver.id, alice)).rejects.toMatchObject({ code: 'WAIVER_FOUR_EYES' });
    // The same subject written otherwise (a claim mapped from a name or an e-mail address) is the same person.
    for (const subject of ['Alice', 'alice ', 'ＡＬＩＣＥ'])
      await expect(store.approve(waiver.id, { ...alice, subject })).rejects.toMatchObject({
        code: 'WAIVER_FOUR_EYES',
      });
    await expect(store.approve(waiver.id, ci)).rejects.toMatchObject({ code: 'WAIVER_FOUR_EYES' });
    const rejected = await store.reject(waiver.id, bob, 'fix the model instead');
    expect(rejected.entry).toMatchObject({ type: 'waiver.rejected', note: 'fix the model instead' });
    expect((await store.activeFor('credit-scoring', 'eu')).map((w) => w.rule)).toEqual(['SEC-FINDING']);
  });

  it('honours an approval made by another process once its snapshot is older than refreshMs', async () => {
    const db = handle.db as unknown as Kysely<PolicyTables>;
    // Long enough that the approval below, on a loaded machine, lands well within one snapshot's life.
    const elsewhere = new WaiverStore(db, { clock: () => now, refreshMs: 2_000, append, regions: REGIONS });
    const { waiver } = await request({
      model: 'churn',
      rule: 'DRIFT-PSI',
      expires_at: '2027-06-01T00:00:00Z',
    });
    expect(await elsewhere.activeFor('churn', 'eu')).toEqual([]);
    await store.approve(waiver.id, bob);
    expect((await store.activeFor('churn', 'eu')).map((w) => w.id)).toEqual([waiver.id]);
    // Until its snapshot ages, the other process still denies: late, never early.
    expect(await elsewhere.activeFor('churn', 'eu')).toEqual([]);
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await elsewhere.activeFor('churn', 'eu')).map((w) => w.id)).toEqual([waiver.id]);
  });

  it('never honours an expired waiver and records its expiry', async () => {
    now = new Date('2026-12-01T00:00:00Z');
    expect(await store.activeFor('credit-scoring', 'eu')).toEqual([]);
    // Read as expired from the moment it is, before the sweep records it.
    expect((await store.get('w-1')).status).toBe('expired');
    expect((await store.list({ status: 'approved' })).map((w) => w.id)).not.toContain('w-1');
    expect((await store.list({ status: 'expired' })).map((w) => w.id)).toContain('w-1');
    const expired = await store.expireDue();
    expect(expired.map((c) => c.entry.type)).toEqual(['waiver.expired']);
    expect(expired[0]!.entry).toMatchObject({
      waiver_id: 'w-1',
      actor: null,
      at: '2026-12-01T00:00:00.000Z',
    });
    expect(await store.expireDue()).toEqual([]);
    expect(await entriesOf('w-1')).toEqual(['waiver.requested', 'waiver.approved', 'waiver.expired']);
  });

  it('commits each change with its ledger entry: a change refused by the database appends nothing', async () => {
    now = new Date('2026-12-01T00:00:00Z');
    const { waiver } = await request({ rule: 'DATA-MISSING', expires_at: '2027-03-01T00:00:00Z' });
    // Another officer's rejection commits between this store's check and its write.
    const db = handle.db as unknown as Kysely<PolicyTables>;
    const overtaken = new WaiverStore(db, {
      regions: REGIONS,
      rules: () => RULES,
      clock: () => now,
      append: async (region, entry, record) => {
        await store.reject(waiver.id, bob, 'no');
        return append(region, entry, record);
      },
    });
    await expect(overtaken.approve(waiver.id, bob)).rejects.toMatchObject({ code: 'WAIVER_NOT_PENDING' });
    expect((await store.get(waiver.id)).status).toBe('rejected');
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested', 'waiver.rejected']);

    // A ledger that refuses the entry leaves the waiver as it was.
    const { waiver: second } = await request({ rule: 'DATA-BALANCE', expires_at: '2027-03-01T00:00:00Z' });
    const failing = new WaiverStore(db, {
      regions: REGIONS,
      rules: () => RULES,
      clock: () => now,
      append: () => Promise.reject(new Error('ledger unavailable')),
    });
    await expect(failing.approve(second.id, bob)).rejects.toThrow('ledger unavailable');
    expect((await store.get(second.id)).status).toBe('requested');
    await expect(
      failing.request(
        {
          rule: 'DATA-BALANCE',
          model: 'm',
          region: 'eu',
          reason: 'a reason long enough',
          expires_at: '2027-03-01T00:00:00Z',
        },
        alice,
      ),
    ).rejects.toThrow('ledger unavailable');
    expect((await store.list({ model: 'm' })).length).toBe(0);
  });

  it('refuses through the database a change from the wrong state, whoever writes it', async () => {
    const db = handle.db as unknown as Kysely<PolicyTables>;
    const { waiver } = await request({ rule: 'DRIFT-KS', expires_at: '2027-03-01T00:00:00Z' });
    const change = (status: 'approved' | 'rejected' | 'expired' | 'revoked', changedBy: string | null) =>
      db
        .insertInto('policy_waiver_change')
        .values({
          waiver_id: waiver.id,
          status,
          changed_by: changedBy,
          changed_at: now,
          note: null,
          ledger_seq: 0,
        })
        .execute();
    await expect(change('expired', null)).rejects.toThrow(/cannot become expired/);
    await expect(change('revoked', 'bob')).rejects.toThrow(/cannot become revoked/);
    await expect(change('approved', 'alice')).rejects.toThrow(/four_eyes/);
    await change('approved', 'bob');
    await expect(change('rejected', 'bob')).rejects.toThrow(/cannot become rejected/);
    expect((await store.get(waiver.id)).status).toBe('approved');
  });

  it('refuses a waiver that expires in the past, or lacks a reason, naming the field', async () => {
    await expect(request({ expires_at: '2026-01-01T00:00:00Z' })).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'expires_at',
    });
    await expect(request({ reason: 'because' })).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'reason',
    });
    await expect(request({ rule: 'not a rule' })).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'rule',
    });
    await expect(request({ region: 'atlantis' })).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'region',
    });
    // A standing exception is a policy change: a year (and a day) at most.
    await expect(request({ expires_at: '2028-06-01T00:00:00Z' })).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'expires_at',
      message: expect.stringContaining('at most 366 days'),
    });
    // PostgreSQL text cannot hold NUL: refused by name, not by the database as a 500.
    await expect(request({ reason: 'a reason long enough\u0000' })).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'reason',
    });
    const { waiver: pending } = await request({ rule: 'DRIFT-PSI', expires_at: '2027-03-01T00:00:00Z' });
    await expect(store.approve(pending.id, bob, 'fine\u0000')).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'note',
    });
    const knowing = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
      regions: REGIONS,
      rules: () => ({ ids: new Set(['SEC-FINDING', 'DRIFT-PSI']), nonWaivable: new Set() }),
      clock: () => now,
      append,
    });
    const typo = { rule: 'SEC-FINDNG', model: 'm', region: 'eu', reason: 'a reason long enough' };
    await expect(
      knowing.request({ ...typo, expires_at: '2027-01-01T00:00:00Z' }, alice),
    ).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'rule',
      message: expect.stringContaining('DRIFT-PSI, SEC-FINDING'),
    });
    await expect(store.approve('nope', bob)).rejects.toMatchObject({ code: 'WAIVER_NOT_FOUND' });
  });

  it('refuses a waiver for a rule no waiver may lift, naming the field rule', async () => {
    const expires_at = new Date(now.getTime() + 30 * 86_400_000).toISOString();
    // The rules a bundle of these policies marks non-waivable, read from their METADATA when it was built.
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-waivable-'));
    const bundle = await buildBundle({
      sourceDir: POLICIES_DIR,
      revision: 'waivable',
      out: path.join(scratch, 'bundle.tar.gz'),
    }).finally(() => rm(scratch, { recursive: true, force: true }));
    expect(bundle.nonWaivableRules).toEqual([
      'EVIDENCE-MODEL-MISMATCH',
      'INPUT-CLOCK-INVALID',
      'INPUT-REGION-UNKNOWN',
      'LL144-BIAS-AUDIT-STALE',
      'RISK-UNACCEPTABLE',
    ]);
    const guarded = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
      regions: REGIONS,
      rules: () => ({ ids: new Set(bundle.rules), nonWaivable: new Set(bundle.nonWaivableRules) }),
      clock: () => now,
      append,
    });
    for (const rule of bundle.nonWaivableRules!) {
      const body = { rule, model: 'm', region: 'eu', reason: 'a reason long enough', expires_at };
      await expect(guarded.request(body, alice)).rejects.toMatchObject({
        code: 'WAIVER_INVALID',
        field: 'rule',
        message: `rule: ${rule} cannot be waived; the policies never lift it`,
      });
    }
    // The active bundle's own list (METADATA custom.waivable: false) is refused too, and a request recorded
    // before its rule became non-waivable is not approved.
    const { waiver: pending } = await request({ rule: 'DRIFT-KS', expires_at });
    const strict = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
      regions: REGIONS,
      rules: () => ({ ids: new Set(['DRIFT-KS', 'SEC-FINDING']), nonWaivable: new Set(['DRIFT-KS']) }),
      clock: () => now,
      append,
    });
    await expect(
      strict.request(
        { rule: 'DRIFT-KS', model: 'm', region: 'eu', reason: 'a reason long enough', expires_at },
        alice,
      ),
    ).rejects.toMatchObject({ code: 'WAIVER_INVALID', field: 'rule' });
    await expect(strict.approve(pending.id, bob)).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'rule',
    });
    expect((await strict.get(pending.id)).status).toBe('requested');
    await strict.reject(pending.id, bob, 'the rule is no longer waivable');
  });

  it('refuses to approve a request whose rule the active policies no longer have, naming the field rule', async () => {
    const { waiver } = await request({
      model: 'retired-rule',
      rule: 'DATA-MISSING',
      expires_at: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
    });
    // A new bundle is active, without the rule: the approval would lift nothing.
    const renewed = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
      regions: REGIONS,
      rules: () => ({ ids: new Set(['SEC-FINDING', 'DATA-COMPLETENESS']), nonWaivable: new Set() }),
      clock: () => now,
      append,
    });
    await expect(renewed.approve(waiver.id, bob)).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'rule',
      message: 'rule: DATA-MISSING is not a rule of the active policies (DATA-COMPLETENESS, SEC-FINDING)',
    });
    expect((await renewed.get(waiver.id)).status).toBe('requested');
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested']);
    // A rejection lifts nothing: it is still recorded.
    await renewed.reject(waiver.id, bob, 'the rule is gone');
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested', 'waiver.rejected']);
  });

  it('lets a request lapse at its expiry: it reads as expired and can no longer be decided', async () => {
    const { waiver } = await request({ expires_at: '2026-12-02T00:00:00Z' });
    expect((await store.list({ status: 'requested' })).map((w) => w.id)).toContain(waiver.id);
    now = new Date('2026-12-03T00:00:00Z');
    expect((await store.get(waiver.id)).status).toBe('expired');
    expect((await store.list({ status: 'requested' })).map((w) => w.id)).not.toContain(waiver.id);
    expect((await store.list({ status: 'expired' })).map((w) => w.id)).toContain(waiver.id);
    // Nothing left to decide: a conflict with its state, as for a waiver already decided.
    for (const decide of [store.approve.bind(store), store.reject.bind(store)]) {
      await expect(decide(waiver.id, bob)).rejects.toMatchObject({
        code: 'WAIVER_NOT_PENDING',
        message: `waiver ${waiver.id} is expired (its expiry, 2026-12-02T00:00:00.000Z, passed), not requested`,
      });
    }
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested']);
    // Its lapse is recorded like an approval's.
    expect((await store.expireDue()).map((c) => c.waiver.id)).toContain(waiver.id);
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested', 'waiver.expired']);
    expect((await store.expireDue()).map((c) => c.waiver.id)).not.toContain(waiver.id);
  });

  it('refuses requests and approvals while the active rules are unknown, recording nothing', async () => {
    const { waiver } = await request({ rule: 'DRIFT-PSI', expires_at: '2027-03-01T00:00:00Z' });
    // No bundle active (the only commit fails to parse, say): no rule can be checked, not even a known one.
    const unknowing = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
      regions: REGIONS,
      rules: () => undefined,
      clock: () => now,
      append,
    });
    const body = { model: 'm', region: 'eu', reason: 'a reason long enough', expires_at: waiver.expires_at };
    for (const rule of ['NOPE', 'RISK-UNACCEPTABLE', 'DRIFT-PSI']) {
      await expect(unknowing.request({ ...body, rule }, alice)).rejects.toMatchObject({
        code: 'POLICIES_UNAVAILABLE',
      });
    }
    await expect(unknowing.approve(waiver.id, bob)).rejects.toMatchObject({ code: 'POLICIES_UNAVAILABLE' });
    expect((await store.get(waiver.id)).status).toBe('requested');
    expect((await store.list({ model: 'm' })).length).toBe(0);
    // A rejection lifts nothing: it needs no rules.
    await unknowing.reject(waiver.id, bob, 'not now');
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested', 'waiver.rejected']);
  });
  it('revokes an approved waiver before its expiry, with a reason: then it reaches no policy', async () => {
    const { waiver } = await request({
      model: 'fraud',
      rule: 'DRIFT-KS',
      expires_at: '2027-06-01T00:00:00Z',
    });
    // A pending request is rejected, not revoked.
    await expect(store.revoke(waiver.id, bob, 'not wanted after all')).rejects.toMatchObject({
      code: 'WAIVER_NOT_ACTIVE',
      message: `waiver ${waiver.id} is requested, not approved`,
    });
    const approval = await store.approve(waiver.id, bob, 'the KS alarm is a known seasonal effect');
    expect((await store.activeFor('fraud', 'eu')).map((w) => w.id)).toEqual([waiver.id]);
    await expect(store.revoke(waiver.id, bob, 'because')).rejects.toMatchObject({
      code: 'WAIVER_INVALID',
      field: 'note',
    });
    await expect(store.revoke(waiver.id, ci, 'the drift is real after all')).rejects.toMatchObject({
      code: 'WAIVER_FOUR_EYES',
    });
    expect((await store.get(waiver.id)).status).toBe('approved');

    // The officer who approved it may revoke it: the exception only narrows.
    const revoked = await store.revoke(waiver.id, bob, '  the drift is real after all  ');
    expect(revoked.waiver).toMatchObject({
      status: 'revoked',
      revoked_by: 'bob',
      revoked_at: now,
      revocation_note: 'the drift is real after all',
      // The approval stays on record as it was.
      decided_by: 'bob',
      decision_note: 'the KS alarm is a known seasonal effect',
    });
    expect(revoked.entry).toEqual({
      type: 'waiver.revoked',
      waiver_id: waiver.id,
      rule: 'DRIFT-KS',
      model: 'fraud',
      region: 'eu',
      reason: waiver.reason,
      expires_at: '2027-06-01T00:00:00.000Z',
      status: 'revoked',
      note: 'the drift is real after all',
      actor: bob,
      at: now.toISOString(),
    });
    expect(await store.activeFor('fraud', 'eu')).toEqual([]);
    expect((await store.list({ status: 'revoked' })).map((w) => w.id)).toEqual([waiver.id]);
    await expect(store.revoke(waiver.id, alice, 'revoked twice by mistake')).rejects.toMatchObject({
      code: 'WAIVER_NOT_ACTIVE',
      message: `waiver ${waiver.id} is revoked, not approved`,
    });
    // Revoked is final: its expiry passing records nothing more.
    now = new Date('2027-07-01T00:00:00Z');
    expect((await store.get(waiver.id)).status).toBe('revoked');
    expect((await store.expireDue()).map((c) => c.waiver.id)).not.toContain(waiver.id);
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested', 'waiver.approved', 'waiver.revoked']);
    // What an audit bundle starting later cites for it: every entry of its history below the bundle's start.
    const seqs = [waiver.ledger_seq!, approval.ledger.seq, revoked.ledger.seq].map(Number);
    expect(await store.entrySeqs('eu', [waiver.id, 'w-none'], revoked.ledger.seq + 1)).toEqual(seqs);
    expect(await store.entrySeqs('eu', [waiver.id], revoked.ledger.seq)).toEqual(seqs.slice(0, 2));
    expect(await store.entrySeqs('us', [waiver.id], revoked.ledger.seq + 1)).toEqual([]);
    expect(await store.entrySeqs('eu', [], revoked.ledger.seq + 1)).toEqual([]);
  });

  it('does not revoke a waiver whose expiry passed: it is no longer in force', async () => {
    now = new Date('2027-07-01T00:00:00Z');
    const { waiver } = await request({
      model: 'fraud',
      rule: 'DRIFT-PSI',
      expires_at: '2027-07-02T00:00:00Z',
    });
    await store.approve(waiver.id, bob);
    now = new Date('2027-07-02T00:00:00Z');
    await expect(store.revoke(waiver.id, bob, 'too late for this one')).rejects.toMatchObject({
      code: 'WAIVER_NOT_ACTIVE',
      message: `waiver ${waiver.id} is expired (its expiry, 2027-07-02T00:00:00.000Z, passed), not approved`,
    });
    expect(await entriesOf(waiver.id)).toEqual(['waiver.requested', 'waiver.approved']);
  });
});
