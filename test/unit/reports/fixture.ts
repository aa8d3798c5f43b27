import {
  periodLengthOf,
  type EvidenceDocument,
  type ReportInput,
  type ReportRegion,
} from '../../../reports/index.ts';
import PROBES from './probe-evidence.json' with { type: 'json' };
import type { ProbeEvidence } from './probe-evidence.ts';

/** Deterministic report inputs for tests and the benchmark (no clock, no randomness from outside). */

export const REGION: ReportRegion = {
  id: 'us-nyc',
  name: 'New York City',
  timezone: 'America/New_York',
  locale: 'en-US',
  ledger: { origin: 'arbiter.example/us-nyc' },
  regulations: [{ id: 'nyc-ll144', title: 'NYC Local Law 144', articles: ['6 RCNY §5-301'] }],
  policy_data: {
    fairness: { impact_ratio_min: 0.8, min_group_size: 30 },
    performance: { accuracy_min: 0.7 },
    drift: { psi_max: 0.2 },
  },
  reports: [{ template: 'us-nyc/ll144-bias-audit', schedule: '0 6 1 1,4,7,10 *' }],
};

// A small seeded generator (mulberry32), so that large fixtures are the same on every run.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The hand-checked evidence of the first model: every number a test asserts on is here. */
export const FIRST_EVIDENCE: EvidenceDocument = {
  schema: 'arbiter.evidence/v1',
  subject: { model_sha256: 'a'.repeat(64), dataset_sha256: 'b'.repeat(64), spec_sha256: 'c'.repeat(64) },
  runtime: { engine: 'onnxruntime-node', version: '1.29.0', execution_provider: 'cpu' },
  rows: 1130,
  performance: { accuracy: 0.812, precision: 0.74, recall: 0.69, f1: 0.714, roc_auc: 0.861 },
  performance_by_group: {
    accuracy: {
      Female: { n: 500, value: 0.79, ci95: [0.754, 0.826] },
      Male: { n: 600, value: 0.83, ci95: [0.8, 0.86] },
    },
  },
  fairness: {
    sex: {
      groups: {
        Male: {
          count: 600,
          selection_rate: 0.5,
          tpr: 0.71,
          fpr: 0.2,
          fnr: 0.29,
          tnr: 0.8,
          ppv: 0.75,
          npv: 0.77,
        },
        Female: {
          count: 500,
          selection_rate: 0.35,
          tpr: 0.66,
          fpr: 0.15,
          fnr: 0.34,
          tnr: 0.85,
          ppv: 0.72,
          npv: 0.79,
        },
        Unknown: { count: 30, selection_rate: 0.4 },
      },
      // The evaluator's z-test (evaluators/metrics/fairness.ts): 175 of 500 against 300 of 600.
      four_fifths: {
        reference_group: 'Male',
        alpha: 0.05,
        groups: {
          Male: { z: null, p_value: null, significant: false },
          Female: { z: -5.001, p_value: 5.7e-7, significant: true },
        },
      },
      demographic_parity_difference: 0.15,
      demographic_parity_ratio: 0.7,
      equalized_odds_difference: 0.05,
      equalized_odds_ratio: 0.75,
    },
    // As the evaluator writes it: every group's ratio against the highest compared group's rate (White), the
    // 15-person group's 1.2 included, though it is left out of the comparison as under min_group_size.
    race: {
      groups: {
        White: { count: 500, selection_rate: 0.5, impact_ratio: 1 },
        'Black or African American': { count: 300, selection_rate: 0.38, impact_ratio: 0.76 },
        Asian: { count: 285, selection_rate: 0.45, impact_ratio: 0.9 },
        'Native Hawaiian or Pacific Islander': { count: 15, selection_rate: 0.6, impact_ratio: 1.2 },
      },
      unknown_count: 30,
      excluded_groups: [
        {
          group: 'Native Hawaiian or Pacific Islander',
          reason: 'count 15 is below min_group_size 30',
          from: ['demographic_parity', 'impact_ratio'],
        },
      ],
      four_fifths: {
        reference_group: 'White',
        alpha: 0.05,
        groups: {
          White: { z: null, p_value: null, significant: false },
          'Black or African American': { z: -3.3, p_value: 0.000968, significant: true },
          Asian: { z: -1.348, p_value: 0.1776, significant: false },
        },
      },
    },
    'race&sex': {
      groups: {
        'White Male': { count: 280, selection_rate: 0.55 },
        'White Female': { count: 220, selection_rate: 0.44 },
        'Black or African American Male': { count: 160, selection_rate: 0.44 },
        'Black or African American Female': { count: 140, selection_rate: 0.3 },
        'Asian Male': { count: 150, selection_rate: 0.5 },
        'Asian Female': { count: 135, selection_rate: 0.4 },
      },
      unknown_count: 45,
    },
  },
  drift: {
    features: {
      age: { test: 'ks', statistic: 0.041, p_value: 0.32, psi: 0.031 },
      income: { test: 'ks', statistic: 0.12, p_value: 0.001, psi: 0.27 },
    },
  },
  // As the evaluator writes them: evaluate() run on a screener of these features (probe-evidence.ts).
  ...(PROBES as ProbeEvidence),
  data_quality: { missing_share: 0.01 },
  security: { findings: [{ id: 'SEC-1', severity: 'low', title: 'pickle-free model file' }] },
};

