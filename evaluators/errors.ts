// Errors of the evaluators module. Hostile or malformed input (a spec, a data file, a model) raises an
// EvaluatorError with a code that server/http-errors.ts can map to a 4xx; caller misuse raises TypeError.

export type EvaluatorErrorCode =
  | 'EVAL_SPEC_INVALID'
  | 'EVAL_DATA_INVALID'
  | 'EVAL_DATA_FORMAT'
  | 'EVAL_MODEL_INVALID'
  | 'EVAL_MODEL_UNSUPPORTED'
  | 'EVAL_INFERENCE_FAILED'
  | 'EVAL_LIMIT_ROWS'
  | 'EVAL_LIMIT_BYTES'
  | 'EVAL_TIMEOUT'
  | 'EVAL_ABORTED';

export class EvaluatorError extends Error {
  override readonly name = 'EvaluatorError';
  constructor(
    readonly code: EvaluatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
