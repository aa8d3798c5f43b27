import type { Ajv } from 'ajv';
import type { Command } from 'commander';
import { readCachedToken } from '../auth/token-cache.ts';
import { CliFailure, fileErrorReason, printable } from './output.ts';

export interface ServerTarget {
  readonly server: string;
  readonly token: string | undefined;
}

/**
 * How long one request waits for the service (connecting, sending, its answer) when its command sets no other
 * bound: without one, a server or proxy that accepts the connection and never answers holds the command for
 * as long as Node's fetch waits for headers, five minutes.
 */
export const DEFAULT_REQUEST_TIMEOUT_S = 120;

/** What bounds one request besides its own timeout. */
export interface RequestOptions {
  /**
   * The command's deadline, from its `--timeout`: the request is aborted when it passes, and one asked for
   * after it is not sent. `flag` is how the message names it (`--timeout 5`).
   */
  readonly deadline?: { readonly at: number; readonly flag: string };
  /** This request's own bound, in ms (default DEFAULT_REQUEST_TIMEOUT_S); Infinity: the deadline alone. */
  readonly timeoutMs?: number;
  /** Aborts the request (Ctrl-C): it fails with a CliFailure whose message says it was interrupted. */
  readonly signal?: AbortSignal;
  /** Headers of this request besides authorization and content-type (`Idempotency-Key`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A schema of openapi.yaml's components that an answer is checked against before it is used. */
export type AnswerSchema = 'DecisionResult' | 'Evaluation';

/** --server/--token, else ARBITER_SERVER/ARBITER_TOKEN, else the token `arbiter login` cached for that server. */
export function serverTarget(flags: { server?: string; token?: string }): ServerTarget | undefined {
  const server = flags.server ?? process.env.ARBITER_SERVER;
  if (!server) return undefined;
  const base = server.replace(/\/+$/, '');
  return { server: base, token: flags.token ?? process.env.ARBITER_TOKEN ?? readCachedToken(base) };
}

/** A named server, or a CliFailure saying how to name one. */
export function requireServerTarget(flags: { server?: string; token?: string }): ServerTarget {
  const target = serverTarget(flags);
  if (!target) throw new CliFailure('name the Arbiter service with --server URL (or ARBITER_SERVER)');
  return target;
}

/** Commands whose help says for themselves how long their requests may wait (see requestTimeoutHelp). */
const ownTimeoutHelp = new WeakSet<Command>();

/** Adds `text` to the command's help as what bounds its requests, in place of the default's line. */
export function describeRequestTimeout(command: Command, text: string): Command {
  ownTimeoutHelp.add(command);
  return command.addHelpText('after', `\n${text}`);
}

/**
 * Says, in the help of every command that calls a service (it takes --server) and says nothing of its own,
 * how long each request may wait.
 */
export function requestTimeoutHelp(command: Command): void {
  if (!ownTimeoutHelp.has(command) && command.options.some((option) => option.long === '--server'))
    command.addHelpText(
      'after',
      `\nWith --server, each request to the service fails (exit 2) when it gets no answer within ${DEFAULT_REQUEST_TIMEOUT_S} s.`,
    );
  for (const subcommand of command.commands) requestTimeoutHelp(subcommand);
}

/**
 * Calls the API with a JSON body and returns its JSON answer. A non-2xx answer becomes a CliFailure carrying the
 * server's error message; so does a 2xx answer that is not JSON (a proxy's or single sign-on's HTML page), one
 * that does not have the shape of `options.schema`, and a request that gets no answer in time (see
 * RequestOptions). Only a 204 answers undefined.
 */
export function callApi<T>(
  target: ServerTarget,
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions & { readonly schema?: AnswerSchema } = {},
): Promise<T> {
  return send(
    target,
    method,
    path,
    body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) },
    options,
    async (response, text) => {
      if (response.status === 204) return undefined;
      const answer = await jsonOf(method, path, response, text());
      if (options.schema)
        await assertShape(options.schema, answer, `${method} ${path} answered ${response.status}`);
      return answer;
    },
  ) as Promise<T>;
}

let contract: Promise<Ajv> | undefined;

/**
 * Refuses an answer without the shape openapi.yaml gives it, in one line: a proxy's `{}`, or `"allow": "false"`,
 * must never be read as a decision. Read as a tolerant reader would: fields a newer service adds are no error.
 */
