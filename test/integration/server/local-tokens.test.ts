import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
