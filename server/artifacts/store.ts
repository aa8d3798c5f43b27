import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely, Selectable } from 'kysely';
import { ServerError } from '../errors.ts';
import type { ArtifactTable, ServerTables } from '../db/schema.ts';

export type ArtifactInfo = Omit<Selectable<ArtifactTable>, 'content'>;

/**
 * Content-addressed artifacts (model files, datasets, specs) stored in the database, so that every replica
 * and every evaluation worker sees the same bytes. An upload is streamed to a temporary file while it is
 * hashed and counted, and refused as soon as it passes the size limit; it never sits in memory as one string
 * until it is known to be within bounds.
 */
export class ArtifactStore {
  constructor(
    private readonly db: Kysely<ServerTables>,
    private readonly maxBytes: number,
  ) {}

  async put(
    body: Readable,
    meta: { mediaType: string; filename?: string; createdBy: string },
  ): Promise<{ artifact: ArtifactInfo; created: boolean }> {
    const tmp = path.join(os.tmpdir(), `arbiter-upload-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const maxBytes = this.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) {
          done(new ServerError('PAYLOAD_TOO_LARGE', `artifact exceeds the limit of ${maxBytes} bytes`));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      if (size === 0) throw new ServerError('BAD_REQUEST', 'artifact is empty');
      const sha256 = hash.digest('hex');
      const inserted = await this.db
        .insertInto('artifact')
        .values({
          sha256,
          size,
          media_type: meta.mediaType,
          filename: meta.filename ?? null,
          content: await readFile(tmp),
          created_by: meta.createdBy,
        })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .returning('sha256')
        .executeTakeFirst();
      // The same bytes sent again with a name, when the first upload had none: readers choose the data
      // format by its extension. A name already given stays: content addressing keeps the first.
      if (!inserted && meta.filename)
        await this.db
          .updateTable('artifact')
          .set({ filename: meta.filename })
          .where('sha256', '=', sha256)
          .where('filename', 'is', null)
          .execute();
      return { artifact: await this.info(sha256), created: inserted !== undefined };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async info(sha256: string): Promise<ArtifactInfo> {
    const row = await this.db
      .selectFrom('artifact')
      .select(['sha256', 'size', 'media_type', 'filename', 'created_at', 'created_by'])
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    if (!row) throw new ServerError('NOT_FOUND', `no artifact ${sha256}`);
    return row;
  }

  /** Writes the artifact's bytes to a file in `dir` (named by its hash) and returns the path. */
  async materialize(sha256: string, dir: string): Promise<string> {
    const row = await this.db
      .selectFrom('artifact')
      .select(['content', 'filename'])
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    if (!row) throw new ServerError('NOT_FOUND', `no artifact ${sha256}`);
    await mkdir(dir, { recursive: true });
    // Keep the extension: readers choose CSV, JSON Lines or Parquet by it.
    const file = path.join(dir, sha256 + (row.filename ? path.extname(row.filename) : ''));
    await writeFile(file, row.content, { mode: 0o600 });
    return file;
  }
}
