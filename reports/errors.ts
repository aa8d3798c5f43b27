export type ReportErrorCode =
  | 'REPORT_TEMPLATE_UNKNOWN'
  | 'REPORT_TEMPLATE_FAILED'
  | 'REPORT_INPUT_INVALID'
  | 'REPORT_PERIOD_INVALID'
  | 'REPORT_CHART_FAILED'
  | 'REPORT_PDF_FAILED'
  | 'REPORT_HASH_MISMATCH'
  | 'REPORT_TOO_MANY_DECISIONS';

/** Every failure of report rendering, hashing or scheduling that a caller may want to tell apart. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
  readonly code: ReportErrorCode;
  /** The field of the report's request or input at fault (`period`, `template`), where there is one. */
  readonly field?: string;

  constructor(code: ReportErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.code = code;
    if (options?.field) this.field = options.field;
  }
}
