import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../server/db/database.ts';
import { testDatabaseKind } from '../../support/database.ts';

const HOLDER = path.join(import.meta.dirname, 'embedded-holder.ts');
// The lock is the embedded database's: nothing here depends on the project's database, so it runs once.
const embedded = testDatabaseKind() === 'pglite';

/** Another process holding the embedded database in `dataDir`, once it says it has opened it. */
async function startHolder(dataDir: string, blockMs = 0) {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER], {
    env: { ...process.env, DATA_DIR: dataDir, BLOCK_MS: String(blockMs) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => output.includes('open\n') && resolve());
    void exited.then((code) => reject(new Error(`the holder exited with ${code}:\n${output}`)));
  });
  return { child, exited, output: () => output };
}

describe('the embedded database of a data folder', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-lock-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('stays refused to a second process while its holder blocks its event loop for seconds', async () => {
    if (!embedded) return;
    // Longer than PGlite's initdb blocks it on a fresh folder (up to 5.4 s seen), and the open comes after 6 s.
    const holder = await startHolder(dataDir, 8_000);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await expect(openDatabase({ databaseUrl: undefined, dataDir })).rejects.toMatchObject({
      code: 'DATA_DIR_LOCKED',
      message: `another Arbiter process holds ${dataDir}; stop it, or use its API with --server`,
    });
    // The holder, its loop free again, still holds the lock, and closes cleanly.
    holder.child.stdin.write('close\n');
    expect(await holder.exited, holder.output()).toBe(0);
    expect(holder.output()).toBe('open\nclosed\n');
    const reopened = await openDatabase({ databaseUrl: undefined, dataDir });
    await reopened.close();
  }, 90_000);

  it('closes although its lock was removed under it, and leaves a lock taken since in place', async () => {
    if (!embedded) return;
    const first = await openDatabase({ databaseUrl: undefined, dataDir });
    await rm(path.join(dataDir, 'pgdata.pid'));
    const holder = await startHolder(dataDir);
    await first.close();
    expect(await readdir(dataDir)).toContain('pgdata.pid');
    holder.child.stdin.write('close\n');
    expect(await holder.exited, holder.output()).toBe(0);
  }, 90_000);

  it('stays refused while a process on another machine sharing the folder holds it, until its lock is removed', async () => {
    if (!embedded) return;
    const lock = path.join(dataDir, 'pgdata.pid');
    // A pid this machine has no process of (the other machine's), as a volume shared between two would show.
    await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 1, started: '1', host: 'another-machine' }));
    await expect(openDatabase({ databaseUrl: undefined, dataDir })).rejects.toMatchObject({
      code: 'DATA_DIR_LOCKED',
      message: expect.stringContaining(
        `(pid ${2 ** 22 + 1} on another-machine, which this machine cannot see`,
      ),
    });
    await rm(lock);
    const handle = await openDatabase({ databaseUrl: undefined, dataDir });
    await handle.close();
  }, 60_000);

  it('is opened at once after its holder was killed with SIGKILL', async () => {
    if (!embedded) return;
    const holder = await startHolder(dataDir);
    holder.child.kill('SIGKILL');
    await holder.exited;
    const started = Date.now();
    const reopened = await openDatabase({ databaseUrl: undefined, dataDir });
    const took = Date.now() - started;
    await reopened.close();
    // A lock judged by its age would be refused until it was 5 s old.
    expect(took).toBeLessThan(4_500);
  }, 90_000);
});
