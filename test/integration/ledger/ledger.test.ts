import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLedger,
  fsck,
  formatTilePath,
  hashLeaf,
  LedgerError,
  openNote,
  parseCheckpoint,
  parseTilePath,
  parseVerifierKey,
  verifyBundle,
  verifyConsistency,
  verifyInclusion,
  type AuditBundle,
  type EntryRecord,
  type Ledger,
  type LedgerTables,
} from '../../../ledger/index.ts';
import { CompactRange, rootOfRange, storedHashIndex } from '../../../ledger/merkle/index.ts';
import { MAX_RANGE } from '../../../ledger/store/reader.ts';
import { logsWithNewEntries } from '../../../ledger/store/integrator.ts';
import { verifyCheckpointEip191 } from '../../../ledger/note/index.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS, tamper, waitFor } from './ledger-harness.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const rootOf = (note: string) => parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1));

async function rejection(promise: Promise<unknown>): Promise<LedgerError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(LedgerError);
    return err as LedgerError;
  }
  throw new Error('expected a LedgerError');
}

let tdb: TestDatabase;
let db: Kysely<LedgerTables>;
let ledger: Ledger;
const frozen = new Date('2026-11-23T01:00:00Z');
// The tamper tests leave one log corrupt on purpose; stop() reports it here.
const backgroundErrors: unknown[] = [];

beforeAll(async () => {
  tdb = await openTestDatabase();
  db = tdb.db as unknown as Kysely<LedgerTables>;
  ledger = await createLedger({
    db,
    logs: [
      { region: 'eu', origin: 'arbiter.example/eu' },
      { region: 'us', origin: 'arbiter.example/us' },
      { region: 'tamper', origin: 'arbiter.example/tamper' },
    ],
    keys: TEST_KEYS,
    clock: () => frozen,
    onError: (err) => backgroundErrors.push(err),
  });
});
afterAll(async () => {
  await ledger.stop();
  await tdb.close();
});

