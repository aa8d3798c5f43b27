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
  readonly entry: EncodedEntry;
  readonly companion: CompanionRow | undefined;
  readonly resolve: (seq: number) => void;
  readonly reject: (err: unknown) => void;
}

// Entries per transaction; larger batches keep waiting callers longer without much gain.
const MAX_BATCH = 5_000;

/**
 * Sequencing for one log with group commit: appends that arrive while a batch is being committed wait in a
 * bounded queue and go into the next transaction together, so N concurrent appends cost one commit, not N.
 * A batch is one call of the ledger_append() SQL function, which holds the log's advisory lock while it reads
 * max(seq) and inserts: sequence numbers are gap-free and strictly ordered across every process that shares
 * the database, and the batch is committed when the statement returns. Companion rows are inserted by the same
 * statement.
 */
export class LogAppender {
  private queue: Pending[] = [];
  private flushing = false;
  private stopped = false;

  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly logId: number,
    private readonly maxPending: number,
  ) {}

  /** Resolves with the sequence number once the entry (and its companion row) is committed; MUST NOT resolve earlier. */
  append(entry: EncodedEntry, companion?: CompanionRow): Promise<number> {
    if (this.stopped) return Promise.reject(new LedgerError('LEDGER_STOPPED', 'the ledger is stopped'));
    if (this.queue.length >= this.maxPending)
      return Promise.reject(
        new LedgerError('LEDGER_PUSHBACK', `append queue is full (${this.maxPending} pending); retry later`),
      );
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ entry, companion, resolve, reject });
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
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.settle(batch);
      } catch (err) {
        // A companion row that breaks a constraint fails its whole transaction; alone, each append either
        // commits or fails on its own account, so one bad row does not cost the others theirs.
        if (batch.length === 1 || !batch.some((p) => p.companion)) this.fail(batch, err);
        else for (const pending of batch) await this.settle([pending]).catch((e) => this.fail([pending], e));
      }
    }
    this.flushing = false;
  }

  private async settle(batch: readonly Pending[]): Promise<void> {
    const first = await this.commit(batch);
    batch.forEach((p, i) => p.resolve(first + i));
  }

  private fail(batch: readonly Pending[], err: unknown): void {
    const failure = new LedgerError('LEDGER_APPEND_FAILED', `append failed: ${(err as Error).message}`, {
      cause: err,
    });
    for (const p of batch) p.reject(failure);
  }

  // One statement, so one round trip and one implicit transaction: ledger_append() in a CTE, and one
  // data-modifying CTE per companion table that reads the first sequence number from it. Each companion row
  // carries its offset in the batch in its seqColumn until the statement adds the first sequence number.
  private async commit(batch: readonly Pending[]): Promise<number> {
    // Hex text arrays travel the same way through node-postgres and PGlite; the function decodes them.
    const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
    const groups = new Map<string, { table: string; seqColumn: string; rows: Record<string, unknown>[] }>();
    batch.forEach((p, offset) => {
      if (!p.companion) return;
      const { table, values, seqColumn } = p.companion;
      const key = JSON.stringify([table, seqColumn]);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { table, seqColumn, rows: [] }));
      group.rows.push({ ...values, [seqColumn]: offset });
    });
    const companions = [...groups.values()].map(({ table, seqColumn, rows }, k) => {
      const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter((c) => c !== seqColumn);
      return sql`${sql.id(`companion_${k}`)} as (
        insert into ${sql.table(table)} (${sql.join([...columns, seqColumn].map((c) => sql.id(c)))})
        select ${sql.join([...columns.map((c) => sql`r.${sql.id(c)}`), sql`appended.first + r.${sql.id(seqColumn)}`])}
        from appended, jsonb_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::jsonb) as r)`;
    });
    const { rows } = await sql<{ first: number | bigint | string }>`
      with appended as (
        select ledger_append(
          ${this.logId}::int4,
          ${batch.map((p) => p.entry.type)}::text[],
          ${batch.map((p) => hex(p.entry.leafHash))}::text[],
          ${batch.map((p) => hex(p.entry.bytes))}::text[]
        ) as first
      )${companions.length > 0 ? sql`, ${sql.join(companions)}` : sql``}
      select first from appended`.execute(this.db);
    return num(rows[0]!.first);
  }
}
