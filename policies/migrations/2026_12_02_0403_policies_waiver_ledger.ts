import { sql, type Kysely } from 'kysely';

// A waiver's request and each change of its status commit in the same transaction as their ledger entry: the
// request as the waiver row itself, a change as a policy_waiver_change row, whose trigger applies it to the
// waiver only from the state it must come from. Two officers deciding at once, an approval after expiry or an
// expiry of a waiver not approved therefore fail with their entry, and no state change lacks its entry.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('policy_waiver').addColumn('ledger_seq', 'bigint').execute();
  await db.schema
    .createTable('policy_waiver_change')
    .addColumn('waiver_id', 'text', (c) => c.notNull().references('policy_waiver.id'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('approved', 'rejected', 'expired')`))
    .addColumn('changed_by', 'text')
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('ledger_seq', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_waiver_change_pk', ['waiver_id', 'status'])
    .execute();
  await sql`
    create function policy_waiver_apply_change() returns trigger language plpgsql as $$
    begin
      if new.status = 'expired' then
        update policy_waiver set status = 'expired'
          where id = new.waiver_id and status = 'approved' and expires_at <= new.changed_at;
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
  await sql`
    create trigger policy_waiver_change_applies before insert on policy_waiver_change
    for each row execute function policy_waiver_apply_change()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('policy_waiver_change').execute();
  await sql`drop function policy_waiver_apply_change()`.execute(db);
  await db.schema.alterTable('policy_waiver').dropColumn('ledger_seq').execute();
}
