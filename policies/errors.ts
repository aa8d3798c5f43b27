export type PolicyErrorCode =
  // building, testing and loading bundles
  | 'POLICY_OPA_FAILED'
  | 'POLICY_TEST_FAILED'
  | 'POLICY_BUILD_FAILED'
  | 'POLICY_BUNDLE_MISSING'
  | 'POLICY_BUNDLE_INVALID'
  | 'POLICY_SOURCE_FAILED'
  // evaluating
  | 'POLICY_EVAL_FAILED'
  | 'POLICY_EVAL_TIMEOUT'
  | 'POLICY_ENGINE_CLOSED'
  | 'POLICY_ENGINE_BUSY'
  // requests refused before evaluation (HTTP 400 in the server's table)
  | 'POLICY_REGION_UNKNOWN'
  | 'POLICY_STAGE_UNKNOWN'
  | 'POLICY_INPUT_INVALID'
  | 'POLICY_MODEL_CARD_INVALID'
  // waivers and recorded decisions; POLICIES_UNAVAILABLE (as the server says of decisions): no bundle with
  // known rules is active, and a waiver is checked against them
  | 'POLICIES_UNAVAILABLE'
  | 'WAIVER_INVALID'
  | 'WAIVER_NOT_FOUND'
  | 'WAIVER_FOUR_EYES'
  | 'WAIVER_NOT_PENDING'
  | 'WAIVER_NOT_ACTIVE'
  | 'DECISION_NOT_FOUND'
  // a decision request whose Idempotency-Key the caller sent, unexpired, with another body
  | 'IDEMPOTENCY_KEY_REUSED';

/**
 * Every failure of the policy module a caller may want to tell apart. `field` names the offending request
 * field (JSON path such as `model_card.owner`) for the codes that refuse a request before evaluation.
 */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly code: PolicyErrorCode;
  readonly field: string | undefined;

  constructor(code: PolicyErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.code = code;
    this.field = options?.field;
  }
}
