import type { Kysely } from 'kysely';
import { LedgerError } from '../errors.ts';
import type { LogInfo } from '../store/reader.ts';
import { bytes, num, toHex, type LedgerTables } from '../store/tables.ts';
import type { AnchorRecord } from '../types.ts';
import {
  Anchorer,
  type AnchorOptions,
  type AnchorProgress,
  type AnchorTarget,
  type ConfirmedAnchor,
} from './anchorer.ts';
import type { AnchorStatus } from './status.ts';

/** How often `anchorNow` looks again while its transaction is mined or confirmed. */
const ANCHOR_NOW_POLL_MS = 100;
/**
 * After consecutive failures, a log's next background attempt waits 1 s, then 2, 4, … up to 5 minutes: an
 * endpoint that refuses every call (a revoked API key) costs one attempt, and one logged failure, per step.
 */
export const ANCHOR_RETRY_MIN_MS = 1_000;
export const ANCHOR_RETRY_MAX_MS = 300_000;

/** A log's anchoring record of failures. */
interface LogHealth {
  /** Attempts in a row that failed. */
  failures: number;
  /** No background attempt before this (ms since the epoch). */
  retryAt: number;
}

/** What the database says of a log's anchors: one read per step serves both the step and the observer. */
interface LogAnchors {
  readonly lastAnchoredAt: Date | null;
  readonly awaiting: number;
  readonly newest: AnchorTarget | undefined;
}

/**
 * The ledger's side of anchoring: which checkpoint of a log is due, and the anchor rows. The background loop
 * calls `poll` for each log on every tick; a step already running for that log makes it a no-op.
 */
export class Anchoring {
  private readonly anchorer: Anchorer;
  /** Per log id: the step running now. */
  private readonly running = new Map<number, Promise<unknown>>();
  /** Per log id: the newest anchor this process recorded. */
  private readonly recorded = new Map<number, AnchorRecord>();
  private readonly health = new Map<number, LogHealth>();
  /** Per log id: the status last told to the observer. */
  private readonly statuses = new Map<number, AnchorStatus>();
  private stopped = false;

  constructor(
    private readonly db: Kysely<LedgerTables>,
    readonly options: AnchorOptions,
    private readonly clock: () => Date,
    private readonly onError: (err: unknown) => void,
  ) {
    this.anchorer = new Anchorer(options);
  }

  /**
   * A background step for the log, unless one is running or the log is backing off after failures; a failure
   * goes to `onError`, once per attempt.
   */
  poll(log: LogInfo): void {
    if (this.stopped || this.running.has(log.logId)) return;
    if (Date.now() < (this.health.get(log.logId)?.retryAt ?? 0)) {
      // Backing off: the endpoint is left alone, but checkpoints still pile up for the observer to see.
      if (this.options.observer) this.track(log, this.refresh(log));
      return;
    }
    this.track(log, this.attempt(log, this.options.everyN));
  }

  /**
   * Anchors the log's latest checkpoint and waits until it is recorded, first following a transaction of the
   * log that is outstanding. Resolves with the newest anchor recorded meanwhile, or null when the latest
   * checkpoint already was; rejects with LEDGER_ANCHOR_FAILED when a step fails (the transaction stays
   * outstanding, and a later step follows it).
   */
  async anchorNow(log: LogInfo): Promise<AnchorRecord | null> {
    const before = this.recorded.get(log.logId);
    for (;;) {
      if (this.stopped) throw new LedgerError('LEDGER_STOPPED', 'the ledger was stopped');
      const progress = await this.attempt(log, 1);
      if (progress.state === 'idle') {
        const after = this.recorded.get(log.logId);
        return after !== before ? (after ?? null) : null;
      }
      if (progress.state !== 'recorded') await new Promise((r) => setTimeout(r, ANCHOR_NOW_POLL_MS));
    }
  }

  /** Waits for the steps running, then lets go of the endpoint. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running.values());
    this.anchorer.destroy();
  }

  /** Runs a log's background work as the one running for it; its failure goes to `onError`. */
  private track(log: LogInfo, run: Promise<unknown>): void {
    const tracked = run.catch(this.onError).finally(() => this.running.delete(log.logId));
    this.running.set(log.logId, tracked);
  }

  /** Reads the log's anchors and tells the observer. */
  private async refresh(log: LogInfo): Promise<void> {
    this.report(log, await this.anchorsOf(log));
  }

