import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ENTRY_BYTES } from '../../../ledger/index.ts';
import { loadOpenApi, operationsOf } from '../../../server/openapi.ts';
import { startTestService, type TestService } from '../../support/service.ts';
import { commitAll, gitIn, type GitIdentity } from '../../support/git.ts';

const run = promisify(execFile);
const CAROL: GitIdentity = { name: 'Carol', email: 'carol@example.org' };
const POLICIES_DIR = path.resolve(import.meta.dirname, '../../../policies');
const contract = operationsOf(loadOpenApi());
const declares = (operationId: string, status: number) =>
  String(status) in
  (contract.find((o) => o.operation.operationId === operationId)!.operation.responses as object);

// Enough failing tests that opa's report of them is well over a ledger entry's limit.
const MANY_FAILING_TESTS = [
  'package arbiter.lib.many_failing_test\n',
  ...Array.from(
    { length: 1500 },
    (_, i) => `test_a_failing_test_whose_long_name_makes_the_report_long_${i} if 1 == 2\n`,
  ),
].join('\n');

interface PolicyStatus {
  active: { revision: string } | null;
  source: {
    last_checked_at: string | null;
    last_error: string | null;
    last_rejected: {
      commit: string;
      reason: string;
      reason_truncated: boolean;
      reason_bytes: number;
      reason_sha256: string;
    } | null;
  };
}

