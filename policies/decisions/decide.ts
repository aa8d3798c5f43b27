import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../actor.ts';
import { sha256Hex } from '../engine/bundle.ts';
import { canonicalJson } from '../engine/canonical-json.ts';
import type { Decision, Obligation, Violation } from '../engine/decision.ts';
import { buildInputDocument, type Subject } from '../engine/input-document.ts';
import type { PolicyEngine } from '../engine/policy-engine.ts';
import { isStage, STAGES, type Stage } from '../engine/stages.ts';
import { PolicyError } from '../errors.ts';
import { violatesConstraint, WAIVERS_IN_FORCE_CONSTRAINT } from '../tables.ts';
import { decisionRecord, type DecisionRecord, type DecisionRow } from './decision-store.ts';

/** The body of `POST /v1/decisions` once evidence is resolved (an evaluation_id is the server's to resolve). */
export interface DecisionRequest {
  readonly region: string;
  readonly stage: string;
  readonly subject: Subject;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly model_card?: Readonly<Record<string, unknown>>;
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * The `decision` entry appended to the region's ledger. It holds the whole decision document when the entry
 * fits the ledger's entry limit; a decision with more findings than that (an intersection of hundreds of small
 * groups, say) is committed to by the sha256 of its canonical JSON instead, beside a count of its findings by
 * rule, and the document itself is in the stored decision.
 */
export type DecisionLedgerEntry = DecisionLedgerEntryFields &
  (
    | { readonly result: Decision; readonly result_sha256?: never; readonly result_summary?: never }
    | { readonly result?: never; readonly result_sha256: string; readonly result_summary: DecisionSummary }
  );

interface DecisionLedgerEntryFields {
  readonly type: 'decision';
  readonly decision_id: string;
  readonly region: string;
  readonly stage: Stage;
  readonly subject: Subject;
  readonly input_sha256: string;
  readonly policy: { readonly revision: string; readonly bundle_sha256: string };
  readonly actor: Actor;
  readonly at: string;
}

/** A decision too large for its ledger entry, in brief: allow, and how many findings each rule gave. */
export interface DecisionSummary {
  readonly allow: boolean;
  readonly deny: Readonly<Record<string, number>>;
  readonly warn: Readonly<Record<string, number>>;
  readonly obligations: Readonly<Record<string, number>>;
  readonly waived: Readonly<Record<string, number>>;
}

export interface LedgerReceipt {
  readonly seq: number;
  readonly leafHash: string;
}

/**
 * Appends an entry to a region's log together with `record({ leafHash })`, a row of ours that MUST commit
 * in the same transaction as the entry, with the entry's sequence number in its `seqColumn`; resolves only
 * once both are durable (the ledger's contract). The ledger is another module's: the server injects it.
 */
export type AppendToLedger = (
  region: string,
  entry: DecisionLedgerEntry,
  record: (appended: { readonly leafHash: string }) => DecisionRecord,
) => Promise<LedgerReceipt>;

export interface DecideDeps {
  readonly engine: PolicyEngine;
  readonly appendToLedger: AppendToLedger;
  /** `fresh`: read now, not from a snapshot (after a revocation the snapshot may not hold yet). */
  readonly waivers: {
    activeFor(model: string, region: string, options: { fresh: boolean }): Promise<DecisionWaivers>;
  };
  readonly clock: () => Date;
  readonly actor: Actor;
  /** The ledger's largest entry in bytes (its entries are RFC 8785 JSON). */
  readonly ledgerEntryLimit: number;
  readonly newId?: () => string;
  /**
   * The request's Idempotency-Key, recorded with the decision: its row (and so its ledger entry) is refused
   * with IDEMPOTENCY_KEY_CONSTRAINT while another decision of the same actor holds the key.
   */
  readonly idempotency?: IdempotencyClaim;
}

/** An Idempotency-Key as a decision request sent it, with the sha256 of the request body's RFC 8785 JSON. */
export interface IdempotencyClaim {
  readonly key: string;
  readonly requestSha256: string;
}

type DecisionWaivers = Parameters<typeof buildInputDocument>[0]['waivers'];

/** What `POST /v1/decisions` answers (201). */
export interface DecisionReceipt {
  readonly decision_id: string;
  readonly allow: boolean;
  readonly deny: readonly Violation[];
  readonly warn: readonly Violation[];
  readonly obligations: readonly Obligation[];
  readonly waived: readonly Violation[];
  /** sha256 of the input document's RFC 8785 JSON, as the ledger entry records it. */
  readonly input_sha256: string;
  /** The event's time (the input document's `event.now`), RFC 3339 in UTC, as the ledger entry's `at`. */
  readonly decided_at: string;
  readonly policy: { readonly revision: string; readonly bundle_sha256: string };
  readonly ledger: { readonly region: string; readonly seq: number; readonly leaf_hash: string };
}

const RISK_TIERS = ['minimal', 'limited', 'high', 'unacceptable'] as const;

