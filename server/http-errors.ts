import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError } from './auth/errors.ts';
import type { ServerErrorCode } from './errors.ts';

/** The one table from typed error codes to HTTP statuses. Modules register theirs here as they land. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  IDENTITY_PROVIDER_UNAVAILABLE: 503,
  TOO_MANY_AUTH_FAILURES: 429,
  DATABASE_UNAVAILABLE: 503,
  LEDGER_PUSHBACK: 503,
  LEDGER_STOPPED: 503,
  LEDGER_ENTRY_INVALID: 400,
  LEDGER_UNKNOWN_REGION: 404,
  LEDGER_NOT_FOUND: 404,
  LEDGER_BAD_REQUEST: 400,
  // No policy bundle active: nothing can be decided (ServerError), nor a waiver checked against its rules
  // (PolicyError); one answer, so a client waits for either the same way.
  POLICIES_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  POLICY_ENGINE_CLOSED: 503,
  // The policy workers' queue is full: overload, answered at once rather than after seconds in a queue.
  POLICY_ENGINE_BUSY: 503,
  POLICY_REGION_UNKNOWN: 400,
  POLICY_STAGE_UNKNOWN: 400,
  POLICY_INPUT_INVALID: 400,
  POLICY_MODEL_CARD_INVALID: 400,
  POLICY_SOURCE_FAILED: 400,
  // A candidate ref (simulation) whose Rego fails its tests or does not compile: opa's reason is the message.
  POLICY_TEST_FAILED: 422,
  POLICY_BUILD_FAILED: 422,
  // A recorded decision whose bundle this instance does not hold cannot be replayed here.
  POLICY_BUNDLE_MISSING: 409,
  // The active policy failed on this input (e.g. a rule's conflicting values): no decision; the message says
  // where in the Rego, which is the policy authors' to fix.
  POLICY_EVAL_FAILED: 500,
  // The active policy ran past ARBITER_POLICY_EVAL_TIMEOUT_MS on this input: the same input would again.
  POLICY_EVAL_TIMEOUT: 500,
  WAIVER_INVALID: 400,
  WAIVER_NOT_FOUND: 404,
  WAIVER_FOUR_EYES: 403,
  WAIVER_NOT_PENDING: 409,
  WAIVER_NOT_ACTIVE: 409,
  DECISION_NOT_FOUND: 404,
  // The caller sent this Idempotency-Key with another decision request in the last 24 h: not a retry.
  IDEMPOTENCY_KEY_REUSED: 422,
  EVAL_SPEC_INVALID: 400,
  EVAL_DATA_INVALID: 400,
  EVAL_DATA_FORMAT: 400,
  EVAL_MODEL_INVALID: 400,
  EVAL_MODEL_UNSUPPORTED: 400,
  EVAL_LIMIT_ROWS: 413,
  EVAL_LIMIT_BYTES: 413,
  EVAL_LIMIT_MEMORY: 413,
  // A period or template the caller named; other report failures are ours (500).
  REPORT_PERIOD_INVALID: 400,
  REPORT_TEMPLATE_UNKNOWN: 400,
  REPORT_TOO_MANY_DECISIONS: 422,
} satisfies Partial<Record<ServerErrorCode, number>> & Record<string, number>;

/** Codes whose answer tells the client to come back later. */
const RETRY_AFTER_SECONDS: Readonly<Record<string, number>> = {
  DATABASE_UNAVAILABLE: 5,
  IDENTITY_PROVIDER_UNAVAILABLE: 5,
  LEDGER_PUSHBACK: 1,
  LEDGER_STOPPED: 5,
  POLICIES_UNAVAILABLE: 30,
  SHUTTING_DOWN: 5,
  POLICY_ENGINE_CLOSED: 5,
  POLICY_ENGINE_BUSY: 1,
};

/** fastify's own errors that are the client's fault, with the code and status we answer. */
const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, { code: string; status: number }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', status: 400 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', status: 400 },
  FST_ERR_VALIDATION: { code: 'VALIDATION_FAILED', status: 400 },
  FST_ERR_BAD_URL: { code: 'BAD_REQUEST', status: 400 },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', status: 414 },
};

