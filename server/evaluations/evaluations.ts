import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { sql, type Kysely, type Selectable } from 'kysely';
import type PgBoss from 'pg-boss';
import {
  checkSpecFor,
  dataFormatOf,
  EvaluatorError,
  loadSpec,
  type EvaluationSpec,
  type Evidence,
} from '../../evaluators/index.ts';
import { artifactScopeOf, type ArtifactStore } from '../artifacts/store.ts';
import type { EvaluationTable, ServerTables } from '../db/schema.ts';
import { ServerError } from '../errors.ts';
import { evaluateInThread } from './evaluation-thread.ts';

const QUEUE = 'evaluate';

/** The abort reason of a shutdown: the evaluation is queued again, not cancelled. */
const SHUTDOWN = Symbol('shutdown');

/** How often a process running an evaluation says so, and how long a silent one is taken for dead. */
const HEARTBEAT_MS = 5_000;
const ORPHANED_AFTER_S = 30;
/**
 * The most times an evaluation is run when each run ends with its process gone (killed, a native crash in the
 * model runtime, its machine lost). An input that takes down every process that runs it would otherwise be
 * queued again on every restart for ever; past this many runs it is failed as EVAL_ABANDONED.
 */
export const MAX_EVALUATION_ATTEMPTS = 3;
/** pg-boss's longest job expiry: it must be under 24 h. */
const MAX_JOB_EXPIRY_S = 24 * 60 * 60 - 1;
// Heartbeats are written and judged by the database's clock, which every process shares.
const orphanedBefore = () => sql<Date>`now() - make_interval(secs => ${ORPHANED_AFTER_S})`;

type EvaluationRow = Selectable<EvaluationTable>;

export interface EvaluationLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
  /** The JavaScript heap of the thread an evaluation runs in, in MiB. */
  readonly maxHeapMb: number;
  readonly timeoutMs: number;
}

export interface EvaluationRequest {
  readonly model_sha256?: string;
  readonly data_sha256: string;
  readonly reference_sha256?: string;
  readonly spec: Record<string, unknown>;
  readonly execution_provider?: 'auto' | 'cuda' | 'cpu';
}

export interface EvaluationView {
  id: string;
  status: EvaluationTable['status'];
  model_sha256: string | null;
  data_sha256: string;
  reference_sha256: string | null;
  execution_provider: string;
  progress: { phase: string | null; rows: number };
  error: { code: string; message: string } | null;
  evidence: Evidence | null;
  evidence_sha256: string | null;
  /**
   * The adverse-action reasons (spec.explainability.adverse_decision) of a succeeded evaluation: an artifact of
   * its submitter's, whose sha256 and line count are the evidence's explainability.reasons.adverse.
   */
  adverse_reasons: { sha256: string; rows: number; decision: string } | null;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** Who submits an evaluation: a subject at an issuer. */
export interface Submitter {
  readonly subject: string;
  readonly issuer: string;
}

export interface Caller extends Submitter {
  readonly role: string;
}

/** Whether the identity submitted the evaluation (rows from before issuers were recorded match on subject). */
function submittedBy(row: EvaluationRow, identity: Submitter): boolean {
  return (
    row.created_by === identity.subject && (row.created_by_issuer ?? identity.issuer) === identity.issuer
  );
}

function view(row: EvaluationRow): EvaluationView {
  const evidence = row.evidence_json ? (JSON.parse(row.evidence_json) as Evidence) : null;
  const adverse = (
    evidence?.explainability as { reasons?: { adverse?: { decision: string; rows: number } } } | undefined
  )?.reasons?.adverse;
  return {
    id: row.id,
    status: row.status,
    model_sha256: row.model_sha256,
    data_sha256: row.data_sha256,
    reference_sha256: row.reference_sha256,
    execution_provider: row.execution_provider,
    progress: { phase: row.phase, rows: Number(row.rows_done) },
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    evidence,
    evidence_sha256: row.evidence_sha256,
    adverse_reasons:
      row.adverse_reasons_sha256 && adverse
        ? { sha256: row.adverse_reasons_sha256, rows: adverse.rows, decision: adverse.decision }
        : null,
    created_by: row.created_by,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
  };
}

/**
 * Evaluations as durable background jobs: the request is a row, the work a pg-boss job, so a job survives a
 * restart (an interrupted run expires and is retried) and any replica's worker may take it. Progress and
 * cancellation go through the row, so they work across processes too.
 *
 * Lifecycle: queued → running (a process claims the row, counts an attempt, and beats its heartbeat) →
 * succeeded, failed or cancelled. A process that shuts down hands its running evaluations back to the queue,
 * uncounted. One whose process died leaves it running with a silent heartbeat: the next sweep of any worker
 * (and every worker's start) queues it again, until MAX_EVALUATION_ATTEMPTS runs have each ended that way;
 * then it fails as EVAL_ABANDONED.
 */
export class Evaluations {
  private readonly running = new Map<string, AbortController>();
  private readonly runs = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  // pg-boss drops a job sent to a queue that does not exist (send() answers null), and a process that only
  // queues (ARBITER_EVAL_WORKER=off) never starts a worker: every process makes sure the queue is there.
  private queueReady: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<ServerTables>,
    private readonly artifacts: ArtifactStore,
    private readonly queue: PgBoss,
    private readonly limits: EvaluationLimits,
    private readonly log: { error(obj: object, msg: string): void },
    private readonly clock: () => Date,
  ) {}

