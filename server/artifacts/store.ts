import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely, type Selectable } from 'kysely';
import { ServerError } from '../errors.ts';
import type { ArtifactTable, ServerTables } from '../db/schema.ts';

/** What a caller is shown of an artifact; `filename`, `created_at` and `created_by` are of one upload of it. */
export type ArtifactInfo = Selectable<ArtifactTable>;

/**
 * The most bytes one artifact_chunk row holds. Small enough that no statement carries much (the embedded
 * database copies a parameter several times over), large enough that a 1 GiB file takes a thousand rows.
 */
export const ARTIFACT_CHUNK_BYTES = 1024 ** 2;

// Chunks travel as hex text, decoded and encoded by the database: the embedded one converts a bytea parameter
// or result a byte at a time in JavaScript, about ten times slower (85–230 ms a MiB against 6–21 ms).
const fromHex = (hex: string) => sql<Buffer>`decode(${hex}, 'hex')`;

/** Who uploads or reads an artifact: a subject at an issuer. */
export interface Uploader {
  readonly subject: string;
  readonly issuer: string;
}

/**
 * Whose artifacts a reader may see: `own`, only those it uploaded itself (a CI identity: the ledger publishes
 * the hashes of models and datasets, and a hash must not open another team's data); `any`, every one.
 */
export type ArtifactScope = 'own' | 'any';

export function artifactScopeOf(role: string): ArtifactScope {
  return role === 'ci' ? 'own' : 'any';
}

/**
 * Content-addressed artifacts (model files, datasets, specs) stored in the database, so that every replica
 * and every evaluation worker sees the same bytes. An upload is streamed to a temporary file while it is
 * hashed and counted, and refused as soon as it passes the size limit; then it is stored, and later read
 * back, a chunk (ARTIFACT_CHUNK_BYTES) at a time, so that no file is ever held in memory whole. The bytes
 * are stored once; each uploader's name for them, and when it sent them, are its own (artifact_upload).
 */
export class ArtifactStore {
  /**
   * `scratchDir`: where uploads and the files evaluations read are written while in use. They are copies of
   * customer data, so they stay in the data folder, not the machine's shared temporary folder, in a folder of
   * this process's that the next start removes if this one was killed (see `prepareScratchDir`).
   */
  constructor(
    private readonly db: Kysely<ServerTables>,
    private readonly maxBytes: number,
    readonly scratchDir: string,
  ) {}