// Deeper than any evidence document needs; canonical JSON and the policy runtime recurse per level.
const MAX_DEPTH = 64;
// In a u-flag pattern a surrogate pair is one code point: only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;
// Control characters, and the marks and embeddings that reorder text (U+200E/F, U+202A–202E, U+2066–2069): a
// version shown in a report, a receipt or a terminal must read as what was decided on.
const UNSHOWABLE = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/**
 * What keeps a JSON value from being an input document (walked without recursion): nesting deeper than
 * MAX_DEPTH, or what RFC 8785 cannot serialize, so it cannot be hashed: a string or key with a lone surrogate,
 * a number beyond double range (JSON.parse reads 1e400 as Infinity).
 */
export function unfitForInput(value: unknown): string | null {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item === 'number' && !Number.isFinite(item)) return 'holds a number JSON cannot represent';
    if (typeof item === 'string' && LONE_SURROGATE.test(item)) return 'holds a string with a lone surrogate';
    if (item === null || typeof item !== 'object') continue;
    if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
    for (const [key, child] of Object.entries(item)) {
      if (LONE_SURROGATE.test(key)) return 'holds a key with a lone surrogate';
      stack.push([child, depth + 1]);
    }
  }
  return null;
}

const bodySchema = z
  .object({
    region: z.string(),
    stage: z.string(),
    subject: z
      .object({
        model: z.string().min(1),
        version: z
          .string()
          .min(1)
          .refine((v) => !UNSHOWABLE.test(v), 'must not hold control or bidirectional formatting characters'),
        model_sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, 'lower-case hex sha256')
          .optional(),
      })
      .strict(),
    evidence: z.record(z.string(), z.unknown()),
    model_card: z.record(z.string(), z.unknown()).optional(),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/**
 * Decides one lifecycle event: validates the request (refusing with a PolicyError that names the field,
 * before anything is recorded), evaluates it with the active waivers, appends the `decision` entry to the
 * region's ledger together with the stored decision and its exact input, and returns the receipt.
 */
export async function decide(request: unknown, deps: DecideDeps): Promise<DecisionReceipt> {
  const body = validate(request, deps.engine);
  for (let attempt = 1; ; attempt++) {
    try {
      return await decideOnce(body, deps, attempt > 1);
    } catch (err) {
      // A waiver the evaluation relied on was revoked (by another process, whose revocation this one's
      // snapshot of waivers did not hold yet) before the decision could be recorded: nothing was recorded,
      // and the decision is made again with the waivers read afresh.
      if (attempt >= MAX_ATTEMPTS || !violatesConstraint(err, WAIVERS_IN_FORCE_CONSTRAINT)) throw err;
    }
  }
}

// A second attempt reads the waivers after the revocation that refused the first committed; a third covers
// one more revocation landing in between.
const MAX_ATTEMPTS = 3;

async function decideOnce(
  body: z.infer<typeof bodySchema>,
  deps: DecideDeps,
  freshWaivers: boolean,
): Promise<DecisionReceipt> {
  const stage = body.stage as Stage;
  const now = deps.clock();
  const input = buildInputDocument({
    stage,
    region: body.region,
    now,
    subject: body.subject,
    evidence: body.evidence,
    model_card: body.model_card,
    context: body.context,
    waivers: await deps.waivers.activeFor(body.subject.model, body.region, { fresh: freshWaivers }),
  });
  const evaluation = await deps.engine.evaluate(stage, input);
  const decisionId = (deps.newId ?? randomUUID)();
  const policy = { revision: evaluation.revision, bundle_sha256: evaluation.bundleSha256 };
  const resultJson = JSON.stringify(evaluation.decision);
  const fields: DecisionLedgerEntryFields = {
    type: 'decision',
    decision_id: decisionId,
    region: body.region,
    stage,
    subject: body.subject,
    input_sha256: evaluation.inputSha256,
    policy,
    actor: deps.actor,
    at: now.toISOString(),
  };
  const entry = ledgerEntryOf(fields, evaluation.decision, resultJson, deps.ledgerEntryLimit);
  // The stored decision (with its exact input, for replay) commits with its ledger entry or not at all, and
  // only while every waiver it relies on is in force.
  const receipt = await deps.appendToLedger(body.region, entry, (ledger) =>
    decisionRecord(
      {
        decision_id: decisionId,
        region: body.region,
        stage,
        model: body.subject.model,
        version: body.subject.version,
        input: evaluation.inputJson,
        input_sha256: evaluation.inputSha256,
        result: resultJson,
        allow: evaluation.decision.allow,
        revision: policy.revision,
        bundle_sha256: policy.bundle_sha256,
        actor: JSON.stringify(deps.actor),
        decided_at: now,
        waiver_ids: [...new Set(evaluation.decision.waived.map((v) => v.waiver_id!))].sort(),
        idempotency_key: deps.idempotency?.key ?? null,
        request_sha256: deps.idempotency?.requestSha256 ?? null,
      },
      ledger,
    ),
  );
  return {
    decision_id: decisionId,
    ...evaluation.decision,
    input_sha256: evaluation.inputSha256,
    decided_at: fields.at,
    policy,
    ledger: { region: body.region, seq: receipt.seq, leaf_hash: receipt.leafHash },
  };
}

/** The receipt of a recorded decision, as `POST /v1/decisions` answered it. */
export function receiptOf(row: DecisionRow): DecisionReceipt {
  return {
    decision_id: row.decision_id,
    ...(JSON.parse(row.result) as Decision),
    input_sha256: row.input_sha256,
    decided_at: row.decided_at.toISOString(),
    policy: { revision: row.revision, bundle_sha256: row.bundle_sha256 },
    ledger: { region: row.region, seq: Number(row.ledger_seq), leaf_hash: row.leaf_hash },
  };
}

/**
 * The first checks of a decision request, on its region and stage, which a caller may run before it does
 * any work to gather the request's evidence (a decision on an unknown region is refused as such).
 */
export function checkEvent(request: unknown, engine: PolicyEngine): void {
  const raw = (request ?? {}) as Record<string, unknown>;
  const regions = (engine.bundle.data.regions ?? {}) as Record<string, unknown>;
  if (typeof raw.region !== 'string' || !Object.hasOwn(regions, raw.region)) {
    throw new PolicyError(
      'POLICY_REGION_UNKNOWN',
      `region: unknown region ${JSON.stringify(raw.region)}; known: ${Object.keys(regions).sort().join(', ')}`,
      { field: 'region' },
    );
  }
  if (!isStage(raw.stage)) {
    throw new PolicyError('POLICY_STAGE_UNKNOWN', `stage: must be one of ${STAGES.join(', ')}`, {
      field: 'stage',
    });
  }
}

function validate(request: unknown, engine: PolicyEngine): z.infer<typeof bodySchema> {
  checkEvent(request, engine);
  const regions = (engine.bundle.data.regions ?? {}) as Record<
    string,
    { model_card?: { required_fields?: string[] } }
  >;
  const parsed = bodySchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field =
      issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '(body)');
    const code = field.startsWith('model_card') ? 'POLICY_MODEL_CARD_INVALID' : 'POLICY_INPUT_INVALID';
    throw new PolicyError(code, `${field}: ${issue.message}`, { field, cause: parsed.error });
  }
  const body = parsed.data;
  for (const field of ['subject', 'evidence', 'model_card', 'context'] as const) {
    const problem = unfitForInput(body[field]);
    if (problem) throw new PolicyError('POLICY_INPUT_INVALID', `${field}: ${problem}`, { field });
  }
  const card = body.model_card ?? {};
  // A deployment must document its model; other stages may omit the card, but what they send must be valid.
  // A required field documents something only as a non-blank string (false, 0 or "   " document nothing),
  // as the CARD-REQUIRED-FIELD rule judges it too.
  if (body.stage === 'deployment') {
    for (const field of regions[body.region]!.model_card?.required_fields ?? []) {
      const value = card[field];
      if (value === undefined || value === null || value === '') {
        throw new PolicyError(
          'POLICY_MODEL_CARD_INVALID',
          `model_card.${field}: required in region ${body.region}`,
          {
            field: `model_card.${field}`,
          },
        );
      }
      if (typeof value !== 'string' || value.trim() === '') {
        throw new PolicyError(
          'POLICY_MODEL_CARD_INVALID',
          `model_card.${field}: must be a non-blank string (required in region ${body.region})`,
          { field: `model_card.${field}` },
        );
      }
    }
  }
  if (card.risk_tier !== undefined && !(RISK_TIERS as readonly unknown[]).includes(card.risk_tier)) {
    throw new PolicyError(
      'POLICY_MODEL_CARD_INVALID',
      `model_card.risk_tier: must be one of ${RISK_TIERS.join(', ')}`,
      {
        field: 'model_card.risk_tier',
      },
    );
  }
  return body;
}

