import canonicalize from 'canonicalize';
import type { Kysely } from 'kysely';
import { LedgerError } from '../errors.ts';
import { CompactRange, equalHashes, hashLeaf, storedHashCount } from '../merkle/index.ts';
import { openNote, parseCheckpoint, parseVerifierKey, verifyCheckpointEip191 } from '../note/index.ts';
import { bytes, num, toHex, type LedgerTables } from './tables.ts';

export type FsckProblemKind =
  | 'missing_entry'
  | 'leaf_hash'
  | 'entry_not_canonical'
  | 'entry_type'
  | 'tree_hash'
  | 'hashes_past_checkpoint'
  | 'checkpoint_root'
  | 'checkpoint_signature';

export interface FsckProblem {
  readonly kind: FsckProblemKind;
  /** The first sequence number the problem affects (for a checkpoint: its last entry, size - 1). */
  readonly seq: number;
  /** Set for checkpoint problems. */
  readonly size?: number;
  readonly detail: string;
}

export interface FsckReport {
  readonly region: string;
  readonly origin: string;
  readonly ok: boolean;
  readonly entries: number;
  readonly checkpoints: number;
  /** The lowest sequence number at which stored data disagrees with the recomputed tree; null when none. */
  readonly firstBadSeq: number | null;
  /** At most MAX_PROBLEMS problems, in the order found. */
  readonly problems: readonly FsckProblem[];
}

const BATCH = 10_000;
const MAX_PROBLEMS = 100;

/**
 * Recomputes one region's tree from its stored entry bytes and compares everything stored against it: leaf
 * hashes, every tree hash, every checkpoint's root and both signatures. Reads the log in batches, keeping only
 * the tree's frontier in memory, like tessera's fsck.
 */
