import { sql, type Kysely } from 'kysely';

// Who uploaded an artifact, under which name, and when: one row per uploader (a subject at an issuer). The
// artifact row holds the bytes once; a CI identity sees and uses only the artifacts it uploaded itself, since
// the hashes of models and datasets are public in the ledger and must not open another team's data. Rows from
// before this table become the first uploader's: a local token's (its subject is the token id, `tok_…`) at
// the local issuer, 'arbiter-local' (server/auth/identity.ts, written out so that this migration stays as it
// ran); an identity provider's with no issuer, which no reader matches, since the same subject at another
// provider is another identity: that uploader sends the bytes again to use them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('artifact_upload')
    .addColumn('sha256', 'text', (c) => c.notNull().references('artifact.sha256').onDelete('cascade'))
    .addColumn('uploaded_by', 'text', (c) => c.notNull())
    .addColumn('uploaded_by_issuer', 'text')
    .addColumn('filename', 'text')
    .addColumn('uploaded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('artifact_upload_uploader', ['sha256', 'uploaded_by', 'uploaded_by_issuer'])
    .execute();
  await sql`insert into artifact_upload (sha256, uploaded_by, uploaded_by_issuer, filename, uploaded_at)
            select sha256, created_by,
                   case when starts_with(created_by, 'tok_') then 'arbiter-local' end,
                   filename, created_at
            from artifact`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('artifact_upload').execute();
}