describe('append and integrate', () => {
  it('starts every log with a signed size-0 checkpoint', async () => {
    const head = await ledger.reader.treeHead('us');
    expect(head).toEqual({
      region: 'us',
      origin: 'arbiter.example/us',
      size: 0,
      root: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });

  it('gives concurrent appends gap-free sequence numbers and the RFC 6962 leaf hash', async () => {
    const results = await Promise.all(
      Array.from({ length: 600 }, (_, n) => ledger.append('eu', { type: 'decision', n, note: 'ünïcode' })),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    const first = results.find((r) => r.seq === 0)!;
    const entry = await ledger.reader.entry('eu', 0);
    const bytes = Buffer.from(entry.entry_b64, 'base64');
    expect(first.leafHash).toBe(
      createHash('sha256')
        .update(Buffer.from([0]))
        .update(bytes)
        .digest('hex'),
    );
    expect(entry.leaf_hash).toBe(first.leafHash);
    // RFC 8785: keys sorted, no white space.
    expect(bytes.toString('utf8')).toBe(
      JSON.stringify({ n: entry.entry.n, note: 'ünïcode', type: 'decision' }),
    );
  });

  it('signs a checkpoint that verifies with the published keys (Ed25519 note and EIP-191)', async () => {
    const head = await ledger.integrate('eu');
    expect(head.size).toBe(600);
    const note = await ledger.reader.checkpoint('eu');
    const keys = await ledger.reader.keys('eu');
    expect(keys.origin).toBe('arbiter.example/eu');
    const { text } = openNote(note, [parseVerifierKey(keys.ed25519_vkey)]);
    expect(parseCheckpoint(text).size).toBe(600);
    const [record] = await ledger.reader.checkpoints('eu', { fromSize: 600 });
    expect(verifyCheckpointEip191(text, record!.eip191_signature, keys.eip191_address)).toBe(true);
    expect(record!.created_at).toBe(frozen.toISOString());
  });

  it('serves inclusion and consistency proofs that verify', async () => {
    await Promise.all(
      Array.from({ length: 37 }, (_, n) => ledger.append('eu', { type: 'decision', n: 600 + n })),
    );
    await ledger.integrate('eu');
    const cps = await ledger.reader.checkpoints('eu');
    const small = cps.find((c) => c.size === 600)!;
    const big = cps[cps.length - 1]!;
    expect(big.size).toBe(637);
    for (const seq of [0, 1, 255, 256, 599]) {
      const p = await ledger.reader.inclusionProof('eu', seq, 600);
      verifyInclusion(seq, 600, hex(p.leaf_hash), p.proof.map(hex), rootOf(small.note).root);
    }
    const c = await ledger.reader.consistencyProof('eu', 600, 637);
    verifyConsistency(600, 637, hex(small.root), hex(big.root), c.proof.map(hex));
    expect((await rejection(ledger.reader.inclusionProof('eu', 5, 5000))).code).toBe('LEDGER_NOT_FOUND');
    expect((await rejection(ledger.reader.inclusionProof('eu', 5, 5))).code).toBe('LEDGER_BAD_REQUEST');
    expect((await rejection(ledger.reader.consistencyProof('eu', 9, 3))).code).toBe('LEDGER_BAD_REQUEST');
    expect((await rejection(ledger.reader.entry('nowhere', 0))).code).toBe('LEDGER_UNKNOWN_REGION');
  });

  it('serves proofs that verify for random sizes, indexes and old sizes (property)', async () => {
    const leaves = (await ledger.reader.entries('eu', { from: 0, to: 637 })).map((e) => hex(e.leaf_hash));
    expect(leaves).toHaveLength(637);
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 637 })
          .chain((size) => fc.tuple(fc.constant(size), fc.nat(size - 1), fc.integer({ min: 1, max: size }))),
        async ([size, seq, from]) => {
          const root = rootOfRange(leaves, 0, size);
          const p = await ledger.reader.inclusionProof('eu', seq, size);
          verifyInclusion(seq, size, hex(p.leaf_hash), p.proof.map(hex), root);
          const c = await ledger.reader.consistencyProof('eu', from, size);
          verifyConsistency(from, size, rootOfRange(leaves, 0, from), root, c.proof.map(hex));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('serves C2SP tlog-tiles hash tiles and entry bundles, partial widths included', async () => {
    const full = await ledger.reader.tile('eu', 0, 0);
    expect(full.length).toBe(256 * 32);
    const entry300 = await ledger.reader.entry('eu', 300);
    const partial = await ledger.reader.tile('eu', 0, 2, 637 - 512);
    expect(Buffer.from(full.subarray(0, 32)).toString('hex')).toBe(
      (await ledger.reader.entry('eu', 0)).leaf_hash,
    );
    const tile1 = await ledger.reader.tile('eu', 0, 1);
    expect(Buffer.from(tile1.subarray((300 - 256) * 32, (301 - 256) * 32)).toString('hex')).toBe(
      entry300.leaf_hash,
    );
    // Level 1, hash i = MTH of leaves [256 i, 256 (i+1)): check it against an inclusion proof's sibling.
    const level1 = await ledger.reader.tile('eu', 1, 0, 2);
    expect(level1.length).toBe(64);
    const proof = await ledger.reader.inclusionProof('eu', 256, 512);
    expect(proof.proof[proof.proof.length - 1]).toBe(Buffer.from(level1.subarray(0, 32)).toString('hex'));
    const bundle = Buffer.from(await ledger.reader.entryBundle('eu', 2, 637 - 512));
    let offset = 0;
    for (let seq = 512; seq < 637; seq++) {
      const length = bundle.readUInt16BE(offset);
      const body = bundle.subarray(offset + 2, offset + 2 + length);
      expect(hashLeaf(body)).toEqual(Buffer.from((await ledger.reader.entry('eu', seq)).leaf_hash, 'hex'));
      offset += 2 + length;
    }
    expect(offset).toBe(bundle.length);
    expect(partial.length).toBe((637 - 512) * 32);
    expect((await rejection(ledger.reader.tile('eu', 0, 2))).code).toBe('LEDGER_NOT_FOUND');
    expect((await rejection(ledger.reader.tile('eu', 0, 2, 200))).code).toBe('LEDGER_NOT_FOUND');
    expect(parseTilePath(formatTilePath({ kind: 'hash', level: 1, index: 1234067, width: 5 }))).toEqual({
      kind: 'hash',
      level: 1,
      index: 1234067,
      width: 5,
    });
    expect(formatTilePath({ kind: 'entries', index: 1234067 })).toBe('tile/entries/x001/x234/067');
    expect(parseTilePath('tile/0/001.p/256')).toBeUndefined();
  });

  it('filters entries by type', async () => {
    await ledger.append('us', { type: 'policy.activated', id: 'p1' });
    await ledger.append('us', { type: 'attestation', who: 'alice' });
    const list = await ledger.reader.entries('us', { from: 0, to: 100, type: 'attestation' });
    expect(list.map((e) => e.entry)).toEqual([{ type: 'attestation', who: 'alice' }]);
  });

  it('rejects entries without a type, non-objects and oversized entries', async () => {
    expect((await rejection(ledger.append('eu', { n: 1 }))).code).toBe('LEDGER_ENTRY_INVALID');
    expect((await rejection(ledger.append('eu', [] as unknown as Record<string, unknown>))).code).toBe(
      'LEDGER_ENTRY_INVALID',
    );
    expect((await rejection(ledger.append('eu', { type: 'x', blob: 'a'.repeat(70_000) }))).code).toBe(
      'LEDGER_ENTRY_INVALID',
    );
  });

  it('checkpoints in the background after an append', async () => {
    const background = await createLedger({
      db,
      logs: [{ region: 'us', origin: 'arbiter.example/us' }],
      keys: TEST_KEYS,
      checkpointIntervalMs: 50,
    });
    background.start();
    const { seq } = await background.append('us', { type: 'report.generated', id: 'r1' });
    await waitFor(
      async () => ((await background.reader.treeHead('us')).size > seq ? true : undefined),
      'checkpoint',
    );
    await background.stop();
    expect((await rejection(background.append('us', { type: 'x' }))).code).toBe('LEDGER_STOPPED');
  });

  it('finds the logs with entries beyond their checkpoint, so that the loop skips the others', async () => {
    const ids = new Map(
      (await db.selectFrom('ledger_log').select(['id', 'region']).execute()).map((r) => [r.region, r.id]),
    );
    const [eu, us] = [ids.get('eu')!, ids.get('us')!];
    await Promise.all([ledger.integrate('eu'), ledger.integrate('us')]);
    expect(await logsWithNewEntries(db, [eu, us])).toEqual(new Set());
    await ledger.append('eu', { type: 'note', n: 'new' });
    expect(await logsWithNewEntries(db, [eu, us])).toEqual(new Set([eu]));
    expect(await logsWithNewEntries(db, [us])).toEqual(new Set());
    await ledger.integrate('eu');
    expect(await logsWithNewEntries(db, [eu, us])).toEqual(new Set());
  });

  it("refuses an entry whose type the database cannot store as text, and fails no other caller's entry", async () => {
    const typed = await createLedger({
      db,
      logs: [{ region: 'typed', origin: 'arbiter.example/typed' }],
      keys: TEST_KEYS,
    });
    const outcomes = await Promise.allSettled([
      typed.append('typed', { type: 'note', n: 0 }),
      typed.append('typed', { type: 'note\u0000', n: 1 }),
      typed.append('typed', { type: 'note\uD800', n: 2 }),
      typed.append('typed', { type: 'note', n: 3 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    for (const o of outcomes.filter((o) => o.status === 'rejected'))
      expect((o as PromiseRejectedResult).reason.code).toBe('LEDGER_ENTRY_INVALID');
    expect((await typed.integrate('typed')).size).toBe(2);
    await typed.stop();
  });

  it('pushes back instead of queueing without bound', async () => {
    const small = await createLedger({
      db,
      logs: [{ region: 'us', origin: 'arbiter.example/us' }],
      keys: TEST_KEYS,
      maxPendingAppends: 5,
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, (_, n) => small.append('us', { type: 'x', n })),
    );
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason.code).toBe('LEDGER_PUSHBACK');
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBe(5);
    await small.stop();
  });
});

describe('append-only in the database', () => {
  beforeAll(async () => {
    // Row triggers only fire on rows: give the (otherwise empty) anchor table one.
    const log = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'us')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('ledger_anchor')
      .values({
        log_id: log.id,
        size: 0,
        root: new Uint8Array(32),
        chain_id: 31337,
        tx_hash: '0x00',
        block_number: 1,
        status: 1,
        from_address: '0x00',
        created_at: frozen,
      })
      .execute();
  });
  for (const table of ['ledger_log', 'ledger_entry', 'ledger_hash', 'ledger_checkpoint', 'ledger_anchor']) {
    it(`refuses UPDATE, DELETE and TRUNCATE on ${table}`, async () => {
      const column = table === 'ledger_log' ? 'id' : 'log_id';
      await expect(
        sql`update ${sql.table(table)} set ${sql.ref(column)} = ${sql.ref(column)}`.execute(db),
      ).rejects.toThrow(/append-only/);
      await expect(sql`delete from ${sql.table(table)}`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`truncate ${sql.table(table)} cascade`.execute(db)).rejects.toThrow(/append-only/);
    });
  }
  it('still holds every entry afterwards', async () => {
    expect((await ledger.reader.entry('eu', 599)).entry).toMatchObject({ type: 'decision' });
  });
});

describe('keys', () => {
  it('creates key files with mode 0600 on first start and reuses them', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ledger-keys-'));
    try {
      const first = await createLedger({
        db,
        logs: [{ region: 'k', origin: 'arbiter.example/k' }],
        keys: { dataDir: dir },
      });
      for (const file of ['ledger-ed25519.key', 'ledger-secp256k1.key'])
        expect((await stat(path.join(dir, file))).mode & 0o777).toBe(0o600);
      const again = await createLedger({
        db,
        logs: [{ region: 'k', origin: 'arbiter.example/k' }],
        keys: { dataDir: dir },
      });
      expect(await again.reader.keys('k')).toEqual(await first.reader.keys('k'));
      // The same log with another key is refused: it would let two keys sign one log's history.
      const other = rejection(
        createLedger({ db, logs: [{ region: 'k', origin: 'arbiter.example/k' }], keys: TEST_KEYS }),
      );
      expect((await other).code).toBe('LEDGER_KEY_INVALID');
      await first.stop();
      await again.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('audit bundle and fsck', () => {
  let bundle: AuditBundle;
  // The keys as the log publishes them, never the ones a bundle carries.
  const pinned = async () => {
    const keys = await ledger.reader.keys('tamper');
    return { trustedVkey: keys.ed25519_vkey, trustedEip191Address: keys.eip191_address };
  };
  beforeAll(async () => {
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, n) => ledger.append('tamper', { type: 'decision', round, n })),
      );
      await ledger.integrate('tamper');
    }
    bundle = await ledger.reader.bundle('tamper', 5, 35, { trustedSize: 10 });
  });

  it('verifies a fresh bundle, also against a trusted checkpoint', async () => {
    expect(bundle.entries).toHaveLength(30);
    expect(bundle.checkpoints.map((c) => c.size)).toEqual([10, 20, 30, 40]);
    const report = await verifyBundle(bundle, await pinned());
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    // The trusted_size proof links to nothing signed until the auditor gives that checkpoint.
    expect(report.unverified).toContainEqual(
      expect.stringMatching(/^consistency_proofs\[\d+\] \(from 10 to 40/),
    );
    const trusted = (await ledger.reader.checkpoints('tamper', { fromSize: 10, toSize: 10 }))[0]!.note;
    const withTrusted = await verifyBundle(bundle, { ...(await pinned()), trustedCheckpoint: trusted });
    expect(withTrusted.ok).toBe(true);
    expect(withTrusted.unverified.join('\n')).not.toContain('consistency_proofs');
    const json = JSON.parse(JSON.stringify(bundle)) as AuditBundle;
    expect((await verifyBundle(json, await pinned())).ok).toBe(true);
    // A proof that links nothing is not used, but one mangled out of a proof's form still fails the bundle.
    for (const [mangled, problem] of [
      [{ from: 10, to: 40, proof: ['zz'] }, 'consistency_proofs[3] is not a list of hex hashes'],
      [{ from: 40, to: 10, proof: [] }, 'consistency_proofs[3] has no sizes from ≤ to'],
      [{ from: 10, to: 40, proof: [], extra: 1 }, 'consistency_proofs[3] has unknown fields: extra'],
      ['proof', 'consistency_proofs[3] is not an object'],
    ] as const) {
      const altered = JSON.parse(JSON.stringify(bundle)) as { consistency_proofs: unknown[] };
      expect(altered.consistency_proofs).toHaveLength(4);
      altered.consistency_proofs[3] = mangled;
      const report = await verifyBundle(altered as unknown as AuditBundle, await pinned());
      expect(report.ok, problem).toBe(false);
      expect(report.failures).toEqual([{ check: 'consistency', message: problem }]);
    }
  });

  it('cites the earlier entries its caller names, each proven against the head', async () => {
    let offered: readonly EntryRecord[] = [];
    const citing = await ledger.reader.bundle('tamper', 25, 30, {
      cite: async (entries) => {
        offered = entries;
        return [12, 3, 12];
      },
    });
    expect(offered.map((e) => e.seq)).toEqual([25, 26, 27, 28, 29]);
    expect(citing.cited!.map((e) => [e.seq, e.entry])).toEqual([
      [3, { type: 'decision', round: 0, n: expect.any(Number) }],
      [12, { type: 'decision', round: 1, n: expect.any(Number) }],
    ]);
    expect(citing.inclusion_proofs.filter((p) => p.seq < 25).map((p) => [p.seq, p.size])).toEqual([
      [3, 40],
      [12, 40],
    ]);
    const report = await verifyBundle(citing, await pinned());
    expect(report.failures).toEqual([]);
    expect(report.checked).toMatchObject({ entries: 5, citedEntries: 2 });
    expect(bundle.cited).toEqual([]);
    for (const wrong of [[25], [-1], [2.5]])
      await expect(ledger.reader.bundle('tamper', 25, 30, { cite: async () => wrong })).rejects.toMatchObject(
        {
          code: 'LEDGER_BAD_REQUEST',
        },
      );
  });

  it('names a changed entry, a bad proof hash, a forged checkpoint and a wrong key', async () => {
    const copy = JSON.parse(JSON.stringify(bundle)) as {
      entries: { seq: number; entry_b64: string; entry: Record<string, unknown> }[];
      inclusion_proofs: { seq: number; proof: string[] }[];
      checkpoints: { note: string }[];
    };
    const e = copy.entries.find((x) => x.seq === 12)!;
    e.entry = { ...e.entry, round: 9 };
    e.entry_b64 = Buffer.from(JSON.stringify(e.entry)).toString('base64');
    const p = copy.inclusion_proofs.find((x) => x.seq === 21)!;
    p.proof[0] = p.proof[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    copy.checkpoints[1]!.note = copy.checkpoints[1]!.note.replace('\n20\n', '\n21\n');
    const report = await verifyBundle(copy as unknown as AuditBundle, await pinned());
    expect(report.ok).toBe(false);
    const named = report.failures.map((f) => `${f.check}:${f.seq ?? f.size ?? ''}`);
    expect(named).toContain('entry:12');
    expect(named).toContain('entry:21');
    expect(named).toContain('checkpoint:20');
    const otherKey = 'arbiter.example/tamper+00000000+AejRxPMI8ENsGRD5pvOHnYQGuonnnH/DQkkK5hR0JvCN';
    expect((await verifyBundle(bundle, { trustedVkey: otherKey })).ok).toBe(false);
  });

  it('fsck finds nothing wrong in an untouched log', async () => {
    const report = await fsck(db, 'tamper');
    expect(report).toMatchObject({ ok: true, entries: 40, firstBadSeq: null, problems: [] });
    expect((await fsck(db, 'eu')).ok).toBe(true);
  });

  it('names a changed entry (fsck and the verifier)', async () => {
    const log = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'tamper')
      .executeTakeFirstOrThrow();
    await tamper(
      db,
      sql`update ledger_entry set body = convert_to('{"n":99,"round":1,"type":"decision"}', 'UTF8') where log_id = ${log.id} and seq = 17`,
    );
    const report = await fsck(db, 'tamper');
    expect(report.ok).toBe(false);
    expect(report.firstBadSeq).toBe(17);
    expect(report.problems[0]).toMatchObject({ kind: 'leaf_hash', seq: 17 });
    const fresh = await ledger.reader.bundle('tamper', 15, 20);
    const verdict = await verifyBundle(fresh, await pinned());
    expect(verdict.failures.map((f) => `${f.check}:${f.seq}`)).toEqual(['entry:17']);
  });

  it('names a changed stored tree hash and a changed checkpoint', async () => {
    const log = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'tamper')
      .executeTakeFirstOrThrow();
    // idx 2 is the level-1 hash over leaves 0 and 1, written when leaf 1 was appended.
    await tamper(db, sql`update ledger_hash set hash = sha256('x') where log_id = ${log.id} and idx = 2`);
    await tamper(
      db,
      sql`update ledger_checkpoint set note = replace(note, E'\n30\n', E'\n31\n') where log_id = ${log.id} and size = 30`,
    );
    const report = await fsck(db, 'tamper');
    expect(report.firstBadSeq).toBe(1);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'tree_hash', seq: 1 }),
        expect.objectContaining({ kind: 'leaf_hash', seq: 17 }),
        expect.objectContaining({ kind: 'checkpoint_signature', size: 30 }),
      ]),
    );
    const verdict = await verifyBundle(await ledger.reader.bundle('tamper', 0, 4), await pinned());
    expect(verdict.failures.map((f) => f.check)).toContain('entry');
    expect(
      (await verifyBundle(await ledger.reader.bundle('tamper', 25, 29), await pinned())).failures,
    ).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'checkpoint', size: 30 })]));
  });

  it('refuses to sign on top of a tree that no longer matches its checkpoint', async () => {
    await ledger.append('tamper', { type: 'decision', after: 'tamper' });
    const log = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'tamper')
      .executeTakeFirstOrThrow();
    // The frontier of the signed size-40 tree: subtrees [0, 32) and [32, 40).
    const frontier = storedHashIndex(3, 4);
    await tamper(
      db,
      sql`update ledger_hash set hash = sha256('y') where log_id = ${log.id} and idx = ${frontier}`,
    );
    expect((await rejection(ledger.integrate('tamper'))).code).toBe('LEDGER_CORRUPT');
    await ledger.stop();
    expect(backgroundErrors).toEqual([expect.objectContaining({ code: 'LEDGER_CORRUPT' })]);
  });
});

