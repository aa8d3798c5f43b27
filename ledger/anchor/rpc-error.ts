// What a failed JSON-RPC call may say in a log or a report. ethers' messages carry the request URL
// (`requestUrl`), which often holds an API key, and the payload; Node's connection errors name the host. So a
// failure is described by its code and short message (and the node's own words, when it answered), with
// anything that looks like the endpoint taken out; the raw error is never kept.

const REDACTED = '<rpc>';

/** `text` without the endpoint: its URL, path, host, or any other URL. */
export function redactRpcUrl(text: string, rpcUrl: string): string {
  const secrets = new Set<string>([rpcUrl]);
  try {
    const url = new URL(rpcUrl);
    secrets.add(url.href);
    if (url.pathname.length > 1 || url.search) secrets.add(`${url.pathname}${url.search}`);
    if (url.username) secrets.add(url.username);
    if (url.password) secrets.add(url.password);
    secrets.add(url.host);
    secrets.add(url.hostname);
  } catch {
    // Not a URL: the text is redacted of it as given, and of anything URL-like below.
  }
  let out = text;
  for (const secret of [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length))
    out = out.split(secret).join(REDACTED);
  return out.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]+/gi, REDACTED);
}

/** One line naming what failed (code, short message, the node's answer), never the endpoint. */
export function describeRpcError(err: unknown, rpcUrl: string): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    shortMessage?: unknown;
    message?: unknown;
    error?: { message?: unknown };
  };
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
  const short =
    typeof e.shortMessage === 'string'
      ? e.shortMessage
      : typeof e.message === 'string'
        ? e.message.split('\n', 1)[0]!
        : String(err);
  // A JSON-RPC error the node answered with (ethers: "could not coalesce error", the node's text in `error`).
  const answer = typeof e.error?.message === 'string' ? ` (${e.error.message})` : '';
  const text = `${code && !short.startsWith(code) ? `${code}: ` : ''}${short}${answer}`;
  return redactRpcUrl(text, rpcUrl).slice(0, 500);
}
