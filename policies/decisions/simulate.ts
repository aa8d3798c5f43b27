import type { PolicyBundle } from '../engine/bundle.ts';
import type { Decision } from '../engine/decision.ts';
import type { InputDocument } from '../engine/input-document.ts';
import { createPolicyEngine } from '../engine/policy-engine.ts';
import type { Stage } from '../engine/stages.ts';
import type { DecisionFilter, DecisionStore } from './decision-store.ts';

export interface DecisionOutcome {
  readonly allow: boolean;
  /** The rule ids of the blocking denials. */
  readonly deny: readonly string[];
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
}

/**
 * Re-evaluates recorded decisions (each with its own recorded input: clock, evidence and waivers of the day)
 * under a candidate bundle and lists every decision whose outcome would flip, so a policy change can be
 * reviewed before it is merged.
 */
export async function simulateDecisions(options: {
  readonly candidate: PolicyBundle;
  readonly decisions: DecisionStore;
  readonly since: Date;
  readonly filter?: Omit<DecisionFilter, 'since'>;
  readonly poolSize?: number;
}): Promise<SimulationResult> {
  const rows = await options.decisions.list({ ...options.filter, since: options.since });
  const engine = await createPolicyEngine({ bundle: options.candidate, poolSize: options.poolSize ?? 1 });
  try {
    const flips: Flip[] = [];
    await Promise.all(
      rows.map(async (row) => {
        const { decision } = await engine.evaluate(
          row.stage as Stage,
          JSON.parse(row.input) as InputDocument,
        );
        const recorded = outcomeOf(JSON.parse(row.result) as Decision);
        const candidate = outcomeOf(decision);
        if (recorded.allow !== candidate.allow) {
          flips.push({
            decision_id: row.decision_id,
            region: row.region,
            stage: row.stage,
            model: row.model,
            version: row.version,
            decided_at: row.decided_at.toISOString(),
            recorded,
            candidate,
          });
        }
      }),
    );
    flips.sort(
      (a, b) => a.decided_at.localeCompare(b.decided_at) || a.decision_id.localeCompare(b.decision_id),
    );
    return {
      candidate: { revision: options.candidate.revision, bundle_sha256: options.candidate.sha256 },
      evaluated: rows.length,
      flips,
    };
  } finally {
    await engine.close();
  }
}

function outcomeOf(decision: Decision): DecisionOutcome {
  return { allow: decision.allow, deny: [...new Set(decision.deny.map((v) => v.rule))].sort() };
}
