import type { Kysely } from 'kysely';

// Who submitted an evaluation is a subject at an issuer: two identity providers may hand out the same subject.
// Rows from before this column have none, and are matched on the subject alone.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('evaluation').addColumn('created_by_issuer', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('evaluation').dropColumn('created_by_issuer').execute();
}
