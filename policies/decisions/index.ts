export { checkEvent, decide, receiptOf } from './decide.ts';
export type {
  AppendToLedger,
  DecideDeps,
  IdempotencyClaim,
  DecisionLedgerEntry,
  DecisionReceipt,
  DecisionRequest,
  LedgerReceipt,
} from './decide.ts';
export { DecisionStore } from './decision-store.ts';
export { earlierDecision, idempotencyClaim, isKeyHeld } from './idempotency.ts';
export { IDEMPOTENCY_KEY_PATTERN } from './idempotency-key.ts';
export { activationsToCite, auditPolicies } from './policy-audit.ts';
export type { DecisionFilter, DecisionRecord, DecisionRow } from './decision-store.ts';
export { ReplayEngines, replayDecision } from './replay.ts';
export type { ReplayEnginesOptions, ReplayResult } from './replay.ts';
export { DEFAULT_SIMULATION_LIMIT, simulateDecisions } from './simulate.ts';
export type { DecisionOutcome, Flip, SimulationResult } from './simulate.ts';
