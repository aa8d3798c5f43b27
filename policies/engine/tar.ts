import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';

/** The regular files of an (uncompressed) tar archive, by path without a leading slash. */
export async function untar(archive: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\/+/, ''), Buffer.concat(chunks));
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([archive]).pipe(extract);
  await done;
  return files;
}

/** Writes untarred files under `dir`, refusing any path that would land outside it. */
export async function writeFiles(dir: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  const root = path.resolve(dir);
  for (const [name, bytes] of files) {
    const target = path.resolve(root, name);
    // Archive member names come from the repository; never follow one out of the checkout folder.
    if (!target.startsWith(root + path.sep)) throw new TypeError(`archive member escapes ${root}: ${name}`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
}
