import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { createService, type Service } from '../../server/service.ts';

export interface TestService extends Service {
  readonly dataDir: string;
  /** The initial admin token the first start wrote. */
  readonly adminToken: string;
}

/** A whole service on a fresh embedded database in a temp folder, not listening (use app.inject()). */
export async function startTestService(env: Record<string, string> = {}): Promise<TestService> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-e2e-'));
  const config = loadConfig({ ARBITER_LOG_LEVEL: 'silent', ...env }, { ARBITER_DATA_DIR: dataDir });
  const service = await createService(config);
  const adminToken = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
  return {
    ...service,
    dataDir,
    adminToken,
    close: async () => {
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
