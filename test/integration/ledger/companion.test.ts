import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger, type LedgerTables } from '../../../ledger/index.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS } from './ledger-harness.ts';

// A caller's table whose rows must exist exactly when their entries do.
interface NoteTables {
  ledger_note: { id: string; seq: number; leaf_hash: string };
  ledger_note_detail: { seq: number; at: Date; ok: boolean; body: string; created_at: Date };
}

let tdb: TestDatabase;
let ledger: Ledger;
let db: Kysely<NoteTables>;

const noteFor = (id: string) => (appended: { leafHash: string }) => ({
  table: 'ledger_note',
  values: { id, leaf_hash: appended.leafHash },
  seqColumn: 'seq',
});

beforeAll(async () => {
  tdb = await openTestDatabase();
  db = tdb.db as unknown as Kysely<NoteTables>;
  await sql`create table ledger_note (id text primary key, seq bigint not null, leaf_hash text not null)`.execute(
    db,
  );
  await sql`create table ledger_note_detail (seq bigint not null, at timestamptz not null, ok boolean not null,
    body text not null, created_at timestamptz not null default now())`.execute(db);
  ledger = await createLedger({
    db: tdb.db as unknown as Kysely<LedgerTables>,
    logs: [{ region: 'eu', origin: 'arbiter.example/eu' }],
    keys: TEST_KEYS,
  });
});
afterAll(async () => {
  await ledger.stop();
  await tdb.close();
});

describe('append with a companion row', () => {
  it('commits each row with its entry, in one group commit, and fails only the append whose row breaks', async () => {
    await ledger.append('eu', { type: 'note', n: 0 }, { companion: noteFor('taken') });
    // Issued in one tick, so they meet in one batch; the third row's id is taken.
    const ids = ['a', 'b', 'taken', 'c', 'd'];
    const results = await Promise.allSettled(
      ids.map((id, i) => ledger.append('eu', { type: 'note', n: i + 1 }, { companion: noteFor(id) })),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'LEDGER_APPEND_FAILED' });

    const head = await ledger.integrate('eu');
    expect(head.size).toBe(5);
    const rows = await db.selectFrom('ledger_note').selectAll().orderBy('seq').execute();
    expect(rows.map((r) => [r.id, Number(r.seq)])).toEqual([
      ['taken', 0],
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]);
    for (const row of rows) {
      const entry = await ledger.reader.entry('eu', Number(row.seq));
      expect(entry.leaf_hash).toBe(row.leaf_hash);
    }
  });

  it('appends entries without a companion as before, in the same batch as those with one', async () => {
    const [plain, withRow] = await Promise.all([
      ledger.append('eu', { type: 'note', n: 'plain' }),
      ledger.append('eu', { type: 'note', n: 'row' }, { companion: noteFor('e') }),
    ]);
    expect(withRow.seq).toBe(plain.seq + 1);
    const row = await db
      .selectFrom('ledger_note')
      .selectAll()
      .where('id', '=', 'e')
      .executeTakeFirstOrThrow();
    expect(Number(row.seq)).toBe(withRow.seq);
  });

  it('writes rows of several tables in one batch, with their column types and defaults', async () => {
    const at = new Date('2026-12-02T03:04:05.678Z');
    // Quotes, backslashes, an escaped NUL as JSON text, non-BMP characters: stored exactly as given.
    const body = `{"q":"\\"x\\"","nul":"\\u0000","emoji":"🦉","path":"C:\\\\tmp"}`;
    const before = Date.now();
    const [note, detail] = await Promise.all([
      ledger.append('eu', { type: 'note', n: 'two tables' }, { companion: noteFor('f') }),
      ledger.append(
        'eu',
        { type: 'note', n: 'detail' },
        {
          companion: () => ({
            table: 'ledger_note_detail',
            values: { at, ok: false, body },
            seqColumn: 'seq',
          }),
        },
      ),
    ]);
    expect(detail.seq).toBe(note.seq + 1);
    expect(
      Number(
        (await db.selectFrom('ledger_note').select('seq').where('id', '=', 'f').executeTakeFirstOrThrow())
          .seq,
      ),
    ).toBe(note.seq);
    const row = await db.selectFrom('ledger_note_detail').selectAll().executeTakeFirstOrThrow();
    expect(Number(row.seq)).toBe(detail.seq);
    expect(new Date(row.at).toISOString()).toBe(at.toISOString());
    expect(row.ok).toBe(false);
    expect(row.body).toBe(body);
    expect(new Date(row.created_at).getTime()).toBeGreaterThanOrEqual(before - 60_000);
  });
});