function evidenceFor(i: number, next: () => number): EvidenceDocument {
  if (i === 0) return FIRST_EVIDENCE;
  const rate = (base: number) => Math.round((base + next() * 0.2) * 1000) / 1000;
  const document: EvidenceDocument = {
    schema: 'arbiter.evidence/v1',
    subject: {
      model_sha256: i.toString(16).padStart(64, '0'),
      dataset_sha256: (i + 7).toString(16).padStart(64, '0'),
    },
    rows: 2000,
    performance: { accuracy: rate(0.7), f1: rate(0.6) },
    fairness: {
      sex: {
        groups: {
          Male: { count: 1000, selection_rate: rate(0.4) },
          Female: { count: 950, selection_rate: rate(0.35) },
        },
        unknown_count: 50,
      },
      race: {
        groups: {
          White: { count: 900, selection_rate: rate(0.4) },
          Black: { count: 500, selection_rate: rate(0.3) },
          Asian: { count: 550, selection_rate: rate(0.35) },
        },
      },
    },
    drift: { features: { age: { test: 'ks', statistic: rate(0), p_value: rate(0.1), psi: rate(0) } } },
    explainability: (PROBES as ProbeEvidence).explainability,
  };
  // Two draws once made up an invented importance here: still drawn, so that the decisions and trends drawn
  // after them stay as the snapshots have them.
  next();
  next();
  return document;
}

