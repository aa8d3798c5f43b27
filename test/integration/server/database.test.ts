import net from 'node:net';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, tablesOf } from '../../../server/db/database.ts';
import { MIGRATIONS, migrateToLatest } from '../../../server/db/migrate.ts';
import { preparingPool } from '../../../server/db/prepared-statements.ts';
import type { ServerTables } from '../../../server/db/schema.ts';
import { ModelInventory } from '../../../server/inventory/models.ts';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../../support/database.ts';

describe(`database on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase({ migrate: false });
  });
  afterAll(() => database?.close());

  it('migrates to the latest schema, and a second run finds nothing to do', async () => {
    expect(await migrateToLatest(database.db)).toEqual(Object.keys(MIGRATIONS).sort());
    expect(await migrateToLatest(database.db)).toEqual([]);
  });

  it("gives the uploads from before artifact_upload to their first uploader, a local token's at the local issuer", async () => {
    const legacy = await openTestDatabase({ migrate: false });
    try {
      const migrator = new Migrator({
        db: legacy.db,
        provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
      });
      expect((await migrator.migrateTo('2026_12_04_0000_server_evaluation_issuer')).error).toBeUndefined();
      await sql`insert into artifact (sha256, size, media_type, filename, content, created_by) values
        (${'a'.repeat(64)}, 1, 'application/octet-stream', 'old.csv', '\\x00', 'tok_1a2b'),
        (${'b'.repeat(64)}, 1, 'application/octet-stream', null, '\\x00', 'repo:acme/model:ref:main'),
        (${'c'.repeat(64)}, 1, 'application/octet-stream', null, '\\x00', 'tokXlookalike')`.execute(
        legacy.db,
      );
      await migrateToLatest(legacy.db);
      const { rows } = await sql<{
        sha256: string;
        uploaded_by: string;
        uploaded_by_issuer: string | null;
        filename: string | null;
      }>`
        select sha256, uploaded_by, uploaded_by_issuer, filename from artifact_upload order by sha256`.execute(
        legacy.db,
      );
      expect(rows).toEqual([
        {
          sha256: 'a'.repeat(64),
          uploaded_by: 'tok_1a2b',
          uploaded_by_issuer: 'arbiter-local',
          filename: 'old.csv',
        },
        {
          sha256: 'b'.repeat(64),
          uploaded_by: 'repo:acme/model:ref:main',
          uploaded_by_issuer: null,
          filename: null,
        },
        { sha256: 'c'.repeat(64), uploaded_by: 'tokXlookalike', uploaded_by_issuer: null, filename: null },
      ]);
      // Their bytes, stored whole before artifact_chunk, are each one's only chunk.
      const chunks = await sql<{ sha256: string; idx: number; bytes: Uint8Array }>`
        select sha256, idx, bytes from artifact_chunk order by sha256`.execute(legacy.db);
      expect(chunks.rows.map((r) => [r.sha256[0], r.idx, Buffer.from(r.bytes).toString('hex')])).toEqual([
        ['a', 0, '00'],
        ['b', 0, '00'],
        ['c', 0, '00'],
      ]);
    } finally {
      await legacy.close();
    }
  });

  it('is safe when two migrators run at once', async () => {
    // On PostgreSQL: two separate pools, as two processes would have; kysely's advisory lock serialises them.
    const second =
      database.kind === 'postgres'
        ? await openDatabase({ databaseUrl: database.url, dataDir: database.dataDir })
        : undefined;
    try {
      const results = await Promise.all([
        migrateToLatest(database.db),
        migrateToLatest((second ?? database).db),
      ]);
      expect(results.flat()).toEqual([]);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(
        database.db,
      );
      expect(rows[0]!.n).toBe(Object.keys(MIGRATIONS).length);
    } finally {
      await second?.close();
    }
  });

  it('survives an idle connection that PostgreSQL ends, and reconnects', async () => {
    if (database.kind !== 'postgres') return; // PGlite runs in this process: it has no connections to end.
    const failures: Error[] = [];
    const other = await openDatabase({
      databaseUrl: database.url,
      dataDir: database.dataDir,
      onIdleConnectionError: (err) => failures.push(err),
    });
    try {
      const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(other.db)).rows[0]!.pid;
      await sql`select pg_terminate_backend(${pid})`.execute(database.db);
      for (let i = 0; i < 100 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(failures).toEqual([expect.objectContaining({ code: '57P01' })]);
      const { rows } = await sql<{ n: number }>`select 1 as n`.execute(other.db);
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await other.close();
    }
  });

  it('reaches PostgreSQL over its Unix socket, named as node-postgres takes it (?host=/path)', async () => {
    if (database.kind !== 'postgres') return; // PGlite has no socket.
    const { rows } = await sql<{
      dir: string;
    }>`select current_setting('unix_socket_directories') as dir`.execute(database.db);
    const dir = rows[0]!.dir.split(',')[0]!.trim();
    const { username, pathname } = new URL(database.url!);
    const url = `postgres://${username}@${pathname}?host=${dir}`;
    const other = await openDatabase({ databaseUrl: url, dataDir: database.dataDir });
    try {
      expect(other.location).toBe(`postgres://${dir}${pathname}`);
      const { rows: one } = await sql<{ n: number }>`select 1 as n`.execute(other.db);
      expect(one).toEqual([{ n: 1 }]);
    } finally {
      await other.close();
    }
  });

  it('fails a statement whose connection is cut while it runs, and goes on', async () => {
    if (database.kind !== 'postgres') return;
    // A TCP proxy in front of PostgreSQL, whose connections are cut as by a network failure: unlike a session
    // that PostgreSQL ends, the client hears nothing before the connection closes.
    const target = new URL(database.url!);
    const sockets: net.Socket[] = [];
    const proxy = net.createServer((client) => {
      const server = net.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, server]) sockets.push(s.on('error', () => {}));
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = Object.assign(new URL(target), {
      host: `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`,
    });
    const other = await openDatabase({ databaseUrl: url.toString(), dataDir: database.dataDir, poolSize: 1 });
    try {
      const running = sql`select pg_sleep(5)`.execute(other.db);
      await new Promise((r) => setTimeout(r, 300));
      for (const s of sockets) s.destroy();
      await expect(running).rejects.toThrow('Connection terminated unexpectedly');
      expect((await sql<{ n: number }>`select 1 as n`.execute(other.db)).rows).toEqual([{ n: 1 }]);
    } finally {
      await other.close();
      proxy.close();
    }
  });

  it('prepares a statement with parameters from its second use on a connection, up to the limit', async () => {
    if (database.kind !== 'postgres') return; // PGlite has no connections and no prepared statements of ours.
    // One connection, so that pg_prepared_statements (per session) shows what this pool prepared.
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: preparingPool(pool, { maxPrepared: 3, maxCandidates: 10 }) }),
    });
    const prepared = async () =>
      (
        await sql<{
          statement: string;
        }>`select statement from pg_prepared_statements order by statement`.execute(db)
      ).rows.map((r) => r.statement);
    const plusOne = async (n: number) =>
      (await sql<{ n: number }>`select ${n}::int + 1 as n`.execute(db)).rows[0]!.n;
    try {
      expect(await plusOne(1)).toBe(2);
      expect(await prepared()).toEqual([]);
      expect(await plusOne(2)).toBe(3);
      expect(await prepared()).toEqual(['select $1::int + 1 as n']);
      expect(await plusOne(41)).toBe(42);
      // A statement PostgreSQL refuses fails each time, named or not, and leaves the connection working.
      for (let i = 0; i < 3; i++)
        await expect(sql`select * from no_such_table where id = ${i}`.execute(db)).rejects.toThrow(
          /no_such_table/,
        );
      expect(await plusOne(9)).toBe(10);
      // Without parameters (BEGIN, COMMIT, DDL): never prepared.
      for (let i = 0; i < 3; i++) await sql`select 1`.execute(db);
      await db.transaction().execute(async (tx) => {
        await sql`select ${1}::int`.execute(tx);
      });
      await db.transaction().execute(async (tx) => {
        await sql`select ${2}::int`.execute(tx);
      });
      expect(await prepared()).toEqual(['select $1::int', 'select $1::int + 1 as n']);
      // The connection is at its limit: another text runs unnamed, and correctly.
      for (let i = 0; i < 3; i++)
        expect((await sql<{ s: string }>`select ${`x${i}`}::text as s`.execute(db)).rows).toEqual([
          { s: `x${i}` },
        ]);
      expect(await prepared()).toEqual(['select $1::int', 'select $1::int + 1 as n']);
    } finally {
      await db.destroy();
    }
  });

  it('prepares afresh a statement whose table gained a column, and retries it unnamed outside a transaction', async () => {
    if (database.kind !== 'postgres') return;
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
    const read = async (on: Kysely<unknown> = db) =>
      (await sql`select * from prepared_probe where id = ${1}`.execute(on)).rows;
    // The column comes from another connection, as a newer Arbiter's migration would add it.
    const addColumn = (column: string) =>
      sql`alter table prepared_probe add column ${sql.id(column)} text default 'x'`.execute(database.db);
    try {
      await sql`create table prepared_probe (id int)`.execute(db);
      await sql`insert into prepared_probe values (${1})`.execute(db);
      expect(await read()).toEqual([{ id: 1 }]);
      expect(await read()).toEqual([{ id: 1 }]);
      await addColumn('a');
      expect(await read()).toEqual([{ id: 1, a: 'x' }]);
      // Prepared again (two uses); inside a transaction the failure cannot be retried, so it surfaces once.
      expect(await read()).toEqual([{ id: 1, a: 'x' }]);
      expect(await read()).toEqual([{ id: 1, a: 'x' }]);
      await addColumn('b');
      await expect(db.transaction().execute((tx) => read(tx))).rejects.toThrow(
        /cached plan must not change result type/,
      );
      expect(await read()).toEqual([{ id: 1, a: 'x', b: 'x' }]);
    } finally {
      await sql`drop table if exists prepared_probe`.execute(database.db);
      await db.destroy();
    }
  });

  it('stores the model inventory', async () => {
    const inventory = new ModelInventory(tablesOf<ServerTables>(database.db));
    await inventory.register(
      {
        name: 'adult-income',
        owner: 'ml@example.com',
        intended_purpose: 'credit pre-screen',
        risk_tier: 'high',
      },
      'tok_test',
    );
    await expect(
      inventory.register(
        { name: 'adult-income', owner: 'x', intended_purpose: 'y', risk_tier: 'minimal' },
        'tok_test',
      ),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await inventory.get('adult-income')).risk_tier).toBe('high');
    await expect(inventory.get('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
