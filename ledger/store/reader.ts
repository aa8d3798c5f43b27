import { sql, type Kysely } from 'kysely';
import { LedgerError } from '../errors.ts';
import { proveConsistency, proveInclusion, storedHashIndex } from '../merkle/index.ts';
import type {
  AnchorRecord,
  AuditBundle,
  CheckpointRecord,
  ConsistencyProof,
  EntryRecord,
  InclusionProof,
  PublicKeys,
  TreeHead,
} from '../types.ts';
import { databaseHashReader } from './hash-reader.ts';
import { bytes, num, toHex, type LedgerTables } from './tables.ts';

/** What the ledger knows about one region's log. */
export interface LogInfo {
  readonly region: string;
  readonly origin: string;
  readonly logId: number;
  readonly keys: PublicKeys;
}

export const TILE_WIDTH = 256;
/** Most entries one `entries` call or one audit bundle returns. */
export const MAX_RANGE = 10_000;

export interface BundleOptions {
  /** The size of a checkpoint the auditor trusts: the bundle adds a consistency proof from it to the head. */
  trustedSize?: number;
  /**
   * The earlier entries (seqs below `from`) that the range's entries refer to, for the bundle's `cited`. The
   * ledger does not know what entries mean; the caller does.
   */
  cite?: (entries: readonly EntryRecord[]) => Promise<readonly number[]>;
}

/**
 * Read side of the ledger. Everything is served relative to the latest signed checkpoint: an entry that is
 * sequenced but not yet integrated can be read, but not proven. Arguments come from HTTP callers and are
 * checked here (LEDGER_BAD_REQUEST / LEDGER_NOT_FOUND), never trusted.
 */
export interface LedgerReader {
  /** The latest signed checkpoint (C2SP signed note), as served at `<prefix>/checkpoint`. */
  checkpoint(region: string): Promise<string>;
  treeHead(region: string): Promise<TreeHead>;
  /** Checkpoints with size in [fromSize, toSize], ascending (at most MAX_RANGE). */
  checkpoints(region: string, range?: { fromSize?: number; toSize?: number }): Promise<CheckpointRecord[]>;
  keys(region: string): Promise<PublicKeys>;
  entry(region: string, seq: number): Promise<EntryRecord>;
  /** Entries with seq in [from, to) (at most MAX_RANGE), optionally only one `type`. */
  entries(region: string, range: { from: number; to: number; type?: string }): Promise<EntryRecord[]>;
  inclusionProof(region: string, seq: number, size: number): Promise<InclusionProof>;
  consistencyProof(region: string, from: number, to: number): Promise<ConsistencyProof>;
  /** C2SP tlog-tiles hash tile `tile/<level>/<index>[.p/<width>]`: `width` hashes of 32 bytes. */
  tile(region: string, level: number, index: number, width?: number): Promise<Uint8Array>;
  /** C2SP tlog-tiles entry bundle `tile/entries/<index>[.p/<width>]`: uint16 BE length || bytes, per entry. */
  entryBundle(region: string, index: number, width?: number): Promise<Uint8Array>;
  /** The newest anchors (at most MAX_RANGE), ascending by size. */
  anchors(region: string): Promise<AnchorRecord[]>;
  /** Audit bundle for entries [from, to); `trustedSize` adds a consistency proof from that size to the head. */
  bundle(region: string, from: number, to: number, options?: BundleOptions): Promise<AuditBundle>;
}

function badRequest(message: string): LedgerError {
  return new LedgerError('LEDGER_BAD_REQUEST', message);
}

function checkInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw badRequest(`${what} must be a non-negative integer`);
}

const hexList = (hashes: readonly Uint8Array[]): string[] => hashes.map(toHex);

interface CheckpointRow {
  size: number | bigint | string;
  root: Uint8Array;
  note: string;
  eip191_signature: string;
  created_at: Date;
}

function toCheckpointRecord(row: CheckpointRow): CheckpointRecord {
  return {
    size: num(row.size),
    root: toHex(bytes(row.root)),
    note: row.note,
    eip191_signature: row.eip191_signature,
    created_at: new Date(row.created_at).toISOString(),
  };
}

function toEntryRecord(row: {
  seq: number | bigint | string;
  leaf_hash: Uint8Array;
  body: Uint8Array;
}): EntryRecord {
  const body = Buffer.from(bytes(row.body));
  return {
    seq: num(row.seq),
    leaf_hash: toHex(bytes(row.leaf_hash)),
    entry: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
    entry_b64: body.toString('base64'),
  };
}

