import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildInputDocument,
  createPolicyEngine,
  type PolicyBundle,
  type PolicyEngine,
} from '../../../policies/index.ts';
import { loadRegions, requireRegion } from '../../../regions/index.ts';
import { buildRepositoryBundle, loadSamples, SAMPLE_CLOCK } from './support.ts';

// The samples are the contract between the Rego policies and the TypeScript side (STYLE.md item 17): each is
// a complete POST /v1/decisions body, run here through the real opa build and the real Wasm engine.
const samples = await loadSamples();
const regions = await loadRegions();

// Denied samples name the rule that must fire; a sample denied for another reason would hide a broken rule.
const EXPECTED_RULES: Record<string, string[]> = {
  'deployment/samples/denied/eu-accuracy-below-minimum.json': ['PERF-ACCURACY-MIN', 'PERF-ROC-AUC-MIN'],
  'deployment/samples/denied/eu-critical-model-file-finding.json': ['SEC-FINDING'],
  'deployment/samples/denied/eu-equalized-odds-skipped-with-labels.json': ['FAIR-EVIDENCE-MISSING'],
  'deployment/samples/denied/eu-evidence-dated-in-the-future.json': ['EVIDENCE-FUTURE-DATED'],
  'deployment/samples/denied/eu-evidence-of-another-model.json': ['EVIDENCE-MODEL-MISMATCH'],
  'deployment/samples/denied/eu-evidence-too-old.json': ['EVIDENCE-STALE'],
  'deployment/samples/denied/eu-evidence-undated.json': ['EVIDENCE-UNDATED'],
  'deployment/samples/denied/eu-fairness-without-groups.json': ['FAIR-EVIDENCE-MISSING'],
  'deployment/samples/denied/eu-no-model-file-scan.json': ['SEC-EVIDENCE-MISSING'],
  'deployment/samples/denied/eu-unacceptable-risk-tier.json': ['RISK-UNACCEPTABLE'],
  // In us the four-fifths rule (UGESP) denies, the parity gap only warns (no regulation of us sets one), and
  // SR 26-2's declared accuracy denies: two denials, so that a waiver of one leaves the other standing.
  'deployment/samples/denied/us-impact-ratio-below-four-fifths.json': [
    'FAIR-IMPACT-RATIO',
    'PERF-ACCURACY-MIN',
  ],
  'deployment/samples/denied/us-nyc-bias-audit-dated-in-the-future.json': [
    'EVIDENCE-FUTURE-DATED',
    'LL144-BIAS-AUDIT-STALE',
  ],
  'deployment/samples/denied/us-nyc-bias-audit-older-than-a-year.json': ['LL144-BIAS-AUDIT-STALE'],
  'deployment/samples/denied/us-nyc-no-bias-audit.json': ['LL144-BIAS-AUDIT-STALE'],
  'deployment/samples/denied/us-nyc-sex-not-reported.json': ['FAIR-ATTRIBUTE-MISSING'],
  'monitoring/samples/denied/eu-drift-not-computed.json': ['DRIFT-PSI'],
  'monitoring/samples/denied/eu-fairness-not-reported.json': ['FAIR-EVIDENCE-MISSING'],
  'monitoring/samples/denied/eu-priors-count-drifted.json': ['DRIFT-PSI'],
  'monitoring/samples/denied/eu-unacceptable-risk-tier.json': ['RISK-UNACCEPTABLE'],
  'monitoring/samples/denied/us-no-drift-evidence.json': ['DRIFT-EVIDENCE-MISSING'],
  'training/samples/denied/ca-missing-values.json': ['DQ-MISSING-RATE'],
  'training/samples/denied/eu-race-groups-unbalanced.json': [
    'DQ-GROUP-COUNT',
    'FAIR-DP-GAP',
    'FAIR-EO-GAP',
    'FAIR-IMPACT-RATIO',
  ],
  'training/samples/denied/uk-missing-rates-not-numbers.json': ['DQ-EVIDENCE-MISSING'],
};

// Allowed samples that show a finding which only warns in their region.
const EXPECTED_WARNINGS: Record<string, string[]> = {
  // NYC LL144 sets no pass/fail threshold: the four-fifths flag and the parity gap are advisory there.
  'deployment/samples/allowed/us-nyc-four-fifths-flag-is-advisory.json': ['FAIR-DP-GAP', 'FAIR-IMPACT-RATIO'],
  'deployment/samples/allowed/sg-parity-gap-is-advisory.json': ['FAIR-DP-GAP'],
};

let bundle: PolicyBundle;
let engine: PolicyEngine;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ bundle, cleanup } = await buildRepositoryBundle());
  engine = await createPolicyEngine({ bundle, poolSize: 2 });
});

afterAll(async () => {
  await engine?.close();
  await cleanup?.();
});

describe('policy samples through the real engine', () => {
  it('has allowed and denied samples for every stage', () => {
    for (const stage of ['training', 'deployment', 'monitoring']) {
      expect(samples.some((s) => s.name.startsWith(`${stage}/samples/allowed/`))).toBe(true);
      expect(samples.some((s) => s.name.startsWith(`${stage}/samples/denied/`))).toBe(true);
    }
    for (const name of [...Object.keys(EXPECTED_RULES), ...Object.keys(EXPECTED_WARNINGS)])
      expect(samples.map((s) => s.name)).toContain(name);
  });

  it.each(samples.map((s) => [s.name, s] as const))('%s', async (_name, sample) => {
    const { body } = sample;
    const input = buildInputDocument({
      stage: body.stage,
      region: body.region,
      now: SAMPLE_CLOCK,
      subject: body.subject,
      evidence: body.evidence,
      model_card: body.model_card,
      context: body.context,
    });
    const { decision, revision, bundleSha256 } = await engine.evaluate(body.stage, input);
    expect({ revision, bundleSha256 }).toEqual({ revision: 'test', bundleSha256: bundle.sha256 });
    if (sample.expected === 'allowed') {
      expect(decision.deny).toEqual([]);
      expect(decision.allow).toBe(true);
      const warned = EXPECTED_WARNINGS[sample.name];
      if (warned) expect([...new Set(decision.warn.map((v) => v.rule))].sort()).toEqual(warned);
    } else {
      expect(decision.allow).toBe(false);
      const rules = [...new Set(decision.deny.map((v) => v.rule))].sort();
      expect(rules).toEqual(EXPECTED_RULES[sample.name]);
    }
    // A finding cites only regulations its region is subject to (regions/<id>/region.yaml).
    const ids = requireRegion(regions, body.region).regulations.map((r) => r.id);
    const cited = [...decision.deny, ...decision.warn, ...decision.obligations].flatMap(
      (v) => v.regulation as string[],
    );
    for (const regulation of cited) expect(ids).toContain(regulation);
    for (const v of [...decision.deny, ...decision.warn]) {
      expect(Object.keys(v).sort()).toEqual([
        'evidence_keys',
        'message',
        'regulation',
        'rule',
        'severity',
        'title',
      ]);
    }
  });
});
