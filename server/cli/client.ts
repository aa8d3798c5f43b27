import { CliFailure } from './output.ts';

export interface ServerTarget {
  readonly server: string;
  readonly token: string | undefined;
}

/** --server/--token, else ARBITER_SERVER/ARBITER_TOKEN; undefined when no server is named. */
export function serverTarget(flags: { server?: string; token?: string }): ServerTarget | undefined {
  const server = flags.server ?? process.env.ARBITER_SERVER;
  if (!server) return undefined;
  return { server: server.replace(/\/+$/, ''), token: flags.token ?? process.env.ARBITER_TOKEN };
}

/** Calls the API; a non-2xx answer becomes a CliFailure carrying the server's error message. */
export async function callApi<T>(
  target: ServerTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${target.server}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliFailure(`cannot reach ${target.server}: ${(err as Error).message}`);
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
    throw new CliFailure(`${method} ${path} failed (${response.status}) ${message}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}
