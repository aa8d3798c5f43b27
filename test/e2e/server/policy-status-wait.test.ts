import { execFile } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICIES_DIR } from '../../integration/policies/support.ts';
import { runCli, startServer, type RunningServer } from '../../support/cli.ts';
import { commitAll, gitIn, type GitIdentity } from '../../support/git.ts';

const run = promisify(execFile);
const CAROL: GitIdentity = { name: 'Carol', email: 'carol@example.org' };

// A Rego test that fails: a head carrying it is refused.
const FAILING_TEST =
  'package arbiter.lib.time_failing_test\n\nimport data.arbiter.lib.time\n\ntest_wrong_epoch if time.epoch_seconds("1970-01-01T00:00:00Z") == 1\n';

/**
 * `arbiter policy status --wait COMMIT` against a service that follows a policy branch of its own. The service
 * tests and builds only the branch's head: a commit merged together with a later one is never activated or
 * refused itself, only within that later commit.
 */
describe('arbiter policy status --wait, for a commit the service only ever sees within a later one', () => {
  let scratch: string;
  let repo: string;
  let server: RunningServer;
  let token: string;

  const git = (...args: string[]) => gitIn(repo, args, CAROL);
  /** Commits what is in the work tree (on the work branch, which the service does not follow). */
  const commit = (message: string) => commitAll(repo, message, CAROL);
  /** Moves the followed branch to `commit` at once: no poll can see a commit between. */
  const merge = (sha: string) => git('update-ref', 'refs/heads/main', sha);
  const rego = path.join('policies', 'lib', 'time', 'time.rego');
  const wait = (sha: string, timeout = '180') =>
    runCli([
      'policy',
      'status',
      '--wait',
      sha,
      '--timeout',
      timeout,
      '--server',
      server.url,
      '--token',
      token,
    ]);
  const status = async (query: string) => {
    const response = await fetch(`${server.url}/v1/policies/status${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { code: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-wait-'));
    repo = path.join(scratch, 'repo');
    await run('git', ['init', '-q', '-b', 'main', repo]);
    // The policies as this checkout's HEAD holds them: the work tree's may be in the middle of an edit. Their
    // Rego and data only, as a policy repository holds them.
    const exported = path.join(scratch, 'exported');
    await mkdir(exported);
    await run('sh', [
      '-c',
      'git -C "$1" archive HEAD policies | tar -x -C "$2"',
      'sh',
      path.dirname(POLICIES_DIR),
      exported,
    ]);
    await cp(path.join(exported, 'policies'), path.join(repo, 'policies'), {
      recursive: true,
      filter: (src) => !src.endsWith('.ts') && !src.includes(`${path.sep}engine`),
    });
    const first = await commit('policies');
    // Work happens on a branch of its own; `merge` moves main.
    await git('checkout', '-q', '-b', 'work');
    const dataDir = path.join(scratch, 'data');
    server = await startServer(['--data-dir', dataDir], {
      ARBITER_POLICY_REPO: repo,
      ARBITER_POLICY_BRANCH: 'main',
      ARBITER_POLICY_PATH: 'policies',
      ARBITER_POLICY_POLL_MS: '1000',
    });
    token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    const active = await wait(first);
    expect(active.code, active.stdout + active.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('exits 0 for a commit the active one contains', async () => {
    await appendFile(path.join(repo, rego), '\n# first edit\n');
    const inner = await commit('first edit');
    await appendFile(path.join(repo, rego), '\n# second edit\n');
    const outer = await commit('second edit');
    await merge(outer);
    const result = await wait(inner.slice(0, 12));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`commit ${outer}`);
    expect(result.stdout).toContain(`commit ${inner.slice(0, 12)} is contained in the active ${outer}\n`);
    // The API says as much.
    const { code, body } = await status(`?commit=${inner.slice(0, 7)}`);
    expect(code).toBe(200);
    expect(body.commit).toEqual({ sha: inner, contains: true, last_rejected_contains: false });
  }, 240_000);

  it('exits 1 for a commit refused within a later one, and 0 once a fix after it is active', async () => {
    await appendFile(path.join(repo, rego), '\n# third edit\n');
    const inner = await commit('third edit');
    const failing = path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego');
    await writeFile(failing, FAILING_TEST);
    const refused = await commit('a failing test');
    await merge(refused);
    const result = await wait(inner);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toBe(
      `arbiter: commit ${inner} was refused within the later commit ${refused}, which contains it, and is not active\n`,
    );
    // The refused commit itself, as ever.
    const itself = await wait(refused);
    expect(itself.code, itself.stderr).toBe(1);
    expect(itself.stderr).toBe(`arbiter: commit ${refused} was refused, and is not active\n`);
    expect((await status(`?commit=${inner}`)).body.commit).toEqual({
      sha: inner,
      contains: false,
      last_rejected_contains: true,
    });

    // A fix: until it is active, the refusal that contains the commit stands.
    await rm(failing);
    const fix = await commit('the fix');
    await merge(fix);
    const active = await wait(fix, '240');
    expect(active.code, active.stderr).toBe(0);
    const fixed = await wait(inner);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain(`commit ${inner} is contained in the active ${fix}\n`);
  }, 480_000);

  it('waits out --timeout for a commit the service does not have, and refuses a query that names none', async () => {
    const unknown = await wait('0123456789abcdef', '2');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'arbiter: commit 0123456789abcdef was neither activated nor refused within 2 s\n',
    );
    expect((await status('?commit=0123456789abcdef')).body.commit).toEqual({
      sha: null,
      contains: false,
      last_rejected_contains: false,
    });
    expect((await status('?commit=main')).code).toBe(400);
    expect((await status('?commit=--output=x')).code).toBe(400);
  }, 60_000);
});
