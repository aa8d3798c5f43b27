import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Ledger } from '../../ledger/index.ts';
import {
  createBundleStore,
  createGitPolicySource,
  createPolicyEngine,
  DecisionStore,
  WaiverStore,
  type BundleStore,
  type GitPolicySource,
  type PolicyBundle,
  type PolicyEngine,
  ACTIVATION_UNCHANGED_CONSTRAINT,
  REJECTION_RECORDED_CONSTRAINT,
  violatesConstraint,
  type PolicyTables,
} from '../../policies/index.ts';
import { policyDataDocument, type Region } from '../../regions/index.ts';
import { isRepositoryUrl } from '../config.ts';
import { ServerError } from '../errors.ts';

/** Where the service takes its policies from: a Git repository, a branch, a folder in it. */
export interface PolicySourceConfig {
  readonly repository: string | undefined;
  readonly branch: string | undefined;
  readonly path: string | undefined;
  readonly pollIntervalMs: number;
}

/** Arbiter's own checkout: its `policies/` folder at HEAD is the default policy source. */
const BUILTIN_POLICY_SOURCE = {
  repository: fileURLToPath(new URL('../..', import.meta.url)),
  branch: 'HEAD',
  path: 'policies',
} as const;

/** How often expired waivers are marked expired (and that recorded); policies never honour them regardless. */
const WAIVER_EXPIRY_INTERVAL_MS = 60_000;

export interface PolicySubsystem {
  readonly source: GitPolicySource;
  readonly bundles: BundleStore;
  readonly decisions: DecisionStore;
  readonly waivers: WaiverStore;
  /** The engine, once a commit has been activated. */
  engine(): PolicyEngine;
  /** The engine's limit on one evaluation, for replays and simulations that run outside it. */
  readonly evaluationTimeoutMs: number;
  ready(): boolean;
  close(): Promise<void>;
}

/**
 * Policies as the service runs them: a Git branch followed by polling; each new commit tested, compiled to
 * Wasm and activated atomically, or refused while the old bundle stays. Every activation and refusal is
 * recorded in every region's ledger, so any region's auditor sees which policy was in force when.
 */
