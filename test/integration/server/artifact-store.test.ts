import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACT_CHUNK_BYTES, ArtifactStore } from '../../../server/artifacts/store.ts';
import { tablesOf } from '../../../server/db/database.ts';
import type { ServerTables } from '../../../server/db/schema.ts';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../../support/database.ts';

const uploader = { subject: 'tok_test', issuer: 'arbiter-local' };
const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** The bytes as an upload streams them: in pieces that do not line up with the chunks. */
const streamOf = (bytes: Buffer) =>
  Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 65_537) yield bytes.subarray(at, at + 65_537);
    })(),
  );

describe(`artifact store on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let store: ArtifactStore;
  let dir: string;
  beforeAll(async () => {
    database = await openTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-artifacts-'));
    store = new ArtifactStore(tablesOf<ServerTables>(database.db), 512 * 1024 ** 2, dir);
  });
  afterAll(async () => {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const chunkSizes = async (sha256: string) =>
    (
      await sql<{ idx: number; length: number }>`
        select idx, length(bytes) as length from artifact_chunk where sha256 = ${sha256} order by idx`.execute(
        database.db,
      )
    ).rows.map((r) => Number(r.length));

  it('stores a file in chunks and writes the same bytes back, once however often it is sent', async () => {
    const bytes = randomBytes(2 * ARTIFACT_CHUNK_BYTES + 12_345);
    const sha256 = sha256Of(bytes);
    const first = await store.put(streamOf(bytes), {
      mediaType: 'application/octet-stream',
      filename: 'model.onnx',
      uploader,
    });
    expect(first).toMatchObject({ created: true, artifact: { sha256, size: bytes.length } });
    expect(await chunkSizes(sha256)).toEqual([ARTIFACT_CHUNK_BYTES, ARTIFACT_CHUNK_BYTES, 12_345]);
    await store.put(streamOf(bytes), { mediaType: 'application/octet-stream', uploader });
    expect(await chunkSizes(sha256)).toHaveLength(3);
    const file = await store.materialize(sha256, path.join(dir, 'out'), uploader);
    expect(path.basename(file)).toBe(`${sha256}.onnx`);
    expect(sha256Of(await readFile(file))).toBe(sha256);
  });

  it('never hands on a file whose stored bytes changed', async () => {
    const bytes = randomBytes(ARTIFACT_CHUNK_BYTES + 1);
    const sha256 = sha256Of(bytes);
    await store.put(streamOf(bytes), { mediaType: 'text/csv', filename: 'data.csv', uploader });
    await sql`update artifact_chunk set bytes = ${Buffer.alloc(1)} where sha256 = ${sha256} and idx = 1`.execute(
      database.db,
    );
    const out = path.join(dir, 'changed');
    await expect(store.materialize(sha256, out, uploader)).rejects.toThrow(/reads back as .* other content/);
    await expect(stat(path.join(out, `${sha256}.csv`))).rejects.toMatchObject({ code: 'ENOENT' });
    await sql`delete from artifact_chunk where sha256 = ${sha256} and idx = 1`.execute(database.db);
    await expect(store.materialize(sha256, out, uploader)).rejects.toThrow(
      new RegExp(`reads back as ${ARTIFACT_CHUNK_BYTES} bytes`),
    );
  });

  it('stores a file past what one statement could carry on the embedded database (over 64 MiB)', async () => {
    const bytes = randomBytes(100 * 1024 ** 2);
    const sha256 = sha256Of(bytes);
    await store.put(streamOf(bytes), {
      mediaType: 'application/octet-stream',
      filename: 'big.bin',
      uploader,
    });
    expect(await chunkSizes(sha256)).toHaveLength(100);
    const file = await store.materialize(sha256, path.join(dir, 'big'), uploader);
    expect(sha256Of(await readFile(file))).toBe(sha256);
  }, 120_000);
});
