import type { Ledger } from '../../ledger/index.ts';
import type { DecisionRow, DecisionStore, WaiverStore } from '../../policies/index.ts';
import type { Region } from '../../regions/index.ts';
import {
  DOC_FIELDS,
  groupsLeftOut,
  parsePeriod,
  periodContaining,
  periodLengthOf,
  previousPeriod,
  ReportError,
  type DecisionRecord,
  type EvidenceDocument,
  type EvidenceRecord,
  type ImpactAssessment,
  type ModelDocumentation,
  type ModelRecord,
  type Period,
  type PolicyChangeRecord,
  type ReportInput,
  type TrendPoint,
  type WaiverRecord,
} from '../../reports/index.ts';
import type { ModelInventory } from '../inventory/models.ts';
import { entriesOfType } from '../ledger-entries.ts';

/** Quarters shown in a report's trend charts, the period's last one included. */
const TREND_QUARTERS = 4;
/**
 * Decisions read per report, newest first. A period with more is refused rather than summarised from part of
 * it; trend quarters before the oldest decision read are left out of the trends rather than undercounted.
 */
const MAX_DECISIONS = 100_000;

interface Violation {
  rule: string;
}
interface RecordedDecision {
  allow: boolean;
  deny: Violation[];
  waived: Violation[];
}

/**
 * The policy changes a report on `period` shows, from the region's own log: the last activation before the
 * period (in force as it began), and every activation and refusal recorded within it.
 */
async function policyChanges(
  ledger: Ledger,
  region: string,
  size: number,
  period: Period,
): Promise<PolicyChangeRecord[]> {
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const records = [
    ...(await entriesOfType(ledger.reader, region, 'policy.activated', size)),
    ...(await entriesOfType(ledger.reader, region, 'policy.rejected', size)),
  ]
    .map(({ seq, entry }): PolicyChangeRecord => {
      const rejected = entry['type'] === 'policy.rejected';
      return {
        seq,
        kind: rejected ? 'rejected' : entry['restored'] === true ? 'restored' : 'activated',
        commit: text(entry['commit']),
        committer: text(entry['committer']),
        at: text(entry['at']),
        ...(rejected ? { reason: text(entry['reason']) } : { bundle_sha256: text(entry['bundle_sha256']) }),
      };
    })
    .filter((c) => Date.parse(c.at) < period.end.getTime())
    .sort((a, b) => a.seq - b.seq);
  const began = (c: PolicyChangeRecord) => Date.parse(c.at) < period.start.getTime();
  const inForce = records.filter((c) => began(c) && c.kind !== 'rejected').at(-1);
  return [...(inForce ? [inForce] : []), ...records.filter((c) => !began(c))];
}

/** The `count` quarters up to the last one of `period`, oldest first: a year's are its own four. */
function trendQuarters(period: Period, timezone: string, count: number): Period[] {
  const quarters = [periodContaining(new Date(period.end.getTime() - 1), timezone, 'quarter')];
  while (quarters.length < count) quarters.unshift(previousPeriod(quarters[0]!, timezone));
  return quarters;
}

/** The lowest impact ratio among the groups the policy gate compares, as the report's fairness tables show them. */
function minImpactRatio(evidence: EvidenceDocument | undefined, minGroupSize: number | null): number | null {
  let min: number | null = null;
  for (const attribute of Object.values(evidence?.fairness ?? {})) {
    const leftOut = groupsLeftOut(attribute, minGroupSize);
    for (const [name, group] of Object.entries(attribute.groups)) {
      const ratio = group.impact_ratio;
      if (!leftOut.has(name) && typeof ratio === 'number' && (min === null || ratio < min)) min = ratio;
    }
  }
  return min;
}

const evidenceOf = (row: DecisionRow) => (JSON.parse(row.input) as { evidence: EvidenceDocument }).evidence;
const cardOf = (row: DecisionRow) =>
  (JSON.parse(row.input) as { model_card?: Record<string, unknown> }).model_card ?? {};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

// The model card is free-form JSON (a region only requires a few fields of it): what a report prints from it is
// taken only where it has the shape the report needs, and an entry of another shape is left out, not guessed at.
function documentationOf(card: Record<string, unknown>, description: string | undefined) {
  const entries = DOC_FIELDS.flatMap((f) => {
    const v = textOf(card[f]);
    return v === undefined ? [] : [[f, v] as const];
  });
  if (description !== undefined) entries.push(['description', description]);
  return entries.length > 0 ? (Object.fromEntries(entries) as ModelDocumentation) : undefined;
}

