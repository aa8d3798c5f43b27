import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** What `arbiter login` keeps per server: the access token and when it stops being useful. */
export interface CachedToken {
  readonly access_token: string;
  readonly issuer: string;
  /** ISO date-time; absent when the issuer did not say. */
  readonly expires_at?: string;
}

interface CacheFile {
  servers: Record<string, CachedToken>;
}

/** ARBITER_TOKEN_CACHE, else `$XDG_CONFIG_HOME/arbiter/tokens.json`, else `~/.config/arbiter/tokens.json`. */
export function tokenCachePath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.ARBITER_TOKEN_CACHE) return path.resolve(env.ARBITER_TOKEN_CACHE);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'arbiter', 'tokens.json');
}

function parseCache(text: string): CacheFile {
  const doc = JSON.parse(text) as Partial<CacheFile>;
  return { servers: doc.servers && typeof doc.servers === 'object' ? doc.servers : {} };
}

/**
 * The unexpired token cached for exactly this server, if any. A token is only ever sent to the server it was
 * obtained for: naming another `--server` must not hand it a credential.
 */
export function readCachedToken(
  server: string,
  now = new Date(),
  file = tokenCachePath(),
): string | undefined {
  let cache: CacheFile;
  try {
    cache = parseCache(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const entry = cache.servers[server];
  if (!entry || typeof entry.access_token !== 'string') return undefined;
  if (entry.expires_at && Date.parse(entry.expires_at) <= now.getTime()) return undefined;
  return entry.access_token;
}

/** Stores a token for a server, keeping the others; the file is written whole with mode 0600. */
export async function writeCachedToken(
  server: string,
  token: CachedToken,
  file = tokenCachePath(),
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  let cache: CacheFile = { servers: {} };
  try {
    cache = parseCache(await readFile(file, 'utf8'));
  } catch {
    // no cache yet, or an unreadable one that this write replaces
  }
  cache.servers[server] = token;
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFile is masked by the umask; say it again.
  await chmod(temp, 0o600);
  await rename(temp, file);
}
