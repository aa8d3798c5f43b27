import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, fsck, type LedgerTables } from '../../../ledger/index.ts';
import { openDatabase } from '../../../server/db/database.ts';
import { migrateToLatest } from '../../../server/db/migrate.ts';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../../support/database.ts';
import { logOf, TEST_KEYS } from './ledger-harness.ts';

// Several writers on two logs, and a writer killed with SIGKILL mid-stream. On PostgreSQL the writers are
// separate Node processes; PGlite is one process's database by design (its data dir is locked), so there the
// concurrency test runs two ledger instances in one process and the crash test kills the only writer process.

const WORKER = path.join(import.meta.dirname, 'append-worker.ts');
const kind = testDatabaseKind();

interface Ack {
  region: string;
  seq: number;
  label: string;
  n: number;
}

function startWorker(env: Record<string, string>): {
  child: ChildProcess;
  acks: Ack[];
  exited: Promise<number | null>;
} {
  // `node --import tsx` runs the script in this one process, so SIGKILL hits the writer itself.
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acks: Ack[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      const m = /^ack (\S+) (\d+) (\S+) (\d+)$/.exec(line);
      if (m) acks.push({ region: m[1]!, seq: Number(m[2]), label: m[3]!, n: Number(m[4]) });
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) console.error(stderr);
      resolve(code);
    }),
  );
  return { child, acks, exited };
}

/** Checks one region's log against the acks of appends to it; returns its size. */
async function checkLog(db: Kysely<LedgerTables>, region: string, allAcks: readonly Ack[]): Promise<number> {
  const acks = allAcks.filter((a) => a.region === region);
  const ledger = await createLedger({ db, logs: [logOf(region)], keys: TEST_KEYS });
  const head = await ledger.integrate(region);
  const entries = [];
  for (let from = 0; from < head.size; from += 10_000)
    entries.push(...(await ledger.reader.entries(region, { from, to: Math.min(from + 10_000, head.size) })));
  // No gaps: seq i at position i. No duplicates: every (worker, n) once.
  expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: head.size }, (_, i) => i));
  const keys = entries.map((e) => `${String(e.entry.worker)}/${String(e.entry.n)}`);
  expect(new Set(keys).size).toBe(keys.length);
  // Every acknowledged append is there, under the sequence number it was acknowledged with.
  for (const ack of acks)
    expect(entries[ack.seq]?.entry).toEqual({ type: 'test.append', worker: ack.label, n: ack.n });
  // One consistent tree: every stored hash and every checkpoint agrees with the recomputed tree.
  const report = await fsck(db, region);
  expect(report.problems).toEqual([]);
  await ledger.stop();
  return head.size;
}

describe('several writers on two logs', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await openTestDatabase();
  });
  afterAll(async () => tdb.close());

  // Each writer's batches hold appends to both logs, so the writers contend for both logs' locks at once: a
  // lock order that differed between batches would deadlock here (PostgreSQL aborts one, a failed append).
  it('leaves no gaps, no duplicates and one consistent tree per log', async () => {
    const db = tdb.db as unknown as Kysely<LedgerTables>;
    if (kind === 'postgres') {
      const workers = ['a', 'b'].map((label) =>
        startWorker({
          LEDGER_WORKER_DB_URL: tdb.url!,
          LABEL: label,
          COUNT: '300',
          CONCURRENCY: '16',
          REGIONS: label === 'a' ? 'eu,us' : 'us,eu',
        }),
      );
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
      const acks = workers.flatMap((w) => w.acks);
      expect(acks).toHaveLength(600);
      expect(await checkLog(db, 'eu', acks)).toBe(300);
      expect(await checkLog(db, 'us', acks)).toBe(300);
    } else {
      const ledgers = await Promise.all(
        ['a', 'b'].map(() =>
          createLedger({ db, logs: ['eu', 'us'].map(logOf), keys: TEST_KEYS, checkpointIntervalMs: 20 }),
        ),
      );
      ledgers.forEach((l) => l.start());
      const acks = (
        await Promise.all(
          ledgers.map((l, w) =>
            Promise.all(
              Array.from({ length: 150 }, async (_, n) => {
                const label = w === 0 ? 'a' : 'b';
                const region = n % 2 === 0 ? 'eu' : 'us';
                const { seq } = await l.append(region, { type: 'test.append', worker: label, n });
                return { region, seq, label, n };
              }),
            ),
          ),
        )
      ).flat();
      await Promise.all(ledgers.map((l) => l.stop()));
      expect(await checkLog(db, 'eu', acks)).toBe(150);
      expect(await checkLog(db, 'us', acks)).toBe(150);
    }
  }, 120_000);
});

describe('a writer killed with SIGKILL', () => {
  it('keeps every acknowledged append and a consistent tree after restart', async () => {
    // PostgreSQL: the test keeps its own connection open while the worker dies. PGlite: the worker owns the
    // data dir, and the test opens it again after the kill (waiting for the dead process's lock to go stale).
    let url: string | undefined;
    let dataDir: string | undefined;
    let cleanup: () => Promise<void>;
    let tdb: TestDatabase | undefined;
    if (kind === 'postgres') {
      tdb = await openTestDatabase();
      url = tdb.url;
      cleanup = () => tdb!.close();
    } else {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'ledger-crash-'));
      const setup = await openDatabase({ databaseUrl: undefined, dataDir });
      await migrateToLatest(setup.db);
      await setup.close();
      cleanup = () => rm(dataDir!, { recursive: true, force: true });
    }
    try {
      const worker = startWorker({
        ...(url ? { LEDGER_WORKER_DB_URL: url } : { LEDGER_WORKER_DATA_DIR: dataDir! }),
        LABEL: 'k',
        COUNT: '1000000',
        CONCURRENCY: '16',
      });
      while (worker.acks.length < 400) {
        if (worker.child.exitCode !== null) throw new Error('worker exited early');
        await new Promise((r) => setTimeout(r, 10));
      }
      worker.child.kill('SIGKILL');
      expect(await worker.exited).toBeNull();
      const reopened = tdb ?? (await openDatabase({ databaseUrl: undefined, dataDir: dataDir! }));
      try {
        const size = await checkLog(reopened.db as unknown as Kysely<LedgerTables>, 'eu', worker.acks);
        expect(size).toBeGreaterThanOrEqual(worker.acks.length);
      } finally {
        if (!tdb) await reopened.close();
      }
    } finally {
      await cleanup();
    }
  }, 120_000);
});
