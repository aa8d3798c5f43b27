import { sql, type Kysely } from 'kysely';
import { IDEMPOTENCY_KEY_CONSTRAINT } from '../tables.ts';

// A decision request may carry an Idempotency-Key: a retry with the same key (same caller) and the same body is
// answered with the first decision, not decided and recorded again. The key and the request's hash go on the
// decision row, which commits with its ledger entry in one statement; a trigger on that row claims the key in
// policy_decision_idempotency in the same transaction, so a key is never held by a decision that was not
// recorded, nor a recorded decision's key lost. A key another decision holds and that has not expired refuses
// the row, and with it the ledger entry: two tries racing with one key record one decision, and the other is
// answered with it. A key expires 24 hours after its decision's time; a later decision may then take it, and
// each keyed decision deletes the expired keys as it commits (an index on expires_at keeps that cheap).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('policy_decision')
    .addColumn('idempotency_key', 'text')
    .addColumn('request_sha256', 'text')
    .execute();
  await db.schema
    .createTable('policy_decision_idempotency')
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_sha256', 'text', (c) => c.notNull())
    .addColumn('decision_id', 'text', (c) =>
      c.notNull().references('policy_decision.decision_id').onDelete('cascade'),
    )
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_decision_idempotency_pkey', ['issuer', 'subject', 'key'])
    .execute();
  await db.schema
    .createIndex('policy_decision_idempotency_expiry_idx')
    .on('policy_decision_idempotency')
    .column('expires_at')
    .execute();
  // The caller is the decision's actor ({subject, role, issuer} as JSON; a local token has no issuer).
  await sql`
    create function policy_decision_claim_idempotency_key() returns trigger language plpgsql as $$
    declare
      actor jsonb := new.actor::jsonb;
      claimed integer;
    begin
      delete from policy_decision_idempotency where expires_at <= new.decided_at;
      insert into policy_decision_idempotency (issuer, subject, key, request_sha256, decision_id, expires_at)
        values (coalesce(actor ->> 'issuer', ''), actor ->> 'subject', new.idempotency_key, new.request_sha256,
                new.decision_id, new.decided_at + interval '24 hours')
        on conflict (issuer, subject, key) do nothing;
      get diagnostics claimed = row_count;
      if claimed = 0 then
        raise exception 'idempotency key % is held by another decision', new.idempotency_key
          using errcode = 'unique_violation', constraint = ${sql.lit(IDEMPOTENCY_KEY_CONSTRAINT)};
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger ${sql.id(IDEMPOTENCY_KEY_CONSTRAINT)} after insert on policy_decision
    for each row when (new.idempotency_key is not null)
    execute function policy_decision_claim_idempotency_key()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger ${sql.id(IDEMPOTENCY_KEY_CONSTRAINT)} on policy_decision`.execute(db);
  await sql`drop function policy_decision_claim_idempotency_key()`.execute(db);
  await db.schema.dropTable('policy_decision_idempotency').execute();
  await db.schema
    .alterTable('policy_decision')
    .dropColumn('idempotency_key')
    .dropColumn('request_sha256')
    .execute();
}
