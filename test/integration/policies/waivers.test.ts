import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WaiverStore, type Actor, type PolicyTables } from '../../../policies/index.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';

const alice: Actor = { subject: 'alice', role: 'compliance_officer' };
const bob: Actor = { subject: 'bob', role: 'compliance_officer' };
const ci: Actor = { subject: 'pipeline', role: 'ci' };

let handle: TestDatabase;
let now = new Date('2026-11-23T12:00:00Z');
let store: WaiverStore;
let ids = 0;

beforeAll(async () => {
  handle = await openTestDatabase();
  store = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
    clock: () => now,
    newId: () => `w-${++ids}`,
  });
});

afterAll(() => handle?.close());

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
    await expect(store.approve(waiver.id, ci)).rejects.toMatchObject({ code: 'WAIVER_FOUR_EYES' });
    const rejected = await store.reject(waiver.id, bob, 'fix the model instead');
    expect(rejected.entry).toMatchObject({ type: 'waiver.rejected', note: 'fix the model instead' });
    expect((await store.activeFor('credit-scoring', 'eu')).map((w) => w.rule)).toEqual(['SEC-FINDING']);
  });

  it('honours an approval made by another process once its snapshot is older than refreshMs', async () => {
    const db = handle.db as unknown as Kysely<PolicyTables>;
    const elsewhere = new WaiverStore(db, { clock: () => now, refreshMs: 200 });
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
    await new Promise((r) => setTimeout(r, 250));
    expect((await elsewhere.activeFor('churn', 'eu')).map((w) => w.id)).toEqual([waiver.id]);
  });

  it('never honours an expired waiver and records its expiry', async () => {
    now = new Date('2026-12-01T00:00:00Z');
    expect(await store.activeFor('credit-scoring', 'eu')).toEqual([]);
    const expired = await store.expireDue();
    expect(expired.map((c) => c.entry.type)).toEqual(['waiver.expired']);
    expect(expired[0]!.entry).toMatchObject({
      waiver_id: 'w-1',
      actor: null,
      at: '2026-12-01T00:00:00.000Z',
    });
    expect(await store.expireDue()).toEqual([]);
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
    await expect(store.approve('nope', bob)).rejects.toMatchObject({ code: 'WAIVER_NOT_FOUND' });
  });

  it('refuses approving a waiver whose expiry passed while it waited', async () => {
    const { waiver } = await request({ expires_at: '2026-12-02T00:00:00Z' });
    now = new Date('2026-12-03T00:00:00Z');
    await expect(store.approve(waiver.id, bob)).rejects.toMatchObject({ code: 'WAIVER_INVALID' });
  });
});
