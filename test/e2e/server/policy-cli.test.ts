import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServer, type RunningServer } from '../../support/cli.ts';

const run = promisify(execFile);
const POLICIES_DIR = path.resolve(import.meta.dirname, '../../../policies');

/** `arbiter policy status` against a service that follows a policy repository of its own, polled every second. */
describe('arbiter policy status', () => {
  let dir: string;
  let repo: string;
  let server: RunningServer;
  let token: string;
  let good: string;
  const git = async (...args: string[]) =>
    (
      await run('git', ['-C', repo, '-c', 'user.name=Carol', '-c', 'user.email=carol@example.org', ...args])
    ).stdout.trim();
  const commit = async (message: string) => {
    await git('add', '-A');
    await git('commit', '-q', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  const status = (...args: string[]) =>
    runCli(['policy', 'status', '--server', server.url, '--token', token, ...args]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-cli-'));
    repo = path.join(dir, 'repo');
    await run('git', ['init', '-q', '-b', 'main', repo]);
    await cp(POLICIES_DIR, path.join(repo, 'policies'), {
      recursive: true,
      filter: (src) => !src.endsWith('.ts') && !src.includes(`${path.sep}engine`),
    });
    good = await commit('the policies');
    const data = path.join(dir, 'data');
    server = await startServer(['--data-dir', data], {
      ARBITER_POLICY_REPO: repo,
      ARBITER_POLICY_PATH: 'policies',
      ARBITER_POLICY_POLL_MS: '1000',
    });
    const admin = (await readFile(path.join(data, 'admin-token'), 'utf8')).trim();
    const created = await runCli([
      'token',
      'create',
      '--role',
      'auditor',
      '--server',
      server.url,
      '--token',
      admin,
    ]);
    token = created.stdout.trim();
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the active commit, who committed it and since when', async () => {
    const { code, stdout } = await status();
    expect(code).toBe(0);
    expect(stdout).toContain(`policies from ${repo}, branch main; last checked 20`);
    expect(stdout).toMatch(
      new RegExp(
        `^active: +commit ${good}, bundle [0-9a-f]{64}\n +committed by Carol <carol@example.org>, active since 20`,
        'm',
      ),
    );
    expect(stdout).not.toContain('last refused');
    const json = JSON.parse((await status('--json')).stdout);
    expect(json).toMatchObject({
      active: { revision: good },
      source: { branch: 'main', last_rejected: null },
    });
  });

  it('waits for a merged commit: exit 1 and the reason when it is refused, 0 once one is active', async () => {
    await appendFile(
      path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'),
      '\ndeny contains x if {\n',
    );
    const broken = await commit('a policy that does not parse');
    const refused = await status('--wait', broken.slice(0, 10), '--timeout', '60');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`^active: +commit ${good}`, 'm'));
    expect(refused.stdout).toMatch(new RegExp(`^last refused: commit ${broken}, committed by Carol`, 'm'));
    expect(refused.stdout).toContain('rego_parse_error');
    expect(refused.stderr).toContain(
      `commit ${broken.slice(0, 10)} was refused; the policies active before stay active`,
    );

    await git('revert', '--no-edit', 'HEAD');
    const fixed = await git('rev-parse', 'HEAD');
    const active = await status('--wait', fixed, '--timeout', '60');
    expect(active.code).toBe(0);
    expect(active.stdout).toMatch(new RegExp(`^active: +commit ${fixed}`, 'm'));
    // The last refusal stays in view after a later commit is activated.
    expect(active.stdout).toMatch(new RegExp(`^last refused: commit ${broken}`, 'm'));
  }, 150_000);

  it('exits 2 on a commit that is neither activated nor refused in time, and on one that is no commit', async () => {
    const pending = await status('--wait', 'f'.repeat(40), '--timeout', '1');
    expect(pending.code).toBe(2);
    expect(pending.stderr).toContain(`commit ${'f'.repeat(40)} was neither activated nor refused within 1 s`);
    const typo = await status('--wait', 'main');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--wait main: give a commit, full or at least 7 hex digits');
    const timeout = await status('--wait', good, '--timeout', '0');
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout 0: give a number of seconds greater than 0');
  });
});