/** A report input with `models` models and `decisions` decisions in 2026-Q3. */
export function makeReportInput(options: {
  template: string;
  models?: number;
  decisions?: number;
  region?: ReportRegion;
}): ReportInput {
  const next = rng(42);
  const nModels = options.models ?? 3;
  const nDecisions = options.decisions ?? 40;
  const models = Array.from({ length: nModels }, (_, i) => ({
    id: `model-${String(i + 1).padStart(3, '0')}`,
    name: i === 0 ? 'Résumé screener' : `Model ${i + 1}`,
    version: `1.${i}.0`,
    owner: i % 2 === 0 ? 'talent-analytics' : 'risk-team',
    intended_purpose: 'Rank job applicants for recruiter review',
    risk_tier: 'high',
    lifecycle_status: 'deployed',
    use_case_category: 'employment',
    distribution_date: '2025-02-01',
    documentation: {
      organisation: 'Example Corp',
      team: 'Talent analytics',
      human_review: 'A recruiter reviews every rejection',
      appeals: 'Candidates may ask for a human review at appeals@example.com',
      notice: 'Candidates are told ten business days before use',
      data_sources: 'Historical applications 2022-2025',
    },
    impact_assessments: [
      {
        kind: 'aia',
        name: 'AIA v2',
        date: '2026-05-01',
        raw_score: 40 + i,
        max_score: 100,
        mitigation_score: 30,
        mitigation_max: 35,
      },
      {
        kind: 'dpia',
        name: 'DPIA 2026',
        date: '2026-04-01',
        reviewers: ['dpo@example.com'],
        summary: 'Residual risk accepted',
      },
    ],
    changes: [
      {
        version: `1.${i}.0`,
        date: '2026-06-15',
        change: 'Retrained on 2025 data',
        substantial_modification: false,
        approval_seq: 10 + i,
      },
    ],
  }));
  const rules = [
    'fairness.impact_ratio',
    'performance.accuracy_min',
    'drift.psi_max',
    'documentation.model_card',
  ];
  const start = Date.parse('2026-07-01T04:00:00Z');
  // The commit in force from before the period, one refused within it, and the commit that replaced it halfway
  // through the decisions.
  const [before, refused, replaced] = ['1f0e', '2c9a', '3b7d'].map((p) => p.repeat(10));
  const switchedAt = Math.floor(nDecisions / 2);
  const policyChanges = [
    {
      seq: 40,
      kind: 'activated' as const,
      commit: before!,
      committer: 'Carol Compliance <carol@example.com>',
      at: '2026-06-02T09:00:00.000Z',
      bundle_sha256: 'a'.repeat(64),
    },
    {
      seq: 100 + nDecisions,
      kind: 'rejected' as const,
      commit: refused!,
      committer: 'Dan Developer <dan@example.com>',
      at: new Date(start + (switchedAt - 1) * 60_000 + 1_000).toISOString(),
      reason:
        'policies/checks/drift/policy_test.rego:\ndata.arbiter.checks.drift.test_psi_limit: FAIL (1.2ms)\nFAIL: 1/88',
    },
    {
      seq: 101 + nDecisions,
      kind: 'activated' as const,
      commit: replaced!,
      committer: 'Carol Compliance <carol@example.com>',
      at: new Date(start + (switchedAt - 1) * 60_000 + 2_000).toISOString(),
      bundle_sha256: 'b'.repeat(64),
    },
  ];
  const decisions = Array.from({ length: nDecisions }, (_, i) => {
    const denied = next() < 0.25 ? [rules[Math.floor(next() * rules.length)]!] : [];
    const waived = denied.length > 0 && next() < 0.3 ? denied : [];
    return {
      seq: 100 + i,
      decision_id: `dec-${String(i).padStart(6, '0')}`,
      model_id: models[i % nModels]!.id,
      stage: ['training', 'deployment', 'monitoring'][i % 3]!,
      allow: denied.length === waived.length,
      denied_rules: denied,
      waived_rules: waived,
      decided_at: new Date(start + i * 60_000).toISOString(),
      policy_revision: i < switchedAt ? before! : replaced!,
    };
  });
  const evidence = models.map((m, i) => ({
    id: `ev-${m.id}`,
    model_id: m.id,
    collected_at: '2026-09-15T12:00:00Z',
    data_source: 'historical data',
    signed_by: 'Jane Auditor',
    ledger_seq: 50 + i,
    document: evidenceFor(i, next),
  }));
  const periods = ['2025-Q4', '2026-Q1', '2026-Q2', '2026-Q3'];
  const trends = periods.flatMap((period, p) =>
    models.map((m) => ({
      period,
      model_id: m.id,
      decisions: 20 + p * 5,
      denials: 5 - p,
      min_impact_ratio: Math.round((0.7 + p * 0.04 + next() * 0.05) * 1000) / 1000,
      accuracy: Math.round((0.78 + p * 0.01) * 1000) / 1000,
    })),
  );
  const region = options.region ?? REGION;
  return {
    region,
    template: options.template,
    // An annual report (LL144) covers the year the fixture's quarter falls in.
    period: periodLengthOf(options.template) === 'year' ? '2026' : '2026-Q3',
    generated_at: '2026-10-01T10:00:00.000Z',
    trigger: 'scheduled',
    models,
    decisions,
    waivers: [
      {
        id: 'waiver-1',
        model_id: models[0]!.id,
        rule: 'fairness.impact_ratio',
        reason: 'Remediation retraining scheduled for 2026-Q4',
        approved_by: ['alice@example.com', 'bob@example.com'],
        granted_at: '2026-07-10T09:00:00Z',
        expires_at: '2026-12-31T00:00:00Z',
        seq: 99,
      },
    ],
    policy_changes: policyChanges,
    evidence,
    trends,
    incidents: [
      {
        id: 'INC-7',
        model_id: models[0]!.id,
        detected_at: '2026-08-02T08:00:00Z',
        class: 'fundamental-rights',
        description: 'Selection rate for women fell below the threshold',
        reported_to: 'market surveillance authority',
        corrective_action: 'Threshold recalibrated',
        status: 'closed',
      },
    ],
    verification: {
      checkpoint: `${region.ledger.origin}\n1234\nq83lMDbDqRvZ+QPXeR0VHy6kyhG8dX2exGyQpm+4mTg=\n\n— arbiter.example/${region.id} Az3grl+Xj2A8gJcFfl1Vp5eZcYvCqJQ0cN1xE2cVv4M=\n`,
      tree_size: 1234,
      entries: [99, 100, 101].map((seq) => ({
        seq,
        type: seq === 99 ? 'waiver.approved' : 'decision',
        leaf_hash: seq.toString(16).padStart(64, 'e'),
        proof: Array.from({ length: 4 }, (_, k) => (seq * 10 + k).toString(16).padStart(64, 'f')),
      })),
      server_url: 'https://arbiter.example',
    },
  };
}
