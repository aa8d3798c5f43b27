import { randomUUID } from 'node:crypto';
import { AjvCompiler } from '@fastify/ajv-compiler';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import type { Authenticator } from './auth/identity.ts';
import { AuthError } from './auth/errors.ts';
import { ServerError } from './errors.ts';
import type { AuthFailureLimiter } from './auth/failure-limit.ts';
import { clientErrorHandler, errorHandler, notFoundHandler } from './http-errors.ts';
import { createMetrics } from './metrics.ts';
import { declaredBodies, loadOpenApi, type DeclaredBody } from './openapi.ts';
import { operationsHandlers } from './routes/operations.ts';
import type { Handlers } from './routes/types.ts';

export interface AppOptions {
  readonly logger: FastifyBaseLogger;
  readonly bodyLimit: number;
  /** Reverse proxies whose X-Forwarded-For names the client (request.ip); absent → the socket's peer. */
  readonly trustProxy?: readonly string[] | undefined;
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
/** Above the longest parameter the contract accepts (a 128-character model name), so validation judges those. */
const MAX_PATH_PARAMETER_LENGTH = 256;

const buildAjvValidator = AjvCompiler();

/**
 * A JSON body must already have the contract's types: no `"123"` for a number, no `"x"` for `["x"]`. Query
 * strings and path parameters are text, so their numbers and booleans are still coerced from it.
 */
const bodyExactValidators: typeof buildAjvValidator = (externalSchemas, options) => {
  const coercing = buildAjvValidator(externalSchemas, options);
  const exact = buildAjvValidator(externalSchemas, {
    ...options,
    customOptions: { ...options?.customOptions, coerceTypes: false },
  } as typeof options);
  return (route) => (route.httpPart === 'body' ? exact : coercing)(route);
};

/** In JSON text, the escapes that can make a string PostgreSQL's text cannot hold as it is. */
const UNSTORABLE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * The first string or key (its JSON path) PostgreSQL's text cannot hold as it is: one with a NUL character,
 * refused by the database, or with half a surrogate pair, which it would store silently as U+FFFD.
 */
function unstorableAt(root: unknown): { field: string; problem: string } | undefined {
  const problemOf = (text: string): string | undefined =>
    text.includes('\u0000')
      ? 'must not contain a NUL character'
      : !text.isWellFormed()
        ? 'must not contain an unpaired surrogate (half of a UTF-16 pair)'
        : undefined;
  const pending: [unknown, string][] = [[root, '']];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const [value, path] = item;
    if (typeof value === 'string') {
      const problem = problemOf(value);
      if (problem) return { field: path, problem };
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const at = path ? `${path}.${key}` : key;
        const problem = problemOf(key);
        if (problem) return { field: at, problem };
        pending.push([child, at]);
      }
    }
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const PLUS = 0x2b;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Up to this many keys an object's names are compared in a list; past it, in a Set. */
const KEYS_IN_A_LIST = 8;
/**
 * The longest integer literal that always reads exactly (15 digits; with a minus sign, 14), and the longest
 * decimal literal without an exponent that cannot leave double range or underflow to 0 (that takes over 300
 * digits). Shorter literals are not looked at twice, which keeps the scan at a few tens of µs for 5 KB.
 */
const ALWAYS_EXACT_INTEGER_LENGTH = 15;
const ALWAYS_IN_RANGE_DECIMAL_LENGTH = 300;

/** The index of the quote that closes the JSON string opening at `start` (the text is valid JSON). */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    for (let k = end - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/**
 * What JSON.parse reads as other than what a number literal says: beyond double range (1e400, read as
 * Infinity), an integer beyond ±(2^53−1) (read as the nearest double: 2^53+1 as 2^53), a non-zero number
 * too small for a double (1e-400, read as 0). -0 reads as -0, which RFC 8785 writes as 0, as the contract says.
 */
function numberProblem(literal: string): string | undefined {
  const value = Number(literal);
  const shown = literal.length > 40 ? `${literal.slice(0, 40)}…` : literal;
  if (!Number.isFinite(value)) return `is ${shown}, beyond the range of a 64-bit double`;
  if (!/[.eE]/.test(literal) && !Number.isSafeInteger(value))
    return `is ${shown}, an integer beyond ±(2^53−1) that would be read as ${value}; send it as a string`;
  if (value === 0 && /[1-9]/.test(literal.split(/[eE]/, 1)[0]!))
    return `is ${shown}, too small for a 64-bit double: it would be read as 0`;
  return undefined;
}

/**
 * The first thing in a JSON text (already accepted by JSON.parse) that JSON.parse reads silently as other than
 * was written, with its JSON path: a key given twice in one object (JSON.parse keeps the last, so
 * `"region":"us", …, "region":"eu"` would be decided for eu; RFC 8259 §4 leaves that to the parser, I-JSON
 * forbids it), or a number literal that does not survive being read (see numberProblem). One pass with
 * explicit stacks, no recursion: no JSON library on npm both finds duplicate keys and is as fast (jsonc-parser's
 * visitor took 80–170 µs for a 5 KB body where this takes 20–40 µs, as JSON.parse itself does).
 */
export function misreadJsonAt(text: string): { field: string; problem: string } | undefined {
  // Per open object or array: the current key (objects) and the names seen so far, or the index (arrays).
  const keys: string[] = [];
  const names: (string[] | Set<string> | null)[] = [];
  const indexes: number[] = [];
  const pathHere = () =>
    keys.map((key, depth) => (names[depth] === null ? String(indexes[depth]) : key)).join('.');
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        // "a" and "\u0061" are the same key.
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const depth = keys.length - 1;
        keys[depth] = key;
        let seen = names[depth]!;
        if (Array.isArray(seen) && seen.length >= KEYS_IN_A_LIST) seen = names[depth] = new Set(seen);
        if (Array.isArray(seen) ? seen.includes(key) : seen.has(key))
          return { field: pathHere(), problem: 'is given twice in one object; a key may appear once' };
        if (Array.isArray(seen)) seen.push(key);
        else seen.add(key);
        expectKey = false;
      }
      i = end + 1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      keys.push('');
      names.push(c === OPEN_OBJECT ? [] : null);
      indexes.push(0);
      expectKey = c === OPEN_OBJECT;
      i++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keys.pop();
      names.pop();
      indexes.pop();
      expectKey = false;
      i++;
    } else if (c === COMMA) {
      const depth = keys.length - 1;
      if (names[depth] === null) indexes[depth]!++;
      else expectKey = true;
      i++;
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      const start = i;
      let exponent = false;
      let fraction = false;
      for (i++; i < text.length; i++) {
        const k = text.charCodeAt(i);
        if ((k >= DIGIT_0 && k <= DIGIT_9) || k === MINUS || k === PLUS) continue;
        if (k === DOT) fraction = true;
        else if (k === 0x65 || k === 0x45) exponent = true;
        else break;
      }
      const limit = fraction ? ALWAYS_IN_RANGE_DECIMAL_LENGTH : ALWAYS_EXACT_INTEGER_LENGTH;
      if (exponent || i - start > limit) {
        const problem = numberProblem(text.slice(start, i));
        if (problem) return { field: pathHere(), problem };
      }
    } else i++;
  }
  return undefined;
}

