import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARBITER_BIN } from '../../support/cli.ts';

// A DATABASE_URL that names a host which accepts connections and never answers (a firewall, a stuck proxy):
// start-up must neither hang on it nor hold off the operator who wants it stopped.

describe('arbiter serve, with a database that never answers', () => {
  let dir: string;
  /** Accepts connections and never answers, as PostgreSQL behind a stuck proxy would. */
  let silent: net.Server;
  const sockets: net.Socket[] = [];
  let databaseUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-serve-stop-'));
    silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    databaseUrl = `postgres://arbiter@127.0.0.1:${(silent.address() as net.AddressInfo).port}/arbiter`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  /** `arbiter serve` on that database; `output` holds what it printed so far, `exited` its end. */
  const serve = () => {
    const child = spawn(
      process.execPath,
      [
        ARBITER_BIN,
        'serve',
        '--port',
        '0',
        '--data-dir',
        path.join(dir, 'data'),
        '--database-url',
        databaseUrl,
      ],
      {
        env: { ...process.env, ARBITER_LOG_LEVEL: 'info', ARBITER_REPORT_SCHEDULER: 'off' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const run = {
      child,
      output: '',
      exited: new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
      ),
      /** Resolves once the output holds `text`. */
      printed: (text: string) =>
        new Promise<void>((resolve) => {
          const look = () => {
            if (run.output.includes(text)) resolve();
            else setTimeout(look, 20);
          };
          look();
        }),
    };
    child.stdout!.on('data', (d) => (run.output += d));
    child.stderr!.on('data', (d) => (run.output += d));
    return run;
  };

  it('fails start-up with DATABASE_UNAVAILABLE once the connection times out', async () => {
    const run = serve();
    await run.printed('"msg":"starting"');
    const started = Date.now();
    const { code, signal, at } = await run.exited;
    expect({ code, signal }, run.output).toEqual({ code: 2, signal: null });
    expect(run.output).toMatch(
      /\narbiter: cannot reach PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/arbiter: [^\n]*timeout[^\n]* \(no connection within 10 s\)\n$/,
    );
    // The connection timeout (10 s), not fetch's or the kernel's minutes.
    expect(at - started).toBeLessThan(25_000);
  }, 60_000);

  it('stops at a second signal during start-up, at once, exit 1', async () => {
    const run = serve();
    await run.printed('"msg":"starting"');
    // The first is held until start-up has finished, as ever: the database open is what it would wait for.
    run.child.kill('SIGINT');
    await run.printed('stopping once start-up has finished');
    const second = Date.now();
    run.child.kill('SIGINT');
    const { code, signal, at } = await run.exited;
    expect({ code, signal }, run.output).toEqual({ code: 1, signal: null });
    expect(run.output).toContain('"msg":"stopped during start-up, without finishing it"');
    expect(run.output).not.toContain('cannot reach PostgreSQL');
    // Well before the connection would have timed out.
    expect(at - second).toBeLessThan(3_000);
  }, 60_000);
});
