// Errors raised by the composition root itself (configuration, database, HTTP plumbing).
// Every module has its own error class with a `code` union; server/http-errors.ts maps codes to HTTP.

export type ServerErrorCode =
  | 'CONFIG_INVALID'
  | 'DATA_DIR_LOCKED'
  | 'DATABASE_UNAVAILABLE'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'POLICIES_UNAVAILABLE'
  | 'SHUTTING_DOWN';

export class ServerError extends Error {
  override readonly name = 'ServerError';
  /** The request field at fault, as a JSON path (`evaluation_id`, `evidence.rows`), where there is one. */
  readonly field?: string;
  constructor(
    readonly code: ServerErrorCode,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options);
    if (options?.field) this.field = options.field;
  }
}
