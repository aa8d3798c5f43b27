import canonicalize from 'canonicalize';
import type { BundleStore } from '../engine/bundle.ts';
import type { Decision } from '../engine/decision.ts';
import { evaluateOnce } from '../engine/evaluate-once.ts';
import { hashInput } from '../engine/input-document.ts';
import type { Stage } from '../engine/stages.ts';
import type { DecisionStore } from './decision-store.ts';

export interface ReplayResult {
  readonly decision_id: string;
  /** The recomputed decision equals the recorded one, and the stored input still hashes to the recorded hash. */
  readonly matches: boolean;
  readonly input_sha256_matches: boolean;
  readonly policy: { readonly revision: string; readonly bundle_sha256: string };
  readonly recorded: Decision;
  readonly replayed: Decision;
}

/** Recomputes a recorded decision with the exact bundle (by sha256) and input it was made with. */
export async function replayDecision(
  decisionId: string,
  deps: { decisions: DecisionStore; bundles: BundleStore },
): Promise<ReplayResult> {
  const row = await deps.decisions.get(decisionId);
  const bundle = await deps.bundles.get(row.bundle_sha256);
  const input = JSON.parse(row.input) as unknown;
  const recorded = JSON.parse(row.result) as Decision;
  const replayed = await evaluateOnce(bundle, row.stage as Stage, input);
  const inputMatches = hashInput(input) === row.input_sha256;
  return {
    decision_id: row.decision_id,
    matches: inputMatches && canonicalize(recorded) === canonicalize(replayed),
    input_sha256_matches: inputMatches,
    policy: { revision: bundle.revision, bundle_sha256: bundle.sha256 },
    recorded,
    replayed,
  };
}