/**
 * The entry with the whole decision when it fits `limit`, else with its hash and summary. RFC 8785 writes
 * strings and numbers as JSON.stringify does, so the sizes below are the entry's own: the fields as written
 * around a one-character stand-in for the result, plus the result.
 */
function ledgerEntryOf(
  fields: DecisionLedgerEntryFields,
  decision: Decision,
  resultJson: string,
  limit: number,
): DecisionLedgerEntry {
  const around = Buffer.byteLength(JSON.stringify({ ...fields, result: 0 })) - 1;
  if (around + Buffer.byteLength(resultJson) <= limit) return { ...fields, result: decision };
  const count = (items: readonly { readonly rule: string }[]) => {
    const byRule: Record<string, number> = {};
    for (const { rule } of items) byRule[rule] = (byRule[rule] ?? 0) + 1;
    return byRule;
  };
  return {
    ...fields,
    result_sha256: hashDecision(decision),
    result_summary: {
      allow: decision.allow,
      deny: count(decision.deny),
      warn: count(decision.warn),
      obligations: count(decision.obligations),
      waived: count(decision.waived),
    },
  };
}

/** sha256 of a decision document's RFC 8785 JSON: what a summarised ledger entry commits to. */
export function hashDecision(decision: Decision): string {
  return sha256Hex(canonicalJson(decision));
}