function impactAssessmentsOf(card: Record<string, unknown>): ImpactAssessment[] | undefined {
  if (!Array.isArray(card['impact_assessments'])) return undefined;
  return card['impact_assessments'].filter(
    (a): a is ImpactAssessment =>
      isRecord(a) &&
      textOf(a['kind']) !== undefined &&
      textOf(a['name']) !== undefined &&
      textOf(a['date']) !== undefined,
  );
}

function changesOf(card: Record<string, unknown>): NonNullable<ModelRecord['changes']> | undefined {
  if (!Array.isArray(card['changes'])) return undefined;
  return card['changes'].filter(
    (c): c is NonNullable<ModelRecord['changes']>[number] =>
      isRecord(c) &&
      textOf(c['version']) !== undefined &&
      textOf(c['date']) !== undefined &&
      textOf(c['change']) !== undefined &&
      typeof c['substantial_modification'] === 'boolean',
  );
}

/** The signed checkpoint of exactly this tree size (a newer one may exist by now; the proofs are against this). */
async function checkpointAt(ledger: Ledger, region: string, size: number): Promise<string> {
  const [checkpoint] = await ledger.reader.checkpoints(region, { fromSize: size, toSize: size });
  if (!checkpoint) throw new TypeError(`no checkpoint of size ${size} in ${region}`);
  return checkpoint.note;
}

/**
 * Gathers what a region's report for a period is rendered from — the inventory, the decisions, waivers and
 * policy changes of the period, the evidence those decisions were made on, quarter trends — and the inclusion
 * proof of every cited ledger entry against one signed checkpoint. Reads only: it changes nothing.
 */
