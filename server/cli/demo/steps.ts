import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import canonicalize from 'canonicalize';
import { generateFixtures, ADULT_TEST, COMPAS_CSV } from '../../../evaluators/fixtures/generate.ts';
import { loadRegions, requireRegion } from '../../../regions/index.ts';
import { periodContaining, periodLengthOf } from '../../../reports/index.ts';
import { CliFailure } from '../output.ts';
import { waitForCommit, type PolicyStatus } from '../policy.ts';
import type { DemoApi } from './api.ts';
import { shiftColumn } from './datasets.ts';
import type { PolicyRepo } from './policy-repo.ts';

const ARBITER_BIN = path.resolve(import.meta.dirname, '../../../bin/arbiter.js');

/** What every step shares: the service, the callers' tokens, and what earlier steps produced. */
export interface DemoContext {
  readonly api: DemoApi;
  readonly dataDir: string;
  readonly outDir: string;
  readonly repo: PolicyRepo;
  readonly started: Date;
  /** Written by earlier steps, read by later ones. */
  readonly state: DemoState;
}

interface Violation {
  rule: string;
  title?: string;
  message: string;
}

interface DecisionReceipt {
  decision_id: string;
  allow: boolean;
  deny: Violation[];
  warn: Violation[];
  waived: Violation[];
  obligations: { message?: string; type?: string }[];
  policy: { revision: string };
  ledger: { region: string; seq: number };
}

interface Evaluation {
  id: string;
  status: string;
  progress: { rows: number; phase?: string | null };
  error?: { code: string; message: string } | null;
  evidence?: Record<string, unknown> | null;
}

interface ModelUnderReview {
  name: string;
  version: string;
  onnx: string;
  spec: Record<string, unknown>;
  card: { owner: string; intended_purpose: string; risk_tier: string };
  sha256?: string;
}

/** One recorded decision the candidate policy would decide differently (POST /v1/policies/simulate). */
interface Flip {
  decision_id: string;
  region: string;
  stage: string;
  model: string;
  version: string;
  recorded: { allow: boolean; deny: string[] };
  candidate: { allow: boolean; deny: string[] };
}

export interface DemoState {
  tokens: Record<'ci' | 'officerA' | 'officerB' | 'auditor', string>;
  compas: ModelUnderReview;
  adult: ModelUnderReview;
  artifacts: Record<'compas' | 'compasDrifted' | 'adultTest', string>;
  evaluations: Record<'compas' | 'adult' | 'compasLive', Evaluation>;
  /** The rules that denied the compas deployment in eu, and the waiver approved for each. */
  deniedRules: string[];
  waivers: Record<string, string>;
  reports: string[];
  bundles: string[];
  evidenceFiles: string[];
  activatedCommit: string;
}

/** One line of a step's output, indented under its title. */
export type Say = (line: string) => void;

export interface DemoStep {
  readonly title: string;
  run(ctx: DemoContext, say: Say): Promise<void>;
}

const REGIONS = ['us', 'us-nyc', 'eu'] as const;

/** Policy messages quote raw floats; three decimals read better and change nothing a reader decides on. */
function tidy(message: string): string {
  return message.replace(/\d+\.\d{4,}(e-?\d+)?/g, (n) => {
    const value = Number(n);
    return Math.abs(value) < 0.001 ? value.toExponential(2) : value.toFixed(3);
  });
}

/** A receipt as a reviewer reads it: the verdict, then each rule once with its worst finding and a count. */
function describe(receipt: DecisionReceipt, say: Say): void {
  say(
    `${receipt.allow ? 'ALLOWED' : 'DENIED'}  (decision ${receipt.decision_id.slice(0, 8)}, ledger ${receipt.ledger.region}#${receipt.ledger.seq}, policy ${receipt.policy.revision.slice(0, 10)})`,
  );
  const grouped = (label: string, violations: Violation[]) => {
    const byRule = new Map<string, Violation[]>();
    for (const v of violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v]);
    for (const [rule, list] of byRule) {
      const more = list.length > 1 ? ` (+${list.length - 1} more)` : '';
      say(`  ${label.padEnd(6)} ${rule}: ${tidy(list[0]!.message)}${more}`);
    }
  };
  grouped('deny', receipt.deny);
  grouped('waived', receipt.waived);
  grouped('warn', receipt.warn);
  for (const o of receipt.obligations) say(`  must   ${o.message ?? o.type}`);
}

