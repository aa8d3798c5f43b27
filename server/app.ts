import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import type { Authenticator } from './auth/identity.ts';
import { AuthError } from './auth/errors.ts';
import type { AuthFailureLimiter } from './auth/failure-limit.ts';
import { clientErrorHandler, errorHandler, notFoundHandler } from './http-errors.ts';
import { createMetrics } from './metrics.ts';
import { loadOpenApi } from './openapi.ts';
import { operationsHandlers } from './routes/operations.ts';
import type { Handlers } from './routes/types.ts';

export interface AppOptions {
  readonly logger: FastifyBaseLogger;
  readonly bodyLimit: number;
  readonly version: string;
  readonly databaseKind: 'postgres' | 'pglite';
}

export interface AppDeps {
  /** Turns a bearer credential into an identity (local tokens, OIDC). */
  readonly authenticator: Authenticator;
  /** Answers 429 to a client that keeps failing authentication; absent → no limit. */
  readonly authFailureLimit?: AuthFailureLimiter;
  /** Named readiness checks for /readyz. */
  readonly readiness: Record<string, () => Promise<boolean>>;
  /** The handlers of every operation in openapi.yaml except the operations group, by operationId. */
  readonly handlers: Handlers;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Builds the HTTP app from openapi.yaml: its routes, request validation, response serialization and security.
 * Never listens (tests use inject(); server/serve.ts listens). Every operation of the contract must have a
 * handler, or building fails.
 */
export async function buildApp(deps: AppDeps, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Reject what the contract does not allow instead of silently dropping it.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    clientErrorHandler,
  });
  // Artifacts are streamed to their store, which enforces its own size limit while it hashes.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  // PDFs are only ever served (reports), never accepted.
  app.addContentTypeParser('application/pdf', (_request, _payload, done) =>
    done(
      Object.assign(new Error('PDF request bodies are not accepted'), {
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      }),
    ),
  );
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  deps.authFailureLimit?.attach(app);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  const metrics = createMetrics(app);
  const handlers: Handlers = {
    ...operationsHandlers({
      version: options.version,
      databaseKind: options.databaseKind,
      readiness: deps.readiness,
      metrics,
    }),
    ...deps.handlers,
  };

  // fastify-openapi-glue runs a route's security handler as a preHandler, i.e. after the body is read and
  // validated. Authentication comes first: an unauthenticated caller learns nothing about the contract and
  // never makes us read its body.
  app.addHook('onRoute', (route) => {
    if (route.preHandler && !route.onRequest) {
      route.onRequest = route.preHandler as never;
      delete route.preHandler;
    }
  });

  const spec = loadOpenApi();
  await app.register(fastifySwagger, { mode: 'static', specification: { document: loadOpenApi() as never } });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(openapiGlue, {
    specification: spec,
    operationResolver: (operationId: string) => {
      const handler = handlers[operationId];
      if (!handler) throw new TypeError(`openapi.yaml operation ${operationId} has no handler`);
      // A RouteOverride is a partial route: the plugin merges it over the route it built from the contract.
      return handler as never;
    },
    securityHandlers: {
      bearerAuth: async (request: FastifyRequest, _reply: unknown, roles: string[]) => {
        const header = request.headers.authorization;
        const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
        if (!match) throw new AuthError('UNAUTHENTICATED', 'a bearer token is required', 'no bearer token');
        const identity = await deps.authenticator.authenticate(match[1]!);
        if (roles.length > 0 && !roles.includes(identity.role)) {
          throw new AuthError(
            'FORBIDDEN',
            `role ${identity.role} may not call this route`,
            `${identity.issuer}/${identity.subject} (${identity.role}) needs one of ${roles.join(', ')}`,
          );
        }
        request.identity = identity;
      },
    },
  });
  return app;
}
