export { buildBundle, readBundle, testPolicies, createBundleStore, sha256Hex } from './engine/bundle.ts';
export type { PolicyBundle, BuildBundleOptions, BundleStore } from './engine/bundle.ts';
export { resolveOpaBinary } from './engine/opa-cli.ts';
export { STAGES, ENTRYPOINTS, entrypointOf, isStage } from './engine/stages.ts';
export type { Stage } from './engine/stages.ts';
export { PolicyError } from './errors.ts';
export type { PolicyErrorCode } from './errors.ts';
export { createPolicyEngine } from './engine/policy-engine.ts';
export type { PolicyEngine, PolicyEngineOptions, Evaluation } from './engine/policy-engine.ts';
export { buildInputDocument, hashInput } from './engine/input-document.ts';
export type { InputDocument, InputParts, Subject, WaiverInput } from './engine/input-document.ts';
export { normalizeDecision } from './engine/decision.ts';
export type { Decision, Violation, Obligation } from './engine/decision.ts';
export { createGitPolicySource } from './engine/git-source.ts';
export type {
  ActivatedEvent,
  RejectedEvent,
  GitPolicySource,
  GitPolicySourceOptions,
  PolicySourceStatus,
} from './engine/git-source.ts';
export { auditWaivers, waiversToCite, WaiverStore, WAIVER_APPROVER_ROLE } from './waivers/index.ts';
export { activationsToCite, auditPolicies } from './decisions/index.ts';
export type { EntryAudit, RecordedEntry } from './entry-audit.ts';
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
} from './waivers/index.ts';
export {
  checkEvent,
  decide,
  DecisionStore,
  DEFAULT_SIMULATION_LIMIT,
  earlierDecision,
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyClaim,
  isKeyHeld,
  receiptOf,
  ReplayEngines,
  replayDecision,
  simulateDecisions,
} from './decisions/index.ts';
export type {
  AppendToLedger,
  DecideDeps,
  DecisionFilter,
  DecisionLedgerEntry,
  DecisionOutcome,
  DecisionReceipt,
  DecisionRequest,
  DecisionRow,
  Flip,
  IdempotencyClaim,
  LedgerReceipt,
  ReplayEnginesOptions,
  ReplayResult,
  SimulationResult,
} from './decisions/index.ts';
export { policyMigrations } from './migrations/index.ts';
export {
  ACTIVATION_UNCHANGED_CONSTRAINT,
  REJECTION_RECORDED_CONSTRAINT,
  violatesConstraint,
} from './tables.ts';
export type {
  PolicyTables,
  PolicyRejectionEntryTable,
  PolicyWaiverTable,
  PolicyWaiverChangeTable,
  PolicyDecisionTable,
  WaiverStatus,
} from './tables.ts';
export type { Actor } from './actor.ts';
