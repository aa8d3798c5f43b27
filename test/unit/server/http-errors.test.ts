import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../server/auth/errors.ts';
import { ServerError } from '../../../server/errors.ts';
import { toHttpError } from '../../../server/http-errors.ts';
import { LedgerError } from '../../../ledger/index.ts';
import { PolicyError } from '../../../policies/index.ts';
import { ReportError } from '../../../reports/index.ts';

// The wrapper fastify-openapi-glue throws when no security handler accepted the request (a value at run
// time, exported as a type only).
const { SecurityError } = (await import('fastify-openapi-glue')) as unknown as {
  SecurityError: new (message: string, statusCode: number, name: string, errors: unknown[]) => Error;
};
const refusedBy = (...errors: unknown[]) =>
  new SecurityError(
    'None of the security schemes (bearerAuth) successfully authenticated this request.',
    401,
    'Unauthorized',
    errors,
  );

describe('toHttpError', () => {
  it('answers a credential that could not be checked (the token store unreachable) with 503, not 401 or 500', () => {
    expect(toHttpError(refusedBy(new ServerError('DATABASE_UNAVAILABLE', 'down')))).toMatchObject({
      statusCode: 503,
      code: 'DATABASE_UNAVAILABLE',
      retryAfter: 5,
    });
    expect(toHttpError(refusedBy(new AuthError('UNAUTHENTICATED', 'unknown token')))).toEqual({
      statusCode: 401,
      code: 'UNAUTHENTICATED',
      message: 'unknown token',
    });
    expect(toHttpError(refusedBy(new AuthError('FORBIDDEN', 'role auditor may not')))).toMatchObject({
      statusCode: 403,
    });
    // Whatever else failed in a handler stays an internal error, its words unsent.
    expect(toHttpError(refusedBy(new TypeError('x is undefined')))).toEqual({
      statusCode: 500,
      code: 'INTERNAL',
      message: 'internal error; the request id in the logs has details',
    });
  });

  it("answers a library's client error that it marks safe to show (@fastify/static's 416) with its status", () => {
    const range = Object.assign(new Error('Range Not Satisfiable'), { statusCode: 416, expose: true });
    expect(toHttpError(range)).toEqual({
      statusCode: 416,
      code: 'RANGE_NOT_SATISFIABLE',
      message: 'Range Not Satisfiable',
    });
    const precondition = Object.assign(new Error('Precondition Failed'), { statusCode: 412, expose: true });
    expect(toHttpError(precondition)).toMatchObject({ statusCode: 412, code: 'PRECONDITION_FAILED' });
    // Not marked safe, or not the client's fault: a bare 500.
    const hidden = Object.assign(new Error('ENOENT /srv/secret'), { statusCode: 404, expose: false });
    expect(toHttpError(hidden)).toMatchObject({ statusCode: 500, code: 'INTERNAL' });
    const server = Object.assign(new Error('boom'), { statusCode: 502, expose: true });
    expect(toHttpError(server)).toMatchObject({ statusCode: 500, code: 'INTERNAL' });
  });

  it('maps typed errors by code', () => {
    expect(toHttpError(new ServerError('NOT_FOUND', 'no model named x'))).toEqual({
      statusCode: 404,
      code: 'NOT_FOUND',
      message: 'no model named x',
    });
    expect(toHttpError(new ServerError('DATABASE_UNAVAILABLE', 'down'))).toMatchObject({
      statusCode: 503,
      retryAfter: 5,
    });
  });

  it('answers a waiver refused while no policy bundle is active as a decision is: 503, retry later', () => {
    const refused = new PolicyError('POLICIES_UNAVAILABLE', 'no policy bundle with known rules is active');
    expect(toHttpError(refused)).toEqual({
      statusCode: 503,
      code: 'POLICIES_UNAVAILABLE',
      message: 'no policy bundle with known rules is active',
      retryAfter: 30,
    });
    expect(toHttpError(new ServerError('POLICIES_UNAVAILABLE', 'no policy bundle is active'))).toMatchObject({
      statusCode: 503,
      retryAfter: 30,
    });
  });

  it("answers a database connection lost mid-request with 503 and Retry-After, not pg's words", () => {
    for (const code of ['57P01', '08006', '57P03']) {
      const lost = Object.assign(
        new Error('terminating connection due to administrator command at 10.0.0.7'),
        {
          code,
        },
      );
      expect(toHttpError(lost)).toEqual({
        statusCode: 503,
        code: 'DATABASE_UNAVAILABLE',
        message: 'the database is unavailable; retry shortly',
        retryAfter: 5,
      });
    }
    // Other SQLSTATEs stay internal errors.
    expect(toHttpError(Object.assign(new Error('deadlock'), { code: '40P01' }))).toMatchObject({
      statusCode: 500,
    });
  });

  it('answers a ledger append that got no connection with 503 and Retry-After, one cut off in its commit with 500', () => {
    const down = new ServerError('DATABASE_UNAVAILABLE', 'the database is unavailable; retry shortly', {
      cause: new Error('connect ECONNREFUSED 10.0.0.7:5432'),
    });
    expect(
      toHttpError(
        new LedgerError('LEDGER_UNAVAILABLE', `no database connection: ${down.message}`, { cause: down }),
      ),
    ).toEqual({
      statusCode: 503,
      code: 'DATABASE_UNAVAILABLE',
      message: 'the database is unavailable; retry shortly',
      retryAfter: 5,
    });
    // The commit may have happened: a retry could record the decision twice, so no invitation to retry.
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), { code: '08006' });
    expect(
      toHttpError(new LedgerError('LEDGER_APPEND_FAILED', `append failed: ${lost.message}`, { cause: lost })),
    ).toEqual({
      statusCode: 500,
      code: 'INTERNAL',
      message: 'internal error; the request id in the logs has details',
    });
  });

  it('answers a period or template the caller named with 400, the service shutting down with 503', () => {
    expect(toHttpError(new ReportError('REPORT_PERIOD_INVALID', 'period 0000-Q1: …'))).toMatchObject({
      statusCode: 400,
    });
    expect(toHttpError(new ReportError('REPORT_TEMPLATE_UNKNOWN', 'no report template "x"'))).toMatchObject({
      statusCode: 400,
    });
    expect(toHttpError(new ServerError('SHUTTING_DOWN', 'shutting down'))).toMatchObject({
      statusCode: 503,
      retryAfter: 5,
    });
  });

  it('answers an upload the client cut short as a 400, not an unhandled 500', () => {
    // What stream.pipeline rejects with when the request socket closes mid-body.
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    expect(toHttpError(aborted)).toEqual({
      statusCode: 400,
      code: 'REQUEST_ABORTED',
      message: 'the request was cut short',
    });
  });

  it("answers a simulation's failing candidate with 422 and opa's reason, a replay without its bundle with 409", () => {
    const reason = 'policies/checks/input/clock.rego:3: rego_type_error: undefined function time.now_ns';
    expect(toHttpError(new PolicyError('POLICY_BUILD_FAILED', reason))).toEqual({
      statusCode: 422,
      code: 'POLICY_BUILD_FAILED',
      message: reason,
    });
    expect(toHttpError(new PolicyError('POLICY_TEST_FAILED', 'FAIL: test_wrong_epoch'))).toMatchObject({
      statusCode: 422,
    });
    expect(toHttpError(new PolicyError('POLICY_BUNDLE_MISSING', 'no bundle'))).toMatchObject({
      statusCode: 409,
    });
  });

  it("cuts a message that carries a tool's whole output, never through a surrogate pair", () => {
    const report = `FAIL: ${'x'.repeat(16 * 1024 - 7)}😀${'y'.repeat(100_000)}`;
    const { message } = toHttpError(new PolicyError('POLICY_TEST_FAILED', report));
    expect(message.startsWith(report.slice(0, 16 * 1024 - 1))).toBe(true);
    expect(message).toMatch(/x… \(100002 more characters cut\)$/);
    const short = toHttpError(new PolicyError('POLICY_TEST_FAILED', 'FAIL: 1/2'));
    expect(short.message).toBe('FAIL: 1/2');
  });

  it('maps refusals to 401 and 403 with the public message only', () => {
    expect(toHttpError(new AuthError('UNAUTHENTICATED', 'invalid token', 'token tok_1 expired'))).toEqual({
      statusCode: 401,
      code: 'UNAUTHENTICATED',
      message: 'invalid token',
    });
    const wrapped = Object.assign(new Error('none of the schemes'), {
      errors: [
        new AuthError('UNAUTHENTICATED', 'x'),
        new AuthError('FORBIDDEN', 'role auditor may not call this route'),
      ],
    });
    expect(toHttpError(wrapped)).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
  });

  it('never leaks an unknown error', () => {
    const driverError = Object.assign(new Error('relation "secret_table" does not exist'), { code: '42P01' });
    const body = toHttpError(driverError);
    expect(body).toEqual({
      statusCode: 500,
      code: 'INTERNAL',
      message: 'internal error; the request id in the logs has details',
    });
    expect(JSON.stringify(toHttpError(new TypeError('x is undefined')))).not.toContain('undefined');
  });
});