export async function assembleReportInput(options: {
  readonly region: Region;
  readonly template: string;
  readonly period: string;
  readonly trigger: 'scheduled' | 'on_demand';
  readonly clock: () => Date;
  readonly inventory: ModelInventory;
  readonly decisions: DecisionStore;
  readonly waivers: WaiverStore;
  readonly ledger: Ledger;
  /** MAX_DECISIONS unless given (tests). */
  readonly maxDecisions?: number;
}): Promise<ReportInput> {
  const { region, ledger } = options;
  const maxDecisions = options.maxDecisions ?? MAX_DECISIONS;
  const period = parsePeriod(options.period, region.timezone, periodLengthOf(options.template));
  const rows = (
    await options.decisions.list({
      region: region.id,
      since: trendQuarters(period, region.timezone, TREND_QUARTERS)[0]!.start,
      before: period.end,
      limit: maxDecisions,
      newestFirst: true,
    })
  ).reverse();
  // A full page may have cut off older decisions: everything after the oldest one read is complete (those at
  // its very instant perhaps not).
  const readFrom = rows.length === maxDecisions ? rows[0]!.decided_at : null;
  if (readFrom !== null && readFrom >= period.start)
    throw new ReportError(
      'REPORT_TOO_MANY_DECISIONS',
      `${region.id} has more than ${maxDecisions} decisions in ${period.id}; a report covers at most that many`,
    );
  const quarters = trendQuarters(period, region.timezone, TREND_QUARTERS).filter(
    (q) => readFrom === null || q.start > readFrom,
  );
  const inPeriod = rows.filter((r) => r.decided_at >= period.start);

  const decisions: DecisionRecord[] = inPeriod.map((row) => {
    const result = JSON.parse(row.result) as RecordedDecision;
    return {
      seq: row.ledger_seq ?? -1,
      decision_id: row.decision_id,
      model_id: row.model,
      stage: row.stage,
      allow: row.allow,
      denied_rules: [...result.deny, ...result.waived].map((v) => v.rule),
      waived_rules: result.waived.map((v) => v.rule),
      decided_at: row.decided_at.toISOString(),
      policy_revision: row.revision,
    };
  });

  // The evidence each model's latest decision of the period was made on.
  const latestByModel = new Map<string, DecisionRow>();
  for (const row of inPeriod) {
    const seen = latestByModel.get(row.model);
    if (!seen || row.decided_at > seen.decided_at) latestByModel.set(row.model, row);
  }
  const evidence: EvidenceRecord[] = [...latestByModel.values()].map((row) => {
    const document = evidenceOf(row);
    const card = cardOf(row);
    const generatedAt = (document as { generated_at?: string }).generated_at;
    return {
      id: row.decision_id,
      model_id: row.model,
      collected_at: generatedAt ?? row.decided_at.toISOString(),
      data_source: textOf(document.data_source) ?? textOf(card['data_source']),
      signed_by: textOf(card['signed_by']),
      ledger_seq: row.ledger_seq ?? undefined,
      document,
    };
  });

  const inventory = new Map((await options.inventory.list()).map((m) => [m.name, m]));
  const modelIds = [...new Set(rows.map((r) => r.model))].sort();
  const models: ModelRecord[] = modelIds.map((id) => {
    const registered = inventory.get(id);
    const latest = rows.filter((r) => r.model === id).sort((a, b) => +b.decided_at - +a.decided_at)[0]!;
    const card = cardOf(latest);
    const deployed = rows.some((r) => r.model === id && r.stage === 'deployment' && r.allow);
    return {
      id,
      name: id,
      version: latest.version,
      owner: registered?.owner ?? textOf(card['owner']) ?? 'not registered',
      intended_purpose: registered?.intended_purpose ?? textOf(card['intended_purpose']) ?? 'not registered',
      risk_tier: registered?.risk_tier ?? textOf(card['risk_tier']) ?? 'unknown',
      lifecycle_status: deployed ? 'deployed' : 'in review',
      vendor: textOf(card['vendor']),
      use_case_category: textOf(card['use_case_category']),
      distribution_date: textOf(card['distribution_date']),
      documentation: documentationOf(card, textOf(registered?.description)),
      impact_assessments: impactAssessmentsOf(card),
      changes: changesOf(card),
    };
  });

  const waivers: WaiverRecord[] = (await options.waivers.list({ region: region.id }))
    .filter((w) => w.decided_at !== null && ['approved', 'expired', 'revoked'].includes(w.status))
    // In force from its approval until its expiry or, if sooner, its revocation.
    .filter((w) => w.decided_at! < period.end && (w.revoked_at ?? w.expires_at) > period.start)
    .map((w) => ({
      id: w.id,
      model_id: w.model,
      rule: w.rule,
      reason: w.reason,
      approved_by: [w.decided_by!],
      granted_at: w.decided_at!.toISOString(),
      expires_at: w.expires_at.toISOString(),
      ...(w.revoked_at ? { revoked_at: w.revoked_at.toISOString() } : {}),
      // Its waiver.requested entry; the approval, expiry and revocation entries carry the same waiver_id.
      ...(w.ledger_seq !== null ? { seq: w.ledger_seq } : {}),
    }));

  const minGroupSize = region.policy_data.fairness.min_group_size;
  const trends: TrendPoint[] = quarters.flatMap((q) =>
    modelIds.map((model) => {
      const inQuarter = rows.filter(
        (r) => r.model === model && r.decided_at >= q.start && r.decided_at < q.end,
      );
      const last = inQuarter.sort((a, b) => +b.decided_at - +a.decided_at)[0];
      const document = last ? evidenceOf(last) : undefined;
      const accuracy = document?.performance?.accuracy;
      return {
        period: q.id,
        model_id: model,
        decisions: inQuarter.length,
        denials: inQuarter.filter((r) => !r.allow).length,
        min_impact_ratio: minImpactRatio(document, minGroupSize),
        accuracy: typeof accuracy === 'number' ? accuracy : null,
      };
    }),
  );

  // Every cited entry is proven against one signed checkpoint that covers them all.
  const head = await ledger.integrate(region.id);
  const policies = await policyChanges(ledger, region.id, head.size, period);
  const cited = [
    ...decisions
      .filter((d) => d.seq >= 0 && d.seq < head.size)
      .map((d) => ({ seq: d.seq, type: 'decision' })),
    ...policies.map((c) => ({
      seq: c.seq,
      type: c.kind === 'rejected' ? 'policy.rejected' : 'policy.activated',
    })),
  ];
  const entries = await Promise.all(
    cited.map(async ({ seq, type }) => {
      const proof = await ledger.reader.inclusionProof(region.id, seq, head.size);
      return { seq, type, leaf_hash: proof.leaf_hash, proof: proof.proof };
    }),
  );
  return {
    region,
    template: options.template,
    period: period.id,
    generated_at: options.clock().toISOString(),
    trigger: options.trigger,
    models,
    decisions,
    waivers,
    policy_changes: policies,
    evidence,
    trends,
    // `incidents` is left out: Arbiter has no incident source, and an empty list would print "no incidents".
    verification: {
      checkpoint: await checkpointAt(ledger, region.id, head.size),
      tree_size: head.size,
      entries,
      vkey: (await ledger.reader.keys(region.id)).ed25519_vkey,
    },
  };
}
