/** A ledger entry as an audit bundle carries it: its sequence number and its JSON, both untrusted here. */
export interface RecordedEntry {
  readonly seq: number;
  readonly entry: unknown;
}

/** What an offline check of a bundle's entries found. */
export interface EntryAudit {
  /** How many things the entries were checked for (the audit says what it counts). */
  readonly checked: number;
  readonly failures: readonly { readonly seq: number; readonly message: string }[];
  /** What these entries alone cannot show, so a reader must not take it as checked. */
  readonly unverified: readonly string[];
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The well-formed entries (an object at a safe-integer seq), in sequence order. */
export function inSequence(entries: readonly RecordedEntry[]) {
  return entries
    .filter((e) => isObject(e) && Number.isSafeInteger(e.seq) && isObject(e.entry))
    .sort((a, b) => a.seq - b.seq) as { seq: number; entry: Record<string, unknown> }[];
}
