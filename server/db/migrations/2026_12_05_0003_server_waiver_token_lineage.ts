import { sql, type Kysely } from 'kysely';

// Four-eyes on waivers compares subjects, and a local token's subject is its id: an admin could request a
// waiver with its own token, mint itself a compliance_officer token and approve with that. A token records
// who created it (`api_token.created_by`: the creator's subject, a token id when a local token did), so the
// database also refuses a waiver decided by a subject in its requester's line of creators, or requested by
// one in its decider's: one minted the other, directly or through tokens it minted. Two tokens minted by one
// admin for two people are not related so; they are only as separate as that admin.
//
// The policy module declares the four-eyes constraint (2026_11_23_0400) and knows nothing of tokens; this
// trigger, of the server, which holds both tables, raises under that constraint's name, so that the waiver
// store answers both refusals alike. Subjects are folded as the store folds them (mayBeSamePerson).
const FOUR_EYES_CONSTRAINT = 'policy_waiver_four_eyes';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function server_waiver_token_lineage() returns trigger language plpgsql as $$
    declare
      requester_line text[];
      decider_line text[];
    begin
      -- Who minted each subject's token, who minted that one's, … (UNION ends any cycle). The subjects
      -- themselves are not in their lines: one deciding its own request is 0400's check constraint's.
      with recursive line(subject) as (
        select created_by from api_token where id = new.requested_by
        union
        select t.created_by from api_token t join line on t.id = line.subject
      ) select array_agg(lower(btrim(normalize(subject, NFKC)))) into requester_line from line;
      with recursive line(subject) as (
        select created_by from api_token where id = new.decided_by
        union
        select t.created_by from api_token t join line on t.id = line.subject
      ) select array_agg(lower(btrim(normalize(subject, NFKC)))) into decider_line from line;
      if lower(btrim(normalize(new.requested_by, NFKC))) = any(decider_line)
        or lower(btrim(normalize(new.decided_by, NFKC))) = any(requester_line) then
        raise exception '% cannot decide waiver % requested by %: one''s token was minted by the other',
          new.decided_by, new.id, new.requested_by
          using errcode = 'check_violation', constraint = ${sql.lit(FOUR_EYES_CONSTRAINT)};
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger server_waiver_token_lineage before insert or update of decided_by, requested_by
    on policy_waiver for each row when (new.decided_by is not null)
    execute function server_waiver_token_lineage()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger server_waiver_token_lineage on policy_waiver`.execute(db);
  await sql`drop function server_waiver_token_lineage()`.execute(db);
}
