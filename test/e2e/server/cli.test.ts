import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARBITER_BIN, runCli, startServer } from '../../support/cli.ts';
import { ADMIN_URL } from '../../support/database.ts';

describe('the arbiter CLI', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('documents every command in --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'version', 'demo', 'token'])
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect((await runCli(['token', '--help'])).stdout).toMatch(/create[\s\S]*list[\s\S]*revoke/);
  });

  it('prints its version', async () => {
    const { stdout } = await runCli(['version']);
    const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'));
    expect(stdout.trim()).toBe(`arbiter ${version} (node ${process.version})`);
  });

  it('exits 2 with one line on a usage error, in every command, and 0 for help and the version', async () => {
    const cases: [string[], string][] = [
      [['check'], "required option '--region <region>' not specified (see arbiter check --help)"],
      [
        ['report', 'generate', '--bogus'],
        "required option '--region <region>' not specified (see arbiter report generate --help)",
      ],
      [['policy', 'test', '--bogus'], "unknown option '--bogus' (see arbiter policy test --help)"],
      [['chek'], "unknown command 'chek' (Did you mean check?) (see arbiter --help)"],
    ];
    const [bare, help, version, ...results] = await Promise.all([
      runCli(['policy']),
      runCli(['check', '--help']),
      runCli(['--version']),
      ...cases.map(([args]) => runCli(args)),
    ]);
    for (const [i, { code, stdout, stderr }] of results.entries()) {
      expect(code, stderr).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(`arbiter: ${cases[i]![1]}\n`);
    }
    // Without its subcommand, a command's help is the message.
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/^Usage: arbiter policy/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: arbiter check/);
    expect(version.code).toBe(0);
  }, 120_000);

  it('ends quietly, with its own exit code, when the reader of its output goes away', async () => {
    // As `arbiter report templates | head -0`: the pipe is closed before anything is written to it.
    const child = spawn(process.execPath, [ARBITER_BIN, 'report', 'templates'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('fails at start-up on a wrong config value, naming the variable', async () => {
    const { code, stderr } = await runCli(['serve', '--data-dir', dataDir], { ARBITER_LOG_LEVEL: 'chatty' });
    expect(code).toBe(2);
    expect(stderr).toContain('ARBITER_LOG_LEVEL="chatty"');
    expect(stderr).toContain('fatal | error | warn | info | debug | trace | silent');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('serves on the embedded database, and a second start finds its data again', async () => {
    const first = await startServer(['--data-dir', dataDir]);
    const adminToken = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const created = await fetch(`${first.url}/v1/models`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'adult-income',
        owner: 'ml@example.com',
        intended_purpose: 'demo',
        risk_tier: 'limited',
      }),
    });
    expect(created.status).toBe(201);
    expect(await (await fetch(`${first.url}/v1/version`)).json()).toMatchObject({ database: 'pglite' });
    expect(await first.stop()).toBe(0);

    const second = await startServer(['--data-dir', dataDir]);
    try {
      const models = (await (await fetch(`${second.url}/v1/models`, { headers })).json()) as {
        models: { name: string }[];
      };
      expect(models.models.map((m) => m.name)).toEqual(['adult-income']);
      // The embedded database belongs to one process: the CLI refuses to open it while the service holds it.
      const locked = await runCli(['token', 'list', '--data-dir', dataDir]);
      expect(locked.code).toBe(2);
      expect(locked.stderr).toContain('another Arbiter process holds');
      // Nor does a demo on it empty the folder under the service.
      const demo = await runCli(['demo', '--data-dir', dataDir]);
      expect(demo.code).toBe(2);
      expect(demo.stderr).toBe(
        `arbiter: another Arbiter process holds ${dataDir}; stop it, or use its API with --server\n`,
      );
      expect(await readFile(path.join(dataDir, 'admin-token'), 'utf8')).toContain(adminToken);
      // ...and reaches it through the API instead.
      const listed = await runCli(['token', 'list', '--server', second.url, '--token', adminToken]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/tok_[0-9a-f]{16}\s+admin\s+active/);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 120_000);

  it('stopped during start-up, finishes starting, closes what it opened and exits 0', async () => {
    const fresh = await mkdtemp(path.join(os.tmpdir(), 'arbiter-cli-early-'));
    try {
      const child = spawn(process.execPath, [ARBITER_BIN, 'serve', '--port', '0', '--data-dir', fresh], {
        env: { ...process.env, ARBITER_LOG_LEVEL: 'info', ARBITER_REPORT_SCHEDULER: 'off' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      // The first line is logged before the database opens; the migrations and the first policy build follow.
      await new Promise<void>((resolve) =>
        child.stdout!.on('data', (d) => {
          output += d;
          if (output.includes('"msg":"starting"')) resolve();
        }),
      );
      child.kill('SIGTERM');
      child.stderr!.on('data', (d) => (output += d));
      expect(await exited, output).toEqual({ code: 0, signal: null });
      expect(output).toContain('"msg":"stopped during start-up"');
      expect(output).not.toContain('Server listening');
      // Closed, not killed: the data folder is free for the next start at once (no stale lock to wait out).
      const listed = await runCli(['token', 'list', '--data-dir', fresh]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/admin\s+active/);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  }, 120_000);

  it('manages tokens directly on the database when no service holds it', async () => {
    const created = await runCli([
      'token',
      'create',
      '--role',
      'auditor',
      '--name',
      'external audit',
      '--expires',
      '30d',
      '--data-dir',
      dataDir,
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^arb_[0-9a-f]{48}$/);
    const id = /created (tok_[0-9a-f]{16})/.exec(created.stderr)![1]!;
    expect((await runCli(['token', 'revoke', id, '--data-dir', dataDir])).code).toBe(0);
    expect((await runCli(['token', 'list', '--data-dir', dataDir])).stdout).toMatch(
      new RegExp(`${id}\\s+auditor\\s+revoked`),
    );
    const bad = await runCli(['token', 'create', '--role', 'root', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role root: use one of admin, ci, compliance_officer, auditor');
  }, 120_000);

  it('refuses an --expires that is no RFC 3339 date-time with an offset, or not in the future, creating no token', async () => {
    const listed = async () => (await runCli(['token', 'list', '--data-dir', dataDir])).stdout;
    const before = await listed();
    const forms = '30d, 12h, 90m, or an RFC 3339 date-time with its offset';
    const cases: [string, string][] = [
      // new Date() rolled these over, read them in the local zone, or took them as they came.
      ['2027-02-30T00:00:00Z', '--expires 2027-02-30T00:00:00Z: no such date and time'],
      ['2027-01-31T24:00:00Z', '--expires 2027-01-31T24:00:00Z: no such date and time'],
      ['2027-01-31T00:00:00', `--expires 2027-01-31T00:00:00: use ${forms}`],
      ['2027-01-31', `--expires 2027-01-31: use ${forms}`],
      ['Jan 31 2027', `--expires Jan 31 2027: use ${forms}`],
      // Directly on the database, as through the API: a token that could never be used.
      ['0m', 'expires_at must lie in the future'],
      ['2020-01-01T00:00:00+01:00', 'expires_at must lie in the future, not 2019-12-31T23:00:00.000Z'],
    ];
    for (const [expires, message] of cases) {
      const r = await runCli([
        'token',
        'create',
        '--role',
        'ci',
        '--expires',
        expires,
        '--data-dir',
        dataDir,
      ]);
      expect(r.code, expires).toBe(2);
      expect(r.stderr, expires).toContain(message);
      expect(r.stdout, expires).toBe('');
    }
    expect(await listed()).toBe(before);
    // `waiver request` reads --expires the same way, before it calls the service.
    const waiver = await runCli([
      'waiver',
      'request',
      '--server',
      'http://127.0.0.1:9',
      '--token',
      'arb_x',
      '--rule',
      'FAIR-IMPACT-RATIO',
      '--model',
      'm',
      '--region',
      'us',
      '--reason',
      'a reason long enough',
      '--expires',
      '2027-02-30T00:00:00Z',
    ]);
    expect(waiver.code).toBe(2);
    expect(waiver.stderr).toContain('--expires 2027-02-30T00:00:00Z: no such date and time');
  }, 120_000);

  it('uses PostgreSQL when DATABASE_URL is set', async () => {
    const name = `arbiter_cli_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
    const pgDataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-cli-pg-'));
    try {
      const server = await startServer(['--data-dir', pgDataDir], { DATABASE_URL: url });
      try {
        expect(await (await fetch(`${server.url}/v1/version`)).json()).toMatchObject({
          database: 'postgres',
        });
        const { rows } = await admin.query(`select count(*)::int as n from pg_database where datname = $1`, [
          name,
        ]);
        expect(rows[0].n).toBe(1);
      } finally {
        expect(await server.stop()).toBe(0);
      }
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      const tokens = await check.query('select role from api_token');
      await check.end();
      expect(tokens.rows).toEqual([{ role: 'admin' }]);
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
      await rm(pgDataDir, { recursive: true, force: true });
    }
  });
});
