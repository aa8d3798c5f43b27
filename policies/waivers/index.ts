export { WaiverStore, WAIVER_APPROVER_ROLE } from './waiver-store.ts';
export { auditWaivers, waiversToCite } from './waiver-audit.ts';
export type {
  AppendWaiverEntry,
  Waiver,
  WaiverChange,
  WaiverEntryType,
  WaiverLedgerEntry,
  WaiverRecord,
  WaiverRequest,
  WaiverRules,
  WaiverStoreOptions,
} from './waiver-store.ts';
