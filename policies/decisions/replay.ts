import canonicalize from 'canonicalize';
import type { BundleStore, PolicyBundle } from '../engine/bundle.ts';
import type { Decision } from '../engine/decision.ts';
import { hashInput, type InputDocument } from '../engine/input-document.ts';
import { createPolicyEngine, type PolicyEngine } from '../engine/policy-engine.ts';
import type { Stage } from '../engine/stages.ts';
import { PolicyError } from '../errors.ts';
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
    /** The engines replays share; without it, the replay starts an engine of its own and stops it after. */
    engines?: ReplayEngines;
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
  const engines =
    deps.engines ??
    new ReplayEngines({
      maxBundles: 1,
      idleMs: 0,
      ...(deps.evaluationTimeoutMs === undefined ? {} : { evaluationTimeoutMs: deps.evaluationTimeoutMs }),
    });
  let replayed: Decision;
  try {
    replayed = await engines.evaluate(bundle, ledgered.stage as Stage, input);
  } finally {
    if (!deps.engines) await engines.close();
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

export interface ReplayEnginesOptions {
  /** Bundles whose engine stays compiled and started between replays, least recently used out first. Default 2. */
  readonly maxBundles?: number;
  /** Replays taken at once, running or waiting (see ReplayEngines.admit). Default 8. */
  readonly maxReplays?: number;
  /** As the policy engine's option: the longest one evaluation may run. */
  readonly evaluationTimeoutMs?: number;
  /** An engine no replay has used for this long is stopped, its worker and memory freed. Default 15 s. */
  readonly idleMs?: number;
}

const DEFAULT_MAX_REPLAY_BUNDLES = 2;
const DEFAULT_MAX_REPLAYS = 8;
const DEFAULT_REPLAY_IDLE_MS = 15_000;

interface ReplayEngine {
  readonly engine: Promise<PolicyEngine>;
  /** Evaluations using it now: it is not stopped under them. */
  users: number;
  idle: NodeJS.Timeout | undefined;
}

/**
 * The policy engines replays run on, apart from the decision engine's workers so that no replay delays a
 * decision: one worker per recorded bundle, compiled once and kept for the next replays of that bundle (a few
 * bundles, least recently used out first, each stopped once idle), and a bound on the replays taken at once,
 * past which a replay is refused at once with POLICY_ENGINE_BUSY (503, Retry-After) rather than queued without
 * end. Replays of one bundle wait in turn for its worker; a replay of yet another bundle while every kept
 * engine is in use is refused the same way, so at most `maxBundles` workers exist.
 */
export class ReplayEngines {
  private readonly options: Required<Omit<ReplayEnginesOptions, 'evaluationTimeoutMs'>> &
    Pick<ReplayEnginesOptions, 'evaluationTimeoutMs'>;
  /** By bundle sha256, in order of last use (the first is the least recently used). */
  private readonly engines = new Map<string, ReplayEngine>();
  private readonly stopping = new Set<Promise<void>>();
  private admitted = 0;

  constructor(options: ReplayEnginesOptions = {}) {
    this.options = {
      maxBundles: options.maxBundles ?? DEFAULT_MAX_REPLAY_BUNDLES,
      maxReplays: options.maxReplays ?? DEFAULT_MAX_REPLAYS,
      idleMs: options.idleMs ?? DEFAULT_REPLAY_IDLE_MS,
      evaluationTimeoutMs: options.evaluationTimeoutMs,
    };
    for (const [name, value] of [
      ['maxBundles', this.options.maxBundles],
      ['maxReplays', this.options.maxReplays],
    ] as const)
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
  }

  /**
   * Runs `replay` as one of the replays taken at once, or refuses it with POLICY_ENGINE_BUSY before it starts
   * (before it reads the decision, whose input may be megabytes).
   */
  async admit<T>(replay: () => Promise<T>): Promise<T> {
    if (this.admitted >= this.options.maxReplays)
      throw new PolicyError(
        'POLICY_ENGINE_BUSY',
        `${this.admitted} replays are running or waiting, the most this service takes at once; retry shortly`,
      );
    this.admitted++;
    try {
      return await replay();
    } finally {
      this.admitted--;
    }
  }

  /** Evaluates `input` at `stage` on the bundle's engine, starting it first if it is not kept. */
  async evaluate(bundle: PolicyBundle, stage: Stage, input: InputDocument): Promise<Decision> {
    const kept = this.engineFor(bundle);
    kept.users++;
    clearTimeout(kept.idle);
    try {
      return (await (await kept.engine).evaluate(stage, input)).decision;
    } finally {
      kept.users--;
      if (kept.users === 0 && this.engines.get(bundle.sha256) === kept)
        kept.idle = setTimeout(() => this.stop(bundle.sha256), this.options.idleMs).unref();
    }
  }

  /** The sha256s of the bundles whose engine is kept now, least recently used first. */
  get bundles(): string[] {
    return [...this.engines.keys()];
  }

  /** Stops every engine (the service is closing); replays still running on one finish first. */
  async close(): Promise<void> {
    for (const sha256 of [...this.engines.keys()]) this.stop(sha256);
    await Promise.all(this.stopping);
  }

  private engineFor(bundle: PolicyBundle): ReplayEngine {
    const kept = this.engines.get(bundle.sha256);
    if (kept) {
      // Now the most recently used.
      this.engines.delete(bundle.sha256);
      this.engines.set(bundle.sha256, kept);
      return kept;
    }
    if (this.engines.size >= this.options.maxBundles) {
      const unused = [...this.engines].find(([, e]) => e.users === 0);
      if (!unused)
        throw new PolicyError(
          'POLICY_ENGINE_BUSY',
          `replays of ${this.engines.size} other policy bundles are running, the most this service runs at once; retry shortly`,
        );
      this.stop(unused[0]);
    }
    const { evaluationTimeoutMs, maxReplays } = this.options;
    const engine = createPolicyEngine({
      bundle,
      poolSize: 1,
      // Never the engine's own refusal: admit() bounds what reaches it.
      maxPendingPerWorker: maxReplays,
      ...(evaluationTimeoutMs === undefined ? {} : { evaluationTimeoutMs }),
    });
    const started: ReplayEngine = { engine, users: 0, idle: undefined };
    this.engines.set(bundle.sha256, started);
    // A bundle that fails to start is not kept: the next replay of it tries again.
    engine.catch(() => {
      if (this.engines.get(bundle.sha256) === started) this.engines.delete(bundle.sha256);
    });
    return started;
  }

  private stop(sha256: string): void {
    const kept = this.engines.get(sha256);
    if (!kept) return;
    this.engines.delete(sha256);
    clearTimeout(kept.idle);
    const stopped = kept.engine.then(
      (engine) => engine.close(),
      () => undefined,
    );
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
  }
}
