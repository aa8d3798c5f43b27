import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PolicyError } from '../errors.ts';
import {
  buildBundle,
  sha256Hex,
  testPolicies,
  type ActiveCommit,
  type BundleStore,
  type OwedRejection,
  type PolicyBundle,
} from './bundle.ts';
import { untar, writeFiles } from './tar.ts';

export interface ActivatedEvent {
  readonly commit: string;
  readonly bundleSha256: string;
  /** `Name <email>` of the commit's author. */
  readonly author: string;
  /** `Name <email>` of who committed it (who merged it, for a merge). */
  readonly committer: string;
  readonly bundle: PolicyBundle;
  /**
   * The last commit that was active before this process started, activated again because the branch's
   * head was rejected: so a restart never leaves the service without policies.
   */
  readonly restored: boolean;
}

/**
 * Why a commit was rejected: opa's own parse, test or compile output, which has no bound (a commit with
 * thousands of failing tests prints megabytes), so only its head is kept, with what identifies the whole.
 */
export interface RejectionReason {
  /** The output, or its first `maxBytes` of UTF-8 when `truncated`. */
  readonly reason: string;
  readonly reason_truncated: boolean;
  /** Of the whole output, as UTF-8. */
  readonly reason_bytes: number;
  readonly reason_sha256: string;
}

export interface RejectedEvent extends RejectionReason {
  readonly commit: string;
  readonly author: string;
  readonly committer: string;
}

export interface GitPolicySourceOptions {
  /**
   * A Git repository: a path on this machine (working copy or bare), or, with `clone`, a URL (https://,
   * ssh://, file://, user@host:path; Git's own credential helpers and SSH keys authenticate).
   */
  readonly repository: string;
  /** Set for a URL: the folder its bare clone is kept in, fetched before every poll and simulation. */
  readonly clone?: string;
  readonly branch: string;
  /** The policy folder inside the repository. Default: the repository root. */
  readonly path?: string;
  /** Extra data built into every bundle, e.g. `policyDataDocument(regions)`. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** Built bundles are kept here by sha256 (replay needs them). */
  readonly bundles: BundleStore;
  /**
   * Makes a bundle active (e.g. `engine.activate`): once it is ready to serve, it calls `announce`, and it
   * switches to the bundle only when that resolves, so no decision is made under a bundle before its
   * activation is recorded. Called only for a commit whose tests passed and whose bundle built. When it throws
   * before announcing, the commit is rejected; when `announce` throws, the previous bundle stays and the commit
   * is tried again at the next poll. Either way the previous bundle stays.
   */
  readonly activate: (bundle: PolicyBundle, announce: () => Promise<void>) => Promise<void>;
  /** Records an activation; called by `announce`, before the bundle serves. */
  readonly onActivated?: (event: ActivatedEvent) => void | Promise<void>;
  readonly onRejected?: (event: RejectedEvent) => void | Promise<void>;
  /**
   * Told each failure behind `last_error`, with git's and the database's own words, for the service's log:
   * the status, which every caller may read, says only what failed, never this server's paths or queries.
   */
  readonly onError?: (err: unknown, summary: string) => void;
  /**
   * Longest any one git command may run (a fetch from a remote that stopped answering, say) before it is
   * stopped and the poll or simulation fails. Default 300,000 ms.
   */
  readonly gitTimeoutMs?: number;
  /** Poll interval. Default 30 s. */
  readonly intervalMs?: number;
  /**
   * Simulations that may wait for their turn (behind a poll or another build) before more are refused at once
   * with POLICY_ENGINE_BUSY: each may cost a build. Default 4.
   */
  readonly maxWaitingSimulations?: number;
  readonly opa?: string;
  readonly git?: string;
  readonly clock?: () => Date;
}

