import type { Kysely, KyselyPlugin, QueryResult, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { LocalTokens } from '../../../server/auth/local-tokens.ts';
import type { ServerTables } from '../../../server/db/schema.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';

let database: TestDatabase;
let db: Kysely<ServerTables>;

beforeAll(async () => {
  database = await openTestDatabase();
  db = database.db as unknown as Kysely<ServerTables>;
});
afterAll(() => database?.close());

describe('LocalTokens', () => {
  it('refuses a token revoked through it at once, and one revoked elsewhere within a second', async () => {
    const server = new LocalTokens(db);
    const cli = new LocalTokens(db);
    const first = await server.create({ role: 'ci', createdBy: 'test' });
    const second = await server.create({ role: 'ci', createdBy: 'test' });
    await expect(server.authenticate(first.token)).resolves.toMatchObject({ subject: first.id, role: 'ci' });
    await expect(server.authenticate(second.token)).resolves.toMatchObject({ subject: second.id });

    await server.revoke(first.id);
    await expect(server.authenticate(first.token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    await expect(server.authenticate(second.token)).resolves.toMatchObject({ subject: second.id });
    await cli.revoke(second.id);
    // The row this process read less than a second ago still stands...
    await expect(server.authenticate(second.token)).resolves.toMatchObject({ subject: second.id });
    // ...until it is read again.
    await new Promise((r) => setTimeout(r, 1100));
    await expect(server.authenticate(second.token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('does not remember a row read before a revocation that finished first', async () => {
    // The race needs a second connection, so the machine's PostgreSQL in both projects: PGlite has one
    // connection and serves queries one after another.
    const pooled = await openTestDatabase({ kind: 'postgres' });
    onTestFinished(() => pooled.close());
    // Holds the next query's answer, after the database gave it, until released: the window in which a
    // revocation can commit between the read of a token's row and its use.
    let held: { reached: () => void; released: Promise<void> } | undefined;
    const holding: KyselyPlugin = {
      transformQuery: (args) => args.node,
      async transformResult({ result }): Promise<QueryResult<UnknownRow>> {
        const hold = held;
        held = undefined;
        if (hold) {
          hold.reached();
          await hold.released;
        }
        return result;
      },
    };
    const tokens = new LocalTokens((pooled.db as unknown as Kysely<ServerTables>).withPlugin(holding));
    const created = await tokens.create({ role: 'ci', createdBy: 'test' });

    let release!: () => void;
    const reached = new Promise<void>((resolve) => {
      held = { reached: resolve, released: new Promise((r) => (release = r)) };
    });
    const inFlight = tokens.authenticate(created.token);
    await reached;
    await tokens.revoke(created.id);
    release();
    // Begun before the revocation, it may still pass; what it read must not outlive it.
    await inFlight;
    await expect(tokens.authenticate(created.token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses to create a token whose expiry is not in the future, storing nothing', async () => {
    const now = new Date('2026-12-01T00:00:00Z');
    const tokens = new LocalTokens(db, () => now);
    const before = await tokens.list();
    for (const expiresAt of [now, new Date('2026-11-30T23:59:59Z')]) {
      await expect(tokens.create({ role: 'ci', createdBy: 'test', expiresAt })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        field: 'expires_at',
        message: `expires_at must lie in the future, not ${expiresAt.toISOString()}`,
      });
    }
    expect(await tokens.list()).toEqual(before);
  });

  it('checks expiry on every request, remembered or not', async () => {
    let now = new Date('2026-12-01T00:00:00Z');
    const tokens = new LocalTokens(db, () => now);
    const created = await tokens.create({
      role: 'auditor',
      createdBy: 'test',
      expiresAt: new Date('2026-12-01T00:00:10Z'),
    });
    await expect(tokens.authenticate(created.token)).resolves.toMatchObject({ role: 'auditor' });
    now = new Date('2026-12-01T00:00:11Z');
    await expect(tokens.authenticate(created.token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
