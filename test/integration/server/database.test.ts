import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, tablesOf } from '../../../server/db/database.ts';
import { MIGRATIONS, migrateToLatest } from '../../../server/db/migrate.ts';
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
