import { sql, type Kysely, type Migration } from 'kysely';
import { APPEND_LOCK } from './locks.ts';
import { LEDGER_TABLE_NAMES } from './tables.ts';

// Append-only is enforced by the database itself, not only by this code: every UPDATE, DELETE and TRUNCATE
// on a ledger table raises. (Disabling it takes a superuser: `SET session_replication_role = replica`.)
const createLedgerTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('ledger_log')
      .addColumn('id', 'serial', (c) => c.primaryKey())
      .addColumn('region', 'text', (c) => c.notNull().unique())
      .addColumn('origin', 'text', (c) => c.notNull().unique())
      .addColumn('ed25519_vkey', 'text', (c) => c.notNull())
      .addColumn('eip191_address', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('ledger_entry')
      .addColumn('log_id', 'integer', (c) => c.notNull().references('ledger_log.id'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('entry_type', 'text', (c) => c.notNull())
      .addColumn('leaf_hash', 'bytea', (c) => c.notNull())
      .addColumn('body', 'bytea', (c) => c.notNull())
      .addPrimaryKeyConstraint('ledger_entry_pk', ['log_id', 'seq'])
      .execute();
    await db.schema
      .createIndex('ledger_entry_type_idx')
      .on('ledger_entry')
      .columns(['log_id', 'entry_type', 'seq'])
      .execute();
    await db.schema
      .createTable('ledger_hash')
      .addColumn('log_id', 'integer', (c) => c.notNull().references('ledger_log.id'))
      .addColumn('idx', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'bytea', (c) => c.notNull())
      .addPrimaryKeyConstraint('ledger_hash_pk', ['log_id', 'idx'])
      .execute();
    await db.schema
      .createTable('ledger_checkpoint')
      .addColumn('log_id', 'integer', (c) => c.notNull().references('ledger_log.id'))
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('root', 'bytea', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('eip191_signature', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      // One checkpoint per size: a second, different root for a size is refused by the key itself.
      .addPrimaryKeyConstraint('ledger_checkpoint_pk', ['log_id', 'size'])
      .execute();
    await db.schema
      .createTable('ledger_anchor')
      .addColumn('log_id', 'integer', (c) => c.notNull().references('ledger_log.id'))
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('root', 'bytea', (c) => c.notNull())
      .addColumn('chain_id', 'bigint', (c) => c.notNull())
      .addColumn('tx_hash', 'text', (c) => c.notNull())
      .addColumn('block_number', 'bigint', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('from_address', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('ledger_anchor_pk', ['log_id', 'tx_hash'])
      .execute();
    // Sequencing in one statement, so a batch costs one round trip and one commit: take the log's append lock,
    // read max(seq), insert the batch after it. The lock is transaction-scoped, released at the implicit commit.
    await sql`
      create function ledger_append(p_log integer, p_types text[], p_leaf_hashes text[], p_bodies text[])
      returns bigint language plpgsql as $$
      declare
        first_seq bigint;
      begin
        perform pg_advisory_xact_lock(${sql.lit(APPEND_LOCK)}, p_log);
        select coalesce(max(seq) + 1, 0) into first_seq from ledger_entry where log_id = p_log;
        insert into ledger_entry (log_id, seq, entry_type, leaf_hash, body)
          select p_log, first_seq + i - 1, p_types[i], decode(p_leaf_hashes[i], 'hex'), decode(p_bodies[i], 'hex')
          from generate_subscripts(p_types, 1) as i;
        return first_seq;
      end $$`.execute(db);
    await sql`
      create function ledger_refuse_change() returns trigger language plpgsql as $$
      begin
        raise exception 'ledger table % is append-only: % refused', tg_table_name, tg_op
          using errcode = 'insufficient_privilege';
      end $$`.execute(db);
    for (const table of LEDGER_TABLE_NAMES) {
      await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
        for each row execute function ledger_refuse_change()`.execute(db);
      await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function ledger_refuse_change()`.execute(db);
    }
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [...LEDGER_TABLE_NAMES].reverse()) await db.schema.dropTable(table).execute();
    await sql`drop function ledger_refuse_change()`.execute(db);
    await sql`drop function ledger_append(integer, text[], text[], text[])`.execute(db);
  },
};

export const ledgerMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '2026_11_23_0100_ledger_tables': createLedgerTables,
});
