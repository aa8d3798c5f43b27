import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { callApi, requireServerTarget } from './client.ts';
import { CliFailure, fileErrorReason } from './output.ts';

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

/**
 * The HEAD commit of the folder's repository, which the bundle records as its revision: refused when the
 * folder has uncommitted changes, since the bundle would then not be what that commit holds.
 */
async function committedRevision(dir: string): Promise<string> {
  const revision = (await git(dir, ['rev-parse', 'HEAD'])).trim();
  const changed = (await git(dir, ['status', '--porcelain', '--untracked-files=all', '--', '.']))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(3));
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

/** `arbiter policy test | build | simulate`: what a policy author runs before and after a change. */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('test, build and simulate policies');

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

  policy
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
    .option('--json', 'print the result as JSON')
    .action(
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
        }>(requireServerTarget(flags), 'POST', '/v1/policies/simulate', {
          ref: flags.ref,
          since: since?.toISOString(),
          limit,
          after: flags.after,
        });
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
}
