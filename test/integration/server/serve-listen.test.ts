import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config.ts';
import { openDatabase } from '../../../server/db/database.ts';
import { serve } from '../../../server/serve.ts';

describe('serve on a port another process holds', () => {
  let holder: Server;
  let port: number;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('fails, and releases the embedded database it opened so that a restart is not refused', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-serve-'));
    const config = loadConfig({
      ARBITER_DATA_DIR: dataDir,
      ARBITER_PORT: String(port),
      ARBITER_EVAL_WORKER: 'off',
      ARBITER_REPORT_SCHEDULER: 'off',
      ARBITER_LOG_LEVEL: 'silent',
    });
    await expect(serve(config)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // Without the close, the data folder's lock stays held by this process and this open is refused.
    const reopened = await openDatabase({ databaseUrl: undefined, dataDir });
    await reopened.close();
  }, 240_000);
});
