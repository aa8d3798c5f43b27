import { sql, type Kysely } from 'kysely';
import { LedgerError } from '../errors.ts';
import type { EncodedEntry } from '../entry.ts';
import { num, type LedgerTables } from './tables.ts';

/**
 * A row of the caller's own table that commits in the same statement as its entry: the two exist together or
 * not at all (e.g. a decision and its stored input document). The entry's sequence number is assigned only as
 * that statement runs, and goes into `seqColumn`. A column that some rows of a table give and others leave
 * out is NULL in the latter, not its default.
 */
export interface CompanionRow {
  readonly table: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** The column of `table` that receives the entry's sequence number. */
  readonly seqColumn: string;
}

interface Pending {
  readonly logId: number;
  readonly entry: EncodedEntry;
  readonly companion: CompanionRow | undefined;
  readonly resolve: (seq: number) => void;
  readonly reject: (err: unknown) => void;
}

// Entries per transaction; larger batches keep waiting callers longer without much gain.
const MAX_BATCH = 5_000;
// Entry bytes per transaction: at the entry size limit, 5,000 entries would be one statement of over 600 MB
// of hex parameters. A batch always takes its first entry.
const MAX_BATCH_BYTES = 16 * 1024 ** 2;

/**
 * Sequencing with group commit, for every log of a database at once: appends that arrive while a batch is
 * being committed wait in a bounded queue per log and go into the next transaction together, whatever their
 * log, so N concurrent appends cost one commit, not N and not one per region. A batch is one statement that
 * calls the ledger_append() SQL function once per log in it, in ascending log id; the function holds the log's
 * advisory lock while it reads max(seq) and inserts, so sequence numbers are gap-free and strictly ordered per
 * log across every process that shares the database, and the fixed lock order keeps two processes' batches
 * from deadlocking. The batch is committed when the statement returns. Companion rows are inserted by the same
 * statement.
 */
