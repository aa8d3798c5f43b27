import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/identity.ts';
import { ServerError } from '../errors.ts';

/** A route handler, looked up by the operationId of openapi.yaml. */
export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * A route whose fastify options must differ from what the contract's path gives: tlog-tiles paths span several
 * segments, which OpenAPI's templating cannot say, so that route is served from a wildcard URL.
 */
export interface RouteOverride {
  readonly url: string;
  readonly schema: Record<string, unknown>;
  readonly handler: Handler;
}

export type Handlers = Record<string, Handler | RouteOverride>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the security handler on every route that requires a token. */
    identity?: Identity;
  }
}

/** The caller of a route that declares security (the security handler has run). */
export function callerOf(request: FastifyRequest): Identity {
  if (!request.identity) throw new TypeError('route has no security requirement but reads the caller');
  return request.identity;
}

/** The caller as the modules record it in ledger entries: subject, role, issuer. */
export function actorOf(request: FastifyRequest): { subject: string; role: string; issuer: string } {
  const { subject, role, issuer } = callerOf(request);
  return { subject, role, issuer };
}

/**
 * The times the service records: PostgreSQL refuses year 0 ("date/time field value out of range"), and a year
 * past 9999 has no RFC 3339 form to answer with.
 */
const EARLIEST_TIME = Date.parse('0001-01-01T00:00:00Z');
const LATEST_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A date-time parameter as a Date. JSON Schema's date-time admits a leap second (:60), which Date does not, and
 * any four-digit year with any offset, so 0000-01-01 or 0001-01-01T00:00:00+01:00 (year 0 in UTC) too.
 */
export function dateOf(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new ServerError('BAD_REQUEST', `${field}: ${value} is not a time this service can represent`, {
      field,
    });
  if (date.getTime() < EARLIEST_TIME || date.getTime() > LATEST_TIME)
    throw new ServerError(
      'BAD_REQUEST',
      `${field}: ${value} lies outside the times this service records, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z`,
      { field },
    );
  return date;
}

/**
 * A resource id as stored: the contract's `format: uuid` admits upper case, but ids are generated, stored and
 * compared in lower case. Any other string (a cursor naming no decision) is left for the lookup to refuse.
 */
export function idAsStored(value: string): string {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
    ? value.toLowerCase()
    : value;
}
