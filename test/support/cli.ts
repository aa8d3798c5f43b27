import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ARBITER_BIN = fileURLToPath(new URL('../../bin/arbiter.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `arbiter …` to completion as a user would. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [ARBITER_BIN, ...args], {
      env: { ...process.env, ARBITER_LOG_LEVEL: 'warn', ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * `arbiter verify` of `bundle`, written to `file`, with the log's published keys pinned, as an auditor runs it;
 * `options` are the command's further options (`--json`, `--report PDF`).
 */
export async function verifyBundleFile(
  bundle: object,
  file: string,
  keys: { ed25519_vkey: string; eip191_address: string },
  options: readonly string[] = [],
): Promise<CliResult> {
  await writeFile(file, JSON.stringify(bundle));
  return runCli([
    'verify',
    file,
    '--trusted-vkey',
    keys.ed25519_vkey,
    '--trusted-eip191-address',
    keys.eip191_address,
    ...options,
  ]);
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  readonly url: string;
  readonly process: ChildProcess;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `arbiter serve` in a child process and waits until /healthz answers. */
export async function startServer(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [ARBITER_BIN, 'serve', '--port', String(port), ...args], {
    env: { ...process.env, ARBITER_LOG_LEVEL: 'warn', ARBITER_REPORT_SCHEDULER: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`arbiter serve exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
