import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type PostgresPool } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import lockfile from 'proper-lockfile';
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
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // Without a listener, node-postgres re-emits an idle connection's error as an unhandled 'error' event,
  // which ends the process.
  pool.on('error', onIdleConnectionError);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: unavailableWhenUnreachable(preparedStatements ? preparingPool(pool) : pool),
    }),
  });
  const target = new URL(url);
  const location = `postgres://${target.host}${target.pathname}`;
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy();
    const reason = err instanceof ServerError && err.cause instanceof Error ? err.cause : (err as Error);
    throw new ServerError(
      'DATABASE_UNAVAILABLE',
      `cannot reach PostgreSQL at ${location}: ${reason.message}`,
      {
        cause: err,
      },
    );
  }
  return { db, kind: 'postgres', location, url, close: () => db.destroy() };
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

async function openEmbedded(dataDir: string): Promise<DatabaseHandle> {
  const pgdata = path.join(dataDir, 'pgdata');
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  // PGlite is one process's database: a second process opening the same folder would corrupt it. A holder
  // refreshes the lock every second; one killed with -9 leaves a lock that turns stale after 5 s, which the
  // retries (≈5.4 s in all) outlast, so a restart after a crash succeeds while a live holder still refuses.
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(pgdata, {
      stale: 5_000,
      update: 1_000,
      retries: { retries: 5, minTimeout: 500, maxTimeout: 1_500, factor: 1.5 },
    });
  } catch (err) {
    throw new ServerError(
      'DATA_DIR_LOCKED',
      `another Arbiter process holds ${dataDir}; stop it, or use its API with --server`,
      { cause: err },
    );
  }
  const pglite = new PGlite(pgdata);
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    location: pgdata,
    pglite,
    close: async () => {
      await db.destroy();
      await release();
    },
  };
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
