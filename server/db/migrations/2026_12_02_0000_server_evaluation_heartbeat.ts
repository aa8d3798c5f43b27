import type { Kysely } from 'kysely';

// The moment the process running an evaluation last said it still does: a running row whose heartbeat
// stopped belongs to a process that died, and is taken up again.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('evaluation').addColumn('heartbeat_at', 'timestamptz').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('evaluation').dropColumn('heartbeat_at').execute();
}
