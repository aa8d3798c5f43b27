import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICIES_DIR } from '../../integration/policies/support.ts';
import { runCli, startServer, type RunningServer } from '../../support/cli.ts';

describe('arbiter policy test | build', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A copy of the policies with `file` written into it. */
  const variant = async (name: string, file: string, rego: string) => {
    const copy = path.join(dir, name);
    await cp(POLICIES_DIR, copy, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    await writeFile(path.join(copy, file), rego);
    return copy;
  };

  it("runs the policies' Rego tests, and exits 1 naming a failing one", async () => {
    const passing = await runCli(['policy', 'test', POLICIES_DIR]);
    expect(passing.code, passing.stderr).toBe(0);
    expect(passing.stdout).toMatch(/PASS: \d+\/\d+/);
    const failing = await variant(
      'failing',
      path.join('lib', 'time', 'failing_test.rego'),
      'package arbiter.lib.time_failing_test\n\nimport data.arbiter.lib.time\n\ntest_wrong_epoch if time.epoch_seconds("1970-01-01T00:00:00Z") == 1\n',
    );
    const failed = await runCli(['policy', 'test', failing]);
    expect(failed.code).toBe(1);
    expect(failed.stdout + failed.stderr).toContain('test_wrong_epoch');
  });

  it('exits 2, not 1, when there is no policy folder or no opa to run its tests', async () => {
    const missing = path.join(dir, 'no-such-policies');
    const out = path.join(dir, 'never.tar.gz');
    const noOpa = path.join(dir, 'no-such-opa');
    const [tested, built, untested] = await Promise.all([
      runCli(['policy', 'test', missing]),
      runCli(['policy', 'build', missing, '--out', out, '--revision', 'r1']),
      runCli(['policy', 'test', POLICIES_DIR], { ARBITER_OPA: noOpa }),
    ]);
    for (const result of [tested, built]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toBe(`arbiter: no policy folder ${missing}\n`);
    }
    expect(existsSync(out)).toBe(false);
    expect(untested.code, untested.stderr).toBe(2);
    expect(untested.stderr).toBe(`arbiter: opa test failed: spawn ${noOpa} ENOENT\n`);
  });

  it('builds the same bundle twice, and refuses a builtin the Wasm runtime lacks', async () => {
    const build = (source: string, out: string) =>
      runCli(['policy', 'build', source, '--out', path.join(dir, out), '--revision', 'r1']);
    const first = await build(POLICIES_DIR, 'a.tar.gz');
    const second = await build(POLICIES_DIR, 'b.tar.gz');
    expect(first.code, first.stderr).toBe(0);
    const sha = /sha256 ([0-9a-f]{64})/.exec(first.stdout)?.[1];
    expect(sha).toBeDefined();
    expect(second.stdout).toContain(`sha256 ${sha}`);
    expect(first.stdout).toContain(
      'entrypoints: arbiter/training/decision, arbiter/deployment/decision, arbiter/monitoring/decision',
    );
    const clock = await variant(
      'clock',
      path.join('checks', 'input', 'clock.rego'),
      'package arbiter.checks.input\n\nnow_ns := time.now_ns()\n',
    );
    const refused = await build(clock, 'c.tar.gz');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('time.now_ns');
    expect(existsSync(path.join(dir, 'c.tar.gz'))).toBe(false);
  });

  it("records the folder's Git HEAD, and refuses uncommitted changes and a folder outside Git", async () => {
    const repo = path.join(dir, 'repo');
    const policies = path.join(repo, 'policies');
    await cp(POLICIES_DIR, policies, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    const git = async (...args: string[]) =>
      (
        await promisify(execFile)('git', [
          '-C',
          repo,
          '-c',
          'user.name=Arbiter test',
          '-c',
          'user.email=test@arbiter.invalid',
          ...args,
        ])
      ).stdout.trim();
    await git('init', '--quiet');
    await git('add', '.');
    await git('commit', '--quiet', '--message', 'policies');
    const head = await git('rev-parse', 'HEAD');
    const build = (source: string, out: string) =>
      runCli(['policy', 'build', source, '--out', path.join(dir, out)]);

    const committed = await build(policies, 'committed.tar.gz');
    expect(committed.code, committed.stderr).toBe(0);
    expect(committed.stdout).toContain(`revision ${head}, sha256`);

    await appendFile(path.join(policies, 'checks', 'fairness', 'policy.rego'), '\n# an edit\n');
    await writeFile(path.join(policies, 'checks', 'fairness', 'extra.rego'), 'package arbiter.extra\n');
    const dirty = await build(policies, 'dirty.tar.gz');
    expect(dirty.code).toBe(2);
    expect(dirty.stderr).toBe(
      `arbiter: ${policies} has uncommitted changes ` +
        '(policies/checks/fairness/policy.rego, policies/checks/fairness/extra.rego), ' +
        `so HEAD ${head.slice(0, 12)} would not describe the bundle: commit them, or name the revision with --revision REV\n`,
    );
    expect(existsSync(path.join(dir, 'dirty.tar.gz'))).toBe(false);

    const outside = await variant('outside', 'README.md', '# not in Git\n');
    const refused = await build(outside, 'outside.tar.gz');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `arbiter: cannot read the Git revision of ${outside}: not a git repository ` +
        '(or any of the parent directories): .git; name one with --revision REV\n',
    );
  });

  it('refuses a file Git ignores that opa would build in, not one it would leave out', async () => {
    const repo = path.join(dir, 'repo-ignoring');
    const policies = path.join(repo, 'policies');
    await cp(POLICIES_DIR, policies, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    const git = (...args: string[]) =>
      promisify(execFile)('git', [
        '-C',
        repo,
        '-c',
        'user.name=Arbiter test',
        '-c',
        'user.email=test@arbiter.invalid',
        ...args,
      ]);
    await writeFile(path.join(repo, '.gitignore'), 'data.json\n*.tar.gz\nlocal/\n');
    await git('init', '--quiet');
    await git('add', '.');
    await git('commit', '--quiet', '--message', 'policies');
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();
    const build = (out: string) => runCli(['policy', 'build', policies, '--out', path.join(dir, out)]);

    // A bundle written into the folder changes nothing that is built.
    await writeFile(path.join(policies, 'old-bundle.tar.gz'), 'not a policy');
    const clean = await build('ignoring-clean.tar.gz');
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`revision ${head}, sha256`);

    // Data and a rule in no commit, which opa would build in all the same.
    await mkdir(path.join(policies, 'arbiter', 'extra'), { recursive: true });
    await writeFile(path.join(policies, 'arbiter', 'extra', 'data.json'), '{"note": "not in any commit"}');
    await mkdir(path.join(policies, 'local'));
    await writeFile(path.join(policies, 'local', 'rule.rego'), 'package arbiter.local\n\nx := 1\n');
    const dirty = await build('ignoring-dirty.tar.gz');
    expect(dirty.code).toBe(2);
    expect(dirty.stderr).toBe(
      `arbiter: ${policies} has uncommitted changes ` +
        '(policies/arbiter/extra/data.json (ignored by Git), policies/local/rule.rego (ignored by Git)), ' +
        `so HEAD ${head.slice(0, 12)} would not describe the bundle: commit them, or name the revision with --revision REV\n`,
    );
    expect(existsSync(path.join(dir, 'ignoring-dirty.tar.gz'))).toBe(false);
  });
});

/** `arbiter policy status` against a service that follows a policy repository of its own, polled every second. */
describe('arbiter policy status', () => {
  let dir: string;
  let repo: string;
  let server: RunningServer;
  let token: string;
  let good: string;
  const git = async (...args: string[]) =>
    (
      await promisify(execFile)('git', [
        '-C',
        repo,
        '-c',
        'user.name=Carol',
        '-c',
        'user.email=carol@example.org',
        ...args,
      ])
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
    await promisify(execFile)('git', ['init', '-q', '-b', 'main', repo]);
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
    expect(refused.stderr).toContain(`commit ${broken.slice(0, 10)} was refused, and is not active`);

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
