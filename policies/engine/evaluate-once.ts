import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { PolicyError } from '../errors.ts';
import type { PolicyBundle } from './bundle.ts';
import { normalizeDecision, type Decision } from './decision.ts';
import { entrypointOf, type Stage } from './stages.ts';

/**
 * Evaluates one input on a bundle in this thread, without a worker pool: for replaying a single recorded
 * decision, where starting workers would cost more than the evaluation.
 */
export async function evaluateOnce(bundle: PolicyBundle, stage: Stage, input: unknown): Promise<Decision> {
  let resultSet: unknown;
  try {
    const policy = await loadPolicy(bundle.wasm);
    policy.setData(bundle.data as object);
    resultSet = policy.evaluate(input, entrypointOf(stage));
  } catch (err) {
    // The SDK throws strings (OPA.md gotcha c).
    throw new PolicyError('POLICY_EVAL_FAILED', `policy evaluation failed: ${String(err)}`, { cause: err });
  }
  try {
    return normalizeDecision(Array.isArray(resultSet) ? resultSet[0]?.result : undefined);
  } catch (err) {
    throw new PolicyError('POLICY_EVAL_FAILED', `${entrypointOf(stage)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