function decide(ctx: DemoContext, body: Record<string, unknown>): Promise<DecisionReceipt> {
  return ctx.api.as(ctx.state.tokens.ci).json<DecisionReceipt>('POST', '/v1/decisions', body);
}

/** The deployment of compas-recidivism in eu, sent once to be denied and again under the waivers. */
function compasDeploymentInEu(ctx: DemoContext) {
  return {
    region: 'eu',
    stage: 'deployment',
    subject: subject(ctx.state.compas),
    evaluation_id: ctx.state.evaluations.compas.id,
    model_card: ctx.state.compas.card,
  };
}

function subject(model: ModelUnderReview) {
  return { model: model.name, version: model.version, model_sha256: model.sha256 };
}

async function waitForEvaluations(ctx: DemoContext, say: Say, names: (keyof DemoState['evaluations'])[]) {
  const api = ctx.api.as(ctx.state.tokens.ci);
  const lastShown = new Map<string, number>();
  for (;;) {
    let pending = 0;
    for (const name of names) {
      const current = ctx.state.evaluations[name];
      if (['succeeded', 'failed', 'cancelled'].includes(current.status)) continue;
      const next = await api.json<Evaluation>('GET', `/v1/evaluations/${current.id}`);
      ctx.state.evaluations[name] = next;
      const shown = lastShown.get(name);
      if (next.status === 'failed' || next.status === 'cancelled') {
        throw new CliFailure(
          `evaluation ${name} ${next.status}: ${next.error?.message ?? 'no reason given'}`,
        );
      }
      if (next.status === 'succeeded') {
        say(`${name.padEnd(11)} succeeded: ${next.progress.rows} rows`);
        continue;
      }
      pending += 1;
      if (next.progress.rows !== shown && (shown === undefined || next.progress.rows - shown >= 2000)) {
        say(
          `${name.padEnd(11)} ${next.status}${next.progress.phase ? ` (${next.progress.phase})` : ''}: ${next.progress.rows} rows`,
        );
        lastShown.set(name, next.progress.rows);
      }
    }
    if (pending === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function fairnessLine(evidence: Record<string, unknown>, attribute: string): string {
  const report = (evidence.fairness as Record<string, Record<string, unknown>> | undefined)?.[attribute];
  if (!report) return `${attribute}: not reported`;
  const groups = report.groups as Record<string, { impact_ratio?: number; count: number }>;
  const worst = Object.entries(groups)
    .filter(([, g]) => typeof g.impact_ratio === 'number')
    .sort(([, a], [, b]) => a.impact_ratio! - b.impact_ratio!)[0];
  const fmt = (n: unknown) => (typeof n === 'number' ? n.toFixed(3) : 'n/a');
  return (
    `${attribute}: demographic parity difference ${fmt(report.demographic_parity_difference)}, ` +
    `equalized odds difference ${fmt(report.equalized_odds_difference)}` +
    (worst ? `, lowest impact ratio ${fmt(worst[1].impact_ratio)} (${worst[0]})` : '')
  );
}

/** The eight parts of Arbiter's job, in the order a team meets them. */
export const STEPS: DemoStep[] = [
  {
    title: 'create API tokens: a CI pipeline, two compliance officers, an auditor (POST /v1/tokens)',
    async run(ctx, say) {
      const make = async (role: string, name: string) =>
        (await ctx.api.json<{ token: string }>('POST', '/v1/tokens', { role, name })).token;
      ctx.state.tokens = {
        ci: await make('ci', 'ci-pipeline'),
        officerA: await make('compliance_officer', 'officer-alice'),
        officerB: await make('compliance_officer', 'officer-bob'),
        auditor: await make('auditor', 'external-auditor'),
      };
      // Kept for --keep-running: whoever explores the service next needs these callers too.
      const file = path.join(ctx.dataDir, 'demo-tokens.json');
      await writeFile(file, JSON.stringify(ctx.state.tokens, null, 2), { mode: 0o600 });
      say('ci-pipeline (ci), officer-alice and officer-bob (compliance_officer), external-auditor (auditor)');
      say(`tokens saved to ${file} (readable only by you)`);
    },
  },
  {
    title: 'train real models on COMPAS and Adult, export them to ONNX, register them (POST /v1/models)',
    async run(ctx, say) {
      const t = Date.now();
      const fixtures = await generateFixtures(path.join(ctx.dataDir, 'models'));
      say(
        `trained in ${((Date.now() - t) / 1000).toFixed(1)} s (repository code: evaluators/fixtures/) → ${path.join(ctx.dataDir, 'models')}`,
      );
      ctx.state.compas = {
        name: 'compas-recidivism',
        version: '1.0.0',
        onnx: fixtures.compasLogistic.model,
        spec: { ...fixtures.compasLogistic.spec },
        card: {
          owner: 'risk-analytics@example.com',
          intended_purpose: 'pre-trial recidivism risk screening (logistic regression; race is an input)',
          risk_tier: 'high',
        },
      };
      ctx.state.adult = {
        name: 'adult-income',
        version: '1.0.0',
        onnx: fixtures.adultLogisticSklearn.model,
        // adult.test starts with a non-data line.
        spec: {
          ...fixtures.adultLogisticSklearn.spec,
          data: { ...fixtures.adultLogisticSklearn.spec.data, skip_lines: 1 },
        },
        card: {
          owner: 'people-analytics@example.com',
          intended_purpose: 'salary-band screening of job applicants (an automated employment decision tool)',
          risk_tier: 'high',
        },
      };
      for (const model of [ctx.state.compas, ctx.state.adult]) {
        await ctx.api.as(ctx.state.tokens.ci).json('POST', '/v1/models', { name: model.name, ...model.card });
        say(`registered ${model.name} (${path.basename(model.onnx)}, risk tier ${model.card.risk_tier})`);
      }
    },
  },
  {
    title: 'upload models and data, evaluate them in the service (POST /v1/artifacts, /v1/evaluations)',
    async run(ctx, say) {
      const api = ctx.api.as(ctx.state.tokens.ci);
      const compasCsv = await readFile(COMPAS_CSV, 'utf8');
      ctx.state.compas.sha256 = await api.upload(
        'compas-logistic.onnx',
        await readFile(ctx.state.compas.onnx),
      );
      ctx.state.adult.sha256 = await api.upload('adult-logistic.onnx', await readFile(ctx.state.adult.onnx));
      ctx.state.artifacts = {
        compas: await api.upload('compas-scores-two-years.csv', Buffer.from(compasCsv)),
        // Live data for monitoring: the people now scored are a year older than those trained on.
        compasDrifted: await api.upload('compas-live.csv', Buffer.from(shiftColumn(compasCsv, 'age', 1))),
        adultTest: await api.upload('adult.test.csv', await readFile(ADULT_TEST)),
      };
      say(
        `uploaded 2 models and 3 datasets (content-addressed: compas ${ctx.state.artifacts.compas.slice(0, 12)}…)`,
      );
      const start = (model: ModelUnderReview, data: string, extra: Record<string, unknown> = {}) =>
        api.json<Evaluation>('POST', '/v1/evaluations', {
          model_sha256: model.sha256,
          data_sha256: data,
          spec: model.spec,
          ...extra,
        });
      ctx.state.evaluations = {
        compas: await start(ctx.state.compas, ctx.state.artifacts.compas),
        adult: await start(ctx.state.adult, ctx.state.artifacts.adultTest),
        compasLive: await start(ctx.state.compas, ctx.state.artifacts.compasDrifted, {
          reference_sha256: ctx.state.artifacts.compas,
          spec: { ...ctx.state.compas.spec, drift: { features: ['age', 'priors_count'], bins: 10 } },
        }),
      };
      await waitForEvaluations(ctx, say, ['compas', 'adult', 'compasLive']);
      await mkdir(path.join(ctx.outDir, 'evidence'), { recursive: true });
      for (const [name, evaluation] of Object.entries(ctx.state.evaluations)) {
        const file = path.join(ctx.outDir, 'evidence', `${name}.json`);
        await writeFile(file, JSON.stringify(evaluation.evidence, null, 2));
        ctx.state.evidenceFiles.push(file);
      }
      const compas = ctx.state.evaluations.compas.evidence!;
      const perf = compas.performance as { accuracy: number; roc_auc: number };
      say(
        `compas-recidivism: accuracy ${perf.accuracy.toFixed(3)}, ROC AUC ${perf.roc_auc.toFixed(3)}; ${fairnessLine(compas, 'race')}`,
      );
      say(`adult-income:      ${fairnessLine(ctx.state.evaluations.adult.evidence!, 'sex')}`);
      if (!compas.generated_at)
        say('note: the evidence carries no generated_at; freshness checks will flag it');
    },
  },
  {
    title: 'training events, as CI sends them (POST /v1/decisions, stage training, region us)',
    async run(ctx, say) {
      for (const [model, evaluation] of [
        [ctx.state.compas, ctx.state.evaluations.compas],
        [ctx.state.adult, ctx.state.evaluations.adult],
      ] as const) {
        say(`${model.name} in us:`);
        describe(
          await decide(ctx, {
            region: 'us',
            stage: 'training',
            subject: subject(model),
            evaluation_id: evaluation.id,
            model_card: model.card,
          }),
          (l) => say(`  ${l}`),
        );
      }
    },
  },
  {
    title:
      'deployment of compas-recidivism in eu: denied for fairness (POST /v1/decisions, stage deployment)',
    async run(ctx, say) {
      const receipt = await decide(ctx, compasDeploymentInEu(ctx));
      describe(receipt, say);
      if (receipt.allow) throw new CliFailure('expected the fairness gate to deny this deployment');
      const rules = [...new Set(receipt.deny.map((v) => v.rule))];
      const other = rules.filter((r) => !r.startsWith('FAIR-'));
      if (other.length > 0) throw new CliFailure(`denied for more than fairness: ${other.join(', ')}`);
      ctx.state.deniedRules = rules;
      say(`denied rule(s): ${rules.join(', ')}`);
    },
  },
  {
    title:
      'waiver: officer-alice requests, officer-bob approves (POST /v1/waivers, /v1/waivers/{id}/approve)',
    async run(ctx, say) {
      const alice = ctx.api.as(ctx.state.tokens.officerA);
      const bob = ctx.api.as(ctx.state.tokens.officerB);
      const expires = new Date(ctx.started.getTime() + 30 * 86_400_000).toISOString();
      for (const rule of ctx.state.deniedRules) {
        const waiver = await alice.json<{ id: string; status: string }>('POST', '/v1/waivers', {
          rule,
          model: ctx.state.compas.name,
          region: 'eu',
          reason:
            'Interim use while the race-blind retrain is validated; every score gets human review (ticket RISK-142).',
          expires_at: expires,
        });
        say(
          `${rule}: requested by officer-alice (waiver ${waiver.id.slice(0, 8)}, ${waiver.status}, expires ${expires.slice(0, 10)})`,
        );
        ctx.state.waivers[rule] = waiver.id;
        const own = await alice.json<{ error?: { message?: string }; message?: string }>(
          'POST',
          `/v1/waivers/${waiver.id}/approve`,
          { note: 'approving my own request' },
          [400, 403, 409],
        );
        say(
          `  officer-alice approving her own request is refused: ${own.error?.message ?? own.message ?? 'refused'}`,
        );
        const approved = await bob.json<{ status: string }>('POST', `/v1/waivers/${waiver.id}/approve`, {
          note: 'Reviewed the mitigation plan; time-boxed to 30 days.',
        });
        say(`  approved by officer-bob: waiver is ${approved.status}`);
      }
    },
  },
  {
    title: 'the same deployment again: allowed under the approved waiver',
    async run(ctx, say) {
      const receipt = await decide(ctx, compasDeploymentInEu(ctx));
      describe(receipt, say);
      if (!receipt.allow) throw new CliFailure('expected the waived deployment to be allowed');
    },
  },
  {
    title: 'deployment of adult-income in us-nyc (LL144): evidence plus an external bias audit',
    async run(ctx, say) {
      say('a real pipeline attaches its independent bias audit (LL144 §20-871) to the evaluation evidence:');
      const receipt = await decide(ctx, {
        region: 'us-nyc',
        stage: 'deployment',
        subject: subject(ctx.state.adult),
        evidence: {
          ...ctx.state.evaluations.adult.evidence,
          bias_audit: {
            completed_at: new Date(ctx.started.getTime() - 30 * 86_400_000).toISOString(),
            auditor: 'Independent Audits LLC (demo)',
          },
        },
        model_card: ctx.state.adult.card,
      });
      describe(receipt, say);
      if (receipt.deny.some((v) => v.rule.startsWith('LL144'))) {
        throw new CliFailure('the attached bias audit was not accepted');
      }
      say(
        'the bias audit is accepted (no LL144-BIAS-AUDIT-STALE); the four-fifths rule still blocks this tool',
      );
    },
  },
  {
    title: 'monitoring compas-recidivism in eu on drifted live data (stage monitoring, reference dataset)',
    async run(ctx, say) {
      const evidence = ctx.state.evaluations.compasLive.evidence!;
      const drift = (
        evidence.drift as { features: Record<string, { psi?: number; p_value?: number; test?: string }> }
      ).features;
      for (const [feature, stats] of Object.entries(drift)) {
        say(
          `drift of ${feature}: PSI ${stats.psi?.toFixed(3)}, ${stats.test ?? 'test'} p-value ${stats.p_value?.toExponential(2)}`,
        );
      }
      const receipt = await decide(ctx, {
        region: 'eu',
        stage: 'monitoring',
        subject: subject(ctx.state.compas),
        evaluation_id: ctx.state.evaluations.compasLive.id,
        model_card: ctx.state.compas.card,
      });
      describe(receipt, say);
      if (!receipt.allow || !receipt.warn.some((v) => v.rule.startsWith('DRIFT-'))) {
        throw new CliFailure('expected the monitoring gate to allow with a drift warning');
      }
    },
  },
  {
    title: 'policy change through Git: KS drift becomes blocking in monitoring (simulate, merge, activate)',
    async run(ctx, say) {
      const api = ctx.api.as(ctx.state.tokens.officerA);
      const branch = 'monitoring-ks-blocks';
      await ctx.repo.git('checkout', '-q', '-b', branch);
      await ctx.repo.edit(
        'monitoring/decision.rego',
        'some findings in [input_check.deny, drift.deny, performance.deny, fairness.deny, freshness.deny, oversight.deny]',
        'some findings in [input_check.deny, drift.deny, drift.warn, performance.deny, fairness.deny, freshness.deny, oversight.deny]',
      );
      await ctx.repo.edit(
        'monitoring/decision.rego',
        '_warnings := (drift.warn | fairness.warn) | freshness.warn',
        '_warnings := fairness.warn | freshness.warn',
      );
      await ctx.repo.edit(
        'monitoring/decision_test.rego',
        'test_fail_drift_blocks if {',
        [
          'test_fail_ks_drift_blocks if {',
          '\tks := object.union(_input(0.05), {"evidence": {"drift": {"features": {"age": {"p_value": 0.001}}}}})',
          '\td := monitoring.decision with input as ks with data.regions as _regions',
          '\td.allow == false',
          '\t{v.rule | some v in d.deny} == {"DRIFT-KS"}',
          '}',
          '',
          'test_fail_drift_blocks if {',
        ].join('\n'),
      );
      const commit = await ctx.repo.commitAll('Monitoring: a significant KS drift blocks, not just warns');
      say(`committed ${commit.slice(0, 10)} on branch ${branch} in ${ctx.repo.dir}`);
      const simulation = await api.json<{
        candidate: { revision: string };
        evaluated: number;
        flips: Flip[];
      }>('POST', '/v1/policies/simulate', { ref: branch, since: ctx.started.toISOString() });
      say(
        `simulation of ${simulation.candidate.revision.slice(0, 10)}: ${simulation.evaluated} recorded decisions re-evaluated, ${simulation.flips.length} would flip`,
      );
      for (const f of simulation.flips) {
        const verdict = (d: Flip['recorded']) => (d.allow ? 'ALLOWED' : `DENIED (${d.deny.join(', ')})`);
        say(
          `  flip: ${f.region} ${f.stage} of ${f.model} ${f.version} (decision ${f.decision_id.slice(0, 8)}): ` +
            `recorded ${verdict(f.recorded)} → would be ${verdict(f.candidate)}`,
        );
      }
      if (simulation.flips.length === 0) throw new CliFailure('expected the monitoring decision to flip');
      await ctx.repo.git('checkout', '-q', 'main');
      await ctx.repo.git('merge', '-q', '--ff-only', branch);
      say(`merged into main; waiting for the service to poll, test and activate it`);
      const { status, outcome } = await waitForCommit(
        () => api.json<PolicyStatus>('GET', '/v1/policies/status'),
        commit,
        90,
      );
      if (outcome !== 'active')
        throw new CliFailure(
          outcome === 'refused'
            ? `commit ${commit} was refused: ${status.source.last_rejected!.reason}`
            : `commit ${commit} not active after 90 s: ${JSON.stringify(status.source)}`,
        );
      ctx.state.activatedCommit = commit;
      say(
        `activated commit ${commit} (policies tested with opa test, compiled to Wasm, recorded in every region's ledger)`,
      );
    },
  },
  {
    title:
      'new information: officer-alice revokes a waiver before its expiry (POST /v1/waivers/{id}/revoke); the deployment is denied again',
    async run(ctx, say) {
      const alice = ctx.api.as(ctx.state.tokens.officerA);
      const [rule, id] = Object.entries(ctx.state.waivers)[0]!;
      const revoked = await alice.json<{ status: string }>('POST', `/v1/waivers/${id}/revoke`, {
        note: 'The race-blind retrain slipped a quarter; the interim exception no longer holds (ticket RISK-142).',
      });
      say(`${rule}: waiver ${id.slice(0, 8)} is ${revoked.status}; no decision from now on relies on it`);
      const receipt = await decide(ctx, compasDeploymentInEu(ctx));
      describe(receipt, say);
      if (receipt.allow || !receipt.deny.some((v) => v.rule === rule))
        throw new CliFailure(`expected ${rule} to deny again once its waiver was revoked`);
    },
  },
  {
    title: 'reports to PDF for the period under way (POST /v1/reports, GET /v1/reports/{id}/pdf)',
    async run(ctx, say) {
      const api = ctx.api.as(ctx.state.tokens.officerA);
      const regions = await loadRegions();
      const templates: Record<(typeof REGIONS)[number], string> = {
        us: 'us/adverse-impact-quarterly',
        'us-nyc': 'us-nyc/ll144-bias-audit',
        eu: 'eu/ai-act-pmm-quarterly',
      };
      for (const region of REGIONS) {
        const template = templates[region];
        // The quarter, or for the annual LL144 audit the year, under way on the region's own clock.
        const { timezone } = requireRegion(regions, region);
        const period = periodContaining(ctx.started, timezone, periodLengthOf(template)).id;
        const report = await api.json<{ id: string; pdf_sha256: string; ledger_seq: number }>(
          'POST',
          '/v1/reports',
          {
            region,
            template,
            period,
          },
        );
        const pdf = await api.bytes(`/v1/reports/${report.id}/pdf`);
        if (pdf.subarray(0, 4).toString('latin1') !== '%PDF')
          throw new CliFailure(`${template} is not a PDF`);
        const file = path.join(ctx.outDir, `${template.replaceAll('/', '--')}-${period}.pdf`);
        await writeFile(file, pdf);
        ctx.state.reports.push(file);
        say(
          `${region}: ${template} ${period} → ${file} (${(pdf.length / 1024).toFixed(0)} KiB, sha256 ${report.pdf_sha256.slice(0, 12)}…, ledger #${report.ledger_seq})`,
        );
      }
    },
  },
  {
    title: 'audit bundles verified offline by the auditor (GET /v1/ledger/{region}/bundle, arbiter verify)',
    async run(ctx, say) {
      const api = ctx.api.as(ctx.state.tokens.auditor);
      // Let the last appends reach a signed checkpoint, so the bundle covers everything above.
      await new Promise((r) => setTimeout(r, 1500));
      for (const region of REGIONS) {
        const bundle = await api.json<{ entries: { entry: Record<string, unknown>; entry_b64: string }[] }>(
          'GET',
          `/v1/ledger/${region}/bundle`,
        );
        const file = path.join(ctx.outDir, `${region}-audit-bundle.json`);
        await writeFile(file, JSON.stringify(bundle, null, 2));
        ctx.state.bundles.push(file);
        // The auditor pins the keys the operator publishes; a bundle's own keys prove nothing.
        const keys = await api.json<{ ed25519_vkey: string; eip191_address: string }>(
          'GET',
          `/v1/ledger/${region}/keys`,
        );
        const ok = await verify(file, keys);
        say(`${region}: ${bundle.entries.length} entries → ${file}`);
        say(`  arbiter verify: exit ${ok.code}: ${ok.summary}`);
        if (ok.code !== 0) throw new CliFailure(`the untouched ${region} bundle failed verification`);
        const tampered = tamper(bundle);
        const tamperedFile = path.join(ctx.outDir, `${region}-audit-bundle.tampered.json`);
        await writeFile(tamperedFile, JSON.stringify(tampered.bundle, null, 2));
        const bad = await verify(tamperedFile, keys);
        say(`  tampered copy (${tampered.what}): exit ${bad.code}: ${bad.summary}`);
        if (bad.code === 0) throw new CliFailure(`the tampered ${region} bundle passed verification`);
        // An auditor who asks for a later range only: the bundle cites, with their proofs, the earlier
        // activations and waiver entries its decisions rely on, so they are checked all the same.
        const from = Math.floor(bundle.entries.length / 2);
        const later = await api.json<{ entries: unknown[]; cited: unknown[] }>(
          'GET',
          `/v1/ledger/${region}/bundle?from=${from}`,
        );
        const laterFile = path.join(ctx.outDir, `${region}-audit-bundle.from-${from}.json`);
        await writeFile(laterFile, JSON.stringify(later, null, 2));
        const laterOk = await verify(laterFile, keys);
        say(
          `  from #${from} on: ${later.entries.length} entries citing ${later.cited.length} earlier ones: exit ${laterOk.code}: ${laterOk.summary}`,
        );
        if (laterOk.code !== 0)
          throw new CliFailure(`the ${region} bundle from #${from} failed verification`);
      }
    },
  },
];

/** Rewrites one recorded denial as an allow, both in the readable entry and in its hashed bytes. */
function tamper<B extends { entries: { entry: Record<string, unknown>; entry_b64: string }[] }>(
  bundle: B,
): { bundle: B; what: string } {
  const copy = structuredClone(bundle);
  const record =
    copy.entries.find((e) => (e.entry.result as { allow?: boolean } | undefined)?.allow === false) ??
    copy.entries[copy.entries.length - 1]!;
  const seq = (record as unknown as { seq: number }).seq;
  const result = record.entry.result as { allow?: boolean } | undefined;
  let what: string;
  if (result) {
    result.allow = true;
    what = `decision #${seq} rewritten from DENIED to ALLOWED`;
  } else {
    record.entry.at = new Date(0).toISOString();
    what = `entry #${seq} back-dated`;
  }
  record.entry_b64 = Buffer.from(canonicalize(record.entry)!).toString('base64');
  return { bundle: copy, what };
}

/** `arbiter verify FILE` with the log's published keys, in a separate process, as an auditor would run it. */
function verify(
  file: string,
  keys: { ed25519_vkey: string; eip191_address: string },
): Promise<{ code: number; summary: string }> {
  const args = [
    'verify',
    file,
    '--trusted-vkey',
    keys.ed25519_vkey,
    '--trusted-eip191-address',
    keys.eip191_address,
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, [ARBITER_BIN, ...args], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      const lines = `${stdout}\n${stderr}`
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      resolve({ code, summary: lines.slice(-2).join(' | ') || '(no output)' });
    });
  });
}
