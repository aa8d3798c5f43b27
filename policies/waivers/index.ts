export { WaiverStore, WAIVER_APPROVER_ROLE } from './waiver-store.ts';
export type {
  Waiver,
  WaiverChange,
  WaiverEntryType,
  WaiverLedgerEntry,
  WaiverRequest,
  WaiverStoreOptions,
} from './waiver-store.ts';
