import { sql, type Kysely } from 'kysely';

/**
 * The name of the index that makes a scheduled report exist once per (region, template, period). Reports
 * that lose the race to it are told apart from other failures by this name.
 */
export const SCHEDULED_REPORT_ONCE_INDEX = 'report_scheduled_once';

// A scheduler process whose claim on a run expired (a slow render, a paused process) and the one that took
// the run over both find no stored report and both render: only the database can decide which one is stored.
// On-demand reports stay unconstrained: a period may be reported on demand as often as asked.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex(SCHEDULED_REPORT_ONCE_INDEX)
    .unique()
    .on('report')
    .columns(['region', 'template', 'period'])
    .where(sql.ref('trigger'), '=', 'scheduled')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex(SCHEDULED_REPORT_ONCE_INDEX).execute();
}
