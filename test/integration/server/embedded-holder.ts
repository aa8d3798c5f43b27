// A separate process that holds an embedded database, for the data folder lock tests. Opens DATA_DIR, prints
// "open", blocks its event loop for BLOCK_MS (as PGlite's initdb does on a fresh folder), then holds the
// database until a line "close" arrives on stdin: it closes it, prints "closed" and exits 0.
import { createInterface } from 'node:readline';
import { openDatabase } from '../../../server/db/database.ts';

const handle = await openDatabase({ databaseUrl: undefined, dataDir: process.env.DATA_DIR! });
console.log('open');
const blockMs = Number(process.env.BLOCK_MS ?? '0');
if (blockMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, blockMs);
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'close') continue;
  await handle.close();
  console.log('closed');
  process.exit(0);
}