export async function startPolicies(options: {
  readonly db: Kysely<PolicyTables>;
  readonly ledger: Ledger;
  readonly regions: ReadonlyMap<string, Region>;
  readonly source: PolicySourceConfig;
  /** Policy worker threads (the engine's pool). */
  readonly workers: number;
  /** The engine's limit on one evaluation. */
  readonly evaluationTimeoutMs: number;
  /** Evaluations waiting or running per worker before the engine refuses more (POLICY_ENGINE_BUSY). */
  readonly maxPendingPerWorker: number;
  readonly dataDir: string;
  readonly clock: () => Date;
  readonly log: Logger;
}): Promise<PolicySubsystem> {
  const { ledger, regions, clock, log } = options;
  const bundles = createBundleStore(path.join(options.dataDir, 'bundles'));
  let engine: PolicyEngine | undefined;
  // An outcome whose recording failed part-way is tried again (see createGitPolicySource): the retry appends
  // the same entry, and only to the regions it has not reached, so that no region records an outcome twice.
  const recording = new Map<string, { entry: Record<string, unknown>; done: Set<string> }>();
  // `once`: the entry's companion row (its region added), committed with it, and the constraint by which the
  // database refuses the row, and with it the entry, as already recorded; such a region counts as recorded.
  // A refusal still owed when a process stopped is recorded by the next one, and two replicas refuse the same
  // commit: policy_rejection_entry is keyed by region and commit. Every process announces the bundle it
  // activates on its first poll, so each restart and each replica would record it again:
  // policy_activation_entry refuses an activation its region's latest one already names.
  const recordInEveryRegion = async (
    key: string,
    entryOf: () => Record<string, unknown>,
    once: { table: string; values: Record<string, unknown>; constraint: string },
  ) => {
    let pending = recording.get(key);
    if (!pending) recording.set(key, (pending = { entry: entryOf(), done: new Set() }));
    for (const region of regions.keys()) {
      if (pending.done.has(region)) continue;
      const row = { table: once.table, values: { region, ...once.values }, seqColumn: 'ledger_seq' };
      try {
        await ledger.append(region, pending.entry, { companion: () => row });
      } catch (err) {
        if (!violatesConstraint(err, once.constraint)) throw err;
      }
      pending.done.add(region);
    }
    recording.delete(key);
  };
  const configured = options.source.repository !== undefined;
  const where = configured
    ? {
        repository: options.source.repository!,
        branch: options.source.branch ?? 'main',
        path: options.source.path,
      }
    : BUILTIN_POLICY_SOURCE;
  const source = createGitPolicySource({
    ...where,
    clone: isRepositoryUrl(where.repository)
      ? path.join(options.dataDir, 'policy-repository.git')
      : undefined,
    data: policyDataDocument(regions),
    bundles,
    intervalMs: options.source.pollIntervalMs,
    clock,
    onError: (err, summary) => log.error({ err }, `policy source: ${summary}`),
    activate: async (bundle: PolicyBundle, announce) => {
      if (engine) return engine.activate(bundle, announce);
      // The first bundle: nothing is decided before the engine is kept, so it can be recorded after it starts.
      const first = await createPolicyEngine({
        bundle,
        poolSize: options.workers,
        evaluationTimeoutMs: options.evaluationTimeoutMs,
        maxPendingPerWorker: options.maxPendingPerWorker,
      });
      await announce().catch(async (err: unknown) => {
        await first.close();
        throw err;
      });
      engine = first;
    },
    onActivated: async (event) => {
      // A restore means the branch is not being followed: an operator must see it.
      log[event.restored ? 'warn' : 'info'](
        {
          commit: event.commit,
          bundle: event.bundleSha256,
          committer: event.committer,
          restored: event.restored,
        },
        event.restored
          ? 'the branch head was rejected or could not be read; the last active policy was activated again'
          : 'policy activated',
      );
      await recordInEveryRegion(
        `policy.activated ${event.commit} ${event.restored}`,
        () => ({
          type: 'policy.activated',
          commit: event.commit,
          bundle_sha256: event.bundleSha256,
          author: event.author,
          committer: event.committer,
          branch: where.branch,
          ...(event.restored ? { restored: true } : {}),
          at: clock().toISOString(),
        }),
        {
          table: 'policy_activation_entry',
          values: { commit: event.commit, bundle_sha256: event.bundleSha256 },
          constraint: ACTIVATION_UNCHANGED_CONSTRAINT,
        },
      );
    },
    onRejected: async (event) => {
      log.warn(
        {
          commit: event.commit,
          committer: event.committer,
          reason: event.reason,
          reason_truncated: event.reason_truncated,
          reason_bytes: event.reason_bytes,
        },
        'policy commit rejected',
      );
      // The reason is the head of opa's output, small enough for a ledger entry; the whole output's length
      // and sha256 say what it was cut from.
      await recordInEveryRegion(
        `policy.rejected ${event.commit}`,
        () => ({
          type: 'policy.rejected',
          commit: event.commit,
          author: event.author,
          committer: event.committer,
          reason: event.reason,
          reason_truncated: event.reason_truncated,
          reason_bytes: event.reason_bytes,
          reason_sha256: event.reason_sha256,
          at: clock().toISOString(),
        }),
        {
          table: 'policy_rejection_entry',
          values: { commit: event.commit },
          constraint: REJECTION_RECORDED_CONSTRAINT,
        },
      );
    },
  });
  // The first poll activates the branch's head before the service answers; later commits arrive by polling.
  await source.start();
  if (!engine)
    log.error({ status: source.status() }, 'no policy bundle could be activated; decisions are refused');
  const waivers = new WaiverStore(options.db, {
    clock,
    regions: new Set(regions.keys()),
    rules: () => {
      const { rules, nonWaivableRules } = engine?.bundle ?? {};
      // A bundle restored from a store written before it kept the rules' waivability lists only its ids.
      return rules && nonWaivableRules
        ? { ids: new Set(rules), nonWaivable: new Set(nonWaivableRules) }
        : undefined;
    },
    append: (region, entry, record) => ledger.append(region, { ...entry }, { companion: () => record }),
  });
  const expiry = setInterval(() => {
    void waivers
      .expireDue()
      .then((changes) => {
        for (const { waiver, ledger: receipt } of changes)
          log.info({ waiver: waiver.id, seq: receipt.seq }, 'waiver expired');
      })
      .catch((err: unknown) => log.error({ err }, 'expiring waivers failed'));
  }, WAIVER_EXPIRY_INTERVAL_MS);
  expiry.unref();
  return {
    source,
    bundles,
    decisions: new DecisionStore(options.db),
    waivers,
    engine: () => {
      if (!engine)
        throw new ServerError(
          'POLICIES_UNAVAILABLE',
          'no policy bundle is active; see GET /v1/policies/status',
        );
      return engine;
    },
    evaluationTimeoutMs: options.evaluationTimeoutMs,
    ready: () => engine !== undefined,
    close: async () => {
      clearInterval(expiry);
      source.stop();
      await engine?.close();
    },
  };
}
