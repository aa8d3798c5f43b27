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
    logs: [
      { region: 'eu', origin: 'arbiter.example/eu' },
      { region: 'us', origin: 'arbiter.example/us' },
    ],
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

  it('commits appends to several logs in one transaction, each row with the sequence number of its own log', async () => {
    const [euBefore, usBefore] = await Promise.all([ledger.integrate('eu'), ledger.integrate('us')]);
    // Issued in one tick, interleaved; the fourth row's id is taken, which fails that append alone.
    const calls = [
      ['eu', 'g'],
      ['us', 'h'],
      ['us', 'i'],
      ['eu', 'a'],
      ['eu', 'j'],
      ['us', 'k'],
    ] as const;
    const results = await Promise.allSettled(
      calls.map(([region, id]) =>
        ledger.append(region, { type: 'note', n: `${region} ${id}` }, { companion: noteFor(id) }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const seqs = results.map((r) => (r.status === 'fulfilled' ? r.value.seq : null));
    // Per log, gap-free and in the order of the calls.
    expect(seqs).toEqual([
      euBefore.size,
      usBefore.size,
      usBefore.size + 1,
      null,
      euBefore.size + 1,
      usBefore.size + 2,
    ]);
    for (const [k, [region, id]] of calls.entries()) {
      if (seqs[k] === null) continue;
      const row = await db
        .selectFrom('ledger_note')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(Number(row.seq)).toBe(seqs[k]);
      expect((await ledger.reader.entry(region, seqs[k]!)).leaf_hash).toBe(row.leaf_hash);
    }

    // Without a failing row, appends to both logs are one transaction: their rows carry one xmin.
    const together = await Promise.all([
      ledger.append('eu', { type: 'note', n: 'together eu' }),
      ledger.append('us', { type: 'note', n: 'together us' }),
    ]);
    const { rows } = await sql<{ xmin: string }>`
      select distinct e.xmin::text as xmin from ledger_entry e join ledger_log l on l.id = e.log_id
      where (l.region, e.seq) in (('eu', ${together[0].seq}), ('us', ${together[1].seq}))`.execute(db);
    expect(rows).toHaveLength(1);
  });

  it('splits appends issued together into transactions of at most 16 MiB of entries, in order', async () => {
    const before = (await ledger.integrate('us')).size;
    // 300 entries of about 60 KB: 18 MB, one transaction by count, two by size.
    const pad = 'x'.repeat(60_000);
    const appended = await Promise.all(
      Array.from({ length: 300 }, (_, n) => ledger.append('us', { type: 'note', n, pad })),
    );
    expect(appended.map((a) => a.seq)).toEqual(Array.from({ length: 300 }, (_, n) => before + n));
    const { rows } = await sql<{ xmin: string; n: number }>`
      select e.xmin::text as xmin, count(*)::int as n from ledger_entry e join ledger_log l on l.id = e.log_id
      where l.region = 'us' and e.seq >= ${before} group by 1`.execute(db);
    expect(rows.map((r) => r.n).sort((a, b) => b - a)).toEqual([279, 21]);
  });

  it('fails the whole batch, retrying none alone, on an error that is not the database refusing a row', async () => {
    // The error a lost connection or a server shutdown gives: no verdict on the rows, so the batch may have
    // committed for all the appender can tell, and retrying each append could record it twice.
    await sql`create table ledger_note_lost (id text primary key, seq bigint not null)`.execute(db);
    await sql`create function ledger_note_lost_guard() returns trigger language plpgsql as $$
      begin
        if new.id = 'lost' then raise exception 'terminating connection' using errcode = '57P01'; end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger ledger_note_lost_guard before insert on ledger_note_lost
      for each row execute function ledger_note_lost_guard()`.execute(db);
    const before = (await ledger.integrate('eu')).size;
    const rowFor = (id: string) => () => ({ table: 'ledger_note_lost', values: { id }, seqColumn: 'seq' });
    const results = await Promise.allSettled(
      ['kept?', 'lost', 'kept too?'].map((id) =>
        ledger.append('eu', { type: 'note', n: id }, { companion: rowFor(id) }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'LEDGER_APPEND_FAILED' });
    expect((await ledger.integrate('eu')).size).toBe(before);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ledger_note_lost`.execute(db);
    expect(rows[0]!.n).toBe(0);
  });
});
