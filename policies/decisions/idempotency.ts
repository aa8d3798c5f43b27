import type { Actor } from '../actor.ts';
import { sha256Hex } from '../engine/bundle.ts';
import { canonicalJson } from '../engine/canonical-json.ts';
import { PolicyError } from '../errors.ts';
import { IDEMPOTENCY_KEY_CONSTRAINT, violatesConstraint } from '../tables.ts';
import { receiptOf, unfitForInput, type DecisionReceipt, type IdempotencyClaim } from './decide.ts';
import type { DecisionStore } from './decision-store.ts';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency-key.ts';

/**
 * The claim of a decision request sent with `key`: the key and the sha256 of the body's RFC 8785 JSON, so that
 * a retry that sends the same document, whatever its spacing or key order, is recognised. The body is the
 * request as sent (an `evaluation_id`, not the evidence it names); a part nested too deep to be hashed is
 * refused as the decision itself would refuse it.
 */
export function idempotencyClaim(key: string, request: Readonly<Record<string, unknown>>): IdempotencyClaim {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key))
    throw new TypeError('an Idempotency-Key has 1 to 255 printable ASCII characters');
  for (const [field, value] of Object.entries(request)) {
    const problem = unfitForInput(value);
    if (problem) throw new PolicyError('POLICY_INPUT_INVALID', `${field}: ${problem}`, { field });
  }
  return { key, requestSha256: sha256Hex(canonicalJson(request)) };
}

/**
 * The receipt of the decision that `actor` made earlier with this claim's key, while the key holds (24 hours
 * from that decision's time); undefined when there is none. The same key with another body is not a retry:
 * IDEMPOTENCY_KEY_REUSED.
 */
export async function earlierDecision(
  decisions: DecisionStore,
  actor: Actor,
  claim: IdempotencyClaim,
  now: Date,
): Promise<DecisionReceipt | undefined> {
  const held = await decisions.heldKey(actor, claim.key, now);
  if (!held) return undefined;
  if (held.request_sha256 !== claim.requestSha256)
    throw new PolicyError(
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key ${JSON.stringify(claim.key)} was sent with another request in the last 24 hours ` +
        `(decision ${held.decision_id}); a retry sends the same body, a new request a new key`,
    );
  return receiptOf(await decisions.get(held.decision_id));
}

/** Whether a decision failed to be recorded because another decision holds its Idempotency-Key. */
export function isKeyHeld(err: unknown): boolean {
  return violatesConstraint(err, IDEMPOTENCY_KEY_CONSTRAINT);
}