export async function fsck(db: Kysely<LedgerTables>, region: string): Promise<FsckReport> {
  const log = await db.selectFrom('ledger_log').selectAll().where('region', '=', region).executeTakeFirst();
  if (!log) throw new LedgerError('LEDGER_UNKNOWN_REGION', `no ledger for region ${JSON.stringify(region)}`);
  const verifier = parseVerifierKey(log.ed25519_vkey);
  const checkpoints = await db
    .selectFrom('ledger_checkpoint')
    .select(['size', 'root', 'note', 'eip191_signature'])
    .where('log_id', '=', log.id)
    .orderBy('size')
    .execute();
  const integrated = checkpoints.length > 0 ? num(checkpoints[checkpoints.length - 1]!.size) : 0;
  const problems: FsckProblem[] = [];
  const report = (p: FsckProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };

  // The scan below compares the hashes the checkpoints cover, and names each missing one. Hashes beyond them
  // mean a newer checkpoint was removed: its entries would be integrated again onto indexes already taken, so
  // the log could never sign another checkpoint.
  const hashes = await db
    .selectFrom('ledger_hash')
    .select((eb) => [eb.fn.countAll<number | bigint | string>().as('count'), eb.fn.max('idx').as('max')])
    .where('log_id', '=', log.id)
    .executeTakeFirstOrThrow();
  const covered = storedHashCount(integrated);
  const hashCount = num(hashes.count);
  const storedEnd = hashes.max === null ? 0 : num(hashes.max) + 1;
  if (hashCount > covered || storedEnd > covered)
    report({
      kind: 'hashes_past_checkpoint',
      seq: integrated,
      detail:
        `stored tree hashes extend past the newest checkpoint (size ${integrated}), which covers indexes ` +
        `[0, ${covered}): ${hashCount} stored, up to index ${storedEnd - 1}; a checkpoint was removed`,
    });

  let cp = 0;
  const range = CompactRange.empty();
  const checkCheckpoints = () => {
    while (cp < checkpoints.length && num(checkpoints[cp]!.size) === range.size) {
      const row = checkpoints[cp++]!;
      const size = num(row.size);
      const seq = Math.max(size - 1, 0);
      const root = range.root();
      if (!equalHashes(bytes(row.root), root))
        report({
          kind: 'checkpoint_root',
          seq,
          size,
          detail: `stored root differs from recomputed ${toHex(root)}`,
        });
      try {
        const { text } = openNote(row.note, [verifier]);
        const parsed = parseCheckpoint(text);
        if (parsed.origin !== log.origin || parsed.size !== size || !equalHashes(parsed.root, root))
          report({
            kind: 'checkpoint_root',
            seq,
            size,
            detail: 'signed checkpoint text disagrees with the tree',
          });
        if (!verifyCheckpointEip191(text, row.eip191_signature, log.eip191_address))
          report({ kind: 'checkpoint_signature', seq, size, detail: 'EIP-191 signature does not verify' });
      } catch (err) {
        report({ kind: 'checkpoint_signature', seq, size, detail: (err as Error).message });
      }
    }
  };
  checkCheckpoints();

  let next = 0;
  for (;;) {
    const rows = await db
      .selectFrom('ledger_entry')
      .select(['seq', 'entry_type', 'leaf_hash', 'body'])
      .where('log_id', '=', log.id)
      .where('seq', '>=', next)
      .orderBy('seq')
      .limit(BATCH)
      .execute();
    if (rows.length === 0) break;
    const batchStart = range.size;
    const lastSeq = num(rows[rows.length - 1]!.seq);
    const hashEnd = Math.min(lastSeq + 1, integrated);
    const stored = new Map<number, Uint8Array>();
    if (hashEnd > batchStart) {
      const hashRows = await db
        .selectFrom('ledger_hash')
        .select(['idx', 'hash'])
        .where('log_id', '=', log.id)
        .where('idx', '>=', storedHashCount(batchStart))
        .where('idx', '<', storedHashCount(hashEnd))
        .execute();
      for (const h of hashRows) stored.set(num(h.idx), bytes(h.hash));
    }
    for (const row of rows) {
      const seq = num(row.seq);
      if (seq !== range.size) {
        // The tree cannot be recomputed past a gap.
        report({
          kind: 'missing_entry',
          seq: range.size,
          detail: `entry ${range.size} is missing (next is ${seq})`,
        });
        return finish();
      }
      const body = bytes(row.body);
      const leaf = hashLeaf(body);
      if (!equalHashes(leaf, bytes(row.leaf_hash)))
        report({ kind: 'leaf_hash', seq, detail: `stored leaf hash differs from SHA-256(0x00 || entry)` });
      const entry = parseCanonical(body);
      if (entry === undefined)
        report({ kind: 'entry_not_canonical', seq, detail: 'entry bytes are not RFC 8785 JSON' });
      // entry_type is outside the hashed bytes, and type-filtered reads select by it: an entry relabelled
      // there would drop out of (or into) those reads with every proof still verifying.
      else if (entry.type !== row.entry_type)
        report({
          kind: 'entry_type',
          seq,
          detail: `stored type ${JSON.stringify(row.entry_type)} is not the entry's ${JSON.stringify(entry.type)}`,
        });
      const added = range.append(leaf);
      if (seq < integrated) {
        for (const { index, hash } of added) {
          const have = stored.get(index);
          if (!have || !equalHashes(have, hash)) {
            report({ kind: 'tree_hash', seq, detail: `tree hash ${index} is ${have ? 'wrong' : 'missing'}` });
            break;
          }
        }
      }
      checkCheckpoints();
    }
    next = lastSeq + 1;
  }
  if (range.size < integrated)
    report({
      kind: 'missing_entry',
      seq: range.size,
      detail: `checkpoints cover ${integrated} entries, ${range.size} stored`,
    });
  return finish();

  function finish(): FsckReport {
    const seqs = problems.map((p) => p.seq);
    return {
      region,
      origin: log!.origin,
      ok: problems.length === 0,
      entries: range.size,
      checkpoints: checkpoints.length,
      firstBadSeq: seqs.length > 0 ? Math.min(...seqs) : null,
      problems,
    };
  }
}

/** The entry when `body` is RFC 8785 JSON of an object; undefined otherwise. */
function parseCanonical(body: Uint8Array): { readonly type?: unknown } | undefined {
  // Compared as bytes: bytes that are no UTF-8 decode to U+FFFD, whose canonical form is other bytes.
  const text = Buffer.from(body).toString('utf8');
  try {
    const entry: unknown = JSON.parse(text);
    return typeof entry === 'object' &&
      entry !== null &&
      Buffer.from(canonicalize(entry) ?? '', 'utf8').equals(body)
      ? entry
      : undefined;
  } catch {
    return undefined;
  }
}