/** What `GET /v1/policies/status` shows. */
export interface PolicySourceStatus {
  readonly repository: string;
  readonly branch: string;
  readonly polling: boolean;
  readonly active: ActiveCommit | null;
  readonly last_rejected:
    | (RejectionReason & {
        readonly commit: string;
        readonly author: string;
        readonly committer: string;
        readonly rejected_at: string;
      })
    | null;
  readonly last_checked_at: string | null;
  /** The last failure to read the repository at all (not a rejected commit). */
  readonly last_error: string | null;
}

/** How one commit stands with the service: see GitPolicySource.standing. */
export interface CommitStanding {
  /**
   * The commit's full name; null when the repository, as last fetched, has no commit by that name (pushed but
   * not fetched yet, or a prefix that names several).
   */
  readonly sha: string | null;
  /** The active commit is this one or descends from it: its changes are in force. */
  readonly contains: boolean;
  /** The last refused commit is this one or descends from it: its changes were refused with it. */
  readonly last_rejected_contains: boolean;
}

export interface GitPolicySource {
  /** Checks the branch once now; resolves when any new commit has been activated or rejected. */
  poll(): Promise<void>;
  /** Polls now and then every `intervalMs` until stop(). */
  start(): Promise<void>;
  stop(): void;
  status(): PolicySourceStatus;
  /**
   * Whether the active commit, and the last refused one, as status() shows them when this is called, contain
   * `commit` (7 to 64 lower-case hex digits): are it, or descend from it (`git merge-base --is-ancestor`). The
   * service tests and builds only a branch's head, so a commit merged before a later one was polled is never
   * activated or refused itself, but its changes are, in the head that contains it. It reads the repository as
   * the last poll fetched it, and never waits behind a poll or a build.
   */
  standing(commit: string): Promise<CommitStanding>;
  /**
   * Tests and builds (and stores) the bundle of any ref, for simulation, activating nothing: a candidate is
   * held to what activation would hold it to. A commit tested and built lately is not built again. It waits
   * its turn behind any poll or other build; past `maxWaitingSimulations` waiting, it fails at once with
   * POLICY_ENGINE_BUSY.
   */
  buildRef(ref: string): Promise<PolicyBundle>;
}

const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_GIT_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_WAITING_SIMULATIONS = 4;
/** Commits whose tested bundle is remembered, so that simulating one again builds nothing. */
const BUILT_COMMITS_KEPT = 32;
/** The most a commit's policy folder may hold, as git exports it. */
const MAX_EXPORT_BYTES = 256 * 1024 * 1024;
/**
 * The head of a rejection's reason given to `onRejected`, which records it: JSON escaping grows a byte to at
 * most six (a control character as \u001b), so even then the entry stays under a ledger entry's 65,535 bytes.
 */
export const RECORDED_REASON_BYTES = 8 * 1024;
/** The head of the last rejection's reason that the status shows: enough for opa's report of most commits. */
const STATUS_REASON_BYTES = 64 * 1024;
/**
 * The longest a decided outcome whose recording failed waits between tries (see `pollOnce`); the wait
 * doubles from one poll up to this.
 */
const MAX_RECORDING_RETRY_MS = 15 * 60_000;
const RESTORE_FAILED = 'the last active bundle could not be restored';

const recordingFailed = (commit: string) => `commit ${commit}: recording its activation or rejection failed`;

/**
 * Follows a branch of a policy repository: on each new commit it runs the Rego tests, builds the Wasm bundle
 * and activates it; a commit that fails any step is rejected with the reason and the active bundle stays.
 */
