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
    expect(err.message).toContain('DATABASE_URL="mysql://x": not a postgres:// URL');
    expect(err.message).toContain('ARBITER_LOG_LEVEL="loud"');
  });

  it('reads a config file below the environment', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-config-'));
    const file = path.join(dir, 'arbiter.yaml');
    writeFileSync(file, 'ARBITER_PORT: 7000\nARBITER_HOST: 0.0.0.0\n');
    expect(loadConfig({ ARBITER_CONFIG: file })).toMatchObject({ port: 7000, host: '0.0.0.0' });
    expect(loadConfig({ ARBITER_CONFIG: file, ARBITER_PORT: '7001' }).port).toBe(7001);
  });

  it('keeps a policy repository URL as it is and makes a path absolute', () => {
    for (const url of ['https://git.example.org/policies.git', 'git@git.example.org:org/policies.git'])
      expect(loadConfig({ ARBITER_POLICY_REPO: url }).policySource.repository).toBe(url);
    expect(loadConfig({ ARBITER_POLICY_REPO: 'repos/policies' }).policySource.repository).toBe(
      path.resolve('repos/policies'),
    );
  });

  it('refuses an artifact limit PostgreSQL could not store as one value', () => {
    expect(loadConfig({ ARBITER_ARTIFACT_MAX_BYTES: String(1024 ** 3 - 1) }).artifactMaxBytes).toBe(
      1024 ** 3 - 1,
    );
    expect(
      configError(() => loadConfig({ ARBITER_ARTIFACT_MAX_BYTES: String(1024 ** 3) })).message,
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
    const config = loadConfig({
      ARBITER_POLICY_REPO: '/srv/policies',
      ARBITER_POLICY_BRANCH: 'release',
      ARBITER_EVAL_WORKER: 'off',
      ARBITER_REPORT_SCHEDULER: 'off',
      ARBITER_DB_PREPARED_STATEMENTS: 'off',
    });
    expect(config.preparedStatements).toBe(false);
    expect(loadConfig({}).preparedStatements).toBe(true);
    expect(config.policySource).toMatchObject({ repository: '/srv/policies', branch: 'release' });
    expect(config.evaluations.worker).toBe(false);
    expect(config.reports.scheduler).toBe(false);
  });
});
