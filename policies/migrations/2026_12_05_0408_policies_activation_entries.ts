import { sql, type Kysely } from 'kysely';

/** Named by the error of a policy.activated entry that would change nothing in its region's log. */
const ACTIVATION_UNCHANGED_CONSTRAINT = 'policy_activation_entry_changes';

// One row per policy.activated entry, inserted by the statement that appends it. Every process announces the
// bundle it activates on its first poll, so each restart and each replica would record the same commit and
// bundle again in every region: a trigger refuses the row, and with it the entry, when the region's latest
// activation names that same commit and bundle. A real change, going back to an earlier commit included, is
// recorded. A unique key cannot say "differs from the latest", hence the trigger; it cannot miss a row another
// replica committed just before: the row is inserted by the statement that appends its entry, which holds the
// region log's append lock until it commits, and the trigger's query, in a volatile function, takes a snapshot
// of its own, after that lock is held.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('policy_activation_entry')
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('ledger_seq', 'bigint', (c) => c.notNull())
    .addColumn('commit', 'text', (c) => c.notNull())
    .addColumn('bundle_sha256', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_activation_entry_pkey', ['region', 'ledger_seq'])
    .execute();
  await sql`
    create function policy_activation_entry_check_change() returns trigger language plpgsql as $$
    begin
      if exists (
        select 1
          from (select a."commit", a.bundle_sha256 from policy_activation_entry a
                  where a.region = new.region order by a.ledger_seq desc limit 1) as latest
          where latest."commit" = new."commit" and latest.bundle_sha256 = new.bundle_sha256
      ) then
        raise exception 'region % already has commit % (bundle %) active', new.region, new."commit",
            new.bundle_sha256
          using errcode = 'check_violation', constraint = ${sql.lit(ACTIVATION_UNCHANGED_CONSTRAINT)};
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger ${sql.id(ACTIVATION_UNCHANGED_CONSTRAINT)} before insert on policy_activation_entry
    for each row execute function policy_activation_entry_check_change()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('policy_activation_entry').execute();
  await sql`drop function policy_activation_entry_check_change()`.execute(db);
}