/**
 * Holds a request to its operation's declared body: a media type the operation does not list is refused (415)
 * rather than handed, unvalidated, to a parser fastify has for it; a required body that is absent is a 400.
 */
function bodyContract({ required, mediaTypes }: DeclaredBody) {
  return async (request: FastifyRequest) => {
    const type = request.headers['content-type']?.split(';', 1)[0]!.trim().toLowerCase();
    if (type === undefined || request.body === undefined) {
      if (required)
        throw new ServerError('BAD_REQUEST', `a request body is required (${[...mediaTypes].join(' or ')})`);
      return;
    }
    if (!mediaTypes.has(type))
      throw new ServerError(
        'UNSUPPORTED_MEDIA_TYPE',
        `this operation accepts ${[...mediaTypes].join(' or ')}, not ${type}`,
      );
  };
}

/**
 * Builds the HTTP app from openapi.yaml: its routes, request validation, response serialization and security.
 * Never listens (tests use inject(); server/serve.ts listens). Every operation of the contract must have a
 * handler, or building fails.
 */
export async function buildApp(deps: AppDeps, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    // request.ip is whom failed authentications are counted against: behind a proxy, without this, every
    // client would share the proxy's address, and one client's failures would lock all of them out.
    ...(options.trustProxy ? { trustProxy: [...options.trustProxy] } : {}),
    // Not fastify's own header handling, which would take any value: genReqId checks the caller's id.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Reject what the contract does not allow instead of silently dropping it.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: bodyExactValidators } },
    // Answered below in the Error shape, with Retry-After.
    return503OnClosing: false,
    clientErrorHandler,
    // fastify's default (100) is under the contract's own limits (a model name may have 128 characters): a
    // longer parameter must reach the contract's validation and its field-naming 400. Past this, 414.
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    // A path that is not percent-encoded UTF-8, or a parameter past the limit, is refused before routing; the
    // answer takes the Error shape of every other one. No hook runs for it, so the request id is set here.
    frameworkErrors: (err, request, reply) => {
      void reply.header('x-request-id', request.id);
      errorHandler(err, request, reply);
    },
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new ServerError('SHUTTING_DOWN', 'the service is shutting down; retry shortly');
  });
  // PostgreSQL's text and jsonb hold no NUL character, and half a surrogate pair only as U+FFFD: refused here,
  // naming the field, not by the database as a 500 nor stored as other text than was sent. The escapes are
  // looked for first, so an ordinary body is not walked twice. So is what JSON.parse would read as other than
  // was sent: a key given twice, a number it cannot hold (misreadJsonAt).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    parseJson(request, body as string, (err, value) => {
      if (err) return done(err);
      const found =
        (UNSTORABLE_ESCAPE.test(body as string) ? unstorableAt(value) : undefined) ??
        misreadJsonAt(body as string);
      if (found === undefined) return done(null, value);
      const { field, problem } = found;
      done(new ServerError('BAD_REQUEST', `${field || '(root)'} ${problem}`, { field }));
    }),
  );
  // The same for the query string and path parameters. After authentication (a route's onRequest), so a
  // caller without a token learns nothing of the contract's parameters.
  app.addHook('preValidation', async (request) => {
    const found = unstorableAt({ ...(request.query as object), ...(request.params as object) });
    if (found !== undefined)
      throw new ServerError('BAD_REQUEST', `${found.field} ${found.problem}`, { field: found.field });
  });
  // Artifacts are streamed to their store, which enforces its own size limit while it hashes.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  // Media types the contract only serves (report PDFs, checkpoints, metrics), never accepts: a body of one is
  // refused (415) before any route sees it. fastify's own text/plain parser would hand it over unvalidated.
  app.removeContentTypeParser('text/plain');
  for (const type of ['application/pdf', 'text/plain'])
    app.addContentTypeParser(type, (_request, _payload, done) =>
      done(
        Object.assign(new Error(`${type} request bodies are not accepted`), {
          code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        }),
      ),
    );
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
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

  const spec = loadOpenApi();
  const bodies = declaredBodies(spec);
  // fastify-openapi-glue runs a route's security handler as a preHandler, i.e. after the body is read and
  // validated. Authentication comes first: an unauthenticated caller learns nothing about the contract and
  // never makes us read its body. Then the body is held to the media types its operation declares.
  app.addHook('onRoute', (route) => {
    if (route.preHandler && !route.onRequest) {
      route.onRequest = route.preHandler as never;
      delete route.preHandler;
    }
    for (const method of [route.method].flat()) {
      const declared = bodies.get(`${method} ${route.url}`);
      if (declared) route.preValidation = [...[route.preValidation ?? []].flat(), bodyContract(declared)];
    }
  });

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
        const required = () =>
          new AuthError('UNAUTHENTICATED', 'a bearer token is required', 'no bearer token');
        // A request without credentials guesses nothing: it is not counted against its address.
        if (header === undefined) throw required();
        const authenticate = async () => {
          const match = /^Bearer\s+(\S+)$/i.exec(header);
          if (!match) throw required();
          return deps.authenticator.authenticate(match[1]!);
        };
        const limit = deps.authFailureLimit;
        const identity = await (limit ? limit.attempt(request.ip, header, authenticate) : authenticate());
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
