import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
});
