import { request } from 'node:http';
import net from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../support/cli.ts';

describe('graceful shutdown', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-shutdown-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('finishes a request in flight when SIGTERM arrives, then exits 0', async () => {
    const server = await startServer(['--data-dir', dataDir]);
    const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    const { port } = new URL(server.url);
    const exit = new Promise<number | null>((resolve) => server.process.once('exit', resolve));

    // An artifact upload whose body arrives in two halves, with the signal in between.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/artifacts?filename=slow.csv',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('a,b\n1,2\n');
      setTimeout(() => {
        server.process.kill('SIGTERM');
        setTimeout(() => req.end('3,4\n'), 500);
      }, 300);
    });

    const { status, body } = await response;
    expect(status).toBe(201);
    expect(JSON.parse(body).size).toBe('a,b\n1,2\n3,4\n'.length);
    expect(await exit).toBe(0);
  }, 90_000);

  it.each([0, 1_500])(
    'with a grace period of %i ms, closes a request still in flight after it, then closes the rest and exits 0',
    async (graceMs) => {
      const server = await startServer(['--data-dir', dataDir], {
        ARBITER_SHUTDOWN_TIMEOUT_MS: String(graceMs),
      });
      const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
      const { port } = new URL(server.url);
      const exit = new Promise<number | null>((resolve) => server.process.once('exit', resolve));
      // An upload whose body never ends, so that only the grace period ends it.
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/artifacts?filename=endless.csv',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      });
      const ended = new Promise<number>((resolve) => {
        req.on('response', () => resolve(-1));
        req.on('error', () => resolve(Date.now()));
      });
      req.write('a,b\n1,2\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const signalled = Date.now();
      server.process.kill('SIGTERM');
      const cut = await ended;
      expect(cut - signalled).toBeGreaterThanOrEqual(graceMs);
      expect(await exit).toBe(0);
      // The rest of the close ran: the upload's partial file is gone with this process's scratch folder.
      expect(await readdir(path.join(dataDir, 'scratch'))).toEqual([]);
    },
    90_000,
  );

  it('answers a request that arrives while it shuts down with 503 SHUTTING_DOWN and Retry-After', async () => {
    const server = await startServer(['--data-dir', dataDir]);
    const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    const { port } = new URL(server.url);
    const exit = new Promise<number | null>((resolve) => server.process.once('exit', resolve));
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // An upload held open across the signal, then a second request pipelined on the same connection.
    socket.write(
      `POST /v1/artifacts?filename=held.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/octet-stream\r\nContent-Length: 8\r\n\r\na,b\n',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.write('1,2\n' + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 201 /);
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(JSON.parse(second!.slice(second!.indexOf('\r\n\r\n') + 4))).toEqual({
      statusCode: 503,
      code: 'SHUTTING_DOWN',
      message: 'the service is shutting down; retry shortly',
    });
    expect(await exit).toBe(0);
  }, 90_000);
});
