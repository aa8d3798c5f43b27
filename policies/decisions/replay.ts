import canonicalize from 'canonicalize';
import type { BundleStore } from '../engine/bundle.ts';
import type { Decision } from '../engine/decision.ts';
import { hashInput, type InputDocument } from '../engine/input-document.ts';
import { createPolicyEngine } from '../engine/policy-engine.ts';
import type { Stage } from '../engine/stages.ts';
import { hashDecision, type DecisionLedgerEntry } from './decide.ts';
import type { DecisionStore } from './decision-store.ts';

export interface ReplayResult {
  readonly decision_id: string;
  /**
   * The recomputed decision equals the one in the ledger, the stored input hashes to the ledger's input
   * hash, and the stored record agrees with the ledger.
   */
  readonly matches: boolean;
  readonly input_sha256_matches: boolean;
  /** The database's copy of the decision (result, input hash, bundle) is the one its ledger entry holds. */
  readonly stored_record_matches_ledger: boolean;
  readonly policy: { readonly revision: string; readonly bundle_sha256: string };
  readonly ledger: { readonly region: string; readonly seq: number };
  /**
   * The decision as its ledger entry records it; for an entry that holds only the decision's hash, the stored
   * document, which `stored_record_matches_ledger` says hashes to it.
   */
  readonly recorded: Decision;
  readonly replayed: Decision;
}

/**
 * Recomputes a recorded decision with the exact bundle (by sha256) and input it was made with, and checks it
 * against the decision's ledger entry: the database row supplies only the input document, which must hash
 * to what the ledger says was decided on.
 */
export async function replayDecision(
  decisionId: string,
  deps: {
    decisions: DecisionStore;
    bundles: BundleStore;
    /** The ledger entry at `seq` of `region`'s log. */
    ledgerEntry: (region: string, seq: number) => Promise<Record<string, unknown>>;
    /** As the policy engine's option: the longest the evaluation may run. */
    evaluationTimeoutMs?: number;
  },
): Promise<ReplayResult> {
  const row = await deps.decisions.get(decisionId);
  const entry = await deps.ledgerEntry(row.region, row.ledger_seq);
  const stored: Decision = JSON.parse(row.result);
  // What the ledger says was decided; a row pointing at another entry is replayed from its own fields, and
  // can only fail to match.
  const ofThisDecision = entry.type === 'decision' && entry.decision_id === row.decision_id;
  const ledgered = ofThisDecision
    ? (entry as unknown as DecisionLedgerEntry)
    : {
        stage: row.stage,
        input_sha256: row.input_sha256,
        policy: { bundle_sha256: row.bundle_sha256 },
        result: stored,
        result_sha256: undefined,
      };
  // A summarised entry holds the decision's hash, not the decision: a document is what it recorded if it
  // hashes to that.
  const recordedAs = (decision: Decision): boolean =>
    ledgered.result === undefined
      ? hashDecision(decision) === ledgered.result_sha256
      : canonicalize(ledgered.result) === canonicalize(decision);
  const bundle = await deps.bundles.get(ledgered.policy.bundle_sha256);
  const input = JSON.parse(row.input) as InputDocument;
  // On a worker thread of its own, as decisions are made: a large input evaluates for seconds, and the
  // service's event loop must not wait on it.
  const engine = await createPolicyEngine({
    bundle,
    poolSize: 1,
    ...(deps.evaluationTimeoutMs === undefined ? {} : { evaluationTimeoutMs: deps.evaluationTimeoutMs }),
  });
  let replayed: Decision;
  try {
    replayed = (await engine.evaluate(ledgered.stage as Stage, input)).decision;
  } finally {
    await engine.close();
  }
  const inputMatches = hashInput(input) === ledgered.input_sha256;
  const storedMatches =
    ofThisDecision &&
    ledgered.input_sha256 === row.input_sha256 &&
    ledgered.policy.bundle_sha256 === row.bundle_sha256 &&
    recordedAs(stored);
  return {
    decision_id: row.decision_id,
    matches: inputMatches && storedMatches && recordedAs(replayed),
    input_sha256_matches: inputMatches,
    stored_record_matches_ledger: storedMatches,
    policy: { revision: bundle.revision, bundle_sha256: bundle.sha256 },
    ledger: { region: row.region, seq: row.ledger_seq },
    recorded: ledgered.result ?? stored,
    replayed,
  };
}