async function assertShape(schema: AnswerSchema, answer: unknown, what: string): Promise<void> {
  contract ??= (async () => {
    const [{ Ajv }, { default: addFormats }, { loadOpenApi }] = await Promise.all([
      import('ajv'),
      import('ajv-formats'),
      import('../openapi.ts'),
    ]);
    const ajv = new Ajv({ strict: false, allErrors: false });
    addFormats.default(ajv);
    ajv.addSchema({ components: tolerant(loadOpenApi().components) }, 'openapi.yaml');
    return ajv;
  })();
  const validate = (await contract).getSchema(`openapi.yaml#/components/schemas/${schema}`)!;
  if (validate(answer)) return;
  const error = validate.errors?.[0];
  throw new CliFailure(
    `${what} with what is not a ${schema} (openapi.yaml): ` +
      printable(
        error ? `${error.instancePath || 'the answer'} ${error.message ?? 'is wrong'}` : 'wrong shape',
      ),
  );
}

/** The schemas without `additionalProperties: false`, which binds the service's answers, not what a client accepts. */
function tolerant(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(tolerant);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => !(key === 'additionalProperties' && value === false))
      .map(([key, value]) => [key, tolerant(value)]),
  );
}

/** GETs the bytes of a 2xx answer (a PDF, say), with callApi's handling of every other answer. */
export function downloadBytes(
  target: ServerTarget,
  path: string,
  options: RequestOptions = {},
): Promise<Buffer> {
  return send(target, 'GET', path, undefined, options, async (response) =>
    Buffer.from(await response.arrayBuffer()),
  );
}

/**
 * Streams a file to POST /v1/artifacts and returns its sha256. The upload takes as long as the file is large:
 * only the command's deadline bounds it, if it has one, else the default bound per request.
 */
export async function uploadArtifact(
  target: ServerTarget,
  file: string,
  options: RequestOptions = {},
): Promise<string> {
  const { open } = await import('node:fs/promises');
  const { Readable } = await import('node:stream');
  const { basename } = await import('node:path');
  const name = basename(file).replace(/[^A-Za-z0-9._-]/g, '_');
  // Opened before the request: a file that cannot be read would otherwise fail the upload as "fetch failed".
  const handle = await open(file).catch((err: unknown) => {
    throw new CliFailure(`cannot read ${file}: ${fileErrorReason(err)}`);
  });
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw new CliFailure(`cannot read ${file}: is a directory`);
  }
  const stream = Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>;
  const path = `/v1/artifacts?filename=${encodeURIComponent(name)}`;
  const artifact = await send(
    target,
    'POST',
    path,
    { type: 'application/octet-stream', data: stream },
    options,
    async (response, text) => jsonOf('POST', path, response, text()) as Promise<{ sha256?: unknown }>,
  ).finally(() => handle.close().catch(() => {}));
  if (typeof artifact?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(artifact.sha256))
    throw new CliFailure(`POST ${path} answered ${printable(JSON.stringify(artifact))}, not an artifact`);
  return artifact.sha256;
}

/** The most of a non-JSON error page a message quotes. */
const QUOTED_CHARACTERS = 200;

/** Why the request was aborted, when it was: which bound passed, or Ctrl-C. */
type Abort = { readonly kind: 'deadline' | 'timeout'; readonly ms: number } | { readonly kind: 'signal' };

/**
 * One request, bounded by `options`, with every failure a one-line CliFailure: it never carries the token,
 * even where the server or proxy repeats it back.
 */
