import net from 'node:net';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { logOf, TEST_KEYS, waitFor } from './ledger-harness.ts';

/**
 * A TCP proxy in front of the test database, as a network between the service and PostgreSQL: `down()` cuts
 * every connection and refuses new ones; `cutOnQuery(text)` cuts a connection just after passing on a query
 * that holds `text`, so that the database may act on it while the client never hears back.
 */
async function startProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  let cutOn: string | undefined;
  const accept = (client: net.Socket) => {
    const server = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => (client.destroy(), server.destroy(), sockets.delete(s)));
    }
    client.on('data', (chunk: Buffer) => {
      server.write(chunk);
      if (cutOn !== undefined && chunk.includes(cutOn))
        server.end(() => (client.destroy(), server.destroy()));
    });
    server.pipe(client);
  };
  let listener = net.createServer(accept);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  return {
    url: Object.assign(new URL(target.toString()), { hostname: '127.0.0.1', port: String(port) }).toString(),
    down: async () => {
      await new Promise((resolve) => {
        listener.close(resolve);
        for (const s of sockets) s.destroy();
      });
    },
    up: async () => {
      listener = net.createServer(accept);
      await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    },
    cutOnQuery: (text: string | undefined) => (cutOn = text),
  };
}

describe('an append while PostgreSQL cannot be reached', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let ledger: Ledger;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const size = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from ledger_entry`.execute(tdb.db)).rows[0]!.n;

  beforeAll(async () => {
    tdb = await openTestDatabase();
    if (tdb.kind !== 'postgres') return; // PGlite runs in this process: there is no connection to lose.
    proxy = await startProxy(new URL(tdb.url!));
    pool = new pg.Pool({ connectionString: proxy.url, max: 2 });
    // A connection cut by the proxy fails the query it runs, or, idle, is dropped by the pool: neither is an
    // error of the process's.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    ledger = await createLedger({
      db: new Kysely<LedgerTables>({ dialect: new PostgresDialect({ pool }) }),
      logs: [logOf('eu')],
      keys: TEST_KEYS,
    });
  });
  afterAll(async () => {
    await ledger?.stop();
    await pool?.end();
    await tdb.close();
  });

  it('fails as unavailable, nothing appended, when no connection can be had, and succeeds once one can', async () => {
    if (tdb.kind !== 'postgres') return;
    await ledger.append('eu', { type: 'note', n: 0 });
    const before = await size();
    await proxy.down();
    await waitFor(async () => (pool.totalCount === 0 ? true : undefined), 'the pool to drop its connections');
    await expect(ledger.append('eu', { type: 'note', n: 1 })).rejects.toMatchObject({
      name: 'LedgerError',
      code: 'LEDGER_UNAVAILABLE',
    });
    expect(await size()).toBe(before);
    await proxy.up();
    expect((await ledger.append('eu', { type: 'note', n: 2 })).seq).toBe(before);
  });

  it('fails as an append failure, its outcome unknown, when the connection is lost during the commit', async () => {
    if (tdb.kind !== 'postgres') return;
    proxy.cutOnQuery('ledger_append(');
    try {
      await expect(ledger.append('eu', { type: 'note', n: 3 })).rejects.toMatchObject({
        code: 'LEDGER_APPEND_FAILED',
      });
    } finally {
      proxy.cutOnQuery(undefined);
    }
  });
});
