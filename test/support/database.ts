import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../server/db/database.ts';
import { migrateToLatest } from '../../server/db/migrate.ts';

/** The machine's PostgreSQL server, as DESIGN.md describes it; override with ARBITER_TEST_PG_URL. */
export const ADMIN_URL = process.env.ARBITER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type TestDatabaseKind = 'postgres' | 'pglite';

/** Which database the integration suite runs on: the vitest project sets ARBITER_TEST_DB. */
export function testDatabaseKind(): TestDatabaseKind {
  const kind = process.env.ARBITER_TEST_DB ?? 'postgres';
  if (kind !== 'postgres' && kind !== 'pglite')
    throw new Error(`ARBITER_TEST_DB must be postgres or pglite, not ${kind}`);
  return kind;
}

export interface TestDatabase extends DatabaseHandle {
  /** Connection URL of the fresh database (postgres only): give it to a second process or a superuser client. */
  readonly url: string | undefined;
  /** Data folder (pglite only). */
  readonly dataDir: string;
}

/**
 * A fresh, migrated database of its own for one test file: a new database on the real PostgreSQL server
 * (so parallel runs never collide), or a new PGlite folder. Never skips: without a reachable server it
 * fails with the command that starts one. `kind` overrides the project's, for a test that needs a pool of
 * connections whatever the project.
 */
export async function openTestDatabase(
  options: { migrate?: boolean; kind?: TestDatabaseKind } = {},
): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-test-'));
  let url: string | undefined;
  let dropDatabase = async () => {};
  if ((options.kind ?? testDatabaseKind()) === 'postgres')
    ({ url, drop: dropDatabase } = await createPostgresDatabase());
  const handle = await openDatabase({ databaseUrl: url, dataDir, poolSize: 20 });
  if (options.migrate !== false) await migrateToLatest(handle.db);
  return {
    ...handle,
    url,
    dataDir,
    close: async () => {
      await handle.close();
      await dropDatabase();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A new, empty database on the machine's PostgreSQL server, whatever the test project's kind. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `arbiter_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${(err as Error).message}). Start it with:\n` +
        '  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
  }
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    url: Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
