import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

  it('streams the stored bytes for a download, and ends a download of changed bytes before their last chunk', async () => {
    const bytes = randomBytes(2 * ARTIFACT_CHUNK_BYTES + 7);
    const sha256 = sha256Of(bytes);
    await store.put(streamOf(bytes), { mediaType: 'application/octet-stream', filename: 'x.bin', uploader });
    const collect = async (body: Readable) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of body) chunks.push(chunk as Buffer);
      } catch (err) {
        return { bytes: Buffer.concat(chunks), err };
      }
      return { bytes: Buffer.concat(chunks), err: undefined };
    };
    const { artifact, body } = await store.read(sha256, uploader, 'own');
    expect(artifact).toMatchObject({ sha256, size: bytes.length, filename: 'x.bin' });
    const whole = await collect(body);
    expect([whole.bytes.equals(bytes), whole.err]).toEqual([true, undefined]);
    // Another CI identity may not read it; a reader of any artifact may.
    const stranger = { subject: 'tok_other', issuer: 'arbiter-local' };
    await expect(store.read(sha256, stranger, 'own')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await collect((await store.read(sha256, stranger, 'any')).body)).bytes.equals(bytes)).toBe(true);
    await sql`update artifact_chunk set bytes = ${Buffer.alloc(7)} where sha256 = ${sha256} and idx = 2`.execute(
      database.db,
    );
    const damaged = await collect((await store.read(sha256, uploader, 'own')).body);
    expect(damaged.err).toMatchObject({ message: expect.stringMatching(/reads back as .* other content/) });
    expect(damaged.bytes.length).toBe(2 * ARTIFACT_CHUNK_BYTES);
  });

  it("stores a file the service wrote as an uploader's, empty or past the upload limit, if it hashes as expected", async () => {
    const small = new ArtifactStore(tablesOf<ServerTables>(database.db), 16, dir);
    const file = path.join(dir, 'reasons.jsonl');
    const lines = Buffer.from('{"row":0}\n{"row":3}\n');
    await writeFile(file, lines);
    const meta = { mediaType: 'application/x-ndjson', filename: 'reasons.jsonl', uploader };
    await expect(small.putFile(file, { ...meta, sha256: sha256Of(Buffer.from('other')) })).rejects.toThrow(
      /hashes to .*, not the expected/,
    );
    await expect(small.info(sha256Of(lines), uploader, 'any')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const stored = await small.putFile(file, { ...meta, sha256: sha256Of(lines) });
    expect(stored).toMatchObject({
      created: true,
      artifact: { sha256: sha256Of(lines), size: lines.length },
    });
    expect(
      await readFile(await small.materialize(sha256Of(lines), path.join(dir, 'lines'), uploader)),
    ).toEqual(lines);
    // No adverse decisions: no lines, and still a file whose sha256 the evidence records.
    await writeFile(file, '');
    const empty = await small.putFile(file, meta);
    expect(empty.artifact).toMatchObject({ sha256: sha256Of(Buffer.alloc(0)), size: 0 });
    const { body } = await small.read(empty.artifact.sha256, uploader, 'own');
    let read = 0;
    for await (const chunk of body) read += (chunk as Buffer).length;
    expect(read).toBe(0);
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
