import canonicalize from 'canonicalize';
import { LedgerError } from './errors.ts';
import { hashLeaf } from './merkle/index.ts';

// Entries are JSON objects serialized with RFC 8785 (JCS), so the same object always hashes the same way and an
// auditor can re-derive the bytes from the JSON. tlog-tiles entry bundles prefix each entry with a uint16 length.
export const MAX_ENTRY_BYTES = 65_535;

const MAX_TYPE_LENGTH = 128;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

export interface EncodedEntry {
  readonly type: string;
  readonly bytes: Uint8Array;
  readonly leafHash: Uint8Array;
}

/** Canonical bytes and leaf hash of an entry; the entry MUST be a JSON object with a non-empty string `type`. */
export function encodeEntry(entry: Record<string, unknown>): EncodedEntry {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new LedgerError('LEDGER_ENTRY_INVALID', 'an entry must be a JSON object');
  const type = entry.type;
  if (typeof type !== 'string' || type.length === 0)
    throw new LedgerError('LEDGER_ENTRY_INVALID', 'an entry needs a non-empty string "type"');
  // The type is also stored as text beside the bytes, in a batch with other callers' entries: what the database
  // cannot hold as text (NUL, half a surrogate pair) is refused here, not by the batch's insert.
  if (type.length > MAX_TYPE_LENGTH || CONTROL_CHARACTER.test(type) || !type.isWellFormed())
    throw new LedgerError(
      'LEDGER_ENTRY_INVALID',
      `an entry's "type" must be at most ${MAX_TYPE_LENGTH} characters, without control characters or unpaired surrogates`,
    );
  let text: string | undefined;
  try {
    text = canonicalize(entry);
  } catch (err) {
    throw new LedgerError('LEDGER_ENTRY_INVALID', `entry is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (text === undefined) throw new LedgerError('LEDGER_ENTRY_INVALID', 'entry is not JSON');
  const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
  if (bytes.length > MAX_ENTRY_BYTES)
    throw new LedgerError(
      'LEDGER_ENTRY_INVALID',
      `entry is ${bytes.length} bytes; the limit is ${MAX_ENTRY_BYTES}`,
    );
  return { type, bytes, leafHash: hashLeaf(bytes) };
}
