// `arbiter serve` as a process of its own on a fresh PostgreSQL database, the way a deployment runs it, so
// that a benchmark's load generator never shares the server's event loop.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const ARBITER = path.resolve(import.meta.dirname, '../../bin/arbiter.js');
const ADMIN_URL = process.env.ARBITER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ArbiterServer {
  readonly url: string;
  /** The server's process id (for CPU accounting). */
  readonly pid: number;
  /** A new local API token with this role. */
  token(role: 'ci' | 'compliance_officer' | 'admin' | 'auditor'): Promise<string>;
  stop(): Promise<void>;
}

/** `nodeArgs`: options for the server's Node.js (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
export async function startArbiterServer(
  port: number,
  { nodeArgs = [] }: { nodeArgs?: readonly string[] } = {},
): Promise<ArbiterServer> {
  const database = `arbiter_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${database} with (force)`);
  await admin.query(`create database ${database}`);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-bench-'));
  const env = {
    ...process.env,
    DATABASE_URL: Object.assign(new URL(ADMIN_URL), { pathname: `/${database}` }).toString(),
    ARBITER_DATA_DIR: dataDir,
    ARBITER_LOG_LEVEL: 'warn',
    ARBITER_REPORT_SCHEDULER: 'off',
  };
  const server = spawn(process.execPath, [...nodeArgs, ARBITER, 'serve', '--port', String(port)], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    server.kill('SIGTERM');
    await exited;
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  };
  // Ready once the policy bundle is active: the first start tests and compiles the policies.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (server.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error('arbiter serve did not become ready');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    pid: server.pid!,
    async token(role) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [ARBITER, 'token', 'create', '--role', role, '--name', 'benchmark'],
        { env },
      );
      return stdout.trim();
    },
    stop,
  };
}
