import { sql, type Kysely } from 'kysely';

// An artifact's bytes move from one bytea value to chunks of at most ARTIFACT_CHUNK_BYTES (the last one
// shorter), in order: the embedded database copied a whole-file parameter several times over (an 80 MB one
// took 1.6 GB of the process), and one bytea value caps a file at 1 GiB. An artifact stored before keeps its
// bytes as its one chunk.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('artifact_chunk')
    .addColumn('sha256', 'text', (c) => c.notNull().references('artifact.sha256').onDelete('cascade'))
    .addColumn('idx', 'integer', (c) => c.notNull().check(sql`idx >= 0`))
    .addColumn('bytes', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('artifact_chunk_pk', ['sha256', 'idx'])
    .execute();
  await sql`insert into artifact_chunk (sha256, idx, bytes) select sha256, 0, content from artifact`.execute(
    db,
  );
  await db.schema.alterTable('artifact').dropColumn('content').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('artifact').addColumn('content', 'bytea').execute();
  await sql`
    update artifact set content = (
      select string_agg(bytes, ''::bytea order by idx) from artifact_chunk where artifact_chunk.sha256 = artifact.sha256
    )`.execute(db);
  await sql`alter table artifact alter column content set not null`.execute(db);
  await db.schema.dropTable('artifact_chunk').execute();
}
