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

/** A date-time parameter as a Date; JSON Schema's date-time admits a leap second (:60), which Date does not. */
export function dateOf(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new ServerError('BAD_REQUEST', `${field}: ${value} is not a time this service can represent`, {
      field,
    });
  return date;
}
