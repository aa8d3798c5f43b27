import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import {
  callApi,
  DEFAULT_REQUEST_TIMEOUT_S,
  describeRequestTimeout,
  requireServerTarget,
  type RequestOptions,
} from './client.ts';
import { CliFailure, fileErrorReason, printable } from './output.ts';

const DEFAULT_POLICY_DIR = 'policies';
// How many uncommitted files a refusal names before it only counts the rest.
const DIRTY_FILES_SHOWN = 5;

/** Runs git in `dir`; a failure is one line for the user: git's own first line, never a stack trace. */
async function git(dir: string, args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  try {
    return (await promisify(execFile)('git', ['-C', dir, ...args], { encoding: 'utf8' })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const detail = (e.stderr?.trim() || e.message).split('\n')[0]!.replace(/^fatal: /, '');
    throw new CliFailure(`cannot read the Git revision of ${dir}: ${detail}; name one with --revision REV`);
  }
}

/** Names, besides `*.rego`, of the files opa's bundle loader (`opa build -b`) reads wherever they lie. */
const BUNDLE_FILE_NAMES = new Set([
  '.manifest',
  '.signatures.json',
  'data.json',
  'data.yaml',
  'data.yml',
  'patch.json',
  'plan.json',
  'policy.wasm',
]);

const entersBundle = (file: string) =>
  file.endsWith('.rego') || BUNDLE_FILE_NAMES.has(path.posix.basename(file));

/**
 * The HEAD commit of the folder's repository, which the bundle records as its revision: refused when the
 * folder has uncommitted changes, since the bundle would then not be what that commit holds. Files Git
 * ignores count when opa would build them in (a data.json a .gitignore keeps out of every commit, say); the
 * others (a bundle written into the folder, an editor's backup) change nothing.
 */
async function committedRevision(dir: string): Promise<string> {
  const revision = (await git(dir, ['rev-parse', 'HEAD'])).trim();
  const changed = (await git(dir, ['status', '--porcelain', '--untracked-files=all', '--', '.']))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(3));
  const ignored = (
    await git(dir, [
      'ls-files',
      '-z',
      '--others',
      '--ignored',
      '--exclude-standard',
      '--full-name',
      '--',
      '.',
    ])
  )
    .split('\0')
    .filter((file) => file !== '' && entersBundle(file));
  changed.push(...ignored.map((file) => `${file} (ignored by Git)`));
  if (changed.length > 0) {
    const more = changed.length > DIRTY_FILES_SHOWN ? ` and ${changed.length - DIRTY_FILES_SHOWN} more` : '';
    throw new CliFailure(
      `${dir} has uncommitted changes (${changed.slice(0, DIRTY_FILES_SHOWN).join(', ')}${more}), ` +
        `so HEAD ${revision.slice(0, 12)} would not describe the bundle: commit them, or name the revision with --revision REV`,
    );
  }
  return revision;
}

/**
 * The policy folder, resolved. opa runs in it: without this check, a missing folder fails as
 * "spawn …/opa ENOENT", as if opa were the thing missing.
 */
async function policyFolder(dir: string): Promise<string> {
  const resolved = path.resolve(dir);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(resolved)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliFailure(`no policy folder ${dir}`);
    throw new CliFailure(`cannot read policy folder ${dir}: ${fileErrorReason(err)}`);
  }
  if (!isDirectory) throw new CliFailure(`${dir} is not a policy folder: it is a file`);
  return resolved;
}

/** GET /v1/policies/status, as far as the CLI reads it. */
export interface PolicyStatus {
  readonly active: { readonly revision: string; readonly bundle_sha256: string } | null;
  readonly source: {
    readonly repository: string;
    readonly branch: string;
    readonly polling: boolean;
    readonly active: { readonly committer: string; readonly activated_at: string } | null;
    readonly last_rejected: {
      readonly commit: string;
      readonly committer: string;
      readonly rejected_at: string;
      readonly reason: string;
      readonly reason_truncated: boolean;
      readonly reason_bytes: number;
    } | null;
    readonly last_checked_at: string | null;
    readonly last_error: string | null;
  };
  /** With `?commit=`: whether the active commit, and the last refused one, contain it. */
  readonly commit?: {
    readonly sha: string | null;
    readonly contains: boolean;
    readonly last_rejected_contains: boolean;
  };
}

