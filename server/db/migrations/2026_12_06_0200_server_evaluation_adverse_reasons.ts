import type { Kysely } from 'kysely';

// The artifact that holds an evaluation's adverse-action reasons (spec.explainability.adverse_decision), stored
// as its submitter's: the evidence records their count and sha256, and this says the lines are there to download.
// Null where none were asked for, and on rows from before the service kept them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('evaluation').addColumn('adverse_reasons_sha256', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('evaluation').dropColumn('adverse_reasons_sha256').execute();
}
