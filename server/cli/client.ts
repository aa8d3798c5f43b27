import { readCachedToken } from '../auth/token-cache.ts';
import { CliFailure, fileErrorReason } from './output.ts';

export interface ServerTarget {
  readonly server: string;
  readonly token: string | undefined;
}

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

/** Calls the API with a JSON body; a non-2xx answer becomes a CliFailure carrying the server's error message. */
export function callApi<T>(target: ServerTarget, method: string, path: string, body?: unknown): Promise<T> {
  return send<T>(
    target,
    method,
    path,
    body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) },
  );
}

/** Streams a file to POST /v1/artifacts and returns its sha256. */
export async function uploadArtifact(target: ServerTarget, file: string): Promise<string> {
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
  const artifact = await send<{ sha256: string }>(
    target,
    'POST',
    `/v1/artifacts?filename=${encodeURIComponent(name)}`,
    {
      type: 'application/octet-stream',
      data: stream,
    },
  );
  return artifact.sha256;
}

async function send<T>(
  target: ServerTarget,
  method: string,
  path: string,
  body?: { type: string; data: string | ReadableStream<Uint8Array> },
): Promise<T> {
  const headers: Record<string, string> = {};
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body) headers['content-type'] = body.type;
  let response: Response;
  try {
    response = await fetch(`${target.server}${path}`, {
      method,
      headers,
      body: body?.data,
      // A streamed body needs half duplex (Node's fetch refuses it otherwise).
      ...(body && typeof body.data !== 'string' ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (err) {
    throw new CliFailure(`cannot reach ${target.server}: ${(err as Error).message}`, 2, 'unreachable');
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      const parsed = JSON.parse(text) as { code?: string; message?: string };
      message = `${parsed.code ?? response.status}: ${parsed.message ?? text}`;
    } catch {
      // not JSON: show the text as it came
    }
    throw new CliFailure(`${method} ${path} failed (${response.status}) ${message}`, 2, {
      status: response.status,
    });
  }
  return (text ? JSON.parse(text) : undefined) as T;
}
