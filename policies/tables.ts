import type { Generated } from 'kysely';

export type WaiverStatus = 'requested' | 'approved' | 'rejected' | 'expired';

/** A requested exception to one rule, for one model in one region, until an expiry. */
export interface PolicyWaiverTable {
  id: string;
  rule: string;
  model: string;
  region: string;
  reason: string;
  expires_at: Date;
  status: WaiverStatus;
  requested_by: string;
  requested_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
}

/** Every decision made, with the exact input document, so it can be replayed and simulated. */
export interface PolicyDecisionTable {
  decision_id: string;
  region: string;
  stage: string;
  model: string;
  version: string;
  /** The input document as RFC 8785 canonical JSON: its sha256 is input_sha256. */
  input: string;
  input_sha256: string;
  /** The decision document (normalized) as JSON. */
  result: string;
  allow: boolean;
  revision: string;
  bundle_sha256: string;
  actor: string;
  decided_at: Date;
  ledger_seq: number;
  leaf_hash: string;
  created_at: Generated<Date>;
}

export interface PolicyTables {
  policy_waiver: PolicyWaiverTable;
  policy_decision: PolicyDecisionTable;
}