async function send<R>(
  target: ServerTarget,
  method: string,
  path: string,
  body: { type: string; data: string | ReadableStream<Uint8Array> } | undefined,
  options: RequestOptions,
  read: (response: Response, text: () => Promise<string>) => Promise<R>,
): Promise<R> {
  const redact = (message: string) => (target.token ? message.replaceAll(target.token, '***') : message);
  const headers: Record<string, string> = { ...options.headers };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body) headers['content-type'] = body.type;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_S * 1000;
  const left = options.deadline ? options.deadline.at - Date.now() : Infinity;
  if (left <= 0) {
    // A streamed body is not sent: release its file.
    if (body && typeof body.data !== 'string') await body.data.cancel().catch(() => {});
    throw new CliFailure(
      `${method} ${path}: not sent, the deadline (${options.deadline!.flag}) has passed`,
      2,
      'timeout',
    );
  }
  const controller = new AbortController();
  let aborted: Abort | undefined;
  const abort = (why: Abort) => {
    aborted ??= why;
    controller.abort();
  };
  const bound: Abort = left < timeoutMs ? { kind: 'deadline', ms: left } : { kind: 'timeout', ms: timeoutMs };
  // setTimeout takes at most 2^31-1 ms (about 24 days); a longer bound is none.
  const timer = bound.ms < 2 ** 31 ? setTimeout(() => abort(bound), bound.ms) : undefined;
  const onSignal = () => abort({ kind: 'signal' });
  if (options.signal?.aborted) onSignal();
  options.signal?.addEventListener('abort', onSignal);
  const failure = (err: unknown, reached: boolean) => {
    if (aborted?.kind === 'signal') return new CliFailure(`${method} ${path}: interrupted`);
    if (aborted) {
      const within =
        aborted.kind === 'deadline'
          ? `before the deadline (${options.deadline!.flag})`
          : `within ${Math.round(aborted.ms / 1000)} s`;
      return new CliFailure(`${method} ${path}: ${target.server} did not answer ${within}`, 2, 'timeout');
    }
    return reached
      ? new CliFailure(redact(`${method} ${path}: the answer was cut off: ${causeOf(err)}`), 2, 'unreachable')
      : new CliFailure(redact(`cannot reach ${target.server}: ${causeOf(err)}`), 2, 'unreachable');
  };
  try {
    let response: Response;
    try {
      response = await fetch(`${target.server}${path}`, {
        method,
        headers,
        body: body?.data,
        signal: controller.signal,
        // A streamed body needs half duplex (Node's fetch refuses it otherwise).
        ...(body && typeof body.data !== 'string' ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      throw failure(err, false);
    }
    // The body is read under the same bounds: a server may send its headers and then stall.
    const text = () => response.text().catch((err: unknown) => Promise.reject(failure(err, true)));
    if (!response.ok) {
      const message = errorMessage(response, await text());
      throw new CliFailure(redact(`${method} ${path} failed (${response.status}) ${message}`), 2, {
        status: response.status,
      });
    }
    try {
      return await read(response, text);
    } catch (err) {
      if (err instanceof CliFailure) throw err;
      throw failure(err, true);
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onSignal);
  }
}

/**
 * Why fetch failed, from its cause: fetch's own message is only "fetch failed", whether the connection was
 * refused (ECONNREFUSED), the name unknown (ENOTFOUND), or the certificate refused.
 */
function causeOf(err: unknown): string {
  let cause: unknown = err instanceof Error && err.cause !== undefined ? err.cause : err;
  // Every address of a name refused (IPv6 and IPv4): an AggregateError whose own message is empty.
  if (cause instanceof AggregateError && cause.errors.length > 0 && !cause.message) cause = cause.errors[0];
  const { code, message } = cause as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : String(cause);
  return printable(typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text);
}

const isJson = (type: string | null) =>
  type !== null && /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type);

/** A 2xx answer's JSON; anything else (an HTML login page, an empty body) is a CliFailure. */
async function jsonOf(
  method: string,
  path: string,
  response: Response,
  text: Promise<string>,
): Promise<unknown> {
  const body = await text;
  const type = response.headers.get('content-type');
  if (isJson(type)) {
    try {
      return JSON.parse(body);
    } catch {
      // said below
    }
  }
  throw new CliFailure(
    `${method} ${path} answered ${response.status} with ${
      body === ''
        ? 'an empty body'
        : type
          ? `${printable(type)}${isJson(type) ? ' that does not parse' : ''}`
          : 'no content type'
    }, not Arbiter's JSON: is --server the Arbiter API, and not a proxy's or a login page?`,
  );
}

/** An error answer as one line: the service's `code: message`, or the head of a proxy's page. */
function errorMessage(response: Response, text: string): string {
  const type = response.headers.get('content-type');
  if (isJson(type)) {
    try {
      const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof parsed === 'object' && parsed !== null)
        return printable(
          `${typeof parsed.code === 'string' ? parsed.code : response.status}: ${
            typeof parsed.message === 'string' ? parsed.message : text
          }`,
        );
    } catch {
      // not JSON after all: quoted as text
    }
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  const head = flat.length > QUOTED_CHARACTERS ? `${flat.slice(0, QUOTED_CHARACTERS)}…` : flat;
  return `${type ? printable(type) : 'no content type'}${head ? `: ${printable(head)}` : ''}`;
}
