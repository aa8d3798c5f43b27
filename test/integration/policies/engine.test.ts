import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildBundle,
  buildInputDocument,
  createBundleStore,
  createPolicyEngine,
  PolicyError,
  readBundle,
  testPolicies,
  type PolicyBundle,
} from '../../../policies/index.ts';
import { evaluate } from '../../../evaluators/index.ts';
import { loadRegions, policyDataDocument } from '../../../regions/index.ts';
import { COMPAS_CSV } from '../../../evaluators/fixtures/generate.ts';
import {
  buildRepositoryBundle,
  deploymentInput,
  loadSamples,
  POLICIES_DIR,
  SAMPLE_CLOCK,
} from './support.ts';

let bundle: PolicyBundle;
let cleanup: () => Promise<void>;
let scratch: string;

beforeAll(async () => {
  ({ bundle, cleanup } = await buildRepositoryBundle('rev-a'));
  scratch = await mkdtemp(path.join(os.tmpdir(), 'arbiter-engine-test-'));
});

afterAll(async () => {
  await cleanup?.();
  await rm(scratch, { recursive: true, force: true });
});

describe('buildBundle', () => {
  it('records the revision, the three entrypoints and the regions, and is reproducible', async () => {
    expect(bundle.revision).toBe('rev-a');
    expect([...bundle.entrypoints].sort()).toEqual([
      'arbiter/deployment/decision',
      'arbiter/monitoring/decision',
      'arbiter/training/decision',
    ]);
    expect(Object.keys(bundle.data.regions as object).sort()).toEqual([
      'ca',
      'eu',
      'sg',
      'uk',
      'us',
      'us-nyc',
    ]);
    const again = await buildRepositoryBundle('rev-a');
    expect(again.bundle.sha256).toBe(bundle.sha256);
    await again.cleanup();
    const other = await buildRepositoryBundle('rev-b');
    expect(other.bundle.sha256).not.toBe(bundle.sha256);
    await other.cleanup();
  });

  it('refuses at build time a builtin the Wasm runtime cannot provide', async () => {
    const source = path.join(scratch, 'uses-time');
    await cp(POLICIES_DIR, source, { recursive: true });
    // The capabilities are Arbiter's, not the policy folder's: a commit cannot drop its copy to get past them.
    await rm(path.join(source, 'capabilities.json'));
    await writeFile(
      path.join(source, 'checks', 'input', 'clock.rego'),
      'package arbiter.checks.input\n\nnow_ns := time.now_ns()\n\ndeny contains "late" if now_ns > 0\n',
    );
    const failure = buildBundle({ sourceDir: source, revision: 'x', out: path.join(scratch, 'x.tar.gz') });
    await expect(failure).rejects.toThrow(PolicyError);
    await expect(failure).rejects.toMatchObject({ code: 'POLICY_BUILD_FAILED', message: /time\.now_ns/ });
  });

  it('holds a policy folder to its Rego tests, and refuses one without any', async () => {
    expect(await testPolicies(POLICIES_DIR)).toMatch(/^PASS: \d+\/\d+$/m);
    const untested = path.join(scratch, 'untested');
    await cp(POLICIES_DIR, untested, {
      recursive: true,
      filter: (src) => !src.endsWith('_test.rego'),
    });
    await expect(testPolicies(untested)).rejects.toMatchObject({
      code: 'POLICY_TEST_FAILED',
      message: /no tests/i,
    });
  });

  it('builds every file its tests ran: a rule kept in a *_test.rego file serves as it was tested', async () => {
    const source = path.join(scratch, 'rule-in-a-test-file');
    await cp(POLICIES_DIR, source, { recursive: true });
    // The severities that block a deployment, moved into a package of their own in a file named like a test.
    const security = path.join(source, 'checks', 'security', 'policy.rego');
    await writeFile(
      security,
      (await readFile(security, 'utf8'))
        .replace(
          'import data.arbiter.lib.result\n',
          'import data.arbiter.checks.security.levels\nimport data.arbiter.lib.result\n',
        )
        .replace(
          '_blocking := {s | some s in data.regions[input.event.region].security.blocking_severities}',
          '_blocking := levels.blocking',
        ),
    );
    await mkdir(path.join(source, 'checks', 'security', 'levels'));
    await writeFile(
      path.join(source, 'checks', 'security', 'levels', 'levels_test.rego'),
      'package arbiter.checks.security.levels\n\n' +
        'blocking := {s | some s in data.regions[input.event.region].security.blocking_severities}\n',
    );
    expect(await testPolicies(source)).toMatch(/^PASS: \d+\/\d+$/m);
    const built = await buildBundle({
      sourceDir: source,
      revision: 'levels',
      out: path.join(scratch, 'levels.tar.gz'),
      data: policyDataDocument(await loadRegions()),
    });
    const engine = await createPolicyEngine({ bundle: built, poolSize: 1 });
    try {
      const { decision } = await engine.evaluate(
        'deployment',
        await deploymentInput('denied/eu-critical-model-file-finding'),
      );
      expect(decision.deny.map((v) => v.rule)).toContain('SEC-FINDING');
    } finally {
      await engine.close();
    }
  });

  it('compiles no test into the Wasm: the module is the one built from the folder without its tests', async () => {
    const untested = path.join(scratch, 'without-tests');
    await cp(POLICIES_DIR, untested, { recursive: true, filter: (src) => !src.endsWith('_test.rego') });
    const built = await buildBundle({
      sourceDir: untested,
      revision: 'rev-a',
      out: path.join(scratch, 'without-tests.tar.gz'),
      data: policyDataDocument(await loadRegions()),
    });
    expect(Buffer.from(built.wasm).equals(Buffer.from(bundle.wasm))).toBe(true);
    expect(built.entrypoints).toEqual(bundle.entrypoints);
    expect(built.data).toEqual(bundle.data);
  });

  it("never lets a policy's tests read this server's environment into the refusal", async () => {
    const hostile = path.join(scratch, 'hostile');
    await cp(POLICIES_DIR, hostile, { recursive: true });
    const secret = 'a-secret-the-test-must-not-see';
    for (const [file, body] of [
      ['env_test.rego', 'test_env if {\n\tprint(opa.runtime().env.ARBITER_TEST_SECRET)\n\tfalse\n}'],
      ['http_test.rego', 'test_http if {\n\thttp.send({"method": "GET", "url": "http://127.0.0.1:1"})\n}'],
    ])
      await writeFile(path.join(hostile, file), `package arbiter.hostile\n\n${body}\n`);
    process.env.ARBITER_TEST_SECRET = secret;
    try {
      const failure = await testPolicies(hostile).then(
        () => undefined,
        (err: unknown) => err as PolicyError,
      );
      expect(failure).toMatchObject({ code: 'POLICY_TEST_FAILED' });
      expect(failure!.message).toMatch(/undefined function (internal\.print|opa\.runtime)/);
      expect(failure!.message).toMatch(/undefined function http\.send/);
      expect(failure!.message).not.toContain(secret);
    } finally {
      delete process.env.ARBITER_TEST_SECRET;
    }
  });

  it('keeps bundles by sha256 and reads them back intact', async () => {
    const store = createBundleStore(path.join(scratch, 'bundles'));
    // The same bundle stored twice at once (a simulation of the head a poll is building): both succeed.
    await Promise.all([store.put(bundle), store.put(bundle), store.put(bundle)]);
    expect(store.has(bundle.sha256)).toBe(true);
    expect((await store.get(bundle.sha256)).sha256).toBe(bundle.sha256);
    // The rule ids come back with it: waivers are checked against them after a restart too.
    expect(bundle.rules).toEqual(
      expect.arrayContaining(['FAIR-IMPACT-RATIO', 'SEC-FINDING', 'EVIDENCE-STALE']),
    );
    expect((await store.get(bundle.sha256)).rules).toEqual(bundle.rules);
    expect((await store.get(bundle.sha256)).nonWaivableRules).toEqual(bundle.nonWaivableRules);
    await expect(store.get('0'.repeat(64))).rejects.toMatchObject({ code: 'POLICY_BUNDLE_MISSING' });
    await expect(store.get('../etc/passwd')).rejects.toMatchObject({ code: 'POLICY_BUNDLE_MISSING' });
    await expect(readBundle(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({
      code: 'POLICY_BUNDLE_INVALID',
    });
  });
});

/** The repository's policies with the deployment decision replaced by `rule`, built as revision `name`. */
async function bundleDecidingBy(name: string, rule: string) {
  const source = path.join(scratch, name);
  await cp(POLICIES_DIR, source, { recursive: true });
  // Its tests would no longer hold: this decision is not the repository's.
  await rm(path.join(source, 'deployment', 'decision_test.rego'));
  await writeFile(
    path.join(source, 'deployment', 'decision.rego'),
    `# METADATA\n# custom:\n#   entrypoint: arbiter/deployment/decision\npackage arbiter.deployment\n\n${rule}\n`,
  );
  return buildBundle({ sourceDir: source, revision: name, out: path.join(scratch, `${name}.tar.gz`) });
}

describe('createPolicyEngine', () => {
  it('returns the decision, the bundle identity and the sha256 of the canonical input', async () => {
    const engine = await createPolicyEngine({ bundle, poolSize: 2 });
    try {
      const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
      const evaluation = await engine.evaluate('deployment', input);
      const expectedHash = createHash('sha256').update(canonicalize(input)!).digest('hex');
      expect(evaluation.inputSha256).toBe(expectedHash);
      expect(evaluation.revision).toBe('rev-a');
      expect(evaluation.bundleSha256).toBe(bundle.sha256);
      expect(evaluation.decision.allow).toBe(true);
      expect(evaluation.decision.obligations.map((o) => o.type)).toEqual(['human_review']);
    } finally {
      await engine.close();
    }
  });

  it('moves a waived denial to waived and ignores an expired waiver', async () => {
    const engine = await createPolicyEngine({ bundle, poolSize: 1 });
    try {
      const waiver = {
        id: 'w-7',
        rule: 'SEC-FINDING',
        model: 'credit-scoring',
        region: 'eu',
        expires_at: '2026-12-01T00:00:00.000Z',
      };
      const waived = await engine.evaluate(
        'deployment',
        await deploymentInput('denied/eu-critical-model-file-finding', [waiver]),
      );
      expect(waived.decision.allow).toBe(true);
      expect(waived.decision.waived).toMatchObject([{ rule: 'SEC-FINDING', waiver_id: 'w-7' }]);
      const expired = { ...waiver, expires_at: '2026-11-23T11:59:59.000Z' };
      const blocked = await engine.evaluate(
        'deployment',
        await deploymentInput('denied/eu-critical-model-file-finding', [expired]),
      );
      expect(blocked.decision.allow).toBe(false);
      expect(blocked.decision.waived).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('swaps bundles atomically: evaluations started before activate finish on the old bundle', async () => {
    const engine = await createPolicyEngine({ bundle, poolSize: 2 });
    const next = await buildRepositoryBundle('rev-next');
    try {
      const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
      const before = Array.from({ length: 50 }, () => engine.evaluate('deployment', input));
      const activation = engine.activate(next.bundle);
      const duringStart = engine.evaluate('deployment', input);
      await activation;
      const after = await engine.evaluate('deployment', input);
      for (const evaluation of await Promise.all(before)) expect(evaluation.revision).toBe('rev-a');
      // Until the new workers are up, the old bundle keeps serving.
      expect((await duringStart).revision).toBe('rev-a');
      expect(after.revision).toBe('rev-next');
      expect(engine.bundle.sha256).toBe(next.bundle.sha256);
    } finally {
      await engine.close();
      await next.cleanup();
    }
  });

  it('keeps the old bundle when the new one cannot load', async () => {
    const engine = await createPolicyEngine({ bundle, poolSize: 1 });
    try {
      const broken = { ...bundle, sha256: 'f'.repeat(64), wasm: new Uint8Array([0, 97, 115, 109]) };
      await expect(engine.activate(broken)).rejects.toMatchObject({ code: 'POLICY_BUNDLE_INVALID' });
      expect(engine.bundle.sha256).toBe(bundle.sha256);
      const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
      expect((await engine.evaluate('deployment', input)).decision.allow).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('refuses a decision document that breaks the contract instead of reading it as no findings', async () => {
    const malformed = {
      'allows-despite-a-denial':
        'decision := {"allow": true, "deny": [{"rule": "SEC-FINDING", "title": "", "regulation": [], ' +
        '"severity": "critical", "message": "m", "evidence_keys": []}], "warn": [], "obligations": [], "waived": []}',
      'deny-is-a-string':
        'decision := {"allow": false, "deny": "SEC-FINDING", "warn": [], "obligations": [], "waived": []}',
    };
    const refusals: Record<string, string> = {};
    for (const [name, rule] of Object.entries(malformed)) {
      const built = await bundleDecidingBy(name, rule);
      const engine = await createPolicyEngine({ bundle: built, poolSize: 1 });
      try {
        const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
        const failure = await engine.evaluate('deployment', input).catch((err: unknown) => err);
        expect(failure).toMatchObject({ code: 'POLICY_EVAL_FAILED' });
        refusals[name] = (failure as Error).message;
      } finally {
        await engine.close();
      }
    }
    expect(refusals['allows-despite-a-denial']).toMatch(
      /allow: allow is true while deny lists unwaived denials/,
    );
    expect(refusals['deny-is-a-string']).toMatch(/malformed decision document: deny: /);
  });

  it('judges evidence with a thousand attributes within its Wasm memory', async () => {
    // Collecting each attribute's problems once scanned every attribute's: with a thousand attributes that
    // exhausted the policy's memory (opa_malloc: failed) on a request well under the body limit.
    const engine = await createPolicyEngine({ bundle, poolSize: 1 });
    try {
      const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
      const unjudgeable = {
        groups: {},
        demographic_parity_difference: null,
        demographic_parity_ratio: null,
        equalized_odds_difference: null,
        equalized_odds_ratio: null,
        excluded_groups: [],
      };
      const evidence = {
        ...input.evidence,
        fairness: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`a${i}`, unjudgeable])),
      };
      const { decision } = await engine.evaluate('deployment', { ...input, evidence });
      const missing = decision.deny.filter((v) => v.rule === 'FAIR-EVIDENCE-MISSING');
      expect(missing).toHaveLength(1000);
      expect(decision.allow).toBe(false);
    } finally {
      await engine.close();
    }
  });

  it('replaces a worker that runs one evaluation past the time limit, and runs those queued behind it', async () => {
    // Every triple of the input's numbers: a few milliseconds for an ordinary input, hours for 3,000 numbers.
    const spinning = await bundleDecidingBy(
      'spins',
      'decision := {"allow": true, "deny": [], "warn": [], "obligations": [], "waived": []} if {\n' +
        '  xs := object.get(input, ["context", "spin"], [])\n' +
        '  count([1 | some a in xs; some b in xs; some c in xs; a + b + c < 0]) >= 0\n}',
    );
    const engine = await createPolicyEngine({ bundle: spinning, poolSize: 1, evaluationTimeoutMs: 300 });
    try {
      const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
      const spin = { ...input, context: { spin: Array.from({ length: 3_000 }, (_, i) => i) } };
      const outcomes = await Promise.allSettled([
        engine.evaluate('deployment', spin as typeof input),
        engine.evaluate('deployment', input),
        engine.evaluate('deployment', input),
      ]);
      expect(outcomes[0]).toMatchObject({
        status: 'rejected',
        reason: {
          code: 'POLICY_EVAL_TIMEOUT',
          message: 'policy evaluation ran past 300 ms at revision spins; its worker was replaced',
        },
      });
      // Queued on the stopped worker, decided by its replacement.
      expect(outcomes.slice(1)).toMatchObject([
        { status: 'fulfilled', value: { decision: { allow: true } } },
        { status: 'fulfilled', value: { decision: { allow: true } } },
      ]);
      expect((await engine.evaluate('deployment', input)).decision.allow).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('refuses at once an evaluation past its queue, and takes more once the queue drains', async () => {
    const engine = await createPolicyEngine({ bundle, poolSize: 1, maxPendingPerWorker: 2 });
    try {
      const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 4 }, () => engine.evaluate('deployment', input)),
      );
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
      expect(outcomes[3]).toMatchObject({
        reason: {
          code: 'POLICY_ENGINE_BUSY',
          message: '2 policy evaluations are waiting or running, the most this service queues',
        },
      });
      expect((await engine.evaluate('deployment', input)).decision.allow).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('refuses evaluations after close', async () => {
    const engine = await createPolicyEngine({ bundle, poolSize: 1 });
    await engine.close();
    const input = await deploymentInput('allowed/eu-credit-scoring-high-risk');
    await expect(engine.evaluate('deployment', input)).rejects.toMatchObject({
      code: 'POLICY_ENGINE_CLOSED',
    });
  });
});

describe('evidence from the evaluator', () => {
  // The policies read what the evaluator writes, not only what the hand-written samples say.
  it('is judged on the missing values of the columns the evaluation used', async () => {
    const lines = (await readFile(COMPAS_CSV, 'utf8')).trimEnd().split('\n');
    const sexAt = lines[0]!.split(',').indexOf('sex');
    // sex blank in every tenth row: 10% missing, above eu's maximum of 5%.
    const gappy = lines.map((line, i) => {
      if (i === 0 || i % 10 !== 0) return line;
      const cells = line.split(',');
      cells[sexAt] = '';
      return cells.join(',');
    });
    const data = path.join(scratch, 'compas-gappy.csv');
    await writeFile(data, gappy.join('\n') + '\n');
    const spec = {
      label: { column: 'two_year_recid', positive: 1 },
      prediction: { column: 'score_text', positive: ['Medium', 'High'] },
      sensitive: ['race', 'sex'],
      metrics: ['performance' as const, 'fairness' as const, 'data_quality' as const],
    };
    const sample = (await loadSamples()).find(
      (s) => s.name === 'training/samples/allowed/uk-training-data.json',
    )!;
    const engine = await createPolicyEngine({ bundle, poolSize: 1 });
    try {
      const decide = async (file: string) => {
        const { evidence } = await evaluate({ data: file, spec });
        const input = buildInputDocument({
          stage: 'training',
          region: 'eu',
          now: SAMPLE_CLOCK,
          subject: sample.body.subject,
          evidence: evidence as unknown as Record<string, unknown>,
          model_card: sample.body.model_card,
          waivers: [],
        });
        return (await engine.evaluate('training', input)).decision;
      };
      const gaps = await decide(data);
      const missing = gaps.deny.filter((v) => v.rule === 'DQ-MISSING-RATE');
      expect(missing.map((v) => v.evidence_keys)).toEqual([['data_quality.columns.sex.missing_rate']]);
      // COMPAS itself lacks values only in columns this evaluation does not read (c_arrest_date, …).
      const whole = await decide(COMPAS_CSV);
      expect(whole.deny.filter((v) => v.rule === 'DQ-MISSING-RATE')).toEqual([]);
    } finally {
      await engine.close();
    }
  });
});
