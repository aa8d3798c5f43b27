// The ledger's one error class. Codes are a closed union so callers (the server's error mapper, the CLI) can
// switch on them; the original error is kept as `cause`. Plain TypeError is reserved for caller misuse.

export type LedgerErrorCode =
  /** The append queue is full: answer HTTP 503 with Retry-After and let the client retry. */
  | 'LEDGER_PUSHBACK'
  /** The ledger was stopped; no more appends are accepted. */
  | 'LEDGER_STOPPED'
  /** The entry is not a JSON object with a string `type`, or is too large for a tlog-tiles entry bundle. */
  | 'LEDGER_ENTRY_INVALID'
  /** No log is configured for this region. */
  | 'LEDGER_UNKNOWN_REGION'
  /** A sequence number, tree size or tile beyond what the log has integrated. */
  | 'LEDGER_NOT_FOUND'
  /** A request that can never be satisfied (seq >= size, from > to, width out of range). */
  | 'LEDGER_BAD_REQUEST'
  /** A proof is malformed (wrong hash length, too long, too short, index out of range). */
  | 'LEDGER_PROOF_INVALID'
  /** A proof is well-formed but leads to a different root. */
  | 'LEDGER_ROOT_MISMATCH'
  /** A signed note / checkpoint does not parse or does not verify. */
  | 'LEDGER_CHECKPOINT_INVALID'
  /** A key file or key text is malformed, or differs from the key the log was created with. */
  | 'LEDGER_KEY_INVALID'
  /** Stored state disagrees with itself (detected while integrating); the log refuses to sign. */
  | 'LEDGER_CORRUPT'
  /**
   * Appending failed in the database: refused (a companion row breaking a constraint; nothing committed), or
   * cut off during its commit, whose outcome is then unknown.
   */
  | 'LEDGER_APPEND_FAILED'
  /** No database connection could be had for an append: nothing was sent, nothing committed; retry it. */
  | 'LEDGER_UNAVAILABLE'
  /** Sending or confirming an anchor transaction failed. */
  | 'LEDGER_ANCHOR_FAILED';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