  /**
   * Tells the observer the log's status: what `anchors` says (or, when the database could not be read, what
   * it said last) and the failures in a row now.
   */
  private report(log: LogInfo, anchors: LogAnchors | undefined): void {
    const { observer } = this.options;
    if (!observer) return;
    const previous = this.statuses.get(log.logId);
    const status: AnchorStatus = {
      region: log.region,
      lastAnchoredAt: anchors ? anchors.lastAnchoredAt : (previous?.lastAnchoredAt ?? null),
      consecutiveFailures: this.health.get(log.logId)?.failures ?? 0,
      awaitingCheckpoints: anchors ? anchors.awaiting : (previous?.awaitingCheckpoints ?? 0),
    };
    this.statuses.set(log.logId, status);
    try {
      observer.anchorStatus(status);
    } catch (err) {
      this.onError(err);
    }
  }

  /** A step whose outcome counts towards the log's failures in a row, and so its backoff. */
  private async attempt(log: LogInfo, everyN: number): Promise<AnchorProgress> {
    // Read at most once per step, by the step (for the checkpoint due) or for the observer after it.
    let anchors: Promise<LogAnchors> | undefined;
    const read = () => (anchors ??= this.anchorsOf(log));
    const observed = async () => {
      if (!this.options.observer) return;
      this.report(log, await read().catch(() => undefined));
    };
    try {
      const progress = await this.step(log, everyN, read);
      this.health.delete(log.logId);
      // Recorded: read again, the row is new.
      if (progress.state === 'recorded') anchors = undefined;
      await observed();
      return progress;
    } catch (err) {
      const failures = (this.health.get(log.logId)?.failures ?? 0) + 1;
      const waitMs = Math.min(ANCHOR_RETRY_MIN_MS * 2 ** Math.min(failures - 1, 30), ANCHOR_RETRY_MAX_MS);
      this.health.set(log.logId, { failures, retryAt: Date.now() + waitMs });
      await observed();
      if (!(err instanceof LedgerError)) throw err;
      throw new LedgerError(
        err.code,
        `${err.message} (${failures} failure${failures === 1 ? '' : 's'} in a row; ` +
          `next attempt in ${waitMs / 1000} s)`,
      );
    }
  }

  private step(log: LogInfo, everyN: number, read: () => Promise<LogAnchors>): Promise<AnchorProgress> {
    return this.anchorer.advance(log.origin, {
      // The newest checkpoint, once `everyN` have been signed since the newest anchored one.
      next: async () => {
        const { awaiting, newest } = await read();
        return awaiting >= everyN ? newest : undefined;
      },
      record: (anchor) => this.record(log, anchor),
    });
  }

  /** The log's newest anchor (size, when recorded) and the checkpoints signed since. */
  private async anchorsOf(log: LogInfo): Promise<LogAnchors> {
    const last = await this.db
      .selectFrom('ledger_anchor')
      .select((eb) => [eb.fn.max('size').as('size'), eb.fn.max('created_at').as('created_at')])
      .where('log_id', '=', log.logId)
      .executeTakeFirst();
    const lastSize = last?.size === null || last?.size === undefined ? -1 : num(last.size);
    const newest = await this.db
      .selectFrom('ledger_checkpoint')
      .select((eb) => ['size', 'root', eb.fn.countAll().over().as('awaiting')])
      .where('log_id', '=', log.logId)
      .where('size', '>', lastSize)
      .orderBy('size', 'desc')
      .limit(1)
      .executeTakeFirst();
    return {
      lastAnchoredAt: last?.created_at ? new Date(last.created_at) : null,
      awaiting: newest ? num(newest.awaiting) : 0,
      newest: newest ? { size: num(newest.size), root: bytes(newest.root) } : undefined,
    };
  }

  private async record(log: LogInfo, anchor: ConfirmedAnchor): Promise<void> {
    const row = {
      log_id: log.logId,
      size: anchor.size,
      root: anchor.root,
      chain_id: anchor.chainId,
      tx_hash: anchor.txHash,
      block_number: anchor.blockNumber,
      status: anchor.status,
      from_address: anchor.from,
      created_at: this.clock(),
    };
    // A row whose insert committed though its answer was lost is not written twice.
    await this.db
      .insertInto('ledger_anchor')
      .values(row)
      .onConflict((oc) => oc.columns(['log_id', 'tx_hash']).doNothing())
      .execute();
    this.recorded.set(log.logId, {
      size: anchor.size,
      root: toHex(anchor.root),
      chain_id: anchor.chainId,
      tx_hash: anchor.txHash,
      block_number: anchor.blockNumber,
      status: anchor.status,
      from_address: anchor.from,
      created_at: row.created_at.toISOString(),
    });
  }
}