describe('anchors beyond one page', () => {
  it('lists and bundles the newest anchors, not only the first 10,000', async () => {
    const anchored = await createLedger({
      db,
      logs: [{ region: 'anchored', origin: 'arbiter.example/anchored' }],
      keys: TEST_KEYS,
    });
    await anchored.append('anchored', { type: 'decision', n: 0 });
    const first = await anchored.integrate('anchored');
    await anchored.append('anchored', { type: 'decision', n: 1 });
    const head = await anchored.integrate('anchored');
    const { id } = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'anchored')
      .executeTakeFirstOrThrow();
    // Rows as the anchorer writes them (the chain is not consulted here): 10,000 anchors of the size-1
    // checkpoint, then one of the head.
    const anchorRows = (size: number, root: string, txFrom: number, count: number) => sql`
      insert into ledger_anchor (log_id, size, root, chain_id, tx_hash, block_number, status, from_address, created_at)
      select ${id}::int4, ${size}::int8, decode(${root}, 'hex'), 31337, '0x' || lpad(to_hex(g), 64, '0'), g, 1,
        '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', now()
      from generate_series(${txFrom}::int8, ${txFrom + count - 1}::int8) as g`;
    await anchorRows(first.size, first.root, 1, 10_000).execute(db);
    await anchorRows(head.size, head.root, 10_001, 1).execute(db);

    const listed = await anchored.reader.anchors('anchored');
    expect(listed).toHaveLength(10_000);
    expect(listed[listed.length - 1]).toMatchObject({
      size: head.size,
      root: head.root,
      block_number: 10_001,
    });
    const bundle = await anchored.reader.bundle('anchored', 1, 2);
    expect(bundle.anchors).toEqual([expect.objectContaining({ size: head.size, root: head.root })]);
    await anchored.stop();
  });
});

