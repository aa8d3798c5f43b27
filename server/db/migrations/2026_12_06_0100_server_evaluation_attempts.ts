import type { Kysely } from 'kysely';

// How many times a process has taken the evaluation up and not handed it back: a run whose process dies
// (killed, a native crash in the model runtime) leaves it counted, so one that takes every process down with it
// is abandoned after a few runs instead of being retried on every restart for ever. Rows from before it start
// at 0.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('evaluation')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('evaluation').dropColumn('attempts').execute();
}