/** A service following a policy repository of its own, polled every second. */
describe('a policy branch followed by the service', () => {
  let scratch: string;
  let repo: string;
  let service: TestService;
  let officerA: string;
  let officerB: string;
  let auditor: string;
  const git = (...args: string[]) => gitIn(repo, args, CAROL);
  const commit = (message: string) => commitAll(repo, message, CAROL);
  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: object) =>
    service.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload });
  const status = async () => (await call('GET', '/v1/policies/status', auditor)).json() as PolicyStatus;
  /** Waits until the status shows `done`, and then for `polls` more polls. */
  const pollsAfter = async (done: (s: PolicyStatus) => boolean, polls = 0) => {
    for (let waited = 0; !done(await status()); waited += 100) {
      if (waited > 60_000) throw new Error(`no poll did it: ${JSON.stringify(await status())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < polls; i += 1) {
      const checked = (await status()).source.last_checked_at;
      while ((await status()).source.last_checked_at === checked)
        await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** Every `policy.rejected` entry of `commit`, region by region. */
  const rejectionsOf = async (commitId: string) => {
    const found: Record<string, Record<string, unknown>[]> = {};
    for (const region of service.regions.keys()) {
      await service.ledger.integrate(region);
      const { size } = await service.ledger.reader.treeHead(region);
      const entries = await service.ledger.reader.entries(region, { from: 0, to: size });
      found[region] = entries
        .map((e) => e.entry as Record<string, unknown>)
        .filter((e) => e.type === 'policy.rejected' && e.commit === commitId);
    }
    return found;
  };
  const waiver = (rule: string) => ({
    rule,
    model: 'credit-scoring',
    region: 'eu',
    reason: 'an exception long enough to explain itself',
    expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
  });

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-source-'));
    repo = path.join(scratch, 'repo');
    await run('git', ['init', '-q', '-b', 'main', repo]);
    await cp(POLICIES_DIR, path.join(repo, 'policies'), {
      recursive: true,
      filter: (src) => !src.endsWith('.ts') && !src.includes(`${path.sep}engine`),
    });
    // The branch's only commit does not parse: the service starts with no bundle active.
    await appendFile(
      path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'),
      '\ndeny contains x if {\n',
    );
    await commit('broken rego');
    service = await startTestService({
      ARBITER_POLICY_REPO: repo,
      ARBITER_POLICY_PATH: 'policies',
      ARBITER_POLICY_POLL_MS: '1000',
    });
    const token = async (role: 'compliance_officer' | 'auditor', name: string) =>
      (await service.tokens.create({ role, name, createdBy: 'test' })).token;
    officerA = await token('compliance_officer', 'officer a');
    officerB = await token('compliance_officer', 'officer b');
    auditor = await token('auditor', 'auditor');
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('refuses waiver requests while no bundle is active, rather than skipping the rule checks', async () => {
    expect((await service.app.inject('/readyz')).json().checks.policies).not.toBe('ok');
    for (const rule of ['NOPE', 'RISK-UNACCEPTABLE', 'FAIR-IMPACT-RATIO']) {
      const refused = await call('POST', '/v1/waivers', officerA, waiver(rule));
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('30');
      expect(refused.json()).toMatchObject({ code: 'POLICIES_UNAVAILABLE' });
      expect(declares('requestWaiver', refused.statusCode)).toBe(true);
    }
    expect((await call('GET', '/v1/waivers', auditor)).json().waivers).toEqual([]);
  });

  it('records a rejection whose opa report exceeds a ledger entry once in every region, and tests it once', async () => {
    await cp(
      path.join(POLICIES_DIR, 'checks', 'drift', 'policy.rego'),
      path.join(repo, 'policies', 'checks', 'drift', 'policy.rego'),
    );
    await writeFile(path.join(repo, 'policies', 'lib', 'many_failing_test.rego'), MANY_FAILING_TESTS);
    const failing = await commit('many failing tests');
    await pollsAfter((s) => s.source.last_rejected?.commit === failing);
    const shown = (await status()).source;
    expect(shown.last_error).toBeNull();
    expect(shown.last_rejected).toMatchObject({
      reason_truncated: true,
      reason_bytes: expect.any(Number),
      reason_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const lastRejected = shown.last_rejected!;
    expect(lastRejected.reason_bytes).toBeGreaterThan(MAX_ENTRY_BYTES);
    expect(lastRejected.reason).toContain('test_a_failing_test_whose_long_name');

    // Later polls find nothing new: no second test run, no second entry.
    await pollsAfter(() => true, 2);
    const recorded = await rejectionsOf(failing);
    expect(Object.keys(recorded).length).toBeGreaterThan(1);
    for (const [region, entries] of Object.entries(recorded)) {
      expect(entries, region).toHaveLength(1);
      const [entry] = entries;
      expect(entry).toMatchObject({
        reason_truncated: true,
        reason_bytes: lastRejected.reason_bytes,
        reason_sha256: lastRejected.reason_sha256,
      });
      // The head of what the status shows, which is the head of opa's report.
      expect(lastRejected.reason.startsWith(entry!.reason as string)).toBe(true);
      expect((entry!.reason as string).length).toBeGreaterThan(1000);
    }
    expect((await status()).source.last_error).toBeNull();
  }, 120_000);

  it('checks waivers against the rules once a bundle is active', async () => {
    await rm(path.join(repo, 'policies', 'lib', 'many_failing_test.rego'));
    const good = await commit('the good policies');
    await pollsAfter((s) => s.active?.revision === good);
    const typo = await call('POST', '/v1/waivers', officerA, waiver('NOPE'));
    expect(typo.json()).toMatchObject({ statusCode: 400, code: 'WAIVER_INVALID', field: 'rule' });
    const forbidden = await call('POST', '/v1/waivers', officerA, waiver('RISK-UNACCEPTABLE'));
    expect(forbidden.json()).toMatchObject({ statusCode: 400, code: 'WAIVER_INVALID', field: 'rule' });
    const requested = await call('POST', '/v1/waivers', officerA, waiver('FAIR-IMPACT-RATIO'));
    expect(requested.statusCode).toBe(201);
    const approved = await call('POST', `/v1/waivers/${requested.json().id}/approve`, officerB, {});
    expect(approved.json()).toMatchObject({ status: 'approved' });
  }, 120_000);

  it('answers 503 with Retry-After to a simulation past those already waiting for a build', async () => {
    const head = await git('rev-parse', 'HEAD');
    const candidates: string[] = [];
    for (let n = 1; n <= 6; n += 1) {
      await git('checkout', '-q', '-b', `candidate-${n}`, head);
      await appendFile(path.join(repo, 'policies', 'README.md'), `\nCandidate ${n}.\n`);
      candidates.push(await commit(`candidate ${n}`));
    }
    await git('checkout', '-q', 'main');
    // Each a commit of its own, so each needs a build: one builds, four wait, and the rest are refused at once.
    const answers = await Promise.all(
      candidates.map((ref) => call('POST', '/v1/policies/simulate', auditor, { ref })),
    );
    const refused = answers.filter((a) => a.statusCode === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.json()).toMatchObject({ code: 'POLICY_ENGINE_BUSY' });
    }
    expect(declares('simulatePolicy', 503)).toBe(true);
    expect(answers.filter((a) => a.statusCode === 200).length).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