  async put(
    body: Readable,
    meta: { mediaType: string; filename?: string; uploader: Uploader },
  ): Promise<{ artifact: ArtifactInfo; created: boolean }> {
    const tmp = path.join(this.scratchDir, `upload-${randomBytes(8).toString('hex')}`);
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
      return await this.record(tmp, hash.digest('hex'), size, meta);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Stores a file the service wrote itself (an evaluation's adverse-action reasons) as `meta.uploader`'s
   * artifact, as an upload of it would. Unlike an upload it may be empty (no rows to give reasons for) and is
   * not held to the upload size limit: what wrote it bounds it. With `meta.sha256`, bytes that hash otherwise
   * are refused, and nothing is stored.
   */
  async putFile(
    file: string,
    meta: { mediaType: string; filename?: string; uploader: Uploader; sha256?: string },
  ): Promise<{ artifact: ArtifactInfo; created: boolean }> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: ARTIFACT_CHUNK_BYTES })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const sha256 = hash.digest('hex');
    if (meta.sha256 !== undefined && sha256 !== meta.sha256)
      throw new Error(`${file} hashes to ${sha256}, not the expected ${meta.sha256}`);
    return this.record(file, sha256, size, meta);
  }

  /** Records `file`, whose bytes hash to `sha256`, as an upload by `meta.uploader`; see put. */
  private async record(
    file: string,
    sha256: string,
    size: number,
    meta: { mediaType: string; filename?: string; uploader: Uploader },
  ): Promise<{ artifact: ArtifactInfo; created: boolean }> {
    const filename = meta.filename ?? null;
    // `created`: new to this uploader, whether or not another sent the same bytes before: an answer that
    // told it so would tell who holds which file.
    const created = await this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('artifact')
        .values({
          sha256,
          size,
          media_type: meta.mediaType,
          filename,
          created_by: meta.uploader.subject,
        })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .returning('sha256')
        .executeTakeFirst();
      // Another upload of the same bytes that committed first stored them already; one in flight holds
      // the row, and this insert waited for it.
      if (inserted) {
        let idx = 0;
        for await (const bytes of createReadStream(file, { highWaterMark: ARTIFACT_CHUNK_BYTES }))
          await trx
            .insertInto('artifact_chunk')
            .values({ sha256, idx: idx++, bytes: fromHex((bytes as Buffer).toString('hex')) })
            .execute();
      }
      // The same bytes sent again with a name, when the first upload had none: readers choose the data
      // format by its extension. A name already given stays: content addressing keeps the first. So too
      // for each uploader's own name.
      if (!inserted && filename)
        await trx
          .updateTable('artifact')
          .set({ filename })
          .where('sha256', '=', sha256)
          .where('filename', 'is', null)
          .execute();
      const upload = await trx
        .insertInto('artifact_upload')
        .values({
          sha256,
          uploaded_by: meta.uploader.subject,
          uploaded_by_issuer: meta.uploader.issuer,
          filename,
        })
        .onConflict((oc) => oc.columns(['sha256', 'uploaded_by', 'uploaded_by_issuer']).doNothing())
        .returning('sha256')
        .executeTakeFirst();
      if (!upload && filename)
        await trx
          .updateTable('artifact_upload')
          .set({ filename })
          .where('sha256', '=', sha256)
          .where('uploaded_by', '=', meta.uploader.subject)
          .where('uploaded_by_issuer', '=', meta.uploader.issuer)
          .where('filename', 'is', null)
          .execute();
      return upload !== undefined;
    });
    return { artifact: await this.info(sha256, meta.uploader, 'own'), created };
  }

  /**
   * The artifact as `reader` is shown it: with its own upload's name and time where it uploaded it, else
   * (scope `any`) with the first upload's. NOT_FOUND when there is none, or none that the scope lets it see.
   */
  async info(sha256: string, reader: Uploader, scope: ArtifactScope): Promise<ArtifactInfo> {
    const row = await this.db
      .selectFrom('artifact')
      // At most one: an upload row is unique per artifact, subject and issuer.
      .leftJoin('artifact_upload as own', (join) =>
        join
          .onRef('own.sha256', '=', 'artifact.sha256')
          .on('own.uploaded_by', '=', reader.subject)
          .on('own.uploaded_by_issuer', '=', reader.issuer),
      )
      .select([
        'artifact.sha256',
        'artifact.size',
        'artifact.media_type',
        'artifact.filename',
        'artifact.created_at',
        'artifact.created_by',
        'own.sha256 as upload_sha256',
        'own.filename as upload_filename',
        'own.uploaded_at',
        'own.uploaded_by',
      ])
      .where('artifact.sha256', '=', sha256)
      .executeTakeFirst();
    if (!row || (scope === 'own' && !row.upload_sha256))
      throw new ServerError('NOT_FOUND', `no artifact ${sha256}`);
    const own = row.upload_sha256 !== null;
    return {
      sha256: row.sha256,
      size: row.size,
      media_type: row.media_type,
      filename: own ? row.upload_filename : row.filename,
      created_at: own ? row.uploaded_at! : row.created_at,
      created_by: own ? row.uploaded_by! : row.created_by,
    };
  }

  /**
   * Writes the artifact's bytes to a file in `dir` (named by its hash, with the extension of `reader`'s own
   * upload, else of the first name given) and returns the path. The bytes are hashed as they are written: a
   * file that is not the artifact is never handed on.
   */
  async materialize(sha256: string, dir: string, reader: Uploader): Promise<string> {
    const { filename, size } = await this.info(sha256, reader, 'any');
    await mkdir(dir, { recursive: true });
    // Keep the extension: readers choose CSV, JSON Lines or Parquet by it.
    const file = path.join(dir, sha256 + (filename ? path.extname(filename) : ''));
    const out = await open(file, 'w', 0o600);
    try {
      for await (const bytes of this.chunks(sha256, size)) await out.write(bytes);
    } catch (err) {
      await out.close();
      await rm(file, { force: true });
      throw err;
    }
    await out.close();
    return file;
  }

  /**
   * The artifact's bytes as `reader` may see them (see info; NOT_FOUND otherwise), streamed a chunk at a time.
   * They are hashed as they go: bytes that are not the artifact end the stream with an error, so a download
   * of damaged data fails instead of completing.
   */
  async read(
    sha256: string,
    reader: Uploader,
    scope: ArtifactScope,
  ): Promise<{ artifact: ArtifactInfo; body: Readable }> {
    const artifact = await this.info(sha256, reader, scope);
    return { artifact, body: Readable.from(this.chunks(sha256, artifact.size)) };
  }

  /** The stored chunks of an artifact in order; throws at the end if they are not its `size` bytes. */
  private async *chunks(sha256: string, size: number): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let read = 0;
    // The last chunk is held back until the whole is checked: a reader never gets all of a wrong file.
    let last: Buffer | undefined;
    for (let idx = 0; read < size; idx++) {
      const chunk = await this.db
        .selectFrom('artifact_chunk')
        .select(sql<string>`encode(bytes, 'hex')`.as('hex'))
        .where('sha256', '=', sha256)
        .where('idx', '=', idx)
        .executeTakeFirst();
      if (!chunk) break;
      const bytes = Buffer.from(chunk.hex, 'hex');
      hash.update(bytes);
      read += bytes.length;
      if (read >= size) last = bytes;
      else yield bytes;
    }
    if (read !== size || hash.digest('hex') !== sha256)
      throw new Error(`artifact ${sha256} reads back as ${read} bytes of other content`);
    if (last) yield last;
  }
}

/**
 * Longer than any upload or evaluation runs (an evaluation's time limit is at most 24 hours): another machine's
 * scratch folder untouched for this long is abandoned (its process cannot be asked whether it still runs).
 */
const SCRATCH_ABANDONED_AFTER_MS = 25 * 3_600_000;

/**
 * A new scratch folder of this service's under `root` (`<host>-<pid>-<random>`, mode 0700), after removing
 * those that are no one's: of a process on this machine that no longer runs (killed during an upload, say),
 * or, of another machine's, untouched for longer than anything runs. The folders of a live process on this
 * machine (a second `arbiter` on the same data folder, or another service in this one) are left alone however
 * long they sat unchanged: a quiet server's folder is still its own.
 */
export async function prepareScratchDir(root: string): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const host = os.hostname();
  for (const name of await readdir(root)) {
    const folder = path.join(root, name);
    const owner = /^(.+)-(\d+)-[0-9a-f]+$/.exec(name);
    const pid = Number(owner?.[2]);
    if (owner?.[1] === host) {
      if (pid !== process.pid && !isRunning(pid)) await rm(folder, { recursive: true, force: true });
      continue;
    }
    // Another process starting at the same time may have removed it already.
    const modified = await stat(folder).then(
      (s) => s.mtimeMs,
      () => Infinity,
    );
    if (modified < Date.now() - SCRATCH_ABANDONED_AFTER_MS)
      await rm(folder, { recursive: true, force: true });
  }
  const own = path.join(root, `${host}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(own, { mode: 0o700 });
  return own;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