/**
 * What fastify's own messages for these say, rewritten: fastify's echo the whole path back, and the limit is
 * ours to state.
 */
const FASTIFY_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'the request path is not valid percent-encoded UTF-8',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than this service accepts',
};

/**
 * PostgreSQL's SQLSTATEs for a connection lost mid-request: class 08, and the server shutting down or not yet
 * accepting connections (57P01-57P03). The client may retry; pg's message, naming the server, is not sent.
 */
const DATABASE_CONNECTION_LOST = /^(08[0-9A-Z]{3}|57P0[1-3])$/;

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  /** The request field at fault (a JSON path such as `model_card.owner`), where the error names one. */
  field?: string;
}

interface TypedError {
  code: string;
  message: string;
  field?: unknown;
}

function isTyped(err: unknown): err is TypedError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

/**
 * What the security handlers threw: fastify-openapi-glue wraps their errors, untyped, in `errors` (a typed
 * error with `errors`, such as a connection's AggregateError, is not such a wrapper).
 */
function securityFailures(err: unknown): unknown[] {
  if (err instanceof AuthError) return [err];
  const inner = (err as { errors?: unknown }).errors;
  return err instanceof Error && !isTyped(err) && Array.isArray(inner) ? inner : [];
}

/** Why the caller was refused; a FORBIDDEN (known caller, wrong role) says more than an UNAUTHENTICATED. */
function authFailure(err: unknown): AuthError | undefined {
  const failures = securityFailures(err).filter((e): e is AuthError => e instanceof AuthError);
  return failures.find((e) => e.code === 'FORBIDDEN') ?? failures[0];
}

/** Maps any error to the status and body we send. Unknown errors become a bare 500: no internals leak. */
export function toHttpError(err: unknown): ErrorBody & { retryAfter?: number } {
  const auth = authFailure(err);
  if (auth?.code === 'FORBIDDEN') return { statusCode: 403, code: auth.code, message: auth.message };
  // A handler that could not check the credential (its token store unreachable) answers as that failure
  // does: a 503 to retry, not a 401 that calls a good token bad, nor a 500.
  const unchecked = securityFailures(err).find((e) => !(e instanceof AuthError));
  if (unchecked !== undefined) return toHttpError(unchecked);
  if (auth) {
    const retryAfter = auth.retryAfterSeconds ?? RETRY_AFTER_SECONDS[auth.code];
    return {
      statusCode: STATUS_BY_CODE[auth.code]!,
      code: auth.code,
      message: auth.message,
      ...(retryAfter === undefined ? {} : { retryAfter }),
    };
  }

  const fastifyError = err as FastifyError;
  if (fastifyError.validation) {
    const where = fastifyError.validationContext ?? 'request';
    const field = fieldOf(fastifyError.validation[0]);
    return {
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: `${where}: ${describeValidation(fastifyError)}`,
      ...(field ? { field } : {}),
    };
  }
  if (isTyped(err)) {
    // The client went away mid-body (an upload cut short): nothing reaches it, and it is not our failure.
    if (err.code === 'ECONNRESET' || err.code === 'ERR_STREAM_PREMATURE_CLOSE')
      return { statusCode: 400, code: 'REQUEST_ABORTED', message: 'the request was cut short' };
    // A ledger append that got no connection committed nothing: retried as any request the database is down for.
    if (DATABASE_CONNECTION_LOST.test(err.code) || err.code === 'LEDGER_UNAVAILABLE')
      return {
        statusCode: 503,
        code: 'DATABASE_UNAVAILABLE',
        message: 'the database is unavailable; retry shortly',
        retryAfter: RETRY_AFTER_SECONDS.DATABASE_UNAVAILABLE,
      };
    const known = FASTIFY_CLIENT_ERRORS[err.code];
    if (known)
      return {
        statusCode: known.status,
        code: known.code,
        message: FASTIFY_MESSAGES[err.code] ?? err.message,
      };
    const status = STATUS_BY_CODE[err.code];
    if (status !== undefined) {
      const body: ErrorBody & { retryAfter?: number } = {
        statusCode: status,
        code: err.code,
        message: bounded(err.message),
      };
      if (typeof err.field === 'string' && status < 500) body.field = err.field;
      const retryAfter = RETRY_AFTER_SECONDS[err.code];
      if (retryAfter !== undefined) body.retryAfter = retryAfter;
      return body;
    }
  }
  // An error in the http-errors shape that a library marks safe to show (@fastify/static's 403, 412, 416):
  // the client's mistake, answered with its status and a code named after it.
  const exposed = err as { statusCode?: unknown; expose?: unknown; message?: unknown };
  if (
    exposed.expose === true &&
    typeof exposed.statusCode === 'number' &&
    exposed.statusCode >= 400 &&
    exposed.statusCode < 500 &&
    STATUS_CODES[exposed.statusCode]
  )
    return {
      statusCode: exposed.statusCode,
      code: STATUS_CODES[exposed.statusCode]!.toUpperCase().replace(/[^A-Z]+/g, '_'),
      message: bounded(String(exposed.message)),
    };
  return {
    statusCode: 500,
    code: 'INTERNAL',
    message: 'internal error; the request id in the logs has details',
  };
}