/**
 * What became of a commit waited for: active itself, or contained in the active commit (a later one, merged on
 * top before the service polled, was activated with it); refused itself, or superseded by a later refused
 * commit that contains it; or none of these yet.
 */
export type CommitOutcome = 'active' | 'contained' | 'refused' | 'superseded' | 'pending';

const DEFAULT_WAIT_SECONDS = 300;
/**
 * How long a simulation may take to answer: the service builds the candidate (minutes, for a large commit),
 * perhaps behind the policy poll and other simulations' builds, then re-evaluates up to 100,000 decisions.
 */
const SIMULATE_TIMEOUT_S = 900;
const STATUS_POLL_MS = 1000;
/** Lines of a refusal's reason printed; --json gives the whole head the service keeps. */
const REASON_LINES_SHOWN = 40;

/** What a caller sees of a commit: it may be short, as `git log --oneline` prints it. */
const isCommitPrefix = (value: string) => /^[0-9a-f]{7,64}$/.test(value);

function printStatus(status: PolicyStatus): void {
  const { source, active } = status;
  console.log(
    `policies from ${printable(source.repository)}, branch ${printable(source.branch)}` +
      `${source.polling ? '' : ' (not polling)'}; last checked ${source.last_checked_at ?? 'never'}`,
  );
  console.log(
    active
      ? `active:       commit ${active.revision}, bundle ${active.bundle_sha256}` +
          (source.active
            ? `\n              committed by ${printable(source.active.committer)}, active since ${source.active.activated_at}`
            : '')
      : 'active:       none: decisions are refused until a commit passes its tests and builds',
  );
  const refused = source.last_rejected;
  if (refused) {
    console.log(
      `last refused: commit ${refused.commit}, committed by ${printable(refused.committer)}, at ${refused.rejected_at}`,
    );
    const lines = refused.reason.split('\n');
    for (const line of lines.slice(0, REASON_LINES_SHOWN)) console.log(`  ${printable(line)}`);
    if (lines.length > REASON_LINES_SHOWN || refused.reason_truncated)
      console.log(`  … (${refused.reason_bytes} bytes in all; --json shows what the service keeps)`);
  }
  if (source.last_error) console.log(`last error:   ${printable(source.last_error)}`);
}

/**
 * Polls the status until `commit` is active or refused, in itself or in a later commit that contains it, or
 * `seconds` pass: what a policy repository's pipeline runs after a merge. The service tests only its branch's
 * head, so a commit merged just before another is never activated or refused itself. `readStatus` is given the
 * deadline, to bound its request by; a status read with `?commit=` says whether the active and last refused
 * commits contain it, and without it only the commit itself counts. Active comes first: a commit refused, or
 * refused within a later one, whose changes a later fix brought into force, is contained in the active one.
 */
export async function waitForCommit(
  readStatus: (deadline: NonNullable<RequestOptions['deadline']>) => Promise<PolicyStatus>,
  commit: string,
  seconds: number,
): Promise<{ status: PolicyStatus; outcome: CommitOutcome }> {
  const deadline = { at: Date.now() + seconds * 1000, flag: `--timeout ${seconds}` };
  let last: PolicyStatus | undefined;
  for (;;) {
    let status: PolicyStatus;
    try {
      status = await readStatus(deadline);
    } catch (err) {
      // A read the deadline cut off: the wait ends as it would have, on the status read before.
      if (last && err instanceof CliFailure && err.service === 'timeout' && Date.now() >= deadline.at)
        return { status: last, outcome: 'pending' };
      throw err;
    }
    last = status;
    if (status.active?.revision.startsWith(commit)) return { status, outcome: 'active' };
    if (status.active && status.commit?.contains) return { status, outcome: 'contained' };
    if (status.source.last_rejected?.commit.startsWith(commit)) return { status, outcome: 'refused' };
    if (status.source.last_rejected && status.commit?.last_rejected_contains)
      return { status, outcome: 'superseded' };
    if (Date.now() >= deadline.at) return { status, outcome: 'pending' };
    await new Promise((r) => setTimeout(r, STATUS_POLL_MS));
  }
}

