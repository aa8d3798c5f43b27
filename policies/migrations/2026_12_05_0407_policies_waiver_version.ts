import { sql, type Kysely, type RawBuilder } from 'kysely';
import { WAIVERS_IN_FORCE_CONSTRAINT } from '../tables.ts';

// A waiver may name the model version it was approved for: the four eyes saw that version's evidence, and a
// later version (another model file, new findings) should not inherit the exception. Null covers every
// version, as every waiver did before. The decision trigger holds a recorded decision to the same scope.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('policy_waiver').addColumn('version', 'text').execute();
  await replaceWaiverCheck(db, sql`or (w.version is not null and w.version <> new.version)`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await replaceWaiverCheck(db, sql``);
  await db.schema.alterTable('policy_waiver').dropColumn('version').execute();
}

async function replaceWaiverCheck(db: Kysely<unknown>, versionScope: RawBuilder<unknown>): Promise<void> {
  await sql`
    create or replace function policy_decision_check_waivers() returns trigger language plpgsql as $$
    declare
      lapsed text;
    begin
      select string_agg(u.id, ', ' order by u.id) into lapsed
        from unnest(new.waiver_ids) as u(id)
        left join policy_waiver w on w.id = u.id
        where w.id is null or w.status not in ('approved', 'expired') or w.expires_at <= new.decided_at
          or w.model <> new.model or w.region <> new.region ${versionScope};
      if lapsed is not null then
        raise exception 'decision % relies on waivers no longer in force: %', new.decision_id, lapsed
          using errcode = 'check_violation', constraint = ${sql.lit(WAIVERS_IN_FORCE_CONSTRAINT)};
      end if;
      return new;
    end $$`.execute(db);
}
