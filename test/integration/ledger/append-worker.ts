// A separate process that appends to ledger logs, for the concurrency and crash tests: append n goes to
// REGIONS[n % REGIONS.length]. Prints "ack <region> <seq> <label> <n>" only after append() resolved, i.e.
// after the entry was committed.
// Env: LEDGER_WORKER_DB_URL (PostgreSQL) or LEDGER_WORKER_DATA_DIR (PGlite), LABEL, COUNT, CONCURRENCY,
// REGIONS (comma-separated, default eu).
import type { Kysely } from 'kysely';
import { createLedger, type LedgerTables } from '../../../ledger/index.ts';
import { openDatabase } from '../../../server/db/database.ts';
import { logOf, TEST_KEYS } from './ledger-harness.ts';

const label = process.env.LABEL ?? 'w';
const count = Number(process.env.COUNT ?? '100');
const concurrency = Number(process.env.CONCURRENCY ?? '8');
const regions = (process.env.REGIONS ?? 'eu').split(',');
const handle = await openDatabase({
  databaseUrl: process.env.LEDGER_WORKER_DB_URL,
  dataDir: process.env.LEDGER_WORKER_DATA_DIR ?? '',
  poolSize: concurrency + 2,
});
const ledger = await createLedger({
  db: handle.db as unknown as Kysely<LedgerTables>,
  logs: regions.map(logOf),
  keys: TEST_KEYS,
  checkpointIntervalMs: 20,
});
ledger.start();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const n = next++;
      const region = regions[n % regions.length]!;
      const { seq } = await ledger.append(region, { type: 'test.append', worker: label, n });
      process.stdout.write(`ack ${region} ${seq} ${label} ${n}\n`);
    }
  }),
);
await ledger.stop();
await handle.close();
process.stdout.write('done\n');
