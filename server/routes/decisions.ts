import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EVIDENCE_SCHEMA } from '../../evaluators/index.ts';
import { MAX_ENTRY_BYTES, type Ledger } from '../../ledger/index.ts';
import type { ReplayEngines } from '../../policies/index.ts';
import {
  checkEvent,
  decide,
  earlierDecision,
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyClaim,
  isKeyHeld,
  PolicyError,
  replayDecision,
  simulateDecisions,
  type DecisionReceipt,
  type DecisionRow,
  type Subject,
} from '../../policies/index.ts';
import { assertInScope, scopeAsLikePatterns, type Identity } from '../auth/index.ts';
import { ServerError } from '../errors.ts';
import type { Evaluations } from '../evaluations/evaluations.ts';
import type { PolicySubsystem } from '../policies/policy-subsystem.ts';
import { actorOf, callerOf, dateOf, idAsStored, type Handlers } from './types.ts';

const NINETY_DAYS_MS = 90 * 86_400_000;

const ajv = new Ajv({ allErrors: false, strict: false });
addFormats.default(ajv);
// Evidence attached by a pipeline that scored elsewhere has no evaluator provenance (seeds, library versions,
// skipped metrics); whatever parts it does carry must have the shape of arbiter.evidence/v1.
const validateEvidence = ajv.compile({ ...EVIDENCE_SCHEMA, required: ['schema'] });

/** A recorded decision, shaped as the receipt `POST /v1/decisions` answered, plus what it was about. */
function decisionView(row: DecisionRow) {
  const result = JSON.parse(row.result) as Record<string, unknown>;
  const input = JSON.parse(row.input) as { subject: unknown };
  return {
    decision_id: row.decision_id,
    region: row.region,
    stage: row.stage,
    subject: input.subject,
    decided_at: row.decided_at,
    input_sha256: row.input_sha256,
    ...result,
    policy: { revision: row.revision, bundle_sha256: row.bundle_sha256 },
    ledger: { region: row.region, seq: row.ledger_seq, leaf_hash: row.leaf_hash },
  };
}

interface DecisionBody {
  evidence?: Record<string, unknown>;
  evaluation_id?: string;
  subject?: Subject;
  [key: string]: unknown;
}

