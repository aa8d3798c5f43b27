import { sql, type Kysely } from 'kysely';

// A request, too, expires: past its expiry it can no longer be approved, and its lapse is a ledger entry like
// an approval's. Same trigger otherwise as 0403's.
export async function up(db: Kysely<unknown>): Promise<void> {
  await applyChange(db, ['approved', 'requested']);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await applyChange(db, ['approved']);
}

async function applyChange(db: Kysely<unknown>, expiring: readonly string[]): Promise<void> {
  await sql`
    create or replace function policy_waiver_apply_change() returns trigger language plpgsql as $$
    begin
      if new.status = 'expired' then
        update policy_waiver set status = 'expired'
          where id = new.waiver_id and status in (${sql.join(expiring.map((s) => sql.lit(s)))})
            and expires_at <= new.changed_at;
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
}
