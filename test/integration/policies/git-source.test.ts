import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBundleStore,
  createGitPolicySource,
  createPolicyEngine,
  resolveOpaBinary,
  type ActivatedEvent,
  type GitPolicySource,
  type PolicyEngine,
  type RejectedEvent,
} from '../../../policies/index.ts';
import { loadRegions, policyDataDocument } from '../../../regions/index.ts';
import { commitAll, gitIn } from '../../support/git.ts';
import { POLICIES_DIR } from './support.ts';

const run = promisify(execFile);
let repo: string;
let scratch: string;

const CAROL = { name: 'Carol Compliance', email: 'carol@example.org' };
// A Rego test that fails: a commit carrying it must be refused.
const FAILING_TEST =
  'package arbiter.lib.time_failing_test\n\nimport data.arbiter.lib.time\n\ntest_wrong_epoch if time.epoch_seconds("1970-01-01T00:00:00Z") == 1\n';

const git = (args: string[], committer = CAROL) => gitIn(repo, args, CAROL, committer);
const commit = (message: string, committer = CAROL) => commitAll(repo, message, CAROL, committer);

const sourceOver = async (bundles: string, onEngine: (engine: PolicyEngine) => void) =>
  createGitPolicySource({
    repository: repo,
    branch: 'main',
    path: 'policies',
    data: policyDataDocument(await loadRegions()),
    bundles: createBundleStore(bundles),
    activate: async (bundle, announce) => {
      const started = await createPolicyEngine({ bundle, poolSize: 1 });
      await announce();
      onEngine(started);
    },
    onActivated: (e) => void activated.push(e),
    onRejected: (e) => void rejected.push(e),
    clock: () => new Date('2026-11-23T12:00:00Z'),
  });

let engine: PolicyEngine | undefined;
let source: GitPolicySource;
const activated: ActivatedEvent[] = [];
const rejected: RejectedEvent[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-git-source-'));
  repo = path.join(scratch, 'repo');
  await run('git', ['init', '-q', '-b', 'main', repo]);
  // The policies live in a sub-folder of the repository, as they do in Arbiter's own.
  await cp(POLICIES_DIR, path.join(repo, 'policies'), {
    recursive: true,
    filter: (src) => !src.endsWith('.ts') && !src.includes(`${path.sep}engine`),
  });
  source = createGitPolicySource({
    repository: repo,
    branch: 'main',
    path: 'policies',
    data: policyDataDocument(await loadRegions()),
    bundles: createBundleStore(path.join(scratch, 'bundles')),
    // The first good commit starts the engine, later ones swap into it.
    activate: async (bundle, announce) => {
      if (engine) return engine.activate(bundle, announce);
      const started = await createPolicyEngine({ bundle, poolSize: 1 });
      await announce();
      engine = started;
    },
    onActivated: (e) => void activated.push(e),
    onRejected: (e) => void rejected.push(e),
    clock: () => new Date('2026-11-23T12:00:00Z'),
  });
});

