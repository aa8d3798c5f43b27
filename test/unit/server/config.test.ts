import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, configSchema, loadConfig } from '../../../server/config.ts';
import { ServerError } from '../../../server/errors.ts';

function configError(run: () => unknown): ServerError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ServerError);
    expect((err as ServerError).code).toBe('CONFIG_INVALID');
    return err as ServerError;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('fills defaults: embedded database in ./.arbiter, port 8080', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, databaseUrl: undefined, logLevel: 'info' });
    expect(config.dataDir).toBe(path.resolve('.arbiter'));
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the environment, and flags override it', () => {
    const config = loadConfig(
      { ARBITER_PORT: '9000', DATABASE_URL: 'postgres://u@db:5432/arbiter', ARBITER_LOG_LEVEL: 'debug' },
      { ARBITER_PORT: '9100' },
    );
    expect(config).toMatchObject({
      port: 9100,
      databaseUrl: 'postgres://u@db:5432/arbiter',
      logLevel: 'debug',
    });
  });

  it('names the variable, the value and what is allowed', () => {
    const err = configError(() => loadConfig({ ARBITER_PORT: 'eighty' }));
    expect(err.message).toContain('ARBITER_PORT="eighty"');
    expect(err.message).toContain('an integer 0–65535');
  });

  it('reports every wrong variable at once', () => {
    const err = configError(() =>
      loadConfig({ ARBITER_PORT: '70000', DATABASE_URL: 'mysql://x', ARBITER_LOG_LEVEL: 'loud' }),
    );
    expect(err.message).toContain('ARBITER_PORT="70000": out of range');
    expect(err.message).toContain('DATABASE_URL (value hidden): not a postgres:// URL');
    expect(err.message).toContain('ARBITER_LOG_LEVEL="loud"');
  });

  it('never repeats a secret in its message: a password in DATABASE_URL, a signing or account key', () => {
    const secrets = {
      DATABASE_URL: 'mysql://arbiter:s3cret-pw@db:3306/arbiter',
      ARBITER_LEDGER_ED25519_SEED: 'seed-s3cret-not-hex',
      ARBITER_LEDGER_SECP256K1_KEY: '0xs3cret',
      ARBITER_ANCHOR_RPC_URL: 'wss://rpc.example/v3/s3cret-api-key',
      ARBITER_ANCHOR_PRIVATE_KEY: 's3cret-key',
    };
    const err = configError(() => loadConfig(secrets));
    for (const name of Object.keys(secrets)) expect(err.message).toContain(`${name} (value hidden)`);
    expect(err.message).not.toContain('s3cret');
  });

  it('refuses a DATABASE_URL that node-postgres could not parse, before anything connects', () => {
    const err = configError(() =>
      loadConfig({ DATABASE_URL: 'postgres://arbiter:pw@db:not-a-port/arbiter' }),
    );
    expect(err.message).toContain('DATABASE_URL (value hidden): not a postgres:// URL');
    expect(err.message).not.toContain(':pw@');
  });

  it('takes a DATABASE_URL that reaches PostgreSQL over its Unix socket', () => {
    const url = 'postgres://postgres@/arbiter?host=/var/run/postgresql';
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it('reads a config file below the environment', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-config-'));
    const file = path.join(dir, 'arbiter.yaml');
    writeFileSync(file, 'ARBITER_PORT: 7000\nARBITER_HOST: 0.0.0.0\n');
    expect(loadConfig({ ARBITER_CONFIG: file })).toMatchObject({ port: 7000, host: '0.0.0.0' });
    expect(loadConfig({ ARBITER_CONFIG: file, ARBITER_PORT: '7001' }).port).toBe(7001);
  });

  it('names only where a config file fails to parse, never the lines it quotes, which may be secrets', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-config-'));
    const file = path.join(dir, 'arbiter.yaml');
    const broken = [
      'DATABASE_URL: "postgres://admin:SuperSecretPw123@db.example/arbiter\nARBITER_PORT: 7000\n',
      'DATABASE_URL: postgres://admin:SuperSecretPw123@db.example/a\nDATABASE_URL: postgres://admin:SuperSecretPw123@db.example/b\n',
      `ARBITER_PORT: 7000\n   ARBITER_LEDGER_ED25519_SEED: ${'ab'.repeat(32)}\n`,
    ];
    for (const text of broken) {
      writeFileSync(file, text);
      const message = configError(() => loadConfig({ ARBITER_CONFIG: file })).message;
      expect(message).toMatch(/^ARBITER_CONFIG: cannot read .* at line \d+, column \d+/);
      expect(message).not.toContain('SuperSecret');
      expect(message).not.toContain('abab');
    }
  });

  it('takes an IP address or a host name to listen on, and refuses anything else before start-up', () => {
    for (const host of ['0.0.0.0', '::', '::1', 'localhost', 'arbiter-0.arbiter.svc.cluster.local'])
      expect(loadConfig({ ARBITER_HOST: host }).host).toBe(host);
    for (const host of ['0.0.0.0:8080', 'http://localhost', 'host name', '-bad.example'])
      expect(configError(() => loadConfig({ ARBITER_HOST: host })).message).toContain(
        `ARBITER_HOST=${JSON.stringify(host)}: not an IP address or a host name`,
      );
  });

  it('follows a branch by its name, and refuses a full ref name', () => {
    expect(loadConfig({ ARBITER_POLICY_BRANCH: 'release/2026' }).policySource.branch).toBe('release/2026');
    expect(configError(() => loadConfig({ ARBITER_POLICY_BRANCH: 'refs/heads/main' })).message).toContain(
      'ARBITER_POLICY_BRANCH="refs/heads/main": a branch name such as main, not a full ref name',
    );
  });

  it('keeps a policy repository URL as it is and makes a path absolute', () => {
    for (const url of ['https://git.example.org/policies.git', 'git@git.example.org:org/policies.git'])
      expect(loadConfig({ ARBITER_POLICY_REPO: url }).policySource.repository).toBe(url);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-policies-'));
    const relative = path.relative(process.cwd(), dir);
    expect(loadConfig({ ARBITER_POLICY_REPO: relative }).policySource.repository).toBe(dir);
  });

  it('refuses a policy repository path that is not a folder on this machine', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-policies-'));
    const file = path.join(dir, 'policies.tar');
    writeFileSync(file, '');
    for (const repo of [path.join(dir, 'missing'), file])
      expect(configError(() => loadConfig({ ARBITER_POLICY_REPO: repo })).message).toContain(
        `ARBITER_POLICY_REPO=${JSON.stringify(repo)}: no such folder on this machine`,
      );
  });

  it('anchors with one confirmation and a two-minute limit unless told otherwise, within bounds', () => {
    const account = {
      ARBITER_ANCHOR_RPC_URL: 'http://127.0.0.1:8545',
      ARBITER_ANCHOR_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
      ARBITER_ANCHOR_CHAIN_ID: '31337',
    };
    expect(loadConfig(account).ledger.anchor).toMatchObject({ confirmations: 1, timeoutMs: 120_000 });
    expect(
      loadConfig({ ...account, ARBITER_ANCHOR_CONFIRMATIONS: '12', ARBITER_ANCHOR_TIMEOUT_MS: '600000' })
        .ledger.anchor,
    ).toMatchObject({ everyN: 1, confirmations: 12, timeoutMs: 600_000 });
    const err = configError(() =>
      loadConfig({ ...account, ARBITER_ANCHOR_CONFIRMATIONS: '0', ARBITER_ANCHOR_TIMEOUT_MS: '999' }),
    );
    expect(err.message).toContain('ARBITER_ANCHOR_CONFIRMATIONS="0": out of range');
    expect(err.message).toContain('ARBITER_ANCHOR_TIMEOUT_MS="999": out of range');
  });

  it('leaves a core to the event loop unless told how many policy workers to run', () => {
    expect(loadConfig({}).policyWorkers).toBe(Math.max(1, os.availableParallelism() - 1));
    expect(loadConfig({ ARBITER_POLICY_WORKERS: '3' }).policyWorkers).toBe(3);
    const err = configError(() => loadConfig({ ARBITER_POLICY_WORKERS: '0' }));
    expect(err.message).toContain('ARBITER_POLICY_WORKERS="0": out of range');
  });

  it('limits one policy evaluation to 10 s unless told otherwise, and not below 100 ms', () => {
    expect(loadConfig({}).policyEvalTimeoutMs).toBe(10_000);
    expect(loadConfig({ ARBITER_POLICY_EVAL_TIMEOUT_MS: '2500' }).policyEvalTimeoutMs).toBe(2_500);
    const err = configError(() => loadConfig({ ARBITER_POLICY_EVAL_TIMEOUT_MS: '99' }));
    expect(err.message).toContain('ARBITER_POLICY_EVAL_TIMEOUT_MS="99": out of range');
  });

  it('bounds the policy queue at 1,000 evaluations per thread unless told otherwise, and not below 1', () => {
    expect(loadConfig({}).policyQueuePerWorker).toBe(1_000);
    expect(loadConfig({ ARBITER_POLICY_QUEUE_PER_WORKER: '50' }).policyQueuePerWorker).toBe(50);
    const err = configError(() => loadConfig({ ARBITER_POLICY_QUEUE_PER_WORKER: '0' }));
    expect(err.message).toContain('ARBITER_POLICY_QUEUE_PER_WORKER="0": out of range');
  });

  it('reads the trusted proxies as a list, and refuses what is not an address or range', () => {
    expect(loadConfig({}).trustProxy).toBeUndefined();
    expect(loadConfig({ ARBITER_TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::1' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::1',
    ]);
    for (const wrong of ['proxy.example', '10.0.0.0/33', '10.0.0.1,', '::1/129'])
      expect(configError(() => loadConfig({ ARBITER_TRUST_PROXY: wrong })).message).toContain(
        `ARBITER_TRUST_PROXY=${JSON.stringify(wrong)}: not a list of addresses`,
      );
  });

  it('takes artifact limits past one bytea value, up to 16 GiB', () => {
    expect(loadConfig({ ARBITER_ARTIFACT_MAX_BYTES: String(16 * 1024 ** 3) }).artifactMaxBytes).toBe(
      16 * 1024 ** 3,
    );
    expect(
      configError(() => loadConfig({ ARBITER_ARTIFACT_MAX_BYTES: String(16 * 1024 ** 3 + 1) })).message,
    ).toContain('ARBITER_ARTIFACT_MAX_BYTES');
  });

  it('refuses unknown keys and unreadable files in ARBITER_CONFIG', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-config-'));
    const file = path.join(dir, 'arbiter.yaml');
    writeFileSync(file, 'ARBITER_PROT: 7000\n');
    expect(configError(() => loadConfig({ ARBITER_CONFIG: file })).message).toContain(
      'unknown variable ARBITER_PROT',
    );
    expect(
      configError(() => loadConfig({ ARBITER_CONFIG: path.join(dir, 'missing.yaml') })).message,
    ).toContain('cannot read');
  });
});

describe('CONFIG_VARIABLES', () => {
  it('documents exactly the variables the configuration reads', () => {
    const documented = Object.keys(CONFIG_VARIABLES).filter((k) => k !== 'ARBITER_CONFIG');
    expect(Object.keys(configSchema.shape).sort()).toEqual(documented.sort());
  });

  it('reads the policy source, workers, schedules and database options from the environment', () => {
    const repo = mkdtempSync(path.join(os.tmpdir(), 'arbiter-policies-'));
    const config = loadConfig({
      ARBITER_POLICY_REPO: repo,
      ARBITER_POLICY_BRANCH: 'release',
      ARBITER_EVAL_WORKER: 'off',
      ARBITER_REPORT_SCHEDULER: 'off',
      ARBITER_DB_PREPARED_STATEMENTS: 'off',
    });
    expect(config.preparedStatements).toBe(false);
    expect(loadConfig({}).preparedStatements).toBe(true);
    expect(config.policySource).toMatchObject({ repository: repo, branch: 'release' });
    expect(config.evaluations.worker).toBe(false);
    expect(config.reports.scheduler).toBe(false);
  });
});