  async submit(request: EvaluationRequest, creator: Caller): Promise<EvaluationView> {
    // Refuse what can never run before it is queued: a bad spec, an artifact that is not there, or data whose
    // format neither its upload's file name nor the spec tells.
    const spec = loadSpec(request.spec as never);
    checkSpecFor(spec, { model: request.model_sha256 !== undefined });
    for (const [field, sha, isData] of [
      ['model_sha256', request.model_sha256, false],
      ['data_sha256', request.data_sha256, true],
      ['reference_sha256', request.reference_sha256, true],
    ] as const) {
      if (sha === undefined) continue;
      // A CI identity names only artifacts it uploaded itself; another's is as absent to it as a missing one.
      // Only its absence is the request's fault: a database that cannot answer stays a 503.
      const artifact = await this.artifacts
        .info(sha, creator, artifactScopeOf(creator.role))
        .catch((err: unknown) => {
          if (!(err instanceof ServerError && err.code === 'NOT_FOUND')) throw err;
          throw new ServerError(
            'BAD_REQUEST',
            `${field}: no artifact ${sha}; upload it with POST /v1/artifacts`,
            {
              field,
            },
          );
        });
      // The data is read as spec.data says, the reference as spec.reference_data says.
      const read = field === 'reference_sha256' ? 'reference_data' : 'data';
      if (isData && !spec[read]?.format && !dataFormatOf(artifact.filename ?? '')) {
        // An upload keeps the first name its uploader gave it: uploading it again under another changes
        // nothing, so that is advice only for one uploaded without a name.
        throw new ServerError(
          'BAD_REQUEST',
          artifact.filename
            ? `${field}: artifact ${sha} was uploaded as ${artifact.filename}, which does not tell CSV, JSON Lines or Parquet; set spec.${read}.format`
            : `${field}: artifact ${sha} was uploaded without a file name; upload it again with a .csv, .jsonl or .parquet name, or set spec.${read}.format`,
          { field },
        );
      }
    }
    const row = await this.db
      .insertInto('evaluation')
      .values({
        id: `eval_${randomBytes(8).toString('hex')}`,
        status: 'queued',
        model_sha256: request.model_sha256 ?? null,
        data_sha256: request.data_sha256,
        reference_sha256: request.reference_sha256 ?? null,
        spec: JSON.stringify(request.spec),
        execution_provider: request.execution_provider ?? 'auto',
        phase: null,
        error_code: null,
        error_message: null,
        evidence_json: null,
        evidence_sha256: null,
        created_by: creator.subject,
        created_by_issuer: creator.issuer,
        started_at: null,
        finished_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.enqueue(row.id);
    return view(row);
  }

  /**
   * Queues a job that runs the evaluation (again, for one requeued). A row the queue did not take is failed, not
   * left queued: no job would ever run it, and its caller would wait without end.
   */
  private async enqueue(id: string): Promise<void> {
    let job: string | null = null;
    let failure: unknown = new Error(`pg-boss did not queue evaluation ${id}`);
    try {
      await this.ensureQueue();
      job = await this.queue.send(
        QUEUE,
        { id },
        {
          retryLimit: 2,
          retryDelay: 5,
          // pg-boss refuses an expiry of 24 h or more; a job that expires while its evaluation still runs is
          // retried, and the retry leaves a row whose heartbeat is fresh alone.
          expireInSeconds: Math.min(MAX_JOB_EXPIRY_S, Math.ceil(this.limits.timeoutMs / 1000) + 60),
        },
      );
    } catch (err) {
      failure = err;
    }
    if (job === null) {
      await this.finish(id, {
        status: 'failed',
        error_code: 'INTERNAL',
        error_message: 'the job queue did not take the evaluation',
      });
      throw failure;
    }
  }

  /**
   * The evaluation as the caller may see it. A CI identity sees only the evaluations it submitted: their
   * evidence is what it gates its own models with, and another pipeline's data and results are not its to
   * read or to vouch for. Other roles see every evaluation.
   */
  async getFor(id: string, caller: Caller): Promise<EvaluationView> {
    const row = await this.row(id);
    if (caller.role === 'ci' && !submittedBy(row, caller))
      throw new ServerError('FORBIDDEN', `evaluation ${id} was submitted by another identity`);
    return view(row);
  }

  private async row(id: string): Promise<EvaluationRow> {
    const row = await this.db.selectFrom('evaluation').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ServerError('NOT_FOUND', `no evaluation ${id}`);
    return row;
  }

  /**
   * Asks a queued or running evaluation to stop; the worker that runs it notices within a second. Only who
   * submitted it, or an admin, may: another pipeline's job is not this caller's to stop.
   */
  async cancel(id: string, caller: Caller): Promise<EvaluationView> {
    if (!submittedBy(await this.row(id), caller) && caller.role !== 'admin')
      throw new ServerError('FORBIDDEN', `evaluation ${id} was submitted by another identity`);
    const row = await this.db
      .updateTable('evaluation')
      .set({ cancel_requested: true })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'running'])
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      // It ended first: saying a cancellation was requested would tell the caller something untrue.
      const { status } = await this.row(id);
      throw new ServerError(
        'CONFLICT',
        `evaluation ${id} is ${status}; only a queued or running evaluation can be cancelled`,
      );
    }
    // Nobody will notice the request for one that is not running, or whose process died: it ends here.
    await this.finishCancelled(id);
    this.running.get(id)?.abort();
    return view(await this.row(id));
  }

  /**
   * Stops the evaluations this process runs, for a shutdown: each goes back to the queue for another worker,
   * or this one after a restart, to run from the start. Call before stopping the queue.
   */
  async stop(): Promise<void> {
    for (const controller of this.running.values()) controller.abort(SHUTDOWN);
    await Promise.all(this.runs);
  }

  /** Starts taking jobs from the queue (one at a time per process: inference uses every core it is given). */
  async startWorker(): Promise<void> {
    await this.ensureQueue();
    await this.queue.work<{ id: string }>(
      QUEUE,
      { batchSize: 1, pollingIntervalSeconds: 1 },
      async ([job]) => {
        if (!job) return;
        const run = this.run(job.data.id);
        this.runs.add(run);
        await run.finally(() => this.runs.delete(run));
      },
    );
    await this.requeueOrphans();
    this.sweeper = setInterval(() => {
      this.requeueOrphans().catch((err: unknown) =>
        this.log.error({ err }, 'requeueing orphaned evaluations failed'),
      );
    }, ORPHANED_AFTER_S * 1000);
    this.sweeper.unref();
  }

  /** Stops looking for orphaned evaluations (see requeueOrphans). */
  stopSweeping(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Evaluations left running by a process that died (killed, crashed, or its machine lost): their heartbeat
   * stopped. Each is queued again at once rather than when its job's expiry, past the time limit, would retry
   * it; one that has been run MAX_EVALUATION_ATTEMPTS times, every run ending so, fails instead.
   */
  private async requeueOrphans(): Promise<void> {
    await this.abandonOrphans();
    const orphans = await this.db
      .updateTable('evaluation')
      .set({ status: 'queued', phase: null, rows_done: 0, heartbeat_at: null })
      .where('status', '=', 'running')
      .where('heartbeat_at', '<', orphanedBefore())
      .where('cancel_requested', '=', false)
      .where('attempts', '<', MAX_EVALUATION_ATTEMPTS)
      .returning('id')
      .execute();
    for (const { id } of orphans) await this.enqueue(id);
    await this.finishCancelled();
  }

  /**
   * Fails the orphaned evaluations (`id`, or all) whose every one of MAX_EVALUATION_ATTEMPTS runs ended with its
   * process gone: whatever in them ends a process (a native crash in onnxruntime, memory the machine lacks)
   * would end the next one too. A run handed back at a shutdown was not counted (see run).
   */
  private async abandonOrphans(id?: string): Promise<void> {
    let update = this.db
      .updateTable('evaluation')
      .set({
        status: 'failed',
        error_code: 'EVAL_ABANDONED',
        // The count as stored: the bound may have been higher when the row's runs were counted.
        error_message: sql<string>`'abandoned after ' || attempts || ' attempts, each ending with the process that ran it gone (killed, crashed in native code such as the model runtime, or its machine lost) before it finished; it is not run again, as its model, data or spec may be what ends the process'`,
        heartbeat_at: null,
        finished_at: new Date(),
      })
      .where('status', '=', 'running')
      .where('heartbeat_at', '<', orphanedBefore())
      .where('cancel_requested', '=', false)
      .where('attempts', '>=', MAX_EVALUATION_ATTEMPTS);
    if (id !== undefined) update = update.where('id', '=', id);
    const abandoned = await update.returning(['id', 'attempts']).execute();
    for (const row of abandoned)
      this.log.error(
        { evaluation: row.id, attempts: row.attempts },
        'evaluation abandoned: every run of it ended with its process gone',
      );
  }

  /**
   * Ends as cancelled the evaluations asked to stop (`id`, or all) that no live process runs: queued, or
   * orphaned.
   */
  private async finishCancelled(id?: string): Promise<void> {
    let update = this.db
      .updateTable('evaluation')
      .set({
        status: 'cancelled',
        error_code: 'EVAL_ABORTED',
        error_message: 'cancelled',
        finished_at: new Date(),
      })
      .where('cancel_requested', '=', true)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'queued'),
          eb.and([
            eb('status', '=', 'running'),
            eb.or([eb('heartbeat_at', 'is', null), eb('heartbeat_at', '<', orphanedBefore())]),
          ]),
        ]),
      );
    if (id !== undefined) update = update.where('id', '=', id);
    await update.execute();
  }

  private ensureQueue(): Promise<void> {
    this.queueReady ??= this.queue.createQueue(QUEUE).catch((err: unknown) => {
      this.queueReady = undefined;
      throw err;
    });
    return this.queueReady;
  }

  private async finish(
    id: string,
    values: Partial<EvaluationRow>,
    options: { unlessCancelled?: boolean } = {},
  ): Promise<void> {
    let update = this.db
      .updateTable('evaluation')
      .set({ ...values, finished_at: new Date() })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'running']);
    if (options.unlessCancelled) update = update.where('cancel_requested', '=', false);
    await update.execute();
  }

  private async run(id: string): Promise<void> {
    // A queued row, or a running one whose process died, short of its last attempt. Another job for the same
    // row (a retry of an expired one, say) finds it running with a fresh heartbeat and leaves it. The attempt is
    // counted as it is claimed, so a process that dies during it leaves it counted.
    const claimed = await this.db
      .updateTable('evaluation')
      .set((eb) => ({
        status: 'running',
        started_at: new Date(),
        heartbeat_at: sql`now()`,
        rows_done: 0,
        phase: null,
        attempts: eb('attempts', '+', 1),
      }))
      .where('id', '=', id)
      .where('cancel_requested', '=', false)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'queued'),
          eb.and([
            eb('status', '=', 'running'),
            eb('heartbeat_at', '<', orphanedBefore()),
            eb('attempts', '<', MAX_EVALUATION_ATTEMPTS),
          ]),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
    if (!claimed) {
      // A retry of the job of one whose process died, reaching it before any sweep did.
      await this.abandonOrphans(id);
      await this.finishCancelled(id);
      return;
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    let workDir: string | undefined;
    // The heartbeat also notices a cancellation asked of another process.
    const heartbeat = setInterval(() => {
      void this.db
        .updateTable('evaluation')
        .set({ heartbeat_at: sql`now()` })
        .where('id', '=', id)
        .returning('cancel_requested')
        .executeTakeFirst()
        .then((row) => row?.cancel_requested && controller.abort())
        .catch((err: unknown) => this.log.error({ err, evaluation: id }, 'evaluation heartbeat failed'));
    }, HEARTBEAT_MS);
    let lastWrite = 0;
    let lastPhase: string | undefined;
    let progressWritten = Promise.resolve();
    const artifactFiles = new Map<string, string>();
    try {
      // In the try: a work folder that cannot be made fails the evaluation, and the heartbeat stops with it
      // (left beating, it would keep the row running for ever, out of every sweep's reach).
      workDir = await mkdtemp(path.join(this.artifacts.scratchDir, 'eval-'));
      const dir = workDir;
      // The data's format comes from the submitter's own name for the upload; an evaluation from before
      // issuers were recorded has none to match, and goes by the first name given.
      const submitter = { subject: claimed.created_by, issuer: claimed.created_by_issuer ?? '' };
      const fetch = (sha: string | null) =>
        sha ? this.artifacts.materialize(sha, dir, submitter) : Promise.resolve(undefined);
      const [model, data, reference] = await Promise.all([
        fetch(claimed.model_sha256),
        fetch(claimed.data_sha256),
        fetch(claimed.reference_sha256),
      ]);
      if (model) artifactFiles.set(model, `model artifact ${claimed.model_sha256}`);
      artifactFiles.set(data!, `data artifact ${claimed.data_sha256}`);
      if (reference) artifactFiles.set(reference, `reference artifact ${claimed.reference_sha256}`);
      const spec = JSON.parse(claimed.spec) as EvaluationSpec;
      const reasonsFile = spec.explainability?.adverse_decision
        ? path.join(dir, 'adverse-reasons.jsonl')
        : undefined;
      const result = await evaluateInThread(
        {
          model,
          data: data!,
          reference,
          spec,
          executionProvider: claimed.execution_provider,
          limits: this.limits,
          generatedAt: this.clock().toISOString(),
          reasonsFile,
        },
        {
          signal: controller.signal,
          maxHeapMb: this.limits.maxHeapMb,
          onProgress: (progress) => {
            // At most one write a second, and one for each new phase: progress for readers, and the moment to
            // notice a cancellation.
            const at = Date.now();
            if (at - lastWrite < 1000 && progress.phase === lastPhase) return;
            lastWrite = at;
            lastPhase = progress.phase;
            // One after the other: on two pooled connections, an earlier phase could land last.
            progressWritten = progressWritten
              .then(() =>
                this.db
                  .updateTable('evaluation')
                  .set({ phase: progress.phase, rows_done: progress.rows })
                  .where('id', '=', id)
                  .returning('cancel_requested')
                  .executeTakeFirst(),
              )
              .then((row) => void (row?.cancel_requested && controller.abort()))
              .catch((err: unknown) => this.log.error({ err, evaluation: id }, 'writing progress failed'));
          },
        },
      );
      // The reasons the evidence vouches for, kept as an artifact of the submitter's like the model and data it
      // named: its reader downloads them under the same rules. Only the very lines the evidence hashed are kept.
      const adverseReasons =
        result.adverseReasons && reasonsFile
          ? await this.artifacts.putFile(reasonsFile, {
              mediaType: 'application/x-ndjson',
              filename: `${id}-adverse-reasons.jsonl`,
              uploader: submitter,
              sha256: result.adverseReasons.sha256,
            })
          : null;
      // A cancellation that arrived as it finished still wins: the caller was told it was requested.
      await progressWritten;
      await this.finish(
        id,
        {
          status: 'succeeded',
          phase: 'done',
          rows_done: result.rows,
          evidence_json: result.json,
          evidence_sha256: result.sha256,
          adverse_reasons_sha256: adverseReasons?.artifact.sha256 ?? null,
        },
        { unlessCancelled: true },
      );
      await this.finish(id, { status: 'cancelled', error_code: 'EVAL_ABORTED', error_message: 'cancelled' });
    } catch (err) {
      if (controller.signal.reason === SHUTDOWN) {
        // Handed back, not lost: a shutdown (a deploy, say) says nothing about the evaluation, and takes no attempt.
        await this.db
          .updateTable('evaluation')
          .set((eb) => ({
            status: 'queued',
            phase: null,
            rows_done: 0,
            heartbeat_at: null,
            attempts: eb('attempts', '-', 1),
          }))
          .where('id', '=', id)
          .where('status', '=', 'running')
          .execute();
        await this.enqueue(id);
      } else if (err instanceof EvaluatorError) {
        // The evaluator names files by the paths the worker gave them; the caller knows them as artifacts.
        let message = err.message;
        for (const [file, name] of artifactFiles) message = message.replaceAll(file, name);
        await this.finish(id, {
          status: err.code === 'EVAL_ABORTED' ? 'cancelled' : 'failed',
          error_code: err.code,
          error_message: message,
        });
      } else {
        this.log.error({ err, evaluation: id }, 'evaluation failed');
        await this.finish(id, {
          status: 'failed',
          error_code: 'INTERNAL',
          error_message: 'internal error; see the service log',
        });
      }
    } finally {
      clearInterval(heartbeat);
      this.running.delete(id);
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    }
  }
}
