import type { Generated } from 'kysely';

/** The constraint named by the error of a decision row relying on a waiver that is no longer in force. */
export const WAIVERS_IN_FORCE_CONSTRAINT = 'policy_decision_waivers_in_force';

/** The constraint named by the error of a second policy.rejected entry for one commit in one region. */
export const REJECTION_RECORDED_CONSTRAINT = 'policy_rejection_entry_once';

/**
 * Named by the trigger of migration 2026_12_05_0408_policies_activation_entries: the database refuses a
 * policy.activated entry that would name the commit and bundle its region's latest activation already names.
 */
export const ACTIVATION_UNCHANGED_CONSTRAINT = 'policy_activation_entry_changes';

/**
 * Named by the error of a decision row whose Idempotency-Key another decision of the same caller holds, unexpired
 * (migration 2026_12_06_0409_policies_decision_idempotency).
 */
export const IDEMPOTENCY_KEY_CONSTRAINT = 'policy_decision_idempotency_key_once';

/** Whether `err`, or any error in its chain of causes, is the database refusing a row for `constraint`. */
export function violatesConstraint(err: unknown, constraint: string): boolean {
  for (let e: unknown = err; e !== null && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if ((e as { constraint?: unknown }).constraint === constraint) return true;
  }
  return false;
}

export type WaiverStatus = 'requested' | 'approved' | 'rejected' | 'expired' | 'revoked';

/** A requested exception to one rule, for one model in one region, until an expiry. */
export interface PolicyWaiverTable {
  id: string;
  rule: string;
  model: string;
  /** The model version the waiver covers; null: every version. */
  version: string | null;
  region: string;
  reason: string;
  expires_at: Date;
  status: WaiverStatus;
  requested_by: string;
  requested_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
  /** The sequence number of the waiver.requested entry in its region's log (null: requested before 2026-12-02). */
  ledger_seq: number | null;
  /** Who revoked the approved waiver before its expiry, when, and why; null unless revoked. */
  revoked_by: string | null;
  revoked_at: Date | null;
  revocation_note: string | null;
}

/** One status change of a waiver; inserted with its ledger entry, and applied to the waiver by a trigger. */
export interface PolicyWaiverChangeTable {
  waiver_id: string;
  status: Exclude<WaiverStatus, 'requested'>;
  changed_by: string | null;
  changed_at: Date;
  note: string | null;
  ledger_seq: number;
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
  /** The waivers the result relies on (its waived findings'): each must still be in force as the row commits. */
  waiver_ids: string[];
  /** The request's Idempotency-Key, if it sent one; a trigger claims it in policy_decision_idempotency. */
  idempotency_key: string | null;
  /** With idempotency_key: sha256 of the request body's RFC 8785 JSON, which a retry must match. */
  request_sha256: string | null;
  created_at: Generated<Date>;
}

/**
 * The Idempotency-Keys held, per caller (issuer and subject of the decision's actor; '' for no issuer): each
 * names the decision it was first sent with, until 24 hours after that decision's time.
 */
export interface PolicyDecisionIdempotencyTable {
  issuer: string;
  subject: string;
  key: string;
  request_sha256: string;
  decision_id: string;
  expires_at: Date;
}

/** The region logs that hold a commit's policy.rejected entry: at most one each. */
export interface PolicyRejectionEntryTable {
  region: string;
  commit: string;
  ledger_seq: number;
}

export interface PolicyTables {
  policy_waiver: PolicyWaiverTable;
  policy_waiver_change: PolicyWaiverChangeTable;
  policy_decision: PolicyDecisionTable;
  policy_decision_idempotency: PolicyDecisionIdempotencyTable;
  policy_rejection_entry: PolicyRejectionEntryTable;
}
