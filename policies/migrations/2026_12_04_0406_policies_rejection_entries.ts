import type { Kysely } from 'kysely';

// One row per region that records a commit's refusal, inserted in the same statement as the entry: a second
// policy.rejected entry for the same commit in the same region (a refusal owed across a restart and recorded
// again, or refused by two replicas) fails on the key and is not appended.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('policy_rejection_entry')
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('commit', 'text', (c) => c.notNull())
    .addColumn('ledger_seq', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_rejection_entry_once', ['region', 'commit'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('policy_rejection_entry').execute();
}
