import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/identity.ts';

/** A route handler, looked up by the operationId of openapi.yaml. */
export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export type Handlers = Record<string, Handler>;

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