export function createReader(db: Kysely<LedgerTables>, logs: ReadonlyMap<string, LogInfo>): LedgerReader {
  const logOf = (region: string): LogInfo => {
    const log = logs.get(region);
    if (!log)
      throw new LedgerError('LEDGER_UNKNOWN_REGION', `no ledger for region ${JSON.stringify(region)}`);
    return log;
  };

  const latest = async (log: LogInfo): Promise<CheckpointRow> => {
    const row = await db
      .selectFrom('ledger_checkpoint')
      .select(['size', 'root', 'note', 'eip191_signature', 'created_at'])
      .where('log_id', '=', log.logId)
      .orderBy('size', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) throw new LedgerError('LEDGER_NOT_FOUND', `log ${log.origin} has no checkpoint yet`);
    return row;
  };
  // The integrated size only grows, so a size at or below one seen before needs no query; a larger one is
  // checked against the database (another process may have integrated it meanwhile).
  const knownSize = new Map<number, number>();
  const integratedSize = async (log: LogInfo, atLeast = Number.MAX_SAFE_INTEGER): Promise<number> => {
    const known = knownSize.get(log.logId) ?? -1;
    if (atLeast <= known) return known;
    const size = num((await latest(log)).size);
    knownSize.set(log.logId, Math.max(known, size));
    return size;
  };

  const readEntries = async (
    log: LogInfo,
    from: number,
    to: number,
    type?: string,
  ): Promise<EntryRecord[]> => {
    let query = db
      .selectFrom('ledger_entry')
      .select(['seq', 'leaf_hash', 'body'])
      .where('log_id', '=', log.logId)
      .where('seq', '>=', from)
      .where('seq', '<', to);
    if (type !== undefined) query = query.where('entry_type', '=', type);
    return (await query.orderBy('seq').limit(MAX_RANGE).execute()).map(toEntryRecord);
  };

  const readEntriesAt = async (log: LogInfo, seqs: readonly number[]): Promise<EntryRecord[]> => {
    if (seqs.length === 0) return [];
    const rows = await db
      .selectFrom('ledger_entry')
      .select(['seq', 'leaf_hash', 'body'])
      .where('log_id', '=', log.logId)
      .where('seq', '=', sql<number>`any(${seqs}::int8[])`)
      .orderBy('seq')
      .execute();
    if (rows.length < seqs.length) throw new LedgerError('LEDGER_NOT_FOUND', 'a cited entry does not exist');
    return rows.map(toEntryRecord);
  };

  // The newest anchors (at most MAX_RANGE), optionally only of checkpoints of sizes in [fromSize, toSize],
  // ascending: past MAX_RANGE the oldest are left out, never the latest, which is the one an auditor comes for.
  const readAnchors = async (
    log: LogInfo,
    sizes?: { fromSize: number; toSize: number },
  ): Promise<AnchorRecord[]> => {
    let query = db.selectFrom('ledger_anchor').selectAll().where('log_id', '=', log.logId);
    if (sizes !== undefined)
      query = query.where('size', '>=', sizes.fromSize).where('size', '<=', sizes.toSize);
    const rows = await query.orderBy('size', 'desc').orderBy('tx_hash', 'desc').limit(MAX_RANGE).execute();
    return rows.reverse().map((r) => ({
      size: num(r.size),
      root: toHex(bytes(r.root)),
      chain_id: num(r.chain_id),
      tx_hash: r.tx_hash,
      block_number: num(r.block_number),
      status: r.status,
      from_address: r.from_address,
      created_at: new Date(r.created_at).toISOString(),
    }));
  };

  const readCheckpointsAt = async (log: LogInfo, sizes: readonly number[]): Promise<CheckpointRecord[]> =>
    sizes.length === 0
      ? []
      : (
          await db
            .selectFrom('ledger_checkpoint')
            .select(['size', 'root', 'note', 'eip191_signature', 'created_at'])
            .where('log_id', '=', log.logId)
            .where('size', '=', sql<number>`any(${sizes}::int8[])`)
            .execute()
        ).map(toCheckpointRecord);

  const inclusion = async (log: LogInfo, seq: number, size: number): Promise<InclusionProof> => {
    // The leaf hash is stored hash (0, seq): fetch it with the proof's hashes in the same query.
    const leafIndex = storedHashIndex(0, seq);
    let leafHash: Uint8Array | undefined;
    const proof = await proveInclusion(size, seq, {
      readHashes: async (indexes) => {
        const hashes = await databaseHashReader(db, log.logId).readHashes([...indexes, leafIndex]);
        leafHash = hashes.pop();
        return hashes;
      },
    });
    if (!leafHash) [leafHash] = await databaseHashReader(db, log.logId).readHashes([leafIndex]);
    return { seq, size, leaf_hash: toHex(leafHash!), proof: hexList(proof) };
  };

  const consistency = async (log: LogInfo, from: number, to: number): Promise<ConsistencyProof> => ({
    from,
    to,
    proof: hexList(await proveConsistency(from, to, databaseHashReader(db, log.logId))),
  });

  const reader: LedgerReader = {
    async checkpoint(region) {
      return (await latest(logOf(region))).note;
    },

    async treeHead(region) {
      const log = logOf(region);
      const row = await latest(log);
      return { region, origin: log.origin, size: num(row.size), root: toHex(bytes(row.root)) };
    },

    async checkpoints(region, range = {}) {
      const log = logOf(region);
      let query = db
        .selectFrom('ledger_checkpoint')
        .select(['size', 'root', 'note', 'eip191_signature', 'created_at'])
        .where('log_id', '=', log.logId);
      if (range.fromSize !== undefined) query = query.where('size', '>=', range.fromSize);
      if (range.toSize !== undefined) query = query.where('size', '<=', range.toSize);
      return (await query.orderBy('size').limit(MAX_RANGE).execute()).map(toCheckpointRecord);
    },

    async keys(region) {
      return logOf(region).keys;
    },

    async entry(region, seq) {
      const log = logOf(region);
      checkInteger(seq, 'seq');
      const row = await db
        .selectFrom('ledger_entry')
        .select(['seq', 'leaf_hash', 'body'])
        .where('log_id', '=', log.logId)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (!row) throw new LedgerError('LEDGER_NOT_FOUND', `no entry ${seq} in ${log.origin}`);
      return toEntryRecord(row);
    },

    async entries(region, { from, to, type }) {
      const log = logOf(region);
      checkInteger(from, 'from');
      checkInteger(to, 'to');
      if (from > to) throw badRequest('from must not exceed to');
      return readEntries(log, from, to, type);
    },

    async inclusionProof(region, seq, size) {
      const log = logOf(region);
      checkInteger(seq, 'seq');
      checkInteger(size, 'size');
      if (seq >= size) throw badRequest(`seq ${seq} is not below size ${size}`);
      if (size > (await integratedSize(log, size)))
        throw new LedgerError('LEDGER_NOT_FOUND', `no tree of size ${size} yet`);
      return inclusion(log, seq, size);
    },

    async consistencyProof(region, from, to) {
      const log = logOf(region);
      checkInteger(from, 'from');
      checkInteger(to, 'to');
      if (from > to) throw badRequest('from must not exceed to');
      if (to > (await integratedSize(log, to)))
        throw new LedgerError('LEDGER_NOT_FOUND', `no tree of size ${to} yet`);
      return consistency(log, from, to);
    },

    async tile(region, level, index, width) {
      const log = logOf(region);
      checkInteger(level, 'level');
      checkInteger(index, 'index');
      if (level > 5) throw badRequest('tile level out of range');
      const count = width ?? TILE_WIDTH;
      if (width !== undefined && !(Number.isSafeInteger(width) && width >= 1 && width < TILE_WIDTH))
        throw badRequest('partial tile width must be 1..255');
      // Level L of the tiles is level 8L of the binary tree: one hash per 256^L leaves.
      const needed = (index * TILE_WIDTH + count) * TILE_WIDTH ** level;
      const available = Math.floor((await integratedSize(log, needed)) / TILE_WIDTH ** level);
      if (index * TILE_WIDTH + count > available)
        throw new LedgerError('LEDGER_NOT_FOUND', 'tile not available');
      const indexes = Array.from({ length: count }, (_, i) =>
        storedHashIndex(8 * level, index * TILE_WIDTH + i),
      );
      return new Uint8Array(Buffer.concat(await databaseHashReader(db, log.logId).readHashes(indexes)));
    },

    async entryBundle(region, index, width) {
      const log = logOf(region);
      checkInteger(index, 'index');
      const count = width ?? TILE_WIDTH;
      if (width !== undefined && !(Number.isSafeInteger(width) && width >= 1 && width < TILE_WIDTH))
        throw badRequest('partial bundle width must be 1..255');
      const start = index * TILE_WIDTH;
      if (start + count > (await integratedSize(log, start + count)))
        throw new LedgerError('LEDGER_NOT_FOUND', 'bundle not available');
      const rows = await db
        .selectFrom('ledger_entry')
        .select(['body'])
        .where('log_id', '=', log.logId)
        .where('seq', '>=', start)
        .where('seq', '<', start + count)
        .orderBy('seq')
        .execute();
      const parts: Buffer[] = [];
      for (const row of rows) {
        const body = bytes(row.body);
        const length = Buffer.alloc(2);
        length.writeUInt16BE(body.length);
        parts.push(length, Buffer.from(body));
      }
      return new Uint8Array(Buffer.concat(parts));
    },

    async anchors(region) {
      return readAnchors(logOf(region));
    },

    async bundle(region, from, to, options = {}) {
      const log = logOf(region);
      checkInteger(from, 'from');
      checkInteger(to, 'to');
      if (from > to) throw badRequest('from must not exceed to');
      if (to - from > MAX_RANGE) throw badRequest(`a bundle holds at most ${MAX_RANGE} entries`);
      const head = await latest(log);
      const headSize = num(head.size);
      if (to > headSize)
        throw new LedgerError('LEDGER_NOT_FOUND', `entries up to ${to} are not integrated yet`);
      const { trustedSize } = options;
      if (trustedSize !== undefined) {
        checkInteger(trustedSize, 'trustedSize');
        if (trustedSize > headSize)
          throw new LedgerError('LEDGER_NOT_FOUND', `no tree of size ${trustedSize} yet`);
      }
      const entries = await readEntries(log, from, to);
      const citedSeqs = [...new Set((await options.cite?.(entries)) ?? [])].sort((a, b) => a - b);
      if (citedSeqs.length > MAX_RANGE)
        throw badRequest(`a bundle cites at most ${MAX_RANGE} earlier entries`);
      for (const seq of citedSeqs)
        if (!Number.isSafeInteger(seq) || seq < 0 || seq >= from)
          throw badRequest(`cited entry ${seq} is not an entry before ${from}`);
      const cited = await readEntriesAt(log, citedSeqs);
      // Each entry is proven against the first checkpoint that covers it; the chain of consistency proofs
      // then links those checkpoints to the current head (and to every anchored checkpoint in between).
      // Checkpoint sizes only grow, so the first (to - from) from `from + 1` on reach past every entry.
      const candidates = (await reader.checkpoints(region, { fromSize: from + 1 })).filter(
        (c) => c.size <= headSize,
      );
      const chosen = new Map<number, CheckpointRecord>();
      let c = 0;
      for (const entry of entries) {
        while (candidates[c]!.size <= entry.seq) c++;
        chosen.set(candidates[c]!.size, candidates[c]!);
      }
      // Every anchor from the first entry's checkpoint to the head, wherever its checkpoint falls: an anchor
      // past the candidates above (a busy log checkpoints far more often than it anchors) is still in the chain.
      const anchors = await readAnchors(log, { fromSize: from + 1, toSize: headSize });
      for (const cp of await readCheckpointsAt(
        log,
        anchors.map((a) => a.size),
      ))
        chosen.set(cp.size, cp);
      chosen.set(headSize, toCheckpointRecord(head));
      const checkpoints = [...chosen.values()].sort((a, b) => a.size - b.size);
      const inclusionProofs: InclusionProof[] = [];
      c = 0;
      for (const entry of entries) {
        while (checkpoints[c]!.size <= entry.seq) c++;
        inclusionProofs.push(await inclusion(log, entry.seq, checkpoints[c]!.size));
      }
      const consistencyProofs: ConsistencyProof[] = [];
      for (let i = 1; i < checkpoints.length; i++)
        consistencyProofs.push(await consistency(log, checkpoints[i - 1]!.size, checkpoints[i]!.size));
      if (trustedSize !== undefined) consistencyProofs.push(await consistency(log, trustedSize, headSize));
      for (const entry of cited) inclusionProofs.push(await inclusion(log, entry.seq, headSize));
      return {
        format: 'arbiter.ledger.bundle/v1',
        region,
        origin: log.origin,
        keys: log.keys,
        from,
        to,
        entries,
        cited,
        checkpoints,
        inclusion_proofs: inclusionProofs,
        consistency_proofs: consistencyProofs,
        anchors: anchors.filter((a) => chosen.has(a.size)),
      };
    },
  };
  return reader;
}