describe('anchors beyond one page of checkpoints', () => {
  it('bundles an anchor whose checkpoint comes after the 10,000 checkpoints that follow the entries', async () => {
    const busy = await createLedger({
      db,
      logs: [{ region: 'busy', origin: 'arbiter.example/busy' }],
      keys: TEST_KEYS,
    });
    const total = MAX_RANGE + 3;
    for (let n = 0; n < total; n += 1000)
      await Promise.all(
        Array.from({ length: Math.min(1000, total - n) }, (_, k) =>
          busy.append('busy', { type: 'decision', n: n + k }),
        ),
      );
    const head = await busy.integrate('busy');
    expect(head.size).toBe(total);
    const { id } = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'busy')
      .executeTakeFirstOrThrow();
    // A log checkpointed after every entry, as rows with each size's true root (the notes are not read here):
    // sizes 2 to 10,002, of which the entry at seq 1 is covered by the first and only the last is anchored.
    const leaves = [
      ...(await busy.reader.entries('busy', { from: 0, to: MAX_RANGE })),
      ...(await busy.reader.entries('busy', { from: MAX_RANGE, to: total })),
    ].map((e) => hex(e.leaf_hash));
    const range = CompactRange.empty();
    const roots = new Map<number, Uint8Array>();
    for (const leaf of leaves) {
      range.append(leaf);
      roots.set(range.size, range.root());
    }
    const anchoredSize = MAX_RANGE + 2;
    const rows = Array.from({ length: anchoredSize - 1 }, (_, i) => ({
      log_id: id,
      size: i + 2,
      root: roots.get(i + 2)!,
      note: `checkpoint of size ${i + 2}`,
      eip191_signature: '',
      created_at: frozen,
    }));
    for (let i = 0; i < rows.length; i += 2000)
      await db
        .insertInto('ledger_checkpoint')
        .values(rows.slice(i, i + 2000))
        .execute();
    await db
      .insertInto('ledger_anchor')
      .values({
        log_id: id,
        size: anchoredSize,
        root: roots.get(anchoredSize)!,
        chain_id: 31337,
        tx_hash: '0x01',
        block_number: 7,
        status: 1,
        from_address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
        created_at: frozen,
      })
      .execute();

    const bundle = await busy.reader.bundle('busy', 1, 2);
    expect(bundle.anchors).toEqual([
      expect.objectContaining({
        size: anchoredSize,
        root: Buffer.from(roots.get(anchoredSize)!).toString('hex'),
      }),
    ]);
    expect(bundle.checkpoints.map((c) => c.size)).toEqual([2, anchoredSize, total]);
    for (const c of bundle.consistency_proofs)
      verifyConsistency(c.from, c.to, roots.get(c.from)!, roots.get(c.to)!, c.proof.map(hex));
    expect(bundle.consistency_proofs.map((c) => [c.from, c.to])).toEqual([
      [2, anchoredSize],
      [anchoredSize, total],
    ]);
    await busy.stop();
  });
});

