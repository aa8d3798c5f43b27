import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import canonicalize from 'canonicalize';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildBundle,
  createBundleStore,
  createPolicyEngine,
  decide,
  DecisionStore,
  hashInput,
  replayDecision,
  simulateDecisions,
  WaiverStore,
  type Actor,
  type BundleStore,
  type DecideDeps,
  type AppendToLedger,
  type DecisionLedgerEntry,
  type DecisionRow,
  type PolicyBundle,
  type PolicyEngine,
  type PolicyTables,
  type Stage,
} from '../../../policies/index.ts';
import { createLedger, MAX_ENTRY_BYTES, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import { loadRegions, policyDataDocument } from '../../../regions/index.ts';
import { TEST_KEYS } from '../ledger/ledger-harness.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import {
  buildRepositoryBundle,
  loadSamples,
  POLICIES_DIR,
  SAMPLE_CLOCK,
  type SampleBody,
} from './support.ts';

const ci: Actor = { subject: 'ci-pipeline', role: 'ci', issuer: 'arbiter-local' };

let handle: TestDatabase;
let bundle: PolicyBundle;
let cleanupBundle: () => Promise<void>;
let engine: PolicyEngine;
let decisions: DecisionStore;
let waivers: WaiverStore;
let bundles: BundleStore;
let scratch: string;
let ledger: Ledger;

// The real ledger, wired as the server wires it: the decision row commits with its entry.
const appendToLedger: AppendToLedger = (region, entry, record) =>
  ledger.append(region, { ...entry }, { companion: record });

const ledgerSize = async (region: string) => (await ledger.integrate(region)).size;
const ledgerEntry = async (region: string, seq: number) =>
  (await ledger.reader.entry(region, seq)).entry as unknown as DecisionLedgerEntry;

const samples = await loadSamples();
const body = (name: string): SampleBody => structuredClone(samples.find((s) => s.name === name)!.body);
const ALLOWED_EU = 'deployment/samples/allowed/eu-credit-scoring-high-risk.json';
const DENIED_EU = 'deployment/samples/denied/eu-critical-model-file-finding.json';

let ids = 0;
const deps = (overrides: Partial<DecideDeps> = {}): DecideDeps => ({
  engine,
  appendToLedger,
  waivers,
  clock: () => SAMPLE_CLOCK,
  actor: ci,
  ledgerEntryLimit: MAX_ENTRY_BYTES,
  newId: () => `d-${++ids}`,
  ...overrides,
});

beforeAll(async () => {
  handle = await openTestDatabase();
  const db = handle.db as unknown as Kysely<PolicyTables>;
  decisions = new DecisionStore(db);
  ledger = await createLedger({
    db: handle.db as unknown as Kysely<LedgerTables>,
    logs: [
      { region: 'eu', origin: 'arbiter.example/eu' },
      { region: 'us', origin: 'arbiter.example/us' },
    ],
    keys: TEST_KEYS,
    clock: () => SAMPLE_CLOCK,
  });
  waivers = new WaiverStore(db, {
    regions: new Set(['eu', 'us']),
    // The bundle built below: a waiver is checked against its rules.
    rules: () => ({ ids: new Set(bundle.rules), nonWaivable: new Set(bundle.nonWaivableRules) }),
    clock: () => SAMPLE_CLOCK,
    append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
  });
  ({ bundle, cleanup: cleanupBundle } = await buildRepositoryBundle('rev-1'));
  scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-decisions-'));
  bundles = createBundleStore(path.join(scratch, 'bundles'));
  await bundles.put(bundle);
  engine = await createPolicyEngine({ bundle, poolSize: 1 });
});

