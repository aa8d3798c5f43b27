import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { createService, type Service, type ServiceOptions } from '../../server/service.ts';

export interface TestService extends Service {
  readonly dataDir: string;
  /** The initial admin token the first start wrote. */
  readonly adminToken: string;
  /** Closes the service but keeps its data folder (to reopen it, or inspect it with the CLI). */
  stop(): Promise<void>;
}

/**
 * A whole service on a fresh embedded database in a temp folder, not listening (use app.inject()). With
 * ARBITER_DATA_DIR in `env`, it opens that folder again (a restart after stop()).
 */
export async function startTestService(
  env: Record<string, string> = {},
  options: ServiceOptions = {},
): Promise<TestService> {
  const dataDir = env.ARBITER_DATA_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'arbiter-e2e-')));
  // The report scheduler renders PDFs in the background on a first start; tests of it turn it on.
  const config = loadConfig(
    { ARBITER_LOG_LEVEL: 'silent', ARBITER_REPORT_SCHEDULER: 'off', ...env },
    { ARBITER_DATA_DIR: dataDir },
  );
  const service = await createService(config, options);
  const adminToken = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
  return {
    ...service,
    dataDir,
    adminToken,
    stop: () => service.close(),
    close: async () => {
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
