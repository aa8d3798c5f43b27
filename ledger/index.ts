// The ledger: one RFC 6962 transparency log per region, with C2SP checkpoints, tlog-tiles reads, EVM anchors
// and an offline verifier. See ledger/README.md for formats and design.
export { createLedger, DEFAULT_CHECKPOINT_INTERVAL_MS, DEFAULT_MAX_PENDING_APPENDS } from './ledger.ts';
export type { AppendOptions, Ledger, LedgerOptions } from './ledger.ts';
export type { CompanionRow } from './store/appender.ts';
export { LedgerError } from './errors.ts';
export type { LedgerErrorCode } from './errors.ts';
export { encodeEntry, MAX_ENTRY_BYTES } from './entry.ts';
export type { EncodedEntry } from './entry.ts';
export type { LedgerKeysOption } from './keys/keys.ts';
export {
  DEFAULT_ANCHOR_CONFIRMATIONS,
  DEFAULT_ANCHOR_MAX_FEE_PER_GAS,
  DEFAULT_ANCHOR_TIMEOUT_MS,
} from './anchor/anchorer.ts';
export type { AnchorOptions } from './anchor/anchorer.ts';
export type { AnchorObserver, AnchorStatus } from './anchor/status.ts';
export { encodeAnchorData, ANCHOR_DATA_BYTES } from './anchor/anchor-data.ts';
export { ledgerMigrations } from './store/migrations.ts';
export type { LedgerTables } from './store/tables.ts';
export { fsck } from './store/fsck.ts';
export type { FsckProblem, FsckProblemKind, FsckReport } from './store/fsck.ts';
export { MAX_RANGE as MAX_BUNDLE_ENTRIES } from './store/reader.ts';
export type { BundleOptions, LedgerReader } from './store/reader.ts';
export { formatTilePath, parseTilePath } from './tile-path.ts';
export type { TilePath } from './tile-path.ts';
export { verifyBundle } from './verify/index.ts';
export type {
  AnchorCheck,
  VerificationFailure,
  VerificationReport,
  VerifyBundleOptions,
} from './verify/index.ts';
export {
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
  hashLeaf,
  EMPTY_ROOT,
} from './merkle/index.ts';
export { openNote, parseCheckpoint, parseVerifierKey } from './note/index.ts';
export type {
  AnchorRecord,
  AuditBundle,
  CheckpointRecord,
  ConsistencyProof,
  EntryRecord,
  InclusionProof,
  PublicKeys,
  Sequenced,
  TreeHead,
} from './types.ts';
