import { sql, type Kysely } from 'kysely';
import { WAIVERS_IN_FORCE_CONSTRAINT } from '../tables.ts';
import * as requestLapses from './2026_12_04_0404_policies_waiver_request_lapses.ts';

// An approved waiver can be revoked before its expiry: a status change like the others, applied by the same
// trigger from `approved` only, and recorded with its own columns so that the approval stays as it was.
//
// Each process serves waivers to its decisions from a snapshot up to a second old, so a decision made in
// another process can still be evaluated with a waiver just revoked. Its row names the waivers its result
// relies on, and a trigger refuses the row, and with it the decision's ledger entry, unless each is still
// approved (or expired after the decision's clock). The check cannot miss a revocation committed just
// before: the row is inserted by the statement that appends its entry, which holds the region log's append
// lock, as does the revocation's, so one commits wholly before the other; and the trigger's query, in a
// volatile function, takes a snapshot of its own, after that lock is held. The ledger then never records a
// decision honouring a waiver after the entry that revoked it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('policy_waiver')
    .addColumn('revoked_by', 'text')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revocation_note', 'text')
    .execute();
  await setStatuses(db, ['requested', 'approved', 'rejected', 'expired', 'revoked']);
  await db.schema
    .alterTable('policy_waiver')
    .addCheckConstraint(
      'policy_waiver_revocation',
      sql`(status = 'revoked') = (revoked_by is not null and revoked_at is not null)`,
    )
    .execute();
  await sql`
    create or replace function policy_waiver_apply_change() returns trigger language plpgsql as $$
    begin
      if new.status = 'expired' then
        update policy_waiver set status = 'expired'
          where id = new.waiver_id and status in ('approved', 'requested') and expires_at <= new.changed_at;
      elsif new.status = 'revoked' then
        update policy_waiver
          set status = 'revoked', revoked_by = new.changed_by, revoked_at = new.changed_at,
              revocation_note = new.note
          where id = new.waiver_id and status = 'approved' and expires_at > new.changed_at;
      else
        update policy_waiver
          set status = new.status, decided_by = new.changed_by, decided_at = new.changed_at,
              decision_note = new.note
          where id = new.waiver_id and status = 'requested'
            and (new.status = 'rejected' or expires_at > new.changed_at);
      end if;
      if not found then
        raise exception 'waiver % cannot become %', new.waiver_id, new.status
          using errcode = 'check_violation';
      end if;
      return new;
    end $$`.execute(db);

  await db.schema
    .alterTable('policy_decision')
    .addColumn('waiver_ids', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
  await sql`
    create function policy_decision_check_waivers() returns trigger language plpgsql as $$
    declare
      lapsed text;
    begin
      select string_agg(u.id, ', ' order by u.id) into lapsed
        from unnest(new.waiver_ids) as u(id)
        left join policy_waiver w on w.id = u.id
        where w.id is null or w.status not in ('approved', 'expired') or w.expires_at <= new.decided_at
          or w.model <> new.model or w.region <> new.region;
      if lapsed is not null then
        raise exception 'decision % relies on waivers no longer in force: %', new.decision_id, lapsed
          using errcode = 'check_violation', constraint = ${sql.lit(WAIVERS_IN_FORCE_CONSTRAINT)};
      end if;
      return new;
    end $$`.execute(db);
  // Most decisions waive nothing: the trigger is not even called for them.
  await sql`
    create trigger ${sql.id(WAIVERS_IN_FORCE_CONSTRAINT)} before insert on policy_decision
    for each row when (cardinality(new.waiver_ids) > 0)
    execute function policy_decision_check_waivers()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger ${sql.id(WAIVERS_IN_FORCE_CONSTRAINT)} on policy_decision`.execute(db);
  await sql`drop function policy_decision_check_waivers()`.execute(db);
  await db.schema.alterTable('policy_decision').dropColumn('waiver_ids').execute();
  await requestLapses.up(db);
  await db.schema.alterTable('policy_waiver').dropConstraint('policy_waiver_revocation').execute();
  await setStatuses(db, ['requested', 'approved', 'rejected', 'expired']);
  await db.schema
    .alterTable('policy_waiver')
    .dropColumn('revoked_by')
    .dropColumn('revoked_at')
    .dropColumn('revocation_note')
    .execute();
}

/** The statuses a waiver may have, and (all but `requested`) those a change may give it. */
async function setStatuses(db: Kysely<unknown>, statuses: readonly string[]): Promise<void> {
  const changes = statuses.filter((s) => s !== 'requested');
  const list = (values: readonly string[]) => sql.join(values.map((s) => sql.lit(s)));
  // The constraints 0400 and 0403 declared on the columns, under PostgreSQL's names for them.
  await sql`alter table policy_waiver drop constraint policy_waiver_status_check,
    add constraint policy_waiver_status_check check (status in (${list(statuses)}))`.execute(db);
  await sql`alter table policy_waiver_change drop constraint policy_waiver_change_status_check,
    add constraint policy_waiver_change_status_check check (status in (${list(changes)}))`.execute(db);
}