/** `arbiter policy test | build | simulate | status`: what a policy author runs before and after a change. */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('test, build and simulate policies; see which commit the service runs');

  policy
    .command('test')
    .description('run the Rego tests (opa test) of a policy folder: exit 0 pass, 1 fail, 2 error')
    .argument('[dir]', 'policy folder', DEFAULT_POLICY_DIR)
    .action(async (dir: string) => {
      const folder = await policyFolder(dir);
      const { testPolicies } = await import('../../policies/index.ts');
      try {
        console.log(await testPolicies(folder));
      } catch (err) {
        // 1 for what opa reported, through its exit code; 2 when it did not run at all (no exit code then).
        const ran = typeof ((err as Error).cause as { code?: unknown } | undefined)?.code === 'number';
        throw new CliFailure((err as Error).message, ran ? 1 : 2);
      }
    });

  policy
    .command('build')
    .description("compile a policy folder to a WebAssembly bundle with the regions' thresholds as data")
    .argument('[dir]', 'policy folder', DEFAULT_POLICY_DIR)
    .requiredOption('--out <file>', 'bundle to write (.tar.gz)')
    .option(
      '--revision <rev>',
      "revision to record (default: the folder's Git HEAD commit, which must hold the folder as it is)",
    )
    .action(async (dir: string, flags: { out: string; revision?: string }) => {
      const sourceDir = await policyFolder(dir);
      const [{ buildBundle }, { loadRegions, policyDataDocument }] = await Promise.all([
        import('../../policies/index.ts'),
        import('../../regions/index.ts'),
      ]);
      const revision = flags.revision ?? (await committedRevision(dir));
      const bundle = await buildBundle({
        sourceDir,
        revision,
        out: flags.out,
        data: policyDataDocument(await loadRegions()),
      });
      console.log(`wrote ${flags.out}: revision ${bundle.revision}, sha256 ${bundle.sha256}`);
      console.log(`  entrypoints: ${bundle.entrypoints.join(', ')}`);
    });

  const simulate = policy
    .command('simulate')
    .description(
      're-evaluate recorded decisions under a candidate commit and list every decision that would flip',
    )
    .requiredOption('--ref <ref>', 'candidate commit, branch or tag of the policy repository')
    .option('--since <date>', 'decisions since this date-time (default: 90 days)')
    .option('--limit <n>', 'at most this many decisions, oldest first (service default: 10,000)')
    .option('--after <decision-id>', 'only decisions after this one: where a limited simulation stopped')
    .option('--server <url>', 'the Arbiter service (ARBITER_SERVER)')
    .option('--token <token>', 'API token (ARBITER_TOKEN)')
    .option('--json', 'print the result as JSON');
  describeRequestTimeout(
    simulate,
    `The simulation fails (exit 2) when the service has not answered within ${SIMULATE_TIMEOUT_S} s.`,
  ).action(
    async (flags: {
      ref: string;
      since?: string;
      limit?: string;
      after?: string;
      server?: string;
      token?: string;
      json?: boolean;
    }) => {
      const since = flags.since ? new Date(flags.since) : undefined;
      if (since && Number.isNaN(since.getTime()))
        throw new CliFailure(`--since ${flags.since}: not a date-time`);
      const limit = flags.limit === undefined ? undefined : Number(flags.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100_000))
        throw new CliFailure(`--limit ${flags.limit}: give a whole number from 1 to 100000`);
      const result = await callApi<{
        candidate: { revision: string };
        evaluated: number;
        complete: boolean;
        evaluated_through?: string;
        last_decision_id?: string;
        flips: {
          decision_id: string;
          region: string;
          model: string;
          version: string;
          recorded: { allow: boolean };
          candidate: { allow: boolean; deny: string[]; error?: string };
        }[];
      }>(
        requireServerTarget(flags),
        'POST',
        '/v1/policies/simulate',
        { ref: flags.ref, since: since?.toISOString(), limit, after: flags.after },
        { timeoutMs: SIMULATE_TIMEOUT_S * 1000 },
      );
      if (flags.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      console.log(
        `candidate ${result.candidate.revision}: ${result.evaluated} recorded decisions re-evaluated, ${result.flips.length} would flip`,
      );
      for (const f of result.flips) {
        const outcome = f.candidate.error ? 'error' : f.candidate.allow ? 'allow' : 'deny';
        const change = `${f.recorded.allow ? 'allow' : 'deny'} → ${outcome}`;
        console.log(
          `  ${f.decision_id}  ${f.region.padEnd(7)} ${f.model}@${f.version}  ${change}  ${f.candidate.error ?? f.candidate.deny.join(', ')}`,
        );
      }
      if (!result.complete)
        console.log(
          `  more decisions match: this stopped at the limit, at ${result.evaluated_through}; for the rest, run again with --after ${result.last_decision_id}`,
        );
    },
  );

  const status = policy
    .command('status')
    .description(
      'the policy commit the service runs, the last one it refused and why; with --wait, exit 0 once a ' +
        'commit is active (or contained in the active one), 1 if it is refused (or contained in a refused ' +
        'one), 2 if neither happens in time',
    )
    .option(
      '--wait <commit>',
      'wait for this commit (full or at least 7 hex digits) to be activated or refused, itself or within a later one',
    )
    .option('--timeout <seconds>', `with --wait, how long (default ${DEFAULT_WAIT_SECONDS})`)
    .option('--server <url>', 'the Arbiter service (ARBITER_SERVER)')
    .option('--token <token>', 'API token (ARBITER_TOKEN)')
    .option('--json', 'print the status as JSON');
  status.addHelpText(
    'after',
    '\nThe service tests and builds only the head of its branch: a commit merged just before another is never ' +
      'activated or refused itself, only within the later commit that contains it. So --wait COMMIT exits:\n' +
      '  0  once the active commit is COMMIT, or contains it (it descends from COMMIT);\n' +
      '  1  once COMMIT is refused, or the last refused commit contains it while the active one does not: ' +
      'its changes were refused with that commit. A fix merged after it may yet bring them into force: ' +
      'wait for the fix;\n' +
      '  2  when neither happens within --timeout.',
  );
  describeRequestTimeout(
    status,
    `Each request for the status fails (exit 2) when it gets no answer within ${DEFAULT_REQUEST_TIMEOUT_S} s; ` +
      'with --wait, also when --timeout has passed.',
  ).action(
    async (flags: { wait?: string; timeout?: string; server?: string; token?: string; json?: boolean }) => {
      const target = requireServerTarget(flags);
      const seconds = flags.timeout === undefined ? DEFAULT_WAIT_SECONDS : Number(flags.timeout);
      if (!(Number.isFinite(seconds) && seconds > 0))
        throw new CliFailure(`--timeout ${flags.timeout}: give a number of seconds greater than 0`);
      const commit = flags.wait?.toLowerCase();
      if (commit !== undefined && !isCommitPrefix(commit))
        throw new CliFailure(`--wait ${flags.wait}: give a commit, full or at least 7 hex digits`);
      const show = (status: PolicyStatus) =>
        flags.json ? console.log(JSON.stringify(status, null, 2)) : printStatus(status);
      if (commit === undefined)
        return show(await callApi<PolicyStatus>(target, 'GET', '/v1/policies/status'));
      const { status, outcome } = await waitForCommit(
        (deadline) =>
          callApi<PolicyStatus>(target, 'GET', `/v1/policies/status?commit=${commit}`, undefined, {
            deadline,
          }),
        commit,
        seconds,
      );
      show(status);
      // With --json, stdout holds the status alone.
      const say = flags.json ? console.error : console.log;
      if (outcome === 'contained')
        say(`commit ${commit} is contained in the active ${status.active!.revision}`);
      if (outcome === 'refused') throw new CliFailure(`commit ${commit} was refused, and is not active`, 1);
      if (outcome === 'superseded')
        throw new CliFailure(
          `commit ${commit} was refused within the later commit ${status.source.last_rejected!.commit}, ` +
            'which contains it, and is not active',
          1,
        );
      if (outcome === 'pending')
        throw new CliFailure(`commit ${commit} was neither activated nor refused within ${seconds} s`);
    },
  );
}
