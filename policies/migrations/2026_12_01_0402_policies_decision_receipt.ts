import { sql, type Kysely } from 'kysely';

// A decision row is now written in the same transaction as its ledger entry, so it always has its receipt.
// Rows without one were decisions whose append failed (never answered to anybody): they go.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`delete from policy_decision where ledger_seq is null or leaf_hash is null`.execute(db);
  await db.schema
    .alterTable('policy_decision')
    .alterColumn('ledger_seq', (c) => c.setNotNull())
    .alterColumn('leaf_hash', (c) => c.setNotNull())
    .execute();
  await db.schema
    .createIndex('policy_decision_ledger_idx')
    .on('policy_decision')
    .columns(['region', 'ledger_seq'])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('policy_decision_ledger_idx').execute();
  await db.schema
    .alterTable('policy_decision')
    .alterColumn('ledger_seq', (c) => c.dropNotNull())
    .alterColumn('leaf_hash', (c) => c.dropNotNull())
    .execute();
}