afterAll(async () => {
  await ledger?.stop();
  await engine?.close();
  await cleanupBundle?.();
  await handle?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('decide', () => {
  it('evaluates, appends the decision entry to the region log, stores it and returns the receipt', async () => {
    const receipt = await decide(body(ALLOWED_EU), deps());
    expect(receipt).toMatchObject({
      decision_id: 'd-1',
      allow: true,
      deny: [],
      policy: { revision: 'rev-1', bundle_sha256: bundle.sha256 },
      ledger: { region: 'eu', seq: 0 },
    });
    expect(receipt.obligations.map((o) => o.type)).toEqual(['human_review']);
    expect(await ledgerSize('eu')).toBe(1);
    const entry = await ledgerEntry('eu', 0);
    expect(entry).toMatchObject({
      type: 'decision',
      decision_id: 'd-1',
      region: 'eu',
      stage: 'deployment',
      subject: body(ALLOWED_EU).subject,
      policy: { revision: 'rev-1', bundle_sha256: bundle.sha256 },
      actor: ci,
      at: SAMPLE_CLOCK.toISOString(),
    });
    expect(entry.result!.allow).toBe(true);
    const row = await decisions.get('d-1');
    expect(row.input_sha256).toBe(entry.input_sha256);
    expect(createHash('sha256').update(row.input).digest('hex')).toBe(entry.input_sha256);
    expect(JSON.parse(row.input).event).toEqual({
      stage: 'deployment',
      region: 'eu',
      now: SAMPLE_CLOCK.toISOString(),
    });
    expect(row.ledger_seq).toBe(0);
    expect(row.leaf_hash).toBe(receipt.ledger.leaf_hash);
  });

  describe('when the request is refused before evaluation', () => {
    const refusals: [string, (b: Record<string, unknown>) => void, string, string][] = [
      ['an unknown region', (b) => (b.region = 'mars'), 'POLICY_REGION_UNKNOWN', 'region'],
      ['an unknown stage', (b) => (b.stage = 'retirement'), 'POLICY_STAGE_UNKNOWN', 'stage'],
      [
        'a missing owner',
        (b) => delete (b.model_card as Record<string, unknown>).owner,
        'POLICY_MODEL_CARD_INVALID',
        'model_card.owner',
      ],
      [
        'an owner that is not a string',
        (b) => ((b.model_card as Record<string, unknown>).owner = false),
        'POLICY_MODEL_CARD_INVALID',
        'model_card.owner',
      ],
      [
        'a blank intended purpose',
        (b) => ((b.model_card as Record<string, unknown>).intended_purpose = '   '),
        'POLICY_MODEL_CARD_INVALID',
        'model_card.intended_purpose',
      ],
      [
        'an invalid risk tier',
        (b) => ((b.model_card as Record<string, unknown>).risk_tier = 'extreme'),
        'POLICY_MODEL_CARD_INVALID',
        'model_card.risk_tier',
      ],
      [
        'a malformed model hash',
        (b) => ((b.subject as Record<string, unknown>).model_sha256 = 'abc'),
        'POLICY_INPUT_INVALID',
        'subject.model_sha256',
      ],
      ['no evidence', (b) => delete b.evidence, 'POLICY_INPUT_INVALID', 'evidence'],
      ...['1.0\n', '1.0\u0007', '1.0\u202e0.1', '\u2066v2\u2069', '\u200f1.0'].map(
        (version): (typeof refusals)[number] => [
          `a version holding ${JSON.stringify(version)} (control or bidirectional characters)`,
          (b) => ((b.subject as Record<string, unknown>).version = version),
          'POLICY_INPUT_INVALID',
          'subject.version',
        ],
      ),
      ['an unknown field', (b) => (b.extra = 1), 'POLICY_INPUT_INVALID', 'extra'],
      [
        // 12 KB of JSON; canonical JSON would overflow the stack on it.
        'a context nested 6,000 levels deep',
        (b) => (b.context = { deep: JSON.parse('['.repeat(6000) + ']'.repeat(6000)) as unknown }),
        'POLICY_INPUT_INVALID',
        'context',
      ],
      [
        'a context number beyond double range (1e400 parses as Infinity)',
        (b) => (b.context = JSON.parse('{"x": 1e400}') as Record<string, unknown>),
        'POLICY_INPUT_INVALID',
        'context',
      ],
      [
        'evidence with a lone surrogate in a key, which RFC 8785 cannot hash',
        (b) => ((b.evidence as Record<string, unknown>)['sex\ud800'] = 1),
        'POLICY_INPUT_INVALID',
        'evidence',
      ],
    ];
    it.each(refusals)(
      'refuses %s with a code naming the field and records nothing',
      async (_, mutate, code, field) => {
        const request = body(ALLOWED_EU) as unknown as Record<string, unknown>;
        mutate(request);
        const before = await ledgerSize('eu');
        await expect(decide(request, deps())).rejects.toMatchObject({ code, field });
        expect(await ledgerSize('eu')).toBe(before);
        expect(await decisions.list({ model: 'credit-scoring', since: new Date(0) })).toHaveLength(1);
      },
    );
  });

  it('reports waived denials and lets them pass', async () => {
    const { waiver } = await waivers.request(
      {
        rule: 'SEC-FINDING',
        model: 'credit-scoring',
        region: 'eu',
        reason: 'scanner false positive, confirmed by security team',
        expires_at: '2026-12-31T00:00:00Z',
      },
      { subject: 'alice', role: 'compliance_officer' },
    );
    const blocked = await decide(body(DENIED_EU), deps());
    expect(blocked.allow).toBe(false);
    await waivers.approve(waiver.id, { subject: 'bob', role: 'compliance_officer' });
    const waived = await decide(body(DENIED_EU), deps());
    expect(waived.allow).toBe(true);
    expect(waived.waived).toMatchObject([{ rule: 'SEC-FINDING', waiver_id: waiver.id }]);
  });

  it('honours a waiver for one model version on that version only, in the policy and in the database', async () => {
    const denied = body(DENIED_EU);
    denied.subject.model = 'credit-scoring-versioned';
    const { waiver } = await waivers.request(
      {
        rule: 'SEC-FINDING',
        model: denied.subject.model,
        version: denied.subject.version,
        region: 'eu',
        reason: 'scanner false positive in this model file, confirmed by the security team',
        expires_at: '2026-12-31T00:00:00Z',
      },
      { subject: 'alice', role: 'compliance_officer' },
    );
    expect(waiver.version).toBe(denied.subject.version);
    await waivers.approve(waiver.id, { subject: 'bob', role: 'compliance_officer' });
    const waived = await decide(denied, deps());
    expect(waived).toMatchObject({ allow: true, waived: [{ rule: 'SEC-FINDING', waiver_id: waiver.id }] });

    const later = structuredClone(denied);
    later.subject.version = `${denied.subject.version}-next`;
    const blocked = await decide(later, deps());
    expect(blocked).toMatchObject({ allow: false, waived: [], deny: [{ rule: 'SEC-FINDING' }] });
    // The policy saw the waiver and left it out; a policy that did not would be refused by the database.
    expect(JSON.parse((await decisions.get(blocked.decision_id)).input).waivers).toEqual([
      expect.objectContaining({ id: waiver.id, version: denied.subject.version }),
    ]);
    const unscoped = {
      activeFor: async (model: string, region: string) =>
        (await waivers.activeFor(model, region)).map(({ version: _version, ...w }) => w),
    };
    const before = await ledgerSize('eu');
    await expect(decide(later, deps({ waivers: unscoped }))).rejects.toMatchObject({
      code: 'LEDGER_APPEND_FAILED',
      message: expect.stringContaining(`relies on waivers no longer in force: ${waiver.id}`),
    });
    expect(await ledgerSize('eu')).toBe(before);
  });

  it('never records a decision relying on a waiver revoked meanwhile elsewhere: it decides again', async () => {
    const alice = { subject: 'alice', role: 'compliance_officer' } as const;
    const denied = body(DENIED_EU);
    denied.subject.model = 'credit-scoring-revoked';
    const { waiver } = await waivers.request(
      {
        rule: 'SEC-FINDING',
        model: denied.subject.model,
        region: 'eu',
        reason: 'scanner false positive, pending confirmation by the security team',
        expires_at: '2026-12-31T00:00:00Z',
      },
      alice,
    );
    await waivers.approve(waiver.id, { subject: 'bob', role: 'compliance_officer' });
    // Another instance of the service, whose snapshot of the approved waivers is read now and kept a while.
    const elsewhere = new WaiverStore(handle.db as unknown as Kysely<PolicyTables>, {
      regions: new Set(['eu', 'us']),
      clock: () => SAMPLE_CLOCK,
      refreshMs: 600_000,
      append: () => Promise.reject(new Error('this instance only decides')),
    });
    const waived = await decide(denied, deps({ waivers: elsewhere }));
    expect(waived).toMatchObject({ allow: true, waived: [{ rule: 'SEC-FINDING', waiver_id: waiver.id }] });
    expect((await decisions.get(waived.decision_id)).waiver_ids).toEqual([waiver.id]);

    // Revoked here; the other instance's snapshot still holds the waiver.
    await waivers.revoke(waiver.id, alice, 'the security team confirmed the finding');
    expect((await elsewhere.activeFor(denied.subject.model, 'eu')).map((w) => w.id)).toEqual([waiver.id]);
    const before = await ledgerSize('eu');
    // The database is what refuses it: served only that stale snapshot, an instance records nothing.
    const stale = { activeFor: (model: string, region: string) => elsewhere.activeFor(model, region) };
    await expect(decide(denied, deps({ waivers: stale }))).rejects.toMatchObject({
      code: 'LEDGER_APPEND_FAILED',
      message: expect.stringContaining(`relies on waivers no longer in force: ${waiver.id}`),
    });
    expect(await ledgerSize('eu')).toBe(before);
    // Told so, decide reads the waivers afresh and decides again, without it.
    const receipt = await decide(denied, deps({ waivers: elsewhere }));
    expect(receipt).toMatchObject({ allow: false, waived: [], deny: [{ rule: 'SEC-FINDING' }] });
    expect(await ledgerSize('eu')).toBe(before + 1);
    const stored = await decisions.get(receipt.decision_id);
    expect(stored.waiver_ids).toEqual([]);
    expect(JSON.parse(stored.input).waivers).toEqual([]);
  });

  it('records a decision and its ledger entry together or not at all, one failure costing no other', async () => {
    const before = await ledgerSize('eu');
    const original = await decisions.get('d-1');
    // Five decisions at once; the third reuses d-1's id, so its row breaks the primary key.
    const results = await Promise.allSettled(
      ['d-batch-1', 'd-batch-2', 'd-1', 'd-batch-4', 'd-batch-5'].map((id) =>
        decide(body(ALLOWED_EU), deps({ newId: () => id })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'LEDGER_APPEND_FAILED' });
    expect(await ledgerSize('eu')).toBe(before + 4);
    expect(await decisions.get('d-1')).toEqual(original);
    for (const result of results.filter((r) => r.status === 'fulfilled')) {
      const { decision_id, ledger: receipt } = result.value;
      expect(await decisions.get(decision_id)).toMatchObject({
        ledger_seq: receipt.seq,
        leaf_hash: receipt.leaf_hash,
      });
      expect(await ledgerEntry('eu', receipt.seq)).toMatchObject({ decision_id });
    }
  });
});

describe('replayDecision', () => {
  const replayDeps = () => ({
    decisions,
    bundles,
    ledgerEntry: async (region: string, seq: number) => (await ledger.reader.entry(region, seq)).entry,
  });

  it('recomputes a decision with its recorded bundle and input, against its ledger entry', async () => {
    const result = await replayDecision('d-1', replayDeps());
    const row = await decisions.get('d-1');
    expect(result).toMatchObject({
      matches: true,
      input_sha256_matches: true,
      stored_record_matches_ledger: true,
      policy: { bundle_sha256: bundle.sha256 },
      ledger: { region: row.region, seq: row.ledger_seq },
    });
    expect(result.replayed).toEqual(result.recorded);
  });

  it('says so when the stored record no longer matches the ledger, however consistently it was edited', async () => {
    const db = handle.db as unknown as Kysely<PolicyTables>;
    const row = await decisions.get('d-1');
    const recorded = JSON.parse(row.result);
    const restore = () =>
      db
        .updateTable('policy_decision')
        .set({ result: row.result, input: row.input, input_sha256: row.input_sha256 })
        .where('decision_id', '=', 'd-1')
        .execute();
    try {
      await db
        .updateTable('policy_decision')
        .set({ result: JSON.stringify({ ...recorded, allow: !recorded.allow }) })
        .where('decision_id', '=', 'd-1')
        .execute();
      const forgedResult = await replayDecision('d-1', replayDeps());
      expect(forgedResult).toMatchObject({ matches: false, stored_record_matches_ledger: false });
      // The ledger's decision is what is reported as recorded, not the edited row.
      expect(forgedResult.recorded.allow).toBe(recorded.allow);

      // An edited input with its hash and result edited to agree: the database alone would look sound.
      const input = { ...JSON.parse(row.input), context: { edited: true } };
      const { decision: replayed } = await engine.evaluate(row.stage as Stage, input);
      await db
        .updateTable('policy_decision')
        .set({
          input: JSON.stringify(input),
          input_sha256: hashInput(input),
          result: JSON.stringify(replayed),
        })
        .where('decision_id', '=', 'd-1')
        .execute();
      expect(await replayDecision('d-1', replayDeps())).toMatchObject({
        matches: false,
        input_sha256_matches: false,
        stored_record_matches_ledger: false,
      });
    } finally {
      await restore();
    }
    expect((await replayDecision('d-1', replayDeps())).matches).toBe(true);
  });

  it('records a decision too large for its ledger entry by its hash, and replays it against that', async () => {
    // 400 groups under min_group_size each give a FAIR-SMALL-GROUP warning: some 80 KB of findings, more
    // than a ledger entry holds.
    const request = body(ALLOWED_EU);
    const evidence = request.evidence as { fairness: Record<string, { groups: Record<string, unknown> }> };
    const small = { count: 5, selection_rate: 0.4, tpr: 0.6, fpr: 0.3, fnr: 0.4, ppv: 0.6, accuracy: 0.7 };
    evidence.fairness.zip = structuredClone(evidence.fairness.sex!);
    for (let i = 0; i < 400; i++) evidence.fairness.zip.groups[`zip-${i}`] = { ...small, impact_ratio: null };
    const receipt = await decide(request, deps({ newId: () => 'd-large' }));
    expect(receipt.allow).toBe(true);
    expect(receipt.warn.filter((v) => v.rule === 'FAIR-SMALL-GROUP')).toHaveLength(400);

    const entry = await ledgerEntry('eu', receipt.ledger.seq);
    expect(entry.result).toBeUndefined();
    const row = await decisions.get('d-large');
    expect(entry.result_sha256).toBe(
      createHash('sha256')
        .update(canonicalize(JSON.parse(row.result))!)
        .digest('hex'),
    );
    expect(entry.result_summary).toEqual({
      allow: true,
      deny: {},
      warn: { 'FAIR-SMALL-GROUP': 400 },
      obligations: { 'OVERSIGHT-HUMAN-REVIEW': 1 },
      waived: {},
    });
    expect((await ledger.reader.entry('eu', receipt.ledger.seq)).leaf_hash).toBe(receipt.ledger.leaf_hash);

    const replay = await replayDecision('d-large', replayDeps());
    expect(replay).toMatchObject({ matches: true, stored_record_matches_ledger: true });
    expect(replay.recorded).toEqual(replay.replayed);
    const db = handle.db as unknown as Kysely<PolicyTables>;
    const forged = { ...JSON.parse(row.result), allow: false };
    try {
      await db
        .updateTable('policy_decision')
        .set({ result: JSON.stringify(forged) })
        .where('decision_id', '=', 'd-large')
        .execute();
      expect(await replayDecision('d-large', replayDeps())).toMatchObject({
        matches: false,
        stored_record_matches_ledger: false,
      });
    } finally {
      await db
        .updateTable('policy_decision')
        .set({ result: row.result })
        .where('decision_id', '=', 'd-large')
        .execute();
    }
  });

  it('fails with DECISION_NOT_FOUND for an unknown id', async () => {
    await expect(replayDecision('nope', replayDeps())).rejects.toMatchObject({
      code: 'DECISION_NOT_FOUND',
    });
  });
});

describe('simulateDecisions', () => {
  it('lists every recorded decision that a candidate policy would flip', async () => {
    const regions = policyDataDocument(await loadRegions());
    const stricter = structuredClone(regions) as {
      regions: Record<string, { performance: { accuracy_min: number } }>;
    };
    stricter.regions.eu!.performance.accuracy_min = 0.9;
    const candidate = await buildBundle({
      sourceDir: POLICIES_DIR,
      revision: 'candidate',
      out: path.join(scratch, 'candidate.tar.gz'),
      data: stricter,
    });
    const result = await simulateDecisions({ candidate, decisions, since: new Date('2026-01-01T00:00:00Z') });
    expect(result.candidate).toEqual({ revision: 'candidate', bundle_sha256: candidate.sha256 });
    const recorded = await decisions.list({ since: new Date(0) });
    expect(result.evaluated).toBe(recorded.length);
    const allowedBefore = recorded
      .filter((r) => r.allow)
      .map((r) => r.decision_id)
      .sort();
    expect(result.flips.map((f) => f.decision_id).sort()).toEqual(allowedBefore);
    expect(result.flips[0]).toMatchObject({
      recorded: { allow: true, deny: [] },
      candidate: { allow: false, deny: ['PERF-ACCURACY-MIN'] },
    });
    const none = await simulateDecisions({
      candidate: bundle,
      decisions,
      since: new Date('2026-01-01T00:00:00Z'),
    });
    expect(none.flips).toEqual([]);
    const later = await simulateDecisions({ candidate, decisions, since: new Date('2027-01-01T00:00:00Z') });
    expect(later).toMatchObject({ evaluated: 0, complete: true });
    expect(later.evaluated_through).toBeUndefined();

    // At most `limit` decisions, oldest first, saying where it stopped.
    const first = await simulateDecisions({ candidate, decisions, since: new Date(0), limit: 1 });
    expect(first).toMatchObject({
      evaluated: 1,
      complete: false,
      evaluated_through: recorded[0]!.decided_at.toISOString(),
    });
    const all = await simulateDecisions({ candidate, decisions, since: new Date(0), limit: recorded.length });
    expect(all).toMatchObject({ evaluated: recorded.length, complete: true });
    // Resumed after the last decision a limited run evaluated, one at a time, every decision is reached once.
    const seen: string[] = [];
    let after: DecisionRow | undefined;
    for (let run = 0; run <= recorded.length; run++) {
      const page = await simulateDecisions({ candidate, decisions, since: new Date(0), limit: 1, after });
      if (page.evaluated === 0) break;
      seen.push(page.last_decision_id!);
      after = await decisions.get(page.last_decision_id!);
    }
    expect(seen).toEqual(recorded.map((r) => r.decision_id));
  });

  it('lists a decision the candidate fails to evaluate as a flip, with the error', async () => {
    // A candidate whose deployment decision hits conflicting values of one rule for eu inputs.
    const source = path.join(scratch, 'conflicting');
    await cp(POLICIES_DIR, source, { recursive: true });
    const file = path.join(source, 'deployment', 'decision.rego');
    const rego = await readFile(file, 'utf8');
    await writeFile(
      file,
      rego.replace(
        '_warnings := (fairness.warn | security.warn) | freshness.warn',
        [
          '_clash = 1 if input.event.region == "eu"',
          '_clash = 2 if input.event.region == "eu"',
          '_clash = 0 if input.event.region != "eu"',
          '_warnings := ((fairness.warn | security.warn) | freshness.warn) | {w | w := _clash; w < 0}',
        ].join('\n\n'),
      ),
    );
    const candidate = await buildBundle({
      sourceDir: source,
      revision: 'conflicting',
      out: path.join(scratch, 'conflicting.tar.gz'),
      data: policyDataDocument(await loadRegions()),
    });
    const result = await simulateDecisions({ candidate, decisions, since: new Date(0) });
    const recorded = await decisions.list({ since: new Date(0) });
    const eu = recorded.filter((r) => r.region === 'eu' && r.stage === 'deployment');
    expect(eu.length).toBeGreaterThan(0);
    expect(result.evaluated).toBe(recorded.length);
    const failed = result.flips.filter((f) => f.candidate.error);
    expect(failed.map((f) => f.decision_id).sort()).toEqual(eu.map((r) => r.decision_id).sort());
    expect(failed[0]!.candidate).toMatchObject({
      allow: false,
      deny: [],
      error: expect.stringMatching(/conflict/),
    });
  });
});

describe('DecisionStore.list', () => {
  it('lists oldest first, or newest first so that a limit keeps the latest, within since and before', async () => {
    const at = [1, 2, 3].map((s) => new Date(SAMPLE_CLOCK.getTime() + s * 1000));
    const made: string[] = [];
    for (const time of at) {
      const request = body(ALLOWED_EU);
      request.subject.model = 'listing-order';
      made.push((await decide(request, deps({ clock: () => time }))).decision_id);
    }
    const ids = (rows: { decision_id: string }[]) => rows.map((r) => r.decision_id);
    expect(ids(await decisions.list({ model: 'listing-order' }))).toEqual(made);
    expect(ids(await decisions.list({ model: 'listing-order', newestFirst: true, limit: 2 }))).toEqual([
      made[2],
      made[1],
    ]);
    expect(ids(await decisions.list({ model: 'listing-order', since: at[1], before: at[2] }))).toEqual([
      made[1],
    ]);
    // The next page after a decision, by (decided_at, decision_id): ties in time are paged by id.
    const [first] = await decisions.list({ model: 'listing-order', limit: 1 });
    expect(ids(await decisions.list({ model: 'listing-order', after: first }))).toEqual(made.slice(1));
    const tied = [0, 1, 2].map(() => body(ALLOWED_EU));
    const sameTime = new Date(SAMPLE_CLOCK.getTime() + 10_000);
    const tiedIds: string[] = [];
    for (const request of tied) {
      request.subject.model = 'listing-ties';
      tiedIds.push((await decide(request, deps({ clock: () => sameTime }))).decision_id);
    }
    tiedIds.sort();
    const [head] = await decisions.list({ model: 'listing-ties', limit: 1 });
    expect(head!.decision_id).toBe(tiedIds[0]);
    expect(ids(await decisions.list({ model: 'listing-ties', after: head }))).toEqual(tiedIds.slice(1));
  });
});
