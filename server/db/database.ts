import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type PostgresPool } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import { ServerError } from '../errors.ts';
import { preparingPool } from './prepared-statements.ts';
import type { Database } from './schema.ts';

export type DatabaseKind = 'postgres' | 'pglite';

/** An open database: the kysely instance every module's store runs on, and how to close it. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** Human-readable location for logs: the data folder or the server's host/db (never the password). */
  readonly location: string;
  /** The connection string (postgres only): for components that open their own pool, such as the job queue. */
  readonly url?: string;
  /** The embedded database (pglite only): for components that need its raw query interface. */
  readonly pglite?: PGlite;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Connection pool size for PostgreSQL. */
  readonly poolSize?: number;
  /** Whether PostgreSQL connections prepare their frequent statements (preparingPool). Default: true. */
  readonly preparedStatements?: boolean;
  /**
   * Told when an idle pooled connection fails (PostgreSQL restarted, or an administrator ended the session).
   * The pool has already dropped that connection and opens a new one for the next query. Default: ignored.
   */
  readonly onIdleConnectionError?: (err: Error) => void;
}

/**
 * How long opening a PostgreSQL connection may take. Without a bound, a host that accepts the connection and
 * never answers (a firewall, a stuck proxy) holds start-up, and every query after, without end.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;

/** How to close each database this process has open, or is opening, when it must stop: see closeOpenDatabases. */
const stops = new Set<() => Promise<void>>();

/**
 * `close`, run once however often it is called, and until then known to closeOpenDatabases. `waitOnStop`
 * false: a stop starts the close without waiting for it to finish.
 */
function tracked(close: () => Promise<void>, waitOnStop: boolean): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const once = () => {
    stops.delete(stop);
    return (closing ??= close());
  };
  const stop = async () => {
    const closed = once();
    if (waitOnStop) await closed;
    else closed.catch(() => {});
  };
  stops.add(stop);
  return once;
}

/**
 * Closes every database this process has open or is opening, for a process that must stop before whatever
 * opened them has finished with them: serve() aborting its start-up at a second signal. What was using them
 * then fails. The embedded database is closed, its data folder's lock released; PostgreSQL's pool is told to
 * end, not waited for: a connection still being opened to a host that does not answer would hold it until its
 * timeout, and PostgreSQL rolls back what a connection had open when it goes.
 */
export async function closeOpenDatabases(): Promise<void> {
  await Promise.allSettled([...stops].map((stop) => stop()));
}

// node-postgres returns int8 (bigint) as strings; our counters (sequence numbers, sizes) fit in 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Opens PostgreSQL when a URL is configured, else the embedded PGlite under `<dataDir>/pgdata`. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.databaseUrl
    ? openPostgres(
        options.databaseUrl,
        options.poolSize ?? 10,
        options.preparedStatements ?? true,
        options.onIdleConnectionError ?? (() => {}),
      )
    : openEmbedded(options.dataDir);
}

async function openPostgres(
  url: string,
  poolSize: number,
  preparedStatements: boolean,
  onIdleConnectionError: (err: Error) => void,
): Promise<DatabaseHandle> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
  });
  // Without a listener, node-postgres re-emits an idle connection's error as an unhandled 'error' event,
  // which ends the process.
  pool.on('error', onIdleConnectionError);
  // A connection lost while it runs a statement (PostgreSQL restarted, the network cut) fails that statement,
  // and the client emits the error too, where the pool listens only while it is idle: unheard, it would end
  // the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: unavailableWhenUnreachable(preparedStatements ? preparingPool(pool) : pool),
    }),
  });
  // node-postgres's own reading of the URL: a Unix socket's host is a path, which URL cannot hold.
  const target = parseConnectionString(url);
  const location = `postgres://${target.host ?? ''}${target.port ? `:${target.port}` : ''}/${target.database ?? ''}`;
  // Tracked from now: a connection still being opened is what a second signal during start-up must not wait on.
  const close = tracked(() => db.destroy(), false);
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await close();
    const reason = err instanceof ServerError && err.cause instanceof Error ? err.cause : (err as Error);
    // pg says "timeout exceeded when trying to connect" or "Connection terminated due to connection timeout".
    const timedOut = /timeout/i.test(reason.message)
      ? ` (no connection within ${POSTGRES_CONNECT_TIMEOUT_MS / 1000} s)`
      : '';
    throw new ServerError(
      'DATABASE_UNAVAILABLE',
      `cannot reach PostgreSQL at ${location}: ${reason.message}${timedOut}`,
      { cause: err },
    );
  }
  return { db, kind: 'postgres', location, url, close };
}

/**
 * The pool, with a failure to open a connection (PostgreSQL down, refusing connections, out of slots) said as
 * DATABASE_UNAVAILABLE, which callers answer with 503 and Retry-After rather than 500. pg's own error, which
 * names hosts and ports, stays the cause, for the logs.
 */
function unavailableWhenUnreachable(pool: PostgresPool): PostgresPool {
  return {
    connect: () =>
      pool.connect().catch((err: unknown) => {
        throw new ServerError('DATABASE_UNAVAILABLE', 'the database is unavailable; retry shortly', {
          cause: err,
        });
      }),
    end: () => pool.end(),
  };
}

/**
 * Whether `dataDir` holds an embedded database (its `pgdata` initialised: PG_VERSION written), without
 * creating anything: openDatabase would create one in any folder it is given.
 */
export async function holdsEmbeddedDatabase(dataDir: string): Promise<boolean> {
  try {
    return (await stat(path.join(dataDir, 'pgdata', 'PG_VERSION'))).isFile();
  } catch {
    return false;
  }
}

