import { sql, type Kysely } from 'kysely';
import type { Wallet } from 'ethers';
import { LedgerError } from '../errors.ts';
import { CompactRange, equalHashes, storedHashCount, type StoredHash } from '../merkle/index.ts';
import { formatCheckpoint, signCheckpointEip191, signNote, type NoteSigner } from '../note/index.ts';
import { databaseHashReader } from './hash-reader.ts';
import { lockLogForIntegration } from './locks.ts';
import { bytes, num, toHex, type LedgerTables } from './tables.ts';

/** Entries folded into the tree per transaction; a long backlog is integrated in several steps. */
export const MAX_INTEGRATE_BATCH = 50_000;

export interface IntegrationContext {
  readonly db: Kysely<LedgerTables>;
  readonly logId: number;
  readonly origin: string;
  readonly signer: NoteSigner;
  readonly wallet: Wallet;
  readonly clock: () => Date;
}

export interface IntegrationResult {
  readonly size: number;
  readonly root: Uint8Array;
  /** True when this call signed a new checkpoint. */
  readonly signed: boolean;
  /** True when the batch was full and more entries may be waiting. */
  readonly more: boolean;
}

/**
 * Folds sequenced entries beyond the latest checkpoint into the tree (stores their hashes) and signs a new
 * checkpoint, all in one transaction under the log's integration lock. The new tree is built on the stored
 * frontier of the previous checkpoint after checking that the frontier still yields the signed root, so every
 * new checkpoint extends the previous one: the log cannot sign two inconsistent checkpoints.
 */
export async function integrateOnce(ctx: IntegrationContext): Promise<IntegrationResult> {
  return ctx.db.transaction().execute(async (trx) => {
    await lockLogForIntegration(trx, ctx.logId);
    const latest = await trx
      .selectFrom('ledger_checkpoint')
      .select(['size', 'root'])
      .where('log_id', '=', ctx.logId)
      .orderBy('size', 'desc')
      .limit(1)
      .executeTakeFirst();
    const oldSize = latest ? num(latest.size) : 0;
    const entries = await trx
      .selectFrom('ledger_entry')
      .select(['seq', 'leaf_hash'])
      .where('log_id', '=', ctx.logId)
      .where('seq', '>=', oldSize)
      .orderBy('seq')
      .limit(MAX_INTEGRATE_BATCH)
      .execute();
    if (latest && entries.length === 0)
      return { size: oldSize, root: bytes(latest.root), signed: false, more: false };

    const frontier = await databaseHashReader(trx, ctx.logId).readHashes(
      CompactRange.frontierIndexes(oldSize),
    );
    const range = CompactRange.fromFrontier(oldSize, frontier);
    if (latest && !equalHashes(range.root(), bytes(latest.root)))
      throw new LedgerError(
        'LEDGER_CORRUPT',
        `stored tree of size ${oldSize} no longer matches its checkpoint`,
      );
    // The previous checkpoint's hashes must be the last stored: hashes beyond them mean a newer checkpoint
    // was removed, and storing these entries' hashes again would only fail on the primary key.
    const { max } = await trx
      .selectFrom('ledger_hash')
      .select((eb) => eb.fn.max('idx').as('max'))
      .where('log_id', '=', ctx.logId)
      .executeTakeFirstOrThrow();
    const storedEnd = max === null ? 0 : num(max) + 1;
    if (storedEnd !== storedHashCount(oldSize))
      throw new LedgerError(
        'LEDGER_CORRUPT',
        `stored tree hashes fill indexes [0, ${storedEnd}), the checkpoint of size ${oldSize} covers ` +
          `[0, ${storedHashCount(oldSize)}): a newer checkpoint was removed`,
      );
    const added: StoredHash[] = [];
    entries.forEach((e, i) => {
      if (num(e.seq) !== oldSize + i)
        throw new LedgerError('LEDGER_CORRUPT', `entry ${oldSize + i} is missing`);
      added.push(...range.append(bytes(e.leaf_hash)));
    });
    // One statement of constant text however many hashes: arrays, not a VALUES row per hash (hex text, as
    // appends send bodies, so node-postgres and PGlite pass them alike). A new log's size-0 checkpoint has none.
    if (added.length > 0)
      await sql`insert into ledger_hash (log_id, idx, hash)
        select ${ctx.logId}::int4, h.idx, decode(h.hash, 'hex')
        from unnest(${added.map((h) => h.index)}::int8[], ${added.map((h) => toHex(h.hash))}::text[]) as h(idx, hash)`.execute(
        trx,
      );
    const size = range.size;
    const root = range.root();
    const text = formatCheckpoint({ origin: ctx.origin, size, root });
    await trx
      .insertInto('ledger_checkpoint')
      .values({
        log_id: ctx.logId,
        size,
        root,
        note: signNote(text, [ctx.signer]),
        eip191_signature: await signCheckpointEip191(ctx.wallet, text),
        created_at: ctx.clock(),
      })
      .execute();
    return { size, root, signed: true, more: entries.length === MAX_INTEGRATE_BATCH };
  });
}

/**
 * The logs among `logIds` with sequenced entries beyond their latest checkpoint (or with no checkpoint yet):
 * the only ones an integration would change. One query for all logs, so idle logs cost no transaction.
 */
export async function logsWithNewEntries(
  db: Kysely<LedgerTables>,
  logIds: readonly number[],
): Promise<Set<number>> {
  const { rows } = await sql<{ id: number }>`
    select l.id from ledger_log l
    where l.id = any(${logIds}::int4[])
      and coalesce((select max(e.seq) + 1 from ledger_entry e where e.log_id = l.id), 0)
        > coalesce((select max(c.size) from ledger_checkpoint c where c.log_id = l.id), -1)`.execute(db);
  return new Set(rows.map((r) => Number(r.id)));
}
