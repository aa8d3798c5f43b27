import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('evaluation')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')`),
    )
    .addColumn('model_sha256', 'text')
    .addColumn('data_sha256', 'text', (c) => c.notNull())
    .addColumn('reference_sha256', 'text')
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('execution_provider', 'text', (c) => c.notNull())
    .addColumn('phase', 'text')
    .addColumn('rows_done', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cancel_requested', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('evidence_json', 'text')
    .addColumn('evidence_sha256', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('evaluation').execute();
}