export class Appender {
  private queue: Pending[] = [];
  /** Appends waiting per log, not yet in a batch. */
  private readonly waiting = new Map<number, number>();
  private flushing = false;
  private stopped = false;

  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly maxPendingPerLog: number,
  ) {}

  /** Resolves with the sequence number once the entry (and its companion row) is committed; MUST NOT resolve earlier. */
  append(logId: number, entry: EncodedEntry, companion?: CompanionRow): Promise<number> {
    if (this.stopped) return Promise.reject(new LedgerError('LEDGER_STOPPED', 'the ledger is stopped'));
    const waiting = this.waiting.get(logId) ?? 0;
    if (waiting >= this.maxPendingPerLog)
      return Promise.reject(
        new LedgerError(
          'LEDGER_PUSHBACK',
          `append queue is full (${this.maxPendingPerLog} pending); retry later`,
        ),
      );
    this.waiting.set(logId, waiting + 1);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ logId, entry, companion, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Let every append issued in this tick join the first batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Stops accepting appends and waits until every queued append is committed or failed. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, batchLength(this.queue));
      for (const p of batch) this.waiting.set(p.logId, this.waiting.get(p.logId)! - 1);
      try {
        await this.settle(batch);
      } catch (err) {
        // A companion row that breaks a constraint fails its whole transaction; alone, each append either
        // commits or fails on its own account, so one bad row does not cost the others theirs. Only an error
        // that is the database refusing a row is retried so: after one without a verdict (the connection lost
        // during the commit) the batch may have committed, and appending it again would record it twice.
        if (batch.length === 1 || !batch.some((p) => p.companion) || !isRowRefusal(err))
          this.fail(batch, err);
        else for (const pending of batch) await this.settle([pending]).catch((e) => this.fail([pending], e));
      }
    }
    this.flushing = false;
  }

  private async settle(batch: readonly Pending[]): Promise<void> {
    const byLog = groupByLog(batch);
    const firsts = await this.commit(byLog);
    for (const [logId, pending] of byLog) pending.forEach((p, i) => p.resolve(firsts.get(logId)! + i));
  }

  private fail(batch: readonly Pending[], err: unknown): void {
    const failure =
      err instanceof LedgerError
        ? err
        : new LedgerError('LEDGER_APPEND_FAILED', `append failed: ${(err as Error).message}`, { cause: err });
    for (const p of batch) p.reject(failure);
  }

  // One statement, so one round trip and one implicit transaction: a CTE `appended` with one ledger_append()
  // call per log (a UNION ALL runs its branches in order, which is the lock order), and one data-modifying CTE
  // per companion table and log that reads that log's first sequence number from it. Each companion row
  // carries its entry's offset among its log's entries in the batch in its seqColumn until the statement adds
  // the first sequence number.
  private async commit(byLog: ReadonlyMap<number, readonly Pending[]>): Promise<Map<number, number>> {
    // Hex text arrays travel the same way through node-postgres and PGlite; the function decodes them.
    const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
    const appends = [...byLog].map(
      ([logId, pending]) => sql`select ${logId}::int4, ledger_append(
          ${logId}::int4,
          ${pending.map((p) => p.entry.type)}::text[],
          ${pending.map((p) => hex(p.entry.leafHash))}::text[],
          ${pending.map((p) => hex(p.entry.bytes))}::text[]
        )`,
    );
    const groups = new Map<
      string,
      { logId: number; table: string; seqColumn: string; rows: Record<string, unknown>[] }
    >();
    for (const [logId, pending] of byLog) {
      pending.forEach((p, offset) => {
        if (!p.companion) return;
        const { table, values, seqColumn } = p.companion;
        const key = JSON.stringify([logId, table, seqColumn]);
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { logId, table, seqColumn, rows: [] }));
        group.rows.push({ ...values, [seqColumn]: offset });
      });
    }
    const companions = [...groups.values()].map(({ logId, table, seqColumn, rows }, k) => {
      const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter((c) => c !== seqColumn);
      return sql`${sql.id(`companion_${k}`)} as (
        insert into ${sql.table(table)} (${sql.join([...columns, seqColumn].map((c) => sql.id(c)))})
        select ${sql.join([...columns.map((c) => sql`r.${sql.id(c)}`), sql`appended.first + r.${sql.id(seqColumn)}`])}
        from appended, jsonb_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::jsonb) as r
        where appended.log_id = ${logId}::int4)`;
    });
    // A failure before the connection is had sent nothing, so nothing can have been committed, unlike one
    // after: the caller may simply retry that append.
    let connected = false;
    try {
      return await this.db.connection().execute(async (connection) => {
        connected = true;
        const { rows } = await sql<{ log_id: number; first: number | bigint | string }>`
          with appended (log_id, first) as (${sql.join(appends, sql` union all `)})${
            companions.length > 0 ? sql`, ${sql.join(companions)}` : sql``
          }
          select log_id, first from appended`.execute(connection);
        return new Map(rows.map((row) => [Number(row.log_id), num(row.first)]));
      });
    } catch (err) {
      if (connected) throw err;
      throw new LedgerError('LEDGER_UNAVAILABLE', `no database connection: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

/**
 * SQLSTATE classes of a statement the database refused for its data, having changed nothing: 22 data
 * exception, 23 integrity constraint violation, P0 raised by a function or trigger (a companion table's guard).
 */
const ROW_REFUSAL = /^(22|23|P0)[0-9A-Z]{3}$/;

function isRowRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ROW_REFUSAL.test(code);
}

/** How many of the queue's first appends go into the next batch: up to MAX_BATCH, and MAX_BATCH_BYTES. */
function batchLength(queue: readonly Pending[]): number {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < MAX_BATCH) {
    bytes += queue[n]!.entry.bytes.length;
    if (n > 0 && bytes > MAX_BATCH_BYTES) break;
    n++;
  }
  return n;
}

/** The batch's appends by log, in ascending log id (the lock order) and, within a log, in arrival order. */
function groupByLog(batch: readonly Pending[]): Map<number, Pending[]> {
  const byLog = new Map<number, Pending[]>();
  for (const p of [...batch].sort((a, b) => a.logId - b.logId)) {
    let pending = byLog.get(p.logId);
    if (!pending) byLog.set(p.logId, (pending = []));
    pending.push(p);
  }
  return byLog;
}