export function createGitPolicySource(options: GitPolicySourceOptions): GitPolicySource {
  const clock = options.clock ?? (() => new Date());
  const remote = options.clone !== undefined;
  const local = options.clone ?? options.repository;
  const gitTimeoutMs = options.gitTimeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  const runIn = (args: string[]) => runGit(options.git ?? 'git', args, gitTimeoutMs);
  const git = (args: string[]) => runIn(['-C', local, ...args]);
  /** Brings a URL's clone up to date (cloning it the first time); a local repository is read as it is. */
  const sync = async () => {
    if (!remote) return;
    try {
      if (!existsSync(path.join(local, 'HEAD'))) {
        await rm(local, { recursive: true, force: true });
        await runIn(['clone', '--bare', '--quiet', '--', options.repository, local]);
      }
      const refs = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];
      await git(['fetch', '--quiet', '--prune', '--', options.repository, ...refs]);
    } catch (err) {
      // The status and API answers show this message: never the credentials a URL may carry.
      const detail = (err as Error).message.replaceAll(options.repository, redact(options.repository));
      throw new PolicyError('POLICY_SOURCE_FAILED', `fetching ${redact(options.repository)}: ${detail}`, {
        cause: err,
      });
    }
  };
  let active: ActiveCommit | null = null;
  let lastRejected: PolicySourceStatus['last_rejected'] = null;
  let lastCheckedAt: string | null = null;
  let lastError: string | null = null;
  let lastSeen: string | null = null;
  /**
   * The outcome of `lastSeen`, decided (tested, built) but not yet wholly recorded: `finish` does what is
   * left, and polls skip `skip` more turns before trying it again.
   */
  let unrecorded: {
    finish: () => Promise<void>;
    /** Whether what is left holds a refusal not yet in the ledger, which a newer commit must not drop. */
    owed: () => boolean;
    failures: number;
    skip: number;
    /** What the status says while it is left to do. */
    summary: string;
  } | null = null;
  let tookOver = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  const resolveCommit = async (ref: string) =>
    (await git(['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`])).toString('utf8').trim();
  // The branch by its full name: git resolves a bare name to a tag of that name before the branch, and pushing
  // a tag needs no review of the branch. A URL's clone holds the remote's branches under refs/heads too (see
  // sync). HEAD, Arbiter's own checkout, is read as it is.
  const followed = options.branch === 'HEAD' ? 'HEAD' : `refs/heads/${options.branch}`;

  /** Exports the commit's policy folder into a fresh temp folder and builds it; the caller removes `dir`. */
  const checkout = async (commit: string) => {
    const subdir = (options.path ?? '.').replace(/^\.\/?/, '');
    // git archive obeys the commit's own .gitattributes: export-ignore leaves files out (a failing test, a
    // rule) and export-subst rewrites them, so the bundle would not be what reviewers see in the commit.
    // The files that could apply: any inside the policy folder, and one in each folder above it.
    const above = subdir.split('/').map((_, i, parts) => [...parts.slice(0, i), '.gitattributes'].join('/'));
    const listed = await git([
      'ls-tree',
      '-r',
      '-z',
      '--name-only',
      commit,
      '--',
      ...(subdir ? [subdir, ...above] : []),
    ]);
    const attributes = listed
      .toString('utf8')
      .split('\0')
      .find((name) => path.posix.basename(name) === '.gitattributes');
    if (attributes) {
      throw new PolicyError(
        'POLICY_SOURCE_FAILED',
        `commit ${commit} has ${attributes}, which can leave policy files out of what is built or rewrite them; remove it`,
      );
    }
    const archive = await git(['archive', '--format=tar', commit, ...(subdir ? ['--', subdir] : [])]).catch(
      (err: unknown) => {
        // git's own words name the command line and the repository's path on this server.
        const tooLarge =
          ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ===
          'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        throw new PolicyError(
          'POLICY_SOURCE_FAILED',
          tooLarge
            ? `commit ${commit}: ${subdir || 'the repository'} holds more than ${MAX_EXPORT_BYTES} bytes`
            : subdir
              ? `commit ${commit} has no folder ${subdir}`
              : `commit ${commit} cannot be read`,
          { cause: err },
        );
      },
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-src-'));
    try {
      await writeFiles(dir, await untar(archive));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { dir, sourceDir: path.join(dir, subdir) };
  };

  // The bundle (its sha256, in the store) of each commit tested and built lately, least recently used first.
  // The tests and the build of a commit always come out the same here (its files, this source's data, this
  // opa), so a simulation of a commit built before, the active one say, only reads it back.
  const built = new Map<string, string>();
  const remember = (commit: string, sha256: string) => {
    built.delete(commit);
    built.set(commit, sha256);
    if (built.size > BUILT_COMMITS_KEPT) built.delete(built.keys().next().value!);
  };
  const builtBefore = async (commit: string) => {
    const sha256 = built.get(commit);
    if (sha256 === undefined) return undefined;
    // A stored bundle that cannot be read back (removed, damaged) is built again, as if never built.
    const bundle = await options.bundles.get(sha256).catch(() => undefined);
    if (bundle) remember(commit, sha256);
    else built.delete(commit);
    return bundle;
  };

  const testAndBuild = async (commit: string, sourceDir: string, dir: string) => {
    await testPolicies(sourceDir, { opa: options.opa });
    const bundle = await buildBundle({
      sourceDir,
      revision: commit,
      out: path.join(dir, '.bundle.tar.gz'),
      data: options.data,
      opa: options.opa,
    });
    await options.bundles.put(bundle);
    remember(commit, bundle.sha256);
    return bundle;
  };

  /** The commit's activation, with `announce` for `options.activate`; the status shows it once it serves. */
  const activation = (bundle: PolicyBundle, who: ActiveCommit, restored: boolean) => {
    const { commit, author, committer } = who;
    const state = { announced: false };
    const announce = async () => {
      state.announced = true;
      await options.onActivated?.({
        commit,
        bundleSha256: bundle.sha256,
        author,
        committer,
        bundle,
        restored,
      });
    };
    const activated = async () => {
      active = who;
      await options.bundles.setActive(who);
    };
    return { announce, activated, state };
  };

  // Polls and simulations take turns: both fetch into the one clone (two fetches at once fail to lock its
  // refs) and build bundles, and each build runs opa over a checkout. A poll goes before the simulations
  // waiting, so that the activation of a merged commit waits for one build at most, whoever simulates what.
  const waiting = { polls: [] as (() => void)[], simulations: [] as (() => void)[] };
  let busy = false;
  const next = () => {
    const start = waiting.polls.shift() ?? waiting.simulations.shift();
    busy = start !== undefined;
    start?.();
  };
  const exclusive = <T>(queue: (() => void)[], work: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => void work().then(resolve, reject).finally(next));
      if (!busy) next();
    });
  const maxWaitingSimulations = options.maxWaitingSimulations ?? DEFAULT_MAX_WAITING_SIMULATIONS;

  // Whatever failed before activation (tests, build, the engine refusing the bundle) rejects the commit; a
  // failure to record an activation leaves the previous bundle serving, and what is left of the outcome is
  // tried again at a later poll (see pollOnce).
  const consider = async (commit: string) => {
    const [author, committer] = (await git(['log', '-1', '--format=%an <%ae>%x00%cn <%ce>', commit]))
      .toString('utf8')
      .trim()
      .split('\0')
      .map(boundedIdentity) as [string, string];
    let bundle: PolicyBundle;
    let dir: string | undefined;
    try {
      // A commit that cannot be exported (no policy folder, too large, .gitattributes) is rejected as one
      // that fails its tests is: the previous bundle stays, or is restored after a restart.
      const checkedOut = await checkout(commit);
      dir = checkedOut.dir;
      bundle = await testAndBuild(commit, checkedOut.sourceDir, dir);
    } catch (err) {
      // Awaited here, not returned: the finally's own await would leave its failure unhandled meanwhile.
      await settle(recordingFailed(commit), ...rejection({ commit, author, committer }, err));
      return;
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
    const who = {
      commit,
      bundle_sha256: bundle.sha256,
      author,
      committer,
      activated_at: clock().toISOString(),
    };
    const { announce, activated, state } = activation(bundle, who, false);
    let switched = false;
    await settle(recordingFailed(commit), async () => {
      // A retry after the switch only writes the active commit again: announcing twice would record twice.
      if (!switched) {
        try {
          await options.activate(bundle, announce);
        } catch (err) {
          if (state.announced) throw err;
          await settle(recordingFailed(commit), ...rejection({ commit, author, committer }, err));
          return;
        }
        switched = true;
      }
      await activated();
    });
  };

  /**
   * Runs an outcome's `finish`, kept as what is left to do until it has all succeeded; the status shows
   * `summary` while it fails.
   */
  const settle = async (summary: string, finish: () => Promise<void>, owed: () => boolean = () => false) => {
    unrecorded = { finish, owed, failures: 0, skip: 0, summary };
    await finish();
    if (unrecorded?.finish === finish) unrecorded = null;
  };

  /**
   * A commit's rejection: shown at once, then recorded and, after a restart, the last bundle restored. For
   * settle: what is left to do, and whether the record is still owed.
   */
  const rejection = (
    who: Pick<ActiveCommit, 'commit' | 'author' | 'committer'>,
    err: unknown,
  ): [() => Promise<void>, () => boolean] => {
    const reason = err instanceof Error ? err.message : String(err);
    lastRejected = { ...who, ...reasonHead(reason, STATUS_REASON_BYTES), rejected_at: clock().toISOString() };
    return refusal(
      { shown: lastRejected, event: { ...who, ...reasonHead(reason, RECORDED_REASON_BYTES) } },
      false,
    );
  };

  /** Recording a refusal, `kept` already in the store as owed or not; the same pair as `rejection`'s. */
  const refusal = (owed: OwedRejection, kept: boolean): [() => Promise<void>, () => boolean] => {
    let recorded = false;
    const finish = async () => {
      if (!recorded) {
        // Kept before it is recorded: a process that stops before then leaves the record to the next one.
        if (!kept) {
          await options.bundles.setOwedRejection(owed);
          kept = true;
        }
        await options.onRejected?.(owed.event);
        // Once recorded, a restart that finds the same head need neither test it again nor record it twice.
        await options.bundles.setRejected(owed.shown);
        await options.bundles.setOwedRejection(null);
        recorded = true;
      }
      if (!active) await restore();
    };
    return [finish, () => !recorded];
  };

  /**
   * At a process's first poll: a refusal the process before it decided but did not record, if any, which is
   * then owed as if this process had decided it (recorded before any newer commit is considered).
   */
  const takeOverOwed = async () => {
    const owed = await options.bundles.getOwedRejection();
    if (!owed) return;
    lastSeen = owed.shown.commit;
    lastRejected = owed.shown;
    const [finish, isOwed] = refusal(owed, true);
    unrecorded = {
      finish,
      owed: isOwed,
      failures: 0,
      skip: 0,
      summary: recordingFailed(owed.shown.commit),
    };
  };

  /**
   * After a restart whose head is rejected or cannot be read: the bundle that was active before, if the
   * store still has it.
   */
  const restore = async () => {
    const last = await options.bundles.getActive();
    if (!last || !options.bundles.has(last.bundle_sha256)) return;
    const bundle = await options.bundles.get(last.bundle_sha256);
    const { announce, activated } = activation(
      bundle,
      { ...last, activated_at: clock().toISOString() },
      true,
    );
    await options.activate(bundle, announce);
    await activated();
  };

  const failed = (err: unknown, summary: string) => {
    lastError = lastError === null ? summary : `${lastError}; ${summary}`;
    options.onError?.(err, summary);
  };

  const pollOnce = async () => {
    if (!tookOver) {
      tookOver = true;
      await takeOverOwed().catch((e: unknown) =>
        failed(e, 'the refusal owed to the ledger could not be read'),
      );
    }
    let commit: string;
    let step = `cannot fetch ${redact(options.repository)}`;
    try {
      await sync();
      step = `cannot read branch ${options.branch}`;
      commit = await resolveCommit(followed);
      lastError = null;
    } catch (err) {
      lastError = null;
      failed(err, step);
      // A restart while the repository cannot be read: the bundle that was active before serves meanwhile.
      if (!active) await restore().catch((e: unknown) => failed(e, RESTORE_FAILED));
      return;
    } finally {
      lastCheckedAt = clock().toISOString();
    }
    if (commit === lastSeen) {
      // A rejected commit is not tested again: only a new commit can change the outcome. An outcome whose
      // recording failed is not decided again either (opa test over a large commit takes minutes, and its
      // result cannot differ): only what was left is tried, at polls further apart each time it fails, so a
      // ledger that is down for a while is caught up with soon and one that always refuses costs little.
      if (unrecorded) await retryLeft(unrecorded, commit);
      return;
    }
    // A newer commit. What is left of the last one's outcome is dropped, except a refusal not yet recorded:
    // every commit the service refused gets its policy.rejected entry, in the order the commits came. It is
    // tried first, on the same schedule; until it is recorded the newer commit waits, which costs nothing,
    // since the ledger that refuses it would refuse the newer commit's outcome too.
    if (unrecorded?.owed()) {
      await retryLeft(unrecorded, lastSeen!);
      if (unrecorded) return;
    }
    lastSeen = commit;
    unrecorded = null;
    // The head a previous process refused and recorded (this one has just started): its outcome stands. The
    // restore is what is left of it: until it succeeds the service has no policies, so a failure (the ledger
    // refusing the entry that records it, say) is tried again at the next polls, as a recording is.
    if (!active && lastRejected === null) {
      const refused = await options.bundles.getRejected().catch(() => null);
      if (refused?.commit === commit) {
        lastRejected = refused;
        await attempt(commit, () => settle(RESTORE_FAILED, restore));
        return;
      }
    }
    await attempt(commit, () => consider(commit));
  };

  /** What is left of `commit`'s outcome: tried again, unless its schedule skips this poll. */
  const retryLeft = async (left: NonNullable<typeof unrecorded>, commit: string) => {
    if (left.skip > 0) {
      left.skip -= 1;
      lastError = left.summary;
      return;
    }
    await attempt(commit, left.finish);
  };

  const attempt = async (commit: string, work: () => Promise<void>) => {
    try {
      await work();
      unrecorded = null;
    } catch (err) {
      lastError = null;
      if (!unrecorded) {
        // Failed before its outcome was decided (git could not read the commit): the next poll starts over.
        lastSeen = null;
        failed(err, `commit ${commit} could not be read`);
        return;
      }
      // Recording the outcome failed (the ledger, say): the status says so until a later try succeeds.
      failed(err, unrecorded.summary);
      unrecorded.failures += 1;
      const maxSkip = Math.floor(MAX_RECORDING_RETRY_MS / (options.intervalMs ?? DEFAULT_INTERVAL_MS));
      unrecorded.skip = Math.min(2 ** (unrecorded.failures - 1) - 1, Math.max(0, maxSkip - 1));
    }
  };

  const source: GitPolicySource = {
    poll() {
      running ??= exclusive(waiting.polls, pollOnce).finally(() => (running = null));
      return running;
    },
    async start() {
      if (timer) return;
      await source.poll();
      const tick = () => {
        timer = setTimeout(
          () => void source.poll().finally(() => timer && tick()),
          options.intervalMs ?? DEFAULT_INTERVAL_MS,
        );
        timer.unref();
      };
      tick();
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
    status() {
      return {
        repository: redact(options.repository),
        branch: options.branch,
        polling: timer !== null,
        active,
        last_rejected: lastRejected,
        last_checked_at: lastCheckedAt,
        last_error: lastError,
      };
    },
    async standing(name) {
      // Taken now, with the status a caller reads alongside, before any git command gives polls a turn.
      const heads = { active: active?.commit, refused: lastRejected?.commit };
      const sha = /^[0-9a-f]{7,64}$/.test(name) ? await resolveCommit(name).catch(() => null) : null;
      const within = async (head: string | undefined) => {
        if (sha === null || head === undefined) return false;
        if (head === sha) return true;
        // Exit 1: not an ancestor. Any other failure (the head no longer in the clone, say) says no more.
        return git(['merge-base', '--is-ancestor', '--end-of-options', sha, head]).then(
          () => true,
          () => false,
        );
      };
      const [contains, refused] = await Promise.all([within(heads.active), within(heads.refused)]);
      return { sha, contains, last_rejected_contains: refused };
    },
    buildRef(ref) {
      // Any auditor may ask for simulations, each a build of minutes on a large commit: without a bound, one
      // could hold every other simulation back for as long as it liked.
      if (waiting.simulations.length >= maxWaitingSimulations) {
        return Promise.reject(
          new PolicyError(
            'POLICY_ENGINE_BUSY',
            `${waiting.simulations.length} simulations are already waiting for a build; try again shortly`,
          ),
        );
      }
      return exclusive(waiting.simulations, async () => {
        await sync();
        let commit: string;
        try {
          commit = await resolveCommit(ref);
        } catch (err) {
          // git's own words name the command line and the repository's path on this server: not the caller's.
          throw new PolicyError('POLICY_SOURCE_FAILED', `unknown ref ${ref}`, { cause: err });
        }
        const again = await builtBefore(commit);
        if (again) return again;
        const { dir, sourceDir } = await checkout(commit);
        try {
          return await testAndBuild(commit, sourceDir, dir);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    },
  };
  return source;
}

function runGit(git: string, args: string[], timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      git,
      args,
      {
        encoding: 'buffer',
        maxBuffer: MAX_EXPORT_BYTES,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const failure = err as NodeJS.ErrnoException & { killed?: boolean };
        const detail =
          failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
            ? `printed more than ${MAX_EXPORT_BYTES} bytes`
            : failure.killed
              ? `did not finish within ${timeoutMs} ms`
              : stderr.toString('utf8').trim() || failure.message;
        reject(
          new PolicyError('POLICY_SOURCE_FAILED', `git ${args.slice(2).join(' ')}: ${detail}`, {
            cause: err,
          }),
        );
      },
    );
  });
}

/**
 * The longest author or committer recorded, in characters: git takes a name of any length, and the entries
 * that carry it must fit the ledger's 65,535 bytes.
 */
const MAX_IDENTITY_CHARACTERS = 512;

function boundedIdentity(identity: string): string {
  const characters = [...identity];
  return characters.length <= MAX_IDENTITY_CHARACTERS
    ? identity
    : `${characters.slice(0, MAX_IDENTITY_CHARACTERS).join('')}…`;
}

/** At most `maxBytes` of `reason` as UTF-8, cut between characters, with the whole's length and sha256. */
function reasonHead(reason: string, maxBytes: number): RejectionReason {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= maxBytes)
    return { reason, reason_truncated: false, reason_bytes: bytes.length, reason_sha256: sha256Hex(bytes) };
  let end = maxBytes;
  // Back off to the first byte of the character cut through (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return {
    reason: bytes.subarray(0, end).toString('utf8'),
    reason_truncated: true,
    reason_bytes: bytes.length,
    reason_sha256: sha256Hex(bytes),
  };
}

/** The repository as the status shows it: a URL without the password or token it may carry. */
function redact(repository: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(repository)) return repository;
  try {
    const url = new URL(repository);
    if (url.password) url.password = '***';
    else if (url.username && url.protocol !== 'ssh:') url.username = '***';
    return url.toString();
  } catch {
    return repository;
  }
}
