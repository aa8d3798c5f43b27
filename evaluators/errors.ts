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
  | 'EVAL_LIMIT_MEMORY'
  | 'EVAL_TIMEOUT'
  | 'EVAL_ABORTED';

export class EvaluatorError extends Error {
  override readonly name = 'EvaluatorError';
  /** The spec field at fault, as a JSON path from `spec` (`spec.label.column`), where there is one. */
  readonly field?: string;
  constructor(
    readonly code: EvaluatorErrorCode,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options);
    if (options?.field) this.field = options.field;
  }
}
