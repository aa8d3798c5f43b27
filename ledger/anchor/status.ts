// How a log's anchoring stands, for whoever watches it (the server's Prometheus metrics). The ledger knows
// nothing of metrics: it calls an observer the caller gives it.

/** A log's anchoring, as of its latest step. */
export interface AnchorStatus {
  readonly region: string;
  /** When the log's newest anchor was recorded, by this process or another; null while it has none. */
  readonly lastAnchoredAt: Date | null;
  /** Steps in a row that failed; 0 once one succeeds. */
  readonly consecutiveFailures: number;
  /**
   * Checkpoints signed since the newest anchored one: those not yet due (fewer than everyN), and the one whose
   * transaction is waiting to be mined or confirmed.
   */
  readonly awaitingCheckpoints: number;
}

/** Told a log's status after each of its anchoring steps, failed ones included, and while it backs off. */
export interface AnchorObserver {
  /** Must not throw (what it throws goes to the ledger's onError) and must not block. */
  anchorStatus(status: AnchorStatus): void;
}
