import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.ts';

// Commands that work on existing data directly (no --server) must not take a wrong --data-dir, or none, for a
// new, empty database: they refuse a folder that holds none, creating nothing. Only `serve` and `token create`
// (the first admin token) start a data folder.

describe('the data folder of commands that work on the database directly', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-data-folder-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const commands: [string, string[]][] = [
    ['ledger fsck', ['ledger', 'fsck', '--region', 'eu']],
    ['token list', ['token', 'list']],
    ['token revoke', ['token', 'revoke', 'tok_0123456789abcdef']],
    [
      'report generate',
      ['report', 'generate', '--region', 'eu', '--template', 'eu/x', '--period', '2026-Q1', '--out', 'x.pdf'],
    ],
  ];

  for (const [name, args] of commands) {
    it(`${name} refuses a folder that holds no database, in one line, creating nothing`, async () => {
      const missing = path.join(dir, `${name.replace(' ', '-')}-missing`);
      const empty = path.join(dir, `${name.replace(' ', '-')}-empty`);
      await mkdir(empty);
      for (const folder of [missing, empty]) {
        const result = await runCli([...args, '--data-dir', folder], { ARBITER_SERVER: undefined });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toBe(
          `arbiter: no Arbiter database in ${folder}: name the data folder of one with --data-dir ` +
            `(ARBITER_DATA_DIR), use a running service with --server, or start one with 'arbiter serve'\n`,
        );
        expect(result.stdout).toBe('');
      }
      expect(existsSync(missing)).toBe(false);
      expect(await readdir(empty)).toEqual([]);
    }, 60_000);
  }

  it('refuses the folder ARBITER_DATA_DIR names as it refuses --data-dir', async () => {
    const missing = path.join(dir, 'from-env');
    const fromEnv = await runCli(['ledger', 'fsck', '--region', 'eu'], { ARBITER_DATA_DIR: missing });
    expect(fromEnv.stderr).toContain(`no Arbiter database in ${missing}:`);
    expect(existsSync(missing)).toBe(false);
  });

  it('leaves a command given --server to the service', async () => {
    const result = await runCli([
      'token',
      'list',
      '--server',
      'http://127.0.0.1:9',
      '--data-dir',
      path.join(dir, 'unused'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^arbiter: cannot reach http:\/\/127\.0\.0\.1:9: /);
  });

  it('lets token create start a folder, for the first admin token, and then the others find it', async () => {
    const fresh = path.join(dir, 'fresh');
    const created = await runCli(['token', 'create', '--role', 'admin', '--data-dir', fresh]);
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCli(['token', 'list', '--data-dir', fresh]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/tok_[0-9a-f]{16}\s+admin\s+active/);
  }, 120_000);
});
