import { Worker } from 'node:worker_threads';
import {
  EvaluatorError,
  type EvaluateLimits,
  type EvaluationProgress,
  type EvaluationSpec,
  type EvaluatorErrorCode,
  type ExecutionProvider,
} from '../../evaluators/index.ts';

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

// The evaluator stops itself at its time limit where it checks the clock (between batches and phases); a
// thread still running this long past it is stopped from outside.
const HARD_STOP_GRACE_MS = 5_000;

/** What the thread evaluates: files on this machine and the spec, as structured-clone data. */
export interface ThreadRequest {
  readonly model?: string;
  readonly data: string;
  readonly reference?: string;
  readonly spec: EvaluationSpec;
  readonly executionProvider: ExecutionProvider;
  readonly limits: EvaluateLimits;
  /** ISO time, recorded as the evidence's generated_at. */
  readonly generatedAt: string;
  /**
   * Where the thread writes the adverse-action reasons (spec.explainability.adverse_decision), complete once it
   * answers with its result: a file on this machine that it creates.
   */
  readonly reasonsFile?: string;
}

/** The count and sha256 of the adverse-action reasons, as the evidence records them. */
export interface AdverseReasonsSummary {
  readonly rows: number;
  readonly sha256: string;
}

export type ThreadMessage =
  | { kind: 'progress'; progress: EvaluationProgress }
  | {
      kind: 'result';
      json: string;
      sha256: string;
      rows: number;
      adverseReasons: AdverseReasonsSummary | null;
    }
  | { kind: 'failed'; code: EvaluatorErrorCode; message: string; field?: string }
  | { kind: 'crashed'; message: string };

export interface ThreadResult {
  /** The evidence as RFC 8785 canonical JSON. */
  readonly json: string;
  readonly sha256: string;
  readonly rows: number;
  /** What the evidence records of the lines written to `reasonsFile`; null when none were asked for. */
  readonly adverseReasons: AdverseReasonsSummary | null;
}

/**
 * Runs one evaluation in a worker thread, so that the service keeps answering while it computes, and so that
 * a cancellation or the time limit can stop it at once, even inside a long metric loop. Rejects with the
 * evaluator's own EvaluatorError; EVAL_ABORTED when `signal` aborts, EVAL_TIMEOUT when it overruns,
 * EVAL_LIMIT_MEMORY when its heap reaches `maxHeapMb` (Node stops the thread, not the process).
 */
export function evaluateInThread(
  request: ThreadRequest,
  options: {
    signal: AbortSignal;
    onProgress: (progress: EvaluationProgress) => void;
    /** The thread's JavaScript heap in MiB; V8's default when absent. */
    maxHeapMb?: number;
  },
): Promise<ThreadResult> {
  return new Promise<ThreadResult>((resolve, reject) => {
    const { maxHeapMb } = options;
    const worker = new Worker(ENTRY, {
      workerData: request,
      ...(maxHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } }),
    });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const stop = (code: EvaluatorErrorCode, message: string) =>
      settle(() => reject(new EvaluatorError(code, message)));
    const onAbort = () => stop('EVAL_ABORTED', 'evaluation was cancelled');
    const timeoutMs = request.limits.timeoutMs;
    const timer = setTimeout(
      () => stop('EVAL_TIMEOUT', `evaluation ran past its time limit of ${timeoutMs} ms`),
      timeoutMs === undefined ? 2 ** 31 - 1 : timeoutMs + HARD_STOP_GRACE_MS,
    );
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: ThreadMessage) => {
      if (message.kind === 'progress') options.onProgress(message.progress);
      else if (message.kind === 'result') settle(() => resolve(message));
      else if (message.kind === 'failed')
        settle(() => reject(new EvaluatorError(message.code, message.message, { field: message.field })));
      else settle(() => reject(new Error(`evaluation thread failed: ${message.message}`)));
    });
    worker.on('error', (err: NodeJS.ErrnoException) =>
      settle(() =>
        reject(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new EvaluatorError(
                'EVAL_LIMIT_MEMORY',
                `evaluation needed more than the ${maxHeapMb === undefined ? 'default' : `${maxHeapMb} MiB`} heap an evaluation may use; its data, spec or model asks for too much at once`,
              )
            : err,
        ),
      ),
    );
    worker.on('exit', (code) =>
      settle(() => reject(new Error(`evaluation thread exited with code ${code} before it answered`))),
    );
  });
}