describe('fsck and the stored entry type', () => {
  it('names an entry whose stored type was changed', async () => {
    const relabel = await createLedger({
      db,
      logs: [{ region: 'relabel', origin: 'arbiter.example/relabel' }],
      keys: TEST_KEYS,
    });
    await relabel.append('relabel', { type: 'decision', n: 0 });
    const { seq } = await relabel.append('relabel', { type: 'decision', n: 1 });
    await relabel.integrate('relabel');
    await relabel.stop();
    expect((await fsck(db, 'relabel')).ok).toBe(true);
    const { id } = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'relabel')
      .executeTakeFirstOrThrow();
    // Outside the hashed bytes: every proof still verifies, but type-filtered reads no longer find it.
    await tamper(db, sql`update ledger_entry set entry_type = 'note' where log_id = ${id} and seq = ${seq}`);
    expect(await fsck(db, 'relabel')).toMatchObject({
      ok: false,
      firstBadSeq: seq,
      problems: [{ kind: 'entry_type', seq }],
    });
  });
});

describe('a removed newest checkpoint', () => {
  it('is named by fsck, and integration refuses to build on the checkpoint before it', async () => {
    const errors: unknown[] = [];
    const removed = await createLedger({
      db,
      logs: [{ region: 'removed', origin: 'arbiter.example/removed' }],
      keys: TEST_KEYS,
      onError: (err) => errors.push(err),
    });
    for (const round of [0, 1]) {
      for (let n = 0; n < 10; n++) await removed.append('removed', { type: 'decision', round, n });
      await removed.integrate('removed');
    }
    expect((await fsck(db, 'removed')).ok).toBe(true);
    const { id } = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'removed')
      .executeTakeFirstOrThrow();
    await tamper(db, sql`delete from ledger_checkpoint where log_id = ${id} and size = 20`);
    // Every remaining checkpoint, entry and hash below size 10 is intact: only the hashes beyond tell.
    expect(await fsck(db, 'removed')).toMatchObject({
      ok: false,
      checkpoints: 2,
      firstBadSeq: 10,
      problems: [
        {
          kind: 'hashes_past_checkpoint',
          seq: 10,
          detail: expect.stringContaining('a checkpoint was removed'),
        },
      ],
    });
    // Before the check, integrating entries 10..19 again failed on ledger_hash's primary key, every time.
    for (const round of [2, 3]) {
      const failed = await rejection(removed.integrate('removed'));
      expect(failed.code, `round ${round}`).toBe('LEDGER_CORRUPT');
      expect(failed.message).toContain('a newer checkpoint was removed');
      await removed.append('removed', { type: 'decision', round });
    }
    await removed.stop();
    expect(errors).toEqual([expect.objectContaining({ code: 'LEDGER_CORRUPT' })]);
  });
});