/**
 * The longest message sent, in UTF-16 units: some carry a tool's output (a failing candidate's `opa test`
 * report can run to megabytes), and its head says what failed.
 */
const MAX_MESSAGE_LENGTH = 16 * 1024;

function bounded(message: string): string {
  if (message.length <= MAX_MESSAGE_LENGTH) return message;
  let end = MAX_MESSAGE_LENGTH;
  // Never half a surrogate pair.
  if (/[\uD800-\uDBFF]/.test(message[end - 1]!)) end -= 1;
  return `${message.slice(0, end)}… (${message.length - end} more characters cut)`;
}

type ValidationEntry = NonNullable<FastifyError['validation']>[number];

/** The JSON path a validation failure is about: its instance path, or the key it found or missed there. */
function fieldOf(v: ValidationEntry | undefined): string | undefined {
  if (!v) return undefined;
  const path = v.instancePath ? v.instancePath.slice(1).replaceAll('/', '.') : '';
  const params = v.params as { additionalProperty?: string; missingProperty?: string };
  const key = params.additionalProperty ?? params.missingProperty;
  const field = key ? (path ? `${path}.${key}` : key) : path;
  return field || undefined;
}

function describeValidation(err: FastifyError): string {
  return (err.validation ?? [])
    .map((v) => {
      const field = v.instancePath ? v.instancePath.slice(1).replaceAll('/', '.') : '';
      const extra = (v.params as { additionalProperty?: string }).additionalProperty;
      return `${field || '(root)'} ${v.message ?? 'is invalid'}${extra ? `: ${extra}` : ''}`;
    })
    .join('; ');
}

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const body = toHttpError(err);
  if (body.statusCode === 500) {
    request.log.error({ err }, 'unhandled error');
  } else if (body.statusCode > 500) {
    // The cause (the database's own error, the identity provider's) is for the logs, not the client.
    request.log.warn({ code: body.code, reason: authFailure(err)?.reason, err }, 'request failed');
  } else if (body.statusCode === 401 || body.statusCode === 403 || body.statusCode === 429) {
    const auth = authFailure(err);
    request.log.warn({ code: body.code, reason: auth?.reason ?? body.message }, 'request refused');
  } else {
    request.log.info({ code: body.code, message: body.message }, 'request failed');
  }
  if (body.retryAfter !== undefined) void reply.header('retry-after', String(body.retryAfter));
  const { retryAfter: _, ...sent } = body;
  void reply.status(body.statusCode).send(sent);
}

/**
 * What Node's HTTP parser refuses before any route sees it (a Content-Length that is not a number, a body cut
 * short, headers too large) answered in the Error shape of every other response, not fastify's own.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [statusCode, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request headers are too large']
        : [400, 'MALFORMED_REQUEST', 'the request is not valid HTTP (its framing, length or headers)'];
  const body = JSON.stringify({ statusCode, code, message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(404).send({
    statusCode: 404,
    code: 'ROUTE_NOT_FOUND',
    message: `no route ${request.method} ${request.url.split('?')[0]}`,
  });
}