afterAll(async () => {
  source?.stop();
  await engine?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('createGitPolicySource', () => {
  let good: string;
  let fixed: string;

  it('tests, builds and activates a good commit, recording who committed it', async () => {
    good = await commit('initial policies');
    await source.poll();
    expect(rejected).toEqual([]);
    expect(activated).toHaveLength(1);
    expect(activated[0]).toMatchObject({ commit: good, author: 'Carol Compliance <carol@example.org>' });
    expect(engine!.bundle.revision).toBe(good);
    expect(engine!.bundle.sha256).toBe(activated[0]!.bundleSha256);
    expect(source.status()).toMatchObject({
      branch: 'main',
      active: {
        commit: good,
        bundle_sha256: activated[0]!.bundleSha256,
        author: 'Carol Compliance <carol@example.org>',
      },
      last_rejected: null,
      last_error: null,
    });
    // Nothing new: nothing happens.
    await source.poll();
    expect(activated).toHaveLength(1);
  });

  it('refuses a commit that does not parse; the old bundle stays active', async () => {
    await appendFile(
      path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'),
      '\ndeny contains x if {\n',
    );
    const broken = await commit('broken rego');
    await source.poll();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ commit: broken, author: 'Carol Compliance <carol@example.org>' });
    expect(rejected[0]!.reason).toMatch(/rego_parse_error|parse/i);
    expect(engine!.bundle.revision).toBe(good);
    expect(source.status()).toMatchObject({ active: { commit: good }, last_rejected: { commit: broken } });
  });

  it('refuses a commit whose Rego tests fail', async () => {
    await git(['checkout', '-q', good, '--', 'policies']);
    await writeFile(path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego'), FAILING_TEST);
    // git takes a committer's name of any length; what is recorded of it must fit a ledger entry.
    const failing = await commit('a failing test', { name: 'A'.repeat(70_000), email: 'a@example.org' });
    await source.poll();
    expect(rejected.at(-1)).toMatchObject({ commit: failing, committer: `${'A'.repeat(512)}…` });
    expect(rejected.at(-1)!.reason).toMatch(/test_wrong_epoch/);
    expect(engine!.bundle.revision).toBe(good);
  });

  it('refuses a commit whose tests pass but which needs a builtin the Wasm runtime lacks', async () => {
    await rm(path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego'));
    // The commit also drops its copy of the capabilities: they are Arbiter's, so that changes nothing.
    await rm(path.join(repo, 'policies', 'capabilities.json'));
    await writeFile(
      path.join(repo, 'policies', 'checks', 'input', 'clock.rego'),
      'package arbiter.checks.input\n\nnow_ns := time.now_ns()\n',
    );
    const clock = await commit('read the clock in a policy');
    await source.poll();
    expect(rejected.at(-1)).toMatchObject({ commit: clock });
    expect(rejected.at(-1)!.reason).toMatch(/time\.now_ns/);
    expect(engine!.bundle.revision).toBe(good);
  });

  it('activates the next good commit atomically, recording its author and who committed it', async () => {
    await git(['checkout', '-q', good, '--', 'policies']);
    await rm(path.join(repo, 'policies', 'checks', 'input', 'clock.rego'));
    fixed = await commit('back to the good policies', { name: 'Mia Merger', email: 'mia@example.org' });
    await source.poll();
    expect(activated.at(-1)).toMatchObject({
      commit: fixed,
      author: 'Carol Compliance <carol@example.org>',
      committer: 'Mia Merger <mia@example.org>',
      restored: false,
    });
    expect(engine!.bundle.revision).toBe(fixed);
  });

  it('records an activation before the bundle serves; when that fails, the old bundle serves and the commit is tried again', async () => {
    let serving: PolicyEngine | undefined;
    const recorded: { commit: string; serving: string | undefined }[] = [];
    let ledgerDown = false;
    const errors: [string, string][] = [];
    const follower = createGitPolicySource({
      repository: repo,
      branch: 'main',
      path: 'policies',
      onError: (err, summary) => void errors.push([summary, (err as Error).message]),
      data: policyDataDocument(await loadRegions()),
      bundles: createBundleStore(path.join(scratch, 'follower-bundles')),
      activate: async (bundle, announce) => {
        if (serving) return serving.activate(bundle, announce);
        const started = await createPolicyEngine({ bundle, poolSize: 1 });
        await announce();
        serving = started;
      },
      onActivated: (e) => {
        if (ledgerDown) throw new Error('the ledger is down');
        recorded.push({ commit: e.commit, serving: serving?.bundle.revision });
      },
    });
    try {
      await follower.poll();
      expect(recorded).toEqual([{ commit: fixed, serving: undefined }]);

      await appendFile(path.join(repo, 'policies', 'README.md'), '\nAnother note.\n');
      const next = await commit('another note');
      ledgerDown = true;
      await follower.poll();
      expect(serving!.bundle.revision).toBe(fixed);
      expect(follower.status()).toMatchObject({
        active: { commit: fixed },
        last_rejected: null,
        last_error: `commit ${next}: recording its activation or rejection failed`,
      });
      // The reason goes to the log, not to the status every caller reads.
      expect(errors).toEqual([
        [`commit ${next}: recording its activation or rejection failed`, 'the ledger is down'],
      ]);

      ledgerDown = false;
      await follower.poll();
      // Recorded while the previous bundle still served: no decision precedes its activation in the ledger.
      expect(recorded.at(-1)).toEqual({ commit: next, serving: fixed });
      expect(serving!.bundle.revision).toBe(next);
      expect(follower.status()).toMatchObject({ active: { commit: next }, last_error: null });
    } finally {
      await serving?.close();
    }
  });

  it('after a restart onto a rejected head, activates again the bundle that was active before', async () => {
    await appendFile(
      path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'),
      '\ndeny contains x if {\n',
    );
    const broken = await commit('broken again');
    // A new process: its own engine, the same bundle store.
    let restarted: PolicyEngine | undefined;
    const again = await sourceOver(path.join(scratch, 'bundles'), (e) => (restarted = e));
    try {
      await again.poll();
      expect(rejected.at(-1)).toMatchObject({ commit: broken });
      expect(activated.at(-1)).toMatchObject({ commit: fixed, restored: true });
      expect(restarted!.bundle.revision).toBe(fixed);
      expect(again.status()).toMatchObject({ active: { commit: fixed }, last_rejected: { commit: broken } });
      // Restarted once more onto the same head: its rejection was recorded, so it is neither tested nor
      // recorded again, and the status still says why.
      const rejections = rejected.length;
      let third: PolicyEngine | undefined;
      const once = await sourceOver(path.join(scratch, 'bundles'), (e) => (third = e));
      try {
        await once.poll();
        expect(rejected).toHaveLength(rejections);
        expect(third!.bundle.revision).toBe(fixed);
        expect(once.status()).toMatchObject({
          active: { commit: fixed },
          last_rejected: { commit: broken, reason: again.status().last_rejected!.reason },
        });
      } finally {
        await third?.close();
      }
      // With no bundle ever active, a rejected head leaves nothing active.
      const fresh = await sourceOver(path.join(scratch, 'fresh-bundles'), () => {
        throw new Error('nothing may be activated');
      });
      await fresh.poll();
      expect(fresh.status()).toMatchObject({ active: null, last_rejected: { commit: broken } });
    } finally {
      await restarted?.close();
    }
  });

  it('refuses a commit whose .gitattributes could hide or rewrite policy files, and one with no policy folder', async () => {
    const head = await git(['rev-parse', 'HEAD']);
    await git(['checkout', '-q', '-b', 'hides-a-test']);
    await writeFile(path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego'), FAILING_TEST);
    // export-ignore would leave the failing test out of what git archive exports: it would pass.
    await writeFile(
      path.join(repo, 'policies', '.gitattributes'),
      'lib/time/failing_test.rego export-ignore\n',
    );
    await commit('hide a failing test from the export');
    // The same from the repository's root, which applies to the folder too.
    await git(['mv', 'policies/.gitattributes', '.gitattributes']);
    await writeFile(path.join(repo, '.gitattributes'), 'policies/lib/time/failing_test.rego export-ignore\n');
    await commit('hide it from the root');
    await git(['checkout', '-q', '-b', 'no-policies', head]);
    await git(['rm', '-q', '-r', 'policies']);
    const empty = await commit('no policies');
    await git(['checkout', '-q', 'main']);
    await expect(source.buildRef('hides-a-test~1')).rejects.toThrow(
      /has policies\/\.gitattributes, which can leave policy files out of what is built/,
    );
    await expect(source.buildRef('hides-a-test')).rejects.toThrow(/has \.gitattributes, which can leave/);
    await expect(source.buildRef('no-policies')).rejects.toThrow(`commit ${empty} has no folder policies`);
    // As a branch's head, such a commit is rejected as a failing one is, not taken for a failure to record.
    const follower = createGitPolicySource({
      repository: repo,
      branch: 'no-policies',
      path: 'policies',
      bundles: createBundleStore(path.join(scratch, 'no-policies-bundles')),
      activate: async () => {},
    });
    await follower.poll();
    expect(follower.status()).toMatchObject({
      last_error: null,
      last_rejected: { commit: empty, reason: `commit ${empty} has no folder policies` },
    });
  });

  it('stops a git command that runs past its time limit: a remote that never answers', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `git://127.0.0.1:${(silent.address() as { port: number }).port}/policies.git`;
    try {
      const stalled = createGitPolicySource({
        repository: url,
        clone: path.join(scratch, 'stalled.git'),
        branch: 'main',
        bundles: createBundleStore(path.join(scratch, 'stalled-bundles')),
        activate: async () => {},
        gitTimeoutMs: 1_000,
      });
      await stalled.poll();
      expect(stalled.status().last_error).toBe(`cannot fetch ${url}`);
      await expect(stalled.buildRef('main')).rejects.toThrow(/did not finish within 1000 ms/);
    } finally {
      silent.close();
    }
  }, 30_000);

  it("says which branch it cannot read, without git's words or this server's paths", async () => {
    const errors: unknown[] = [];
    const lost = createGitPolicySource({
      repository: repo,
      branch: 'no-such-branch',
      path: 'policies',
      bundles: createBundleStore(path.join(scratch, 'lost-bundles')),
      activate: async () => {},
      onError: (err) => void errors.push(err),
    });
    await lost.poll();
    expect(lost.status().last_error).toBe('cannot read branch no-such-branch');
    expect(JSON.stringify({ ...lost.status(), repository: undefined })).not.toContain(scratch);
    expect(String(errors[0])).toContain('no-such-branch');
  });

  it('builds any ref for simulation without activating it', async () => {
    const bundle = await source.buildRef(good);
    expect(bundle.revision).toBe(good);
    expect(bundle.sha256).toBe(activated[0]!.bundleSha256);
    await expect(source.buildRef('no-such-branch')).rejects.toMatchObject({ code: 'POLICY_SOURCE_FAILED' });
    // Said without git's words, which name the command line and the repository's path on the server.
    await expect(source.buildRef('HEAD:../../etc')).rejects.toMatchObject({
      code: 'POLICY_SOURCE_FAILED',
      message: 'unknown ref HEAD:../../etc',
    });
  });

  it('holds a candidate to its Rego tests, as activation would', async () => {
    // From the good commit: only the failing test differs.
    await git(['checkout', '-q', '-b', 'candidate-failing-test', good]);
    try {
      await writeFile(path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego'), FAILING_TEST);
      await commit('a candidate whose tests fail');
    } finally {
      await git(['checkout', '-q', 'main']);
    }
    await expect(source.buildRef('candidate-failing-test')).rejects.toMatchObject({
      code: 'POLICY_TEST_FAILED',
      message: expect.stringContaining('test_wrong_epoch'),
    });
  });
});

/** opa, counting its runs: a commit tested again would show as one more `opa test`. */
async function countingOpa(name: string): Promise<{ opa: string; tests: () => Promise<number> }> {
  const runs = path.join(scratch, `${name}-runs`);
  const opa = path.join(scratch, name);
  await writeFile(opa, `#!/bin/sh\necho "$1" >> '${runs}'\nexec '${resolveOpaBinary()}' "$@"\n`, {
    mode: 0o755,
  });
  const tests = async () => (await readFile(runs, 'utf8')).split('\n').filter((a) => a === 'test').length;
  return { opa, tests };
}

describe('createGitPolicySource when recording a rejection fails', () => {
  it('retries only the recording, at polls further apart, and never tests the commit again', async () => {
    const { opa, tests } = await countingOpa('counting-opa');
    await git(['checkout', '-q', '-b', 'unrecordable', 'main~0']);
    await writeFile(path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego'), FAILING_TEST);
    const failing = await commit('a failing test the ledger will not take');
    await git(['checkout', '-q', 'main']);
    let ledgerDown = true;
    const recorded: RejectedEvent[] = [];
    const errors: string[] = [];
    const follower = createGitPolicySource({
      repository: repo,
      branch: 'unrecordable',
      path: 'policies',
      opa,
      bundles: createBundleStore(path.join(scratch, 'unrecordable-bundles')),
      activate: async () => {},
      onRejected: (e) => {
        if (ledgerDown) throw new Error('the ledger is down');
        recorded.push(e);
      },
      onError: (_err, summary) => void errors.push(summary),
    });
    const failure = `commit ${failing}: recording its activation or rejection failed`;
    const tries: boolean[] = [];
    for (let poll = 0; poll < 8; poll += 1) {
      const before = errors.length;
      await follower.poll();
      tries.push(errors.length > before);
      expect(follower.status()).toMatchObject({ last_error: failure, last_rejected: { commit: failing } });
    }
    // Tried at once, then after 1, 3 polls, ... (with 30 s polls, at most 15 minutes apart).
    expect(tries).toEqual([true, true, false, true, false, false, false, true]);
    expect(await tests()).toBe(1);

    ledgerDown = false;
    for (let poll = 0; poll < 8 && recorded.length === 0; poll += 1) await follower.poll();
    await follower.poll();
    const reason = follower.status().last_rejected!.reason;
    expect(recorded).toEqual([
      {
        commit: failing,
        author: 'Carol Compliance <carol@example.org>',
        committer: 'Carol Compliance <carol@example.org>',
        reason,
        reason_truncated: false,
        reason_bytes: Buffer.byteLength(reason),
        reason_sha256: createHash('sha256').update(reason).digest('hex'),
      },
    ]);
    expect(follower.status().last_error).toBeNull();
    expect(await tests()).toBe(1);
  });

  it('records a refusal it still owes before it considers a newer commit, which waits meanwhile', async () => {
    const { opa, tests } = await countingOpa('counting-opa-owed');
    // From the first commit: the good policies (main's head may be a broken commit of an earlier test).
    const initial = await git(['rev-list', '--max-parents=0', 'main']);
    await git(['checkout', '-q', '-b', 'owed-refusal', initial]);
    const failingFile = path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego');
    await writeFile(failingFile, FAILING_TEST);
    const failing = await commit('a failing test, refused while the ledger is down');
    await git(['checkout', '-q', 'main']);
    let ledgerDown = true;
    const ledger: string[] = [];
    const follower = createGitPolicySource({
      repository: repo,
      branch: 'owed-refusal',
      path: 'policies',
      opa,
      data: policyDataDocument(await loadRegions()),
      bundles: createBundleStore(path.join(scratch, 'owed-refusal-bundles')),
      activate: async (_bundle, announce) => announce(),
      onActivated: (e) => {
        if (ledgerDown) throw new Error('the ledger is down');
        ledger.push(`activated ${e.commit}`);
      },
      onRejected: (e) => {
        if (ledgerDown) throw new Error('the ledger is down');
        ledger.push(`rejected ${e.commit}`);
      },
    });
    await follower.poll();
    await git(['checkout', '-q', 'owed-refusal']);
    await rm(failingFile);
    const fixed = await commit('the failing test removed');
    await git(['checkout', '-q', 'main']);

    // The newer commit is neither tested nor activated while the refusal before it cannot be recorded.
    for (let poll = 0; poll < 4; poll += 1) {
      await follower.poll();
      expect(follower.status()).toMatchObject({
        active: null,
        last_rejected: { commit: failing },
        last_error: `commit ${failing}: recording its activation or rejection failed`,
      });
    }
    expect(await tests()).toBe(1);

    ledgerDown = false;
    for (let poll = 0; poll < 8 && ledger.length < 2; poll += 1) await follower.poll();
    expect(ledger).toEqual([`rejected ${failing}`, `activated ${fixed}`]);
    expect(follower.status()).toMatchObject({ active: { commit: fixed }, last_error: null });
    expect(await tests()).toBe(2);
  });
});

describe('createGitPolicySource when it stops owing a refusal', () => {
  it('leaves the refusal to the next process, which records it before it considers a newer commit', async () => {
    const { opa, tests } = await countingOpa('counting-opa-restart');
    const initial = await git(['rev-list', '--max-parents=0', 'main']);
    await git(['checkout', '-q', '-b', 'owed-at-restart', initial]);
    await git(['checkout', '-q', 'main']);
    const bundleDir = path.join(scratch, 'owed-at-restart-bundles');
    let ledgerDown = false;
    const ledger: string[] = [];
    const engines: PolicyEngine[] = [];
    // Each call is a new process over the same bundle store, as after a restart.
    const startProcess = async () =>
      createGitPolicySource({
        repository: repo,
        branch: 'owed-at-restart',
        path: 'policies',
        opa,
        data: policyDataDocument(await loadRegions()),
        bundles: createBundleStore(bundleDir),
        activate: async (bundle, announce) => {
          const started = await createPolicyEngine({ bundle, poolSize: 1 });
          engines.push(started);
          await announce();
        },
        onActivated: (e) => {
          if (ledgerDown) throw new Error('the ledger is down');
          ledger.push(`activated ${e.commit}${e.restored ? ' (restored)' : ''}`);
        },
        onRejected: (e) => {
          if (ledgerDown) throw new Error('the ledger is down');
          ledger.push(`rejected ${e.commit}`);
        },
      });
    const commitOnBranch = async (message: string, change: () => Promise<void>) => {
      await git(['checkout', '-q', 'owed-at-restart']);
      await change();
      const made = await commit(message);
      await git(['checkout', '-q', 'main']);
      return made;
    };
    const failingFile = path.join(repo, 'policies', 'lib', 'time', 'failing_test.rego');
    try {
      await (await startProcess()).poll();
      expect(ledger).toEqual([`activated ${initial}`]);

      // Refused while the ledger is down, and the process stops before it could record that.
      const failing = await commitOnBranch('a failing test', () => writeFile(failingFile, FAILING_TEST));
      ledgerDown = true;
      await (await startProcess()).poll();
      expect(await createBundleStore(bundleDir).getOwedRejection()).toMatchObject({
        event: { commit: failing },
      });

      // The next process, the head unchanged: it records the refusal without testing the commit again, and
      // serves the bundle that was active before.
      const second = await startProcess();
      await second.poll();
      expect(second.status()).toMatchObject({
        active: null,
        last_rejected: { commit: failing },
        last_error: `commit ${failing}: recording its activation or rejection failed`,
      });
      ledgerDown = false;
      await second.poll();
      expect(ledger.slice(1)).toEqual([`rejected ${failing}`, `activated ${initial} (restored)`]);
      expect(second.status()).toMatchObject({
        active: { commit: initial },
        last_rejected: { commit: failing },
        last_error: null,
      });
      expect(await createBundleStore(bundleDir).getOwedRejection()).toBeNull();
      expect(await tests()).toBe(2);

      // Owed again when the process stops, and a fix committed meanwhile: the next process records the
      // refusal first, then tests and activates the fix.
      const stillFailing = await commitOnBranch('the failing test touched', async () =>
        appendFile(failingFile, '\n# still failing\n'),
      );
      ledgerDown = true;
      await second.poll();
      const fixed = await commitOnBranch('the failing test removed', () => rm(failingFile));
      ledgerDown = false;
      const third = await startProcess();
      await third.poll();
      expect(ledger.slice(3)).toEqual([
        `rejected ${stillFailing}`,
        `activated ${initial} (restored)`,
        `activated ${fixed}`,
      ]);
      expect(third.status()).toMatchObject({ active: { commit: fixed }, last_error: null });
      expect(await tests()).toBe(4);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  });
});

describe('createGitPolicySource with a URL', () => {
  it('clones the repository, fetches new commits before each poll and each simulation', async () => {
    let following: PolicyEngine | undefined;
    const seen: ActivatedEvent[] = [];
    const url = `file://${repo}`;
    const remote = createGitPolicySource({
      repository: url,
      clone: path.join(scratch, 'clone.git'),
      branch: 'main',
      path: 'policies',
      data: policyDataDocument(await loadRegions()),
      bundles: createBundleStore(path.join(scratch, 'url-bundles')),
      activate: async (bundle, announce) => {
        if (following) return following.activate(bundle, announce);
        const started = await createPolicyEngine({ bundle, poolSize: 1 });
        await announce();
        following = started;
      },
      onActivated: (e) => void seen.push(e),
    });
    try {
      // The repository's head is a good commit again.
      await git(['checkout', '-q', 'main']);
      await git(['reset', '-q', '--hard', 'HEAD~1']);
      const head = await git(['rev-parse', 'HEAD']);
      await remote.poll();
      expect(seen.at(-1)).toMatchObject({ commit: head });
      expect(remote.status()).toMatchObject({ repository: url, active: { commit: head }, last_error: null });

      await appendFile(path.join(repo, 'policies', 'README.md'), '\nA note.\n');
      const next = await commit('a note');
      await remote.poll();
      expect(following!.bundle.revision).toBe(next);

      // A branch pushed after the last poll is fetched when it is simulated.
      await git(['branch', 'candidate', next]);
      expect((await remote.buildRef('candidate')).revision).toBe(next);
    } finally {
      await following?.close();
    }
  });

  it('shows a URL without its credentials, and serves the last active bundle while it cannot fetch', async () => {
    const url = 'https://carol:s3cret-token@127.0.0.1:9/policies.git';
    // The bundle store of the source above: it remembers the commit active when that process stopped.
    const bundles = createBundleStore(path.join(scratch, 'bundles'));
    const lastActive = (await bundles.getActive())!;
    let restored: PolicyEngine | undefined;
    const unreachable = createGitPolicySource({
      repository: url,
      clone: path.join(scratch, 'unreachable.git'),
      branch: 'main',
      bundles,
      activate: async (bundle, announce) => {
        const started = await createPolicyEngine({ bundle, poolSize: 1 });
        await announce();
        restored = started;
      },
    });
    try {
      await unreachable.poll();
      const status = unreachable.status();
      expect(status.repository).toBe('https://carol:***@127.0.0.1:9/policies.git');
      expect(status.last_error).toBe('cannot fetch https://carol:***@127.0.0.1:9/policies.git');
      expect(JSON.stringify(status)).not.toContain('s3cret');
      await expect(unreachable.buildRef('main')).rejects.not.toThrow(/s3cret/);
      expect(status.active).toMatchObject({ commit: lastActive.commit });
      expect(restored!.bundle.sha256).toBe(lastActive.bundle_sha256);
    } finally {
      await restored?.close();
    }
  });
});

describe('createGitPolicySource following a branch that a tag is named like', () => {
  it("activates the branch's head, never the tag's commit, from a path and from a URL", async () => {
    const initial = await git(['rev-list', '--max-parents=0', 'main']);
    await git(['branch', 'reviewed', initial]);
    await git(['checkout', '-q', '-b', 'never-reviewed', initial]);
    await appendFile(path.join(repo, 'policies', 'README.md'), '\nA change no one reviewed.\n');
    const unreviewed = await commit('never merged to the followed branch');
    await git(['checkout', '-q', 'main']);
    // git resolves `reviewed` to the tag, not the branch: pushing a tag needs no review of the branch.
    await git(['tag', 'reviewed', unreviewed]);
    const engines: PolicyEngine[] = [];
    const follow = async (repository: string, name: string) => {
      const seen: ActivatedEvent[] = [];
      const follower = createGitPolicySource({
        repository,
        ...(repository.startsWith('file:') ? { clone: path.join(scratch, `${name}.git`) } : {}),
        branch: 'reviewed',
        path: 'policies',
        data: policyDataDocument(await loadRegions()),
        bundles: createBundleStore(path.join(scratch, `${name}-bundles`)),
        activate: async (bundle, announce) => {
          const started = await createPolicyEngine({ bundle, poolSize: 1 });
          engines.push(started);
          await announce();
        },
        onActivated: (e) => void seen.push(e),
      });
      await follower.poll();
      return { seen, status: follower.status() };
    };
    try {
      for (const [repository, name] of [
        [repo, 'tagged-path'],
        [`file://${repo}`, 'tagged-url'],
      ] as const) {
        const { seen, status } = await follow(repository, name);
        expect(
          seen.map((e) => e.commit),
          name,
        ).toEqual([initial]);
        expect(status.active?.commit, name).toBe(initial);
      }
    } finally {
      await Promise.all(engines.map((e) => e.close()));
      await git(['tag', '-d', 'reviewed']);
    }
  });
});

describe('createGitPolicySource restarted onto a refused head', () => {
  it('tries the restore of the last active bundle again at the next polls, and says it failed meanwhile', async () => {
    const initial = await git(['rev-list', '--max-parents=0', 'main']);
    await git(['checkout', '-q', '-b', 'restore-retried', initial]);
    await git(['checkout', '-q', 'main']);
    const bundleDir = path.join(scratch, 'restore-retried-bundles');
    let ledgerDown = false;
    const ledger: string[] = [];
    const engines: PolicyEngine[] = [];
    // Each call is a new process over the same bundle store, as after a restart.
    const startProcess = async () => {
      let serving: PolicyEngine | undefined;
      const follower = createGitPolicySource({
        repository: repo,
        branch: 'restore-retried',
        path: 'policies',
        data: policyDataDocument(await loadRegions()),
        bundles: createBundleStore(bundleDir),
        activate: async (bundle, announce) => {
          const started = await createPolicyEngine({ bundle, poolSize: 1 });
          engines.push(started);
          await announce();
          serving = started;
        },
        onActivated: (e) => {
          if (ledgerDown) throw new Error('the ledger is down');
          ledger.push(`activated ${e.commit}${e.restored ? ' (restored)' : ''}`);
        },
        onRejected: (e) => void ledger.push(`rejected ${e.commit}`),
      });
      return { follower, serving: () => serving };
    };
    try {
      const first = await startProcess();
      await first.follower.poll();
      await git(['checkout', '-q', 'restore-retried']);
      await appendFile(
        path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'),
        '\ndeny contains x if {\n',
      );
      const broken = await commit('a policy that does not parse');
      await git(['checkout', '-q', 'main']);
      await first.follower.poll();
      expect(ledger).toEqual([`activated ${initial}`, `rejected ${broken}`]);

      // The next process finds the refused head, and the ledger refuses the restore's entry for a moment.
      const second = await startProcess();
      ledgerDown = true;
      await second.follower.poll();
      expect(second.serving()).toBeUndefined();
      expect(second.follower.status()).toMatchObject({
        active: null,
        last_rejected: { commit: broken },
        last_error: 'the last active bundle could not be restored',
      });
      ledgerDown = false;
      await second.follower.poll();
      expect(second.serving()?.bundle.revision).toBe(initial);
      expect(second.follower.status()).toMatchObject({
        active: { commit: initial },
        last_rejected: { commit: broken },
        last_error: null,
      });
      expect(ledger.slice(2)).toEqual([`activated ${initial} (restored)`]);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  });
});

describe('createGitPolicySource with simulations waiting', () => {
  it('builds a commit built before no more, lets a poll go first, and refuses simulations past the limit', async () => {
    const { opa, tests } = await countingOpa('counting-opa-simulations');
    const initial = await git(['rev-list', '--max-parents=0', 'main']);
    const readme = path.join(repo, 'policies', 'README.md');
    const candidates: string[] = [];
    for (const n of [1, 2, 3]) {
      await git(['checkout', '-q', '-b', `simulated-candidate-${n}`, initial]);
      await appendFile(readme, `\nCandidate ${n}.\n`);
      candidates.push(await commit(`candidate ${n}`));
    }
    await git(['checkout', '-q', '-b', 'simulated', initial]);
    await git(['checkout', '-q', 'main']);
    const follower = createGitPolicySource({
      repository: repo,
      branch: 'simulated',
      path: 'policies',
      opa,
      data: policyDataDocument(await loadRegions()),
      bundles: createBundleStore(path.join(scratch, 'simulated-bundles')),
      activate: async (_bundle, announce) => announce(),
      maxWaitingSimulations: 2,
    });
    await follower.poll();
    expect(follower.status().active?.commit).toBe(initial);
    // The active commit was tested and built by the poll: a simulation of it only reads its bundle back.
    const active = await follower.buildRef('simulated');
    expect(active).toMatchObject({ revision: initial, sha256: follower.status().active!.bundle_sha256 });
    expect(await tests()).toBe(1);

    await git(['checkout', '-q', 'simulated']);
    await appendFile(readme, '\nMerged.\n');
    const merged = await commit('merged');
    await git(['checkout', '-q', 'main']);
    const done: string[] = [];
    const simulations = candidates.map((candidate, i) =>
      follower.buildRef(candidate).then((b) => void done.push(`simulation ${i + 1} ${b.revision}`)),
    );
    // One building, two waiting: a third waiting would be one too many.
    await expect(follower.buildRef(initial)).rejects.toMatchObject({ code: 'POLICY_ENGINE_BUSY' });
    const polled = follower.poll().then(() => void done.push('poll'));
    await Promise.all([...simulations, polled]);
    expect(done).toEqual([
      `simulation 1 ${candidates[0]}`,
      'poll',
      `simulation 2 ${candidates[1]}`,
      `simulation 3 ${candidates[2]}`,
    ]);
    expect(follower.status().active?.commit).toBe(merged);
    expect(await tests()).toBe(5);
    // Each of them built once.
    for (const ref of [candidates[0]!, 'simulated']) await follower.buildRef(ref);
    expect(await tests()).toBe(5);
  });
});
