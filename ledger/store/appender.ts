import { sql, type Kysely } from 'kysely';
import { LedgerError } from '../errors.ts';
import type { EncodedEntry } from '../entry.ts';
import { num, type LedgerTables } from './tables.ts';

interface Pending {
  readonly entry: EncodedEntry;
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
 * the database, and the batch is committed when the statement returns.
 */
export class LogAppender {
  private queue: Pending[] = [];
  private flushing = false;
  private stopped = false;

  constructor(
    private readonly db: Kysely<LedgerTables>,
    private readonly logId: number,
    private readonly maxPending: number,
    private readonly onCommitted: () => void,
  ) {}

  /** Resolves with the sequence number once the entry is committed; MUST NOT resolve earlier. */
  append(entry: EncodedEntry): Promise<number> {
    if (this.stopped) return Promise.reject(new LedgerError('LEDGER_STOPPED', 'the ledger is stopped'));
    if (this.queue.length >= this.maxPending)
      return Promise.reject(
        new LedgerError('LEDGER_PUSHBACK', `append queue is full (${this.maxPending} pending); retry later`),
      );
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
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
        const first = await this.commit(batch.map((p) => p.entry));
        batch.forEach((p, i) => p.resolve(first + i));
        this.onCommitted();
      } catch (err) {
        const failure = new LedgerError('LEDGER_APPEND_FAILED', `append failed: ${(err as Error).message}`, {
          cause: err,
        });
        batch.forEach((p) => p.reject(failure));
      }
    }
    this.flushing = false;
  }

  private async commit(entries: readonly EncodedEntry[]): Promise<number> {
    // Hex text arrays travel the same way through node-postgres and PGlite; the function decodes them.
    const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
    const { rows } = await sql<{ first: number | bigint | string }>`
      select ledger_append(
        ${this.logId}::int4,
        ${entries.map((e) => e.type)}::text[],
        ${entries.map((e) => hex(e.leafHash))}::text[],
        ${entries.map((e) => hex(e.bytes))}::text[]
      ) as first`.execute(this.db);
    return num(rows[0]!.first);
  }
}
