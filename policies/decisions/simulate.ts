import type { PolicyBundle } from '../engine/bundle.ts';
import type { Decision } from '../engine/decision.ts';
import type { InputDocument } from '../engine/input-document.ts';
import { createPolicyEngine, type PolicyEngine } from '../engine/policy-engine.ts';
import type { Stage } from '../engine/stages.ts';
import { PolicyError, type PolicyErrorCode } from '../errors.ts';
import type { DecisionFilter, DecisionRow, DecisionStore } from './decision-store.ts';

export interface DecisionOutcome {
  readonly allow: boolean;
  /** The rule ids of the blocking denials. */
  readonly deny: readonly string[];
  /** Why the candidate could not decide (a policy evaluation error): in service, such an event gets no decision. */
  readonly error?: string;
}

/** A recorded decision whose allow/deny would change under the candidate policy. */
export interface Flip {
  readonly decision_id: string;
  readonly region: string;
  readonly stage: string;
  readonly model: string;
  readonly version: string;
  readonly decided_at: string;
  readonly recorded: DecisionOutcome;
  readonly candidate: DecisionOutcome;
}

export interface SimulationResult {
  readonly candidate: { readonly revision: string; readonly bundle_sha256: string };
  readonly evaluated: number;
  readonly flips: readonly Flip[];
  /** False when more decisions match than `limit`: those after `last_decision_id` are still to simulate. */
  readonly complete: boolean;
  /** decided_at of the last decision evaluated (oldest first); absent when none was. */
  readonly evaluated_through?: string;
  /** The last decision evaluated: simulate again `after` it for the rest (decisions share instants). */
  readonly last_decision_id?: string;
}

export const DEFAULT_SIMULATION_LIMIT = 10_000;
// Decisions read and evaluated at a time: memory stays bounded however long the history.
const PAGE = 500;

/**
 * Re-evaluates recorded decisions (each with its own recorded input: clock, evidence and waivers of the day)
 * under a candidate bundle and lists every decision whose outcome would flip, so a policy change can be
 * reviewed before it is merged. Oldest first, a page at a time, at most `limit` decisions; a decision the
 * candidate cannot evaluate is listed as a flip with the error.
 */
export async function simulateDecisions(options: {
  readonly candidate: PolicyBundle;
  readonly decisions: DecisionStore;
  readonly since: Date;
  readonly filter?: Omit<DecisionFilter, 'since' | 'after' | 'limit' | 'newestFirst'>;
  /** Resume after this decision (the last one a limited simulation evaluated). */
  readonly after?: DecisionRow;
  readonly limit?: number;
  readonly poolSize?: number;
  /** As the policy engine's option: the longest one evaluation may run before it is a flip with an error. */
  readonly evaluationTimeoutMs?: number;
}): Promise<SimulationResult> {
  const limit = options.limit ?? DEFAULT_SIMULATION_LIMIT;
  const engine = await createPolicyEngine({
    bundle: options.candidate,
    poolSize: options.poolSize ?? 1,
    ...(options.evaluationTimeoutMs === undefined
      ? {}
      : { evaluationTimeoutMs: options.evaluationTimeoutMs }),
  });
  try {
    const flips: Flip[] = [];
    let evaluated = 0;
    let last: DecisionRow | undefined = options.after;
    let lastEvaluated: DecisionRow | undefined;
    let complete = true;
    for (;;) {
      // One row more than is left to evaluate tells whether the limit cut the history short.
      const page = await options.decisions.list({
        ...options.filter,
        since: options.since,
        after: last,
        limit: Math.min(PAGE, limit - evaluated + 1),
      });
      const rows = page.slice(0, limit - evaluated);
      if (page.length > rows.length) complete = false;
      await Promise.all(
        rows.map(async (row) => {
          const flip = await flipOf(engine, row);
          if (flip) flips.push(flip);
        }),
      );
      evaluated += rows.length;
      lastEvaluated = rows.at(-1) ?? lastEvaluated;
      last = lastEvaluated ?? last;
      if (!complete || page.length < PAGE) break;
    }
    flips.sort(
      (a, b) => a.decided_at.localeCompare(b.decided_at) || a.decision_id.localeCompare(b.decision_id),
    );
    return {
      candidate: { revision: options.candidate.revision, bundle_sha256: options.candidate.sha256 },
      evaluated,
      flips,
      complete,
      ...(lastEvaluated
        ? {
            evaluated_through: lastEvaluated.decided_at.toISOString(),
            last_decision_id: lastEvaluated.decision_id,
          }
        : {}),
    };
  } finally {
    await engine.close();
  }
}

async function flipOf(engine: PolicyEngine, row: DecisionRow): Promise<Flip | null> {
  const recorded = outcomeOf(JSON.parse(row.result) as Decision);
  let candidate: DecisionOutcome;
  try {
    const { decision } = await engine.evaluate(row.stage as Stage, JSON.parse(row.input) as InputDocument);
    candidate = outcomeOf(decision);
  } catch (err) {
    if (!(err instanceof PolicyError) || !EVALUATION_FAILURES.has(err.code)) throw err;
    candidate = { allow: false, deny: [], error: err.message };
  }
  if (recorded.allow === candidate.allow && !candidate.error) return null;
  return {
    decision_id: row.decision_id,
    region: row.region,
    stage: row.stage,
    model: row.model,
    version: row.version,
    decided_at: row.decided_at.toISOString(),
    recorded,
    candidate,
  };
}

/** Failures of the candidate on one recorded input: flips with the error, not a failed simulation. */
const EVALUATION_FAILURES = new Set<PolicyErrorCode>(['POLICY_EVAL_FAILED', 'POLICY_EVAL_TIMEOUT']);

function outcomeOf(decision: Decision): DecisionOutcome {
  return { allow: decision.allow, deny: [...new Set(decision.deny.map((v) => v.rule))].sort() };
}