export function decisionHandlers(deps: {
  policies: PolicySubsystem;
  ledger: Ledger;
  evaluations: Evaluations;
  /** Replays' own engines, a few at a time (POLICY_ENGINE_BUSY past that), never the decision engine's. */
  replays: ReplayEngines;
  clock: () => Date;
}): Handlers {
  const { policies, ledger, evaluations, replays, clock } = deps;

  /** A recorded decision, if the caller's scope covers its model and region (AuthError FORBIDDEN if not). */
  const decisionFor = async (id: string, caller: Identity) => {
    const row = await policies.decisions.get(idAsStored(id));
    assertInScope(caller, { model: row.model, region: row.region });
    return row;
  };

  /** The recorded decision a request names as a cursor; an unknown one is the request's fault. */
  const decisionNamed = (id: string, field: string, caller: Identity) =>
    decisionFor(id, caller).catch((err: unknown) => {
      if (err instanceof PolicyError && err.code === 'DECISION_NOT_FOUND')
        throw new ServerError('BAD_REQUEST', `${field}: no decision ${id}`, { field });
      throw err;
    });

  /** The caller's scope as a filter of decision lists, so that limits and pages count what it may see. */
  const scopeFilter = (caller: Identity) => {
    const { models, regions } = scopeAsLikePatterns(caller);
    return { modelLike: models, regionLike: regions };
  };

  /**
   * The evidence of the request, attached (checked against its schema) or a succeeded evaluation's, and the
   * subject it is about. An evaluation that ran a model vouches for that model only: a subject naming another
   * model_sha256 is refused, and one naming none is given the evaluated model's. A CI identity gates only with
   * evaluations it submitted.
   */
  async function evidenceOf(
    body: DecisionBody,
    caller: Identity,
  ): Promise<{ evidence: Record<string, unknown>; subject: unknown }> {
    if ((body.evidence === undefined) === (body.evaluation_id === undefined)) {
      throw new ServerError('BAD_REQUEST', 'give exactly one of evidence or evaluation_id', {
        field: 'evidence',
      });
    }
    if (body.evaluation_id !== undefined) {
      const id = body.evaluation_id;
      const evaluation = await evaluations.getFor(id, caller).catch((err: unknown) => {
        if (err instanceof ServerError && err.code === 'NOT_FOUND')
          throw new ServerError('BAD_REQUEST', `evaluation_id: no evaluation ${id}`, {
            field: 'evaluation_id',
          });
        throw err;
      });
      if (evaluation.status !== 'succeeded' || !evaluation.evidence) {
        throw new ServerError(
          'BAD_REQUEST',
          `evaluation_id: evaluation ${id} is ${evaluation.status}, not succeeded`,
          { field: 'evaluation_id' },
        );
      }
      const evaluated = evaluation.model_sha256;
      const claimed = body.subject?.model_sha256;
      if (evaluated && claimed && claimed !== evaluated) {
        throw new ServerError(
          'BAD_REQUEST',
          `evaluation_id: evaluation ${id} ran model ${evaluated}, not subject.model_sha256 ${claimed}`,
          { field: 'evaluation_id' },
        );
      }
      const subject =
        evaluated && !claimed && body.subject && typeof body.subject === 'object'
          ? { ...body.subject, model_sha256: evaluated }
          : body.subject;
      return { evidence: evaluation.evidence as unknown as Record<string, unknown>, subject };
    }
    if (!validateEvidence(body.evidence)) {
      const e = validateEvidence.errors![0]!;
      const field = `evidence${e.instancePath.replaceAll('/', '.')}`;
      throw new ServerError(
        'BAD_REQUEST',
        `${field}: ${e.message ?? 'is invalid'} (schema arbiter.evidence/v1)`,
        { field },
      );
    }
    return { evidence: body.evidence!, subject: body.subject };
  }

  /** The Idempotency-Key the request sent (the contract has checked its form), if it sent one. */
  const idempotencyKeyOf = (request: FastifyRequest): string | undefined => {
    const key = request.headers['idempotency-key'];
    if (key === undefined) return undefined;
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key))
      throw new ServerError('BAD_REQUEST', 'Idempotency-Key: 1 to 255 printable ASCII characters', {
        field: 'Idempotency-Key',
      });
    return key;
  };

  /** A retry's answer: the first try's receipt, as it was, and nothing decided or recorded again. */
  const replayedReceipt = (reply: FastifyReply, receipt: DecisionReceipt) =>
    reply.status(200).header('idempotency-replayed', 'true').send(receipt);

  return {
    createDecision: async (request, reply) => {
      const { evaluation_id: _evaluationId, ...body } = request.body as DecisionBody;
      // A CI identity may gate only the models and regions its rule names.
      assertInScope(callerOf(request), {
        model: (body.subject as { model?: string } | undefined)?.model,
        region: body.region as string | undefined,
      });
      checkEvent(body, policies.engine());
      const actor = actorOf(request);
      const key = idempotencyKeyOf(request);
      const claim = key === undefined ? undefined : idempotencyClaim(key, request.body as DecisionBody);
      // Looked up before the evidence is: a retry of a decision on an evaluation reads no evaluation again.
      const earlier = claim && (await earlierDecision(policies.decisions, actor, claim, clock()));
      if (earlier) return replayedReceipt(reply, earlier);
      const { evidence, subject } = await evidenceOf(request.body as DecisionBody, callerOf(request));
      let receipt: DecisionReceipt;
      try {
        receipt = await decide(
          { ...body, subject, evidence },
          {
            engine: policies.engine(),
            appendToLedger: async (region, entry, record) => {
              const { seq, leafHash } = await ledger.append(region, { ...entry }, { companion: record });
              return { seq, leafHash };
            },
            waivers: policies.waivers,
            clock,
            actor,
            ledgerEntryLimit: MAX_ENTRY_BYTES,
            ...(claim ? { idempotency: claim } : {}),
          },
        );
      } catch (err) {
        // Another try with this key was recorded while this one was evaluated (a retry that overtook a slow
        // first try, say): this one recorded nothing, and answers with that decision.
        const raced =
          claim && isKeyHeld(err)
            ? await earlierDecision(policies.decisions, actor, claim, clock())
            : undefined;
        if (!raced) throw err;
        return replayedReceipt(reply, raced);
      }
      return reply.status(201).send(receipt);
    },
    listDecisions: async (request) => {
      const q = request.query as {
        model?: string;
        region?: string;
        since?: string;
        limit?: number;
        after?: string;
      };
      const caller = callerOf(request);
      const rows = await policies.decisions.list({
        model: q.model,
        region: q.region,
        ...scopeFilter(caller),
        since: q.since ? dateOf(q.since, 'since') : undefined,
        after: q.after === undefined ? undefined : await decisionNamed(q.after, 'after', caller),
        limit: q.limit ?? 100,
        newestFirst: true,
      });
      return { decisions: rows.map(decisionView) };
    },
    getDecision: async (request) =>
      decisionView(await decisionFor((request.params as { id: string }).id, callerOf(request))),
    // The stored text itself, not a re-serialization: its sha256 is input_sha256 byte for byte.
    getDecisionInput: async (request, reply) => {
      const row = await decisionFor((request.params as { id: string }).id, callerOf(request));
      return reply.type('application/json').send(Buffer.from(row.input, 'utf8'));
    },
    // Admitted before the decision is read: its input may be megabytes.
    replayDecision: async (request) =>
      replays.admit(async () =>
        replayDecision(
          (await decisionFor((request.params as { id: string }).id, callerOf(request))).decision_id,
          {
            decisions: policies.decisions,
            bundles: policies.bundles,
            ledgerEntry: async (region, seq) => (await ledger.reader.entry(region, seq)).entry,
            engines: replays,
          },
        ),
      ),
    getPolicyStatus: async (request) => {
      const { commit } = request.query as { commit?: string };
      const active = policies.ready() ? policies.engine() : undefined;
      // In the same turn as the status: the standing is of the commits it shows.
      const source = policies.source.status();
      const standing = commit === undefined ? undefined : policies.source.standing(commit);
      return {
        source,
        ...(standing ? { commit: await standing } : {}),
        active: active
          ? {
              revision: active.bundle.revision,
              bundle_sha256: active.bundle.sha256,
              entrypoints: active.bundle.entrypoints,
              pool_size: active.poolSize,
            }
          : null,
      };
    },
    simulatePolicy: async (request) => {
      const body = request.body as {
        ref: string;
        since?: string;
        model?: string;
        region?: string;
        limit?: number;
        after?: string;
      };
      // Checked before the candidate is built: a build takes seconds.
      const since = body.since ? dateOf(body.since, 'since') : new Date(clock().getTime() - NINETY_DAYS_MS);
      const caller = callerOf(request);
      const after = body.after === undefined ? undefined : await decisionNamed(body.after, 'after', caller);
      const candidate = await policies.source.buildRef(body.ref);
      return simulateDecisions({
        candidate,
        decisions: policies.decisions,
        since,
        filter: { model: body.model, region: body.region, ...scopeFilter(caller) },
        after,
        limit: body.limit,
        evaluationTimeoutMs: policies.evaluationTimeoutMs,
      });
    },
  };
}
