import type { ColumnType, Generated } from 'kysely';

// int8 columns come back as number (pg's parser is set by the server) or bigint (PGlite); read them with num().
type Int8 = ColumnType<number | bigint | string, number, never>;

/** One row per region's log. Append-only like every ledger table. */
export interface LedgerLogTable {
  id: Generated<number>;
  region: string;
  origin: string;
  /** The key the log was created with; a different configured key is refused at start. */
  ed25519_vkey: string;
  eip191_address: string;
  created_at: ColumnType<Date, Date, never>;
}

/** Sequenced entries: the exact hashed bytes. (log_id, seq) is gap-free from 0. */
export interface LedgerEntryTable {
  log_id: number;
  seq: Int8;
  entry_type: string;
  leaf_hash: Uint8Array;
  body: Uint8Array;
}

/** Tree hashes in Go sumdb's dense storage order (ledger/merkle/stored-hashes.ts). */
export interface LedgerHashTable {
  log_id: number;
  idx: Int8;
  hash: Uint8Array;
}

/** Signed checkpoints, one per integration; the largest is the log's current tree head. */
export interface LedgerCheckpointTable {
  log_id: number;
  size: Int8;
  root: Uint8Array;
  note: string;
  eip191_signature: string;
  created_at: ColumnType<Date, Date, never>;
}

/** Confirmed anchor transactions. */
export interface LedgerAnchorTable {
  log_id: number;
  size: Int8;
  root: Uint8Array;
  chain_id: Int8;
  tx_hash: string;
  block_number: Int8;
  status: number;
  from_address: string;
  created_at: ColumnType<Date, Date, never>;
}

export interface LedgerTables {
  ledger_log: LedgerLogTable;
  ledger_entry: LedgerEntryTable;
  ledger_hash: LedgerHashTable;
  ledger_checkpoint: LedgerCheckpointTable;
  ledger_anchor: LedgerAnchorTable;
}

export const LEDGER_TABLE_NAMES = [
  'ledger_log',
  'ledger_entry',
  'ledger_hash',
  'ledger_checkpoint',
  'ledger_anchor',
] as const;

export function num(value: number | bigint | string): number {
  return Number(value);
}

/** bytea comes back as Buffer (pg) or Uint8Array (PGlite). */
export function bytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export const toHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
