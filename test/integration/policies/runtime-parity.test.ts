import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildInputDocument,
  createPolicyEngine,
  normalizeDecision,
  resolveOpaBinary,
  type InputDocument,
  type PolicyEngine,
  type Stage,
} from '../../../policies/index.ts';
import { loadRegions, policyDataDocument } from '../../../regions/index.ts';
import {
  buildRepositoryBundle,
  deploymentInput,
  loadSamples,
  POLICIES_DIR,
  SAMPLE_CLOCK,
} from './support.ts';

const run = promisify(execFile);

/** Sets the value at path in a JSON document whose every object on the way exists. */
function set(document: object, at: readonly string[], value: unknown): void {
  const parent = at.slice(0, -1).reduce((o, key) => (o as Record<string, object>)[key]!, document);
  (parent as Record<string, unknown>)[at.at(-1)!] = value;
}

/**
 * Malformed evidence, decided by the Wasm engine and by OPA's Go evaluator (`opa eval`, as an auditor or a
 * compliance officer would run the same policies): both must deny alike, with the same messages. The policies
 * pass figures to their checks by path and write them with json.marshal (see policies/README.md); these cases
 * go through each of those checks with figures that are out of range, of the wrong type, or missing. Each is
 * a list of edits of the evidence: [path, value].
 */
const DEPLOYMENT_CASES: Record<string, [string[], unknown][]> = {
  'data quality columns that are not objects, not numbers, or out of range': [
    [
      ['data_quality'],
      {
        missing_rate: 0.01,
        columns: { age: 0.1, sex: { missing_rate: 'x' }, race: {}, x: { missing_rate: 1.5 } },
      },
    ],
  ],
  'fairness groups and reports of the wrong type, and figures out of range': [
    [['fairness', 'sex', 'groups', 'Female'], 0.5],
    [['fairness', 'race', 'groups', 'White', 'tpr'], '0.5'],
    [['fairness', 'race', 'groups', 'White', 'fpr'], 1.5],
    [['fairness', 'race', 'demographic_parity_difference'], -0.2],
    [['fairness', 'race&sex', 'groups'], 'x'],
    [['fairness', 'age_band'], [1]],
  ],
  'impact ratios and gaps that contradict the rates': [
    [['fairness', 'sex', 'groups', 'Male', 'selection_rate'], null],
    [['fairness', 'race', 'groups', 'White', 'impact_ratio'], 1.4],
    [['fairness', 'race', 'equalized_odds_difference'], '0.1'],
  ],
};

describe('the Wasm engine and OPA decide malformed evidence alike', () => {
  let engine: PolicyEngine;
  let dir: string;
  let cleanup: () => Promise<void>;
  const opa = resolveOpaBinary();

  beforeAll(async () => {
    const built = await buildRepositoryBundle();
    cleanup = built.cleanup;
    engine = await createPolicyEngine({ bundle: built.bundle, poolSize: 1 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-runtime-parity-'));
    await writeFile(path.join(dir, 'data.json'), JSON.stringify(policyDataDocument(await loadRegions())));
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
    await cleanup?.();
    await rm(dir, { recursive: true, force: true });
  });

  async function decideWithOpa(stage: Stage, input: InputDocument) {
    const file = path.join(dir, 'input.json');
    await writeFile(file, JSON.stringify(input));
    const { stdout } = await run(
      opa,
      [
        'eval',
        '--ignore',
        '*_test.rego',
        '--ignore',
        'samples',
        '-d',
        '.',
        '-d',
        path.join(dir, 'data.json'),
        '-i',
        file,
        '--format',
        'json',
        `data.arbiter.${stage}.decision`,
      ],
      { cwd: POLICIES_DIR },
    );
    return normalizeDecision(JSON.parse(stdout).result[0].expressions[0].value);
  }

  async function expectAlike(stage: Stage, input: InputDocument): Promise<string[]> {
    const { decision } = await engine.evaluate(stage, input);
    expect(decision).toEqual(await decideWithOpa(stage, input));
    expect(decision.allow).toBe(false);
    return decision.deny.map((v) => v.message);
  }

  it.each(Object.entries(DEPLOYMENT_CASES))(
    '%s',
    async (_name, edits) => {
      const input = await deploymentInput('allowed/us-nyc-hiring-recent-bias-audit');
      const evidence = structuredClone(input.evidence);
      for (const [at, value] of edits) set(evidence, at, value);
      const messages = await expectAlike('deployment', { ...input, evidence });
      expect(messages.some((m) => /cannot be judged|not a rate/.test(m))).toBe(true);
    },
    60_000,
  );

  it('drift features that are not objects, and figures out of range', async () => {
    const sample = (await loadSamples()).find(
      (s) => s.name === 'monitoring/samples/allowed/eu-stable-in-service.json',
    )!;
    const evidence = structuredClone(sample.body.evidence);
    set(evidence, ['drift', 'features'], {
      a: 0.3,
      b: { test: 'ks', p_value: 1.5, psi: -1 },
      c: { test: 'psi', psi: 0.5 },
      d: { test: 'ks', p_value: 0.001, psi: 0.01 },
    });
    const input = buildInputDocument({
      stage: 'monitoring',
      region: sample.body.region,
      now: SAMPLE_CLOCK,
      subject: sample.body.subject,
      evidence,
      model_card: sample.body.model_card,
    });
    const messages = await expectAlike('monitoring', input);
    expect(messages).toContain(
      'drift evidence on feature "b" cannot be judged: p_value 1.5 is not in [0, 1]; psi -1 is below 0',
    );
    expect(messages).toContain('PSI of feature "c" is 0.5, above the maximum 0.2');
  }, 60_000);
});