async function openEmbedded(dataDir: string): Promise<DatabaseHandle> {
  const pgdata = path.join(dataDir, 'pgdata');
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  const release = await lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    pglite = new PGlite(pgdata);
    await pglite.waitReady;
  } catch (err) {
    await release();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    location: pgdata,
    pglite,
    close: tracked(async () => {
      await db.destroy();
      await release();
    }, true),
  };
}

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it. The folder's
 * lock file names its holder, and a lock is stale when that process has ended, never for its age: PGlite
 * blocks the event loop for seconds (initdb on a fresh folder), so a holder cannot be relied on to refresh a
 * lock in time. A process killed with -9 leaves a lock that the next start takes over at once.
 */
const LOCK_FILE = 'pgdata.pid';

interface LockHolder {
  readonly pid: number;
  /** When the process started (Linux), so that a pid reused by another process is not taken for the holder. */
  readonly started: string | undefined;
  /**
   * The machine (or container) it runs on. A data folder on a volume two machines share holds a lock whose
   * process this one cannot see: it is taken as running, never as ended, so that two never write at once.
   */
  readonly host: string | undefined;
}

/** The locks this process holds or is taking: a lock file naming this process is a predecessor's. */
const held = new Set<string>();

/** Throws DATA_DIR_LOCKED while a live process holds the embedded database in `dataDir`. */
export async function assertDataDirUnlocked(dataDir: string): Promise<void> {
  const lock = path.join(dataDir, LOCK_FILE);
  const holder = await readHolder(lock);
  if (held.has(lock) || (holder && (await isRunning(holder)))) throw dataDirLocked(dataDir, holder);
}

function dataDirLocked(dataDir: string, holder?: LockHolder): ServerError {
  const elsewhere =
    holder && isElsewhere(holder)
      ? ` (pid ${holder.pid} on ${holder.host}, which this machine cannot see: if it no longer runs there, remove ${path.join(dataDir, LOCK_FILE)})`
      : '';
  return new ServerError(
    'DATA_DIR_LOCKED',
    `another Arbiter process holds ${dataDir}${elsewhere}; stop it, or use its API with --server`,
  );
}

const isElsewhere = (holder: LockHolder) => holder.host !== undefined && holder.host !== os.hostname();

/** Takes the lock of `dataDir`'s embedded database; resolves with its release. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lock = path.join(dataDir, LOCK_FILE);
  if (held.has(lock)) throw dataDirLocked(dataDir);
  held.add(lock);
  const holder: LockHolder = { pid: process.pid, started: await startOf(process.pid), host: os.hostname() };
  // Written whole first, then linked into place: the lock never exists without its holder in it.
  const draft = `${lock}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(draft, JSON.stringify(holder), { mode: 0o600 });
    // Each round takes the lock, finds it held, or removes a stale one; only processes racing for the same
    // folder make it take more than two.
    for (let round = 0; round < 20; round++) {
      try {
        await link(draft, lock);
        return () => releaseLock(lock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const current = await readHolder(lock);
      if (current === undefined) continue;
      if (await isRunning(current)) throw dataDirLocked(dataDir, current);
      await removeStale(lock, current, draft);
    }
    throw dataDirLocked(dataDir);
  } catch (err) {
    held.delete(lock);
    throw err;
  } finally {
    await rm(draft, { force: true });
  }
}

/**
 * Removes a lock whose holder has ended. Two processes that found the same one must not both remove it: the
 * later would remove the lock the earlier has taken since. So one at a time removes it, under a second lock
 * held for a few milliseconds, and only while it still names that holder.
 */
async function removeStale(lock: string, stale: LockHolder, draft: string): Promise<void> {
  const guard = `${lock}.takeover`;
  try {
    await link(draft, guard);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = await readHolder(guard);
    // A process killed within those milliseconds leaves its guard behind, stale as any lock of the dead.
    if (other && !(await isRunning(other))) await rm(guard, { force: true });
    else await sleep(10);
    return;
  }
  try {
    if (sameHolder(await readHolder(lock), stale)) await rm(lock, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
}

/** Leaves a lock that is no longer this process's alone: one taken by another process since is kept. */
async function releaseLock(lock: string): Promise<void> {
  if (!held.delete(lock)) return;
  if ((await readHolder(lock))?.pid === process.pid) await rm(lock, { force: true });
}

/** Who the lock file names; undefined when there is none. A file that names no process holds nothing. */
async function readHolder(file: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { pid, started, host } = JSON.parse(text) as { pid?: unknown; started?: unknown; host?: unknown };
    if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0)
      return {
        pid,
        started: typeof started === 'string' ? started : undefined,
        host: typeof host === 'string' ? host : undefined,
      };
  } catch {
    // not JSON: names no process
  }
  return { pid: 0, started: undefined, host: undefined };
}

async function isRunning(holder: LockHolder): Promise<boolean> {
  if (holder.pid === 0) return false;
  if (isElsewhere(holder)) return true;
  // This process's own locks are in `held`, checked first.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // After a restart, a container's process often has the pid its predecessor had, or another process has it.
  const started = holder.started && (await startOf(holder.pid));
  return !started || started === holder.started;
}

const sameHolder = (a: LockHolder | undefined, b: LockHolder) =>
  a !== undefined && a.pid === b.pid && a.started === b.started && a.host === b.host;

/** When the process started, in clock ticks since boot (/proc on Linux); undefined elsewhere. */
async function startOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name before it, in parentheses, may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when the database answers a trivial query (readiness). */
export async function isReachable(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/**
 * The one kysely instance, typed with one module's tables only: each store sees just its part of the schema.
 * (kysely's types are invariant in the schema, so narrowing needs this one cast.)
 */
export function tablesOf<Tables>(db: Kysely<Database>): Kysely<Tables> {
  return db as unknown as Kysely<Tables>;
}
