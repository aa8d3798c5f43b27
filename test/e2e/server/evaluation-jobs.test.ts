import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVALUATION_ATTEMPTS } from '../../../server/evaluations/evaluations.ts';
import { createPostgresDatabase } from '../../support/database.ts';
import { startTestService, type TestService } from '../../support/service.ts';

// Evaluation jobs are pg-boss rows in Arbiter's own database: here the real PostgreSQL server, so the queue's
// own connection pool is the one in use (the other e2e tests run on the embedded database).
const SPEC = {
  label: { column: 'label', positive: 1 },
  prediction: { column: 'y_pred', positive: 1 },
  sensitive: ['sex'],
  min_group_size: 30,
};

function csv(rowsPerGroup: number): Buffer {
  const lines = ['sex,label,y_pred'];
  for (const sex of ['Female', 'Male'])
    for (let i = 0; i < rowsPerGroup; i++) lines.push(`${sex},${i % 2},${i % 3 === 0 ? 1 : 0}`);
  return Buffer.from(lines.join('\n') + '\n');
}

describe('evaluation jobs on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let service: TestService | undefined;
  let token: string;
  const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
    service!.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload });
  const upload = async (bytes: Buffer) =>
    (
      await service!.app.inject({
        method: 'POST',
        url: '/v1/artifacts?filename=predictions.csv',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        payload: bytes,
      })
    ).json().sha256 as string;
  const waitFor = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const e = (await call('GET', `/v1/evaluations/${id}`)).json();
      if (e.status !== 'queued' && e.status !== 'running') return e;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`evaluation ${id} did not finish`);
  };

  /** How many runs of the evaluation a process took up and did not hand back. */
  const attemptsOf = async (id: string) =>
    (
      await sql<{
        attempts: number;
      }>`select attempts from evaluation where id = ${id}`.execute(service!.database.db)
    ).rows[0]!.attempts;

  /** Stops the service and starts another on the same database and data folder, with `env` besides. */
  const restart = async (env: Record<string, string> = {}) => {
    const dataDir = service!.dataDir;
    await service!.stop();
    service = await startTestService({ DATABASE_URL: database.url, ARBITER_DATA_DIR: dataDir, ...env });
    return dataDir;
  };

  beforeAll(async () => {
    database = await createPostgresDatabase();
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it(
    'keeps queued jobs across a restart, honours a cancel, and bounds the rows a job may read',
    { timeout: 60_000 },
    async () => {
      // A service that queues but runs no jobs, then stops with two of them in the queue.
      service = await startTestService({ DATABASE_URL: database.url, ARBITER_EVAL_WORKER: 'off' });
      token = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
      const small = await upload(csv(50));
      const large = await upload(csv(100));
      const create = async (data: string) => {
        const created = await call('POST', '/v1/evaluations', { data_sha256: data, spec: SPEC });
        expect(created.statusCode).toBe(202);
        return created.json().id as string;
      };
      const kept = await create(small);
      const cancelled = await create(small);
      const tooLarge = await create(large);
      // Another pipeline may read the job, but not stop it.
      const other = (await service.tokens.create({ role: 'ci', createdBy: 'test' })).token;
      const refusedCancel = await service.app.inject({
        method: 'POST',
        url: `/v1/evaluations/${kept}/cancel`,
        headers: { authorization: `Bearer ${other}` },
      });
      expect(refusedCancel.json()).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
      const cancel = await call('POST', `/v1/evaluations/${cancelled}/cancel`);
      expect(cancel.statusCode).toBe(202);
      expect((await call('GET', `/v1/evaluations/${cancelled}`)).json().status).toBe('cancelled');
      expect((await call('GET', `/v1/evaluations/${kept}`)).json().status).toBe('queued');
      const dataDir = service.dataDir;
      await service.stop();
      // What a killed process would leave in its scratch folder: a copy of someone's upload. (No process has
      // a pid above Linux's largest, 2^22.)
      const scratch = path.join(dataDir, 'scratch');
      const dead = path.join(scratch, `${os.hostname()}-${2 ** 22 + 1}-0badf00d`);
      await mkdir(dead);
      await writeFile(path.join(dead, 'upload-0123456789abcdef'), 'sex,label\n');
      // Another machine's: kept while recent, removed once untouched for longer than anything runs.
      const recent = path.join(scratch, 'elsewhere-42-0badf00d');
      const old = path.join(scratch, 'elsewhere-43-0badf00d');
      for (const folder of [recent, old]) await mkdir(folder);
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
      await utimes(old, twoDaysAgo, twoDaysAgo);
      // A live process's (another arbiter on this data folder: this one) is left alone, however long quiet.
      const live = path.join(scratch, `${os.hostname()}-${process.pid}-0badf00d`);
      await mkdir(live);
      await utimes(live, twoDaysAgo, twoDaysAgo);

      // The next process runs them, with a bound of 150 rows.
      service = await startTestService({
        DATABASE_URL: database.url,
        ARBITER_DATA_DIR: dataDir,
        ARBITER_EVAL_MAX_ROWS: '150',
      });
      expect([dead, recent, old, live].map((folder) => existsSync(folder))).toEqual([
        false,
        true,
        false,
        true,
      ]);
      const done = await waitFor(kept);
      expect(done).toMatchObject({ status: 'succeeded', error: null, progress: { rows: 100 } });
      expect(done.evidence.fairness.sex.groups.Female.count).toBe(50);
      const refused = await waitFor(tooLarge);
      expect(refused.status).toBe('failed');
      expect(refused.error.code).toBe('EVAL_LIMIT_ROWS');
      expect(refused.error.message).toContain('150');
      expect((await call('GET', `/v1/evaluations/${cancelled}`)).json()).toMatchObject({
        status: 'cancelled',
        evidence: null,
      });
      // One that has ended has nothing to cancel, and stays as it ended.
      for (const ended of [kept, cancelled]) {
        const again = await call('POST', `/v1/evaluations/${ended}/cancel`);
        expect(again.statusCode).toBe(409);
        expect(again.json()).toMatchObject({
          code: 'CONFLICT',
          message: expect.stringContaining(`${ended} is `),
        });
      }
      expect((await call('GET', `/v1/evaluations/${kept}`)).json().status).toBe('succeeded');
    },
  );

  it(
    'takes up at once an evaluation whose process died, and cancels one at once',
    { timeout: 60_000 },
    async () => {
      await restart({ ARBITER_EVAL_WORKER: 'off' });
      const data = await upload(csv(50));
      const create = async () =>
        (await call('POST', '/v1/evaluations', { data_sha256: data, spec: SPEC })).json().id as string;
      const orphaned = await create();
      const abandoned = await create();
      // As a process killed mid-run leaves them: running, silent for a minute, their jobs still active.
      const { db } = service!.database;
      await sql`update evaluation set status = 'running', heartbeat_at = now() - interval '1 minute'
        where id in (${orphaned}, ${abandoned})`.execute(db);
      await sql`update pgboss.job set state = 'active', started_on = now()
        where name = 'evaluate' and data->>'id' in (${orphaned}, ${abandoned})`.execute(db);
      // Nobody runs the abandoned one: cancelling it ends it now, not when its job expires.
      await call('POST', `/v1/evaluations/${abandoned}/cancel`);
      expect((await call('GET', `/v1/evaluations/${abandoned}`)).json().status).toBe('cancelled');
      await restart();
      expect(await waitFor(orphaned)).toMatchObject({ status: 'succeeded', progress: { rows: 100 } });
    },
  );

  it(
    'abandons an evaluation whose every run ended with its process gone, after MAX_EVALUATION_ATTEMPTS runs',
    { timeout: 60_000 },
    async () => {
      await restart({ ARBITER_EVAL_WORKER: 'off' });
      const data = await upload(csv(50));
      const create = async () =>
        (await call('POST', '/v1/evaluations', { data_sha256: data, spec: SPEC })).json().id as string;
      const lastTry = await create();
      const spent = await create();
      // As processes killed mid-run leave them: running and silent, after two runs and after three.
      const db = () => service!.database.db;
      const orphan = async (id: string, attempts: number) => {
        await sql`update evaluation set status = 'running', heartbeat_at = now() - interval '1 minute',
          attempts = ${attempts} where id = ${id}`.execute(db());
        await sql`update pgboss.job set state = 'active', started_on = now()
          where name = 'evaluate' and data->>'id' = ${id}`.execute(db());
      };
      await orphan(lastTry, MAX_EVALUATION_ATTEMPTS - 1);
      await orphan(spent, MAX_EVALUATION_ATTEMPTS);
      await restart();
      // The one with a run left is run once more, and that run is counted.
      expect(await waitFor(lastTry)).toMatchObject({ status: 'succeeded', progress: { rows: 100 } });
      // The other is not run again: it fails, saying why, instead of taking down every process that starts.
      expect((await call('GET', `/v1/evaluations/${spent}`)).json()).toMatchObject({
        status: 'failed',
        evidence: null,
        finished_at: expect.any(String),
        error: {
          code: 'EVAL_ABANDONED',
          message: expect.stringMatching(
            new RegExp(`^abandoned after ${MAX_EVALUATION_ATTEMPTS} attempts, each ending with the process`),
          ),
        },
      });
      expect([await attemptsOf(lastTry), await attemptsOf(spent)]).toEqual([
        MAX_EVALUATION_ATTEMPTS,
        MAX_EVALUATION_ATTEMPTS,
      ]);
    },
  );

  it(
    'hands a running evaluation back at a shutdown without counting the run as an attempt',
    { timeout: 120_000 },
    async () => {
      // 60 groups: each of 100,000 resamples keeps 182 rates (under the 20,000,000 kept in all), which takes the
      // metrics a few seconds: running still at the first stop. A restarted service may take it up and finish
      // it while its policies start, before it answers, so later stops are made only while it still runs.
      const lines = ['team,label,y_pred'];
      for (let i = 0; i < 6_000; i++) lines.push(`t${i % 60},${i % 2},${i % 3 === 0 ? 1 : 0}`);
      const data = await upload(Buffer.from(lines.join('\n') + '\n'));
      const spec = { ...SPEC, sensitive: ['team'], bootstrap: { resamples: 100_000, seed: 1 } };
      const id = (await call('POST', '/v1/evaluations', { data_sha256: data, spec })).json().id as string;
      const statusOf = async () => (await call('GET', `/v1/evaluations/${id}`)).json().status as string;
      const takenUp = async () => {
        for (let i = 0; i < 300; i++) {
          if ((await statusOf()) !== 'queued') return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(
          `evaluation ${id} was not taken up again: ${(await call('GET', `/v1/evaluations/${id}`)).body}`,
        );
      };
      for (let i = 0; i < 300; i++) {
        const e = (await call('GET', `/v1/evaluations/${id}`)).json();
        if (e.status === 'running' && e.progress.phase === 'metrics') break;
        if (i === 299) throw new Error(`evaluation ${id} did not reach its metrics: ${JSON.stringify(e)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await attemptsOf(id)).toBe(1);
      let stops = 0;
      while (stops < MAX_EVALUATION_ATTEMPTS && (await statusOf()) === 'running') {
        await restart();
        stops++;
        await takenUp();
      }
      expect(stops).toBeGreaterThan(0);
      // Taken up again after every stop, and still on its first counted run: a counted hand-back would make it 2.
      expect(await attemptsOf(id)).toBe(1);
      if ((await statusOf()) === 'running') {
        expect((await call('POST', `/v1/evaluations/${id}/cancel`)).statusCode).toBe(202);
        expect(await waitFor(id)).toMatchObject({ status: 'cancelled' });
      } else expect(await waitFor(id)).toMatchObject({ status: 'succeeded' });
    },
  );

  it(
    'computes in a thread of its own: the service answers meanwhile, and a cancel stops it at once',
    { timeout: 120_000 },
    async () => {
      const data = await upload(csv(2_000));
      // Enough resamples to run for a while, all of it in one metric loop.
      const spec = { ...SPEC, bootstrap: { resamples: 100_000, seed: 1 } };
      const id = (await call('POST', '/v1/evaluations', { data_sha256: data, spec })).json().id as string;
      for (let i = 0; i < 300; i++) {
        const e = (await call('GET', `/v1/evaluations/${id}`)).json();
        if (e.progress.phase === 'metrics') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await service!.app.inject('/healthz')).statusCode).toBe(200);
      expect((await call('POST', `/v1/evaluations/${id}/cancel`)).statusCode).toBe(202);
      expect(await waitFor(id)).toMatchObject({ status: 'cancelled', error: { code: 'EVAL_ABORTED' } });
    },
  );

  it(
    'queues under the longest time limit allowed, and fails a job whose work folder cannot be made',
    { timeout: 60_000 },
    async () => {
      // 24 hours: the job's expiry, a minute past the limit, would be past what pg-boss takes.
      const dataDir = await restart({ ARBITER_EVAL_TIMEOUT_MS: '86400000' });
      const data = await upload(csv(50));
      const scratch = (await readdir(path.join(dataDir, 'scratch'))).map((d) =>
        path.join(dataDir, 'scratch', d),
      );
      for (const folder of scratch) await rm(folder, { recursive: true, force: true });
      const created = await call('POST', '/v1/evaluations', { data_sha256: data, spec: SPEC });
      expect(created.statusCode).toBe(202);
      // Left beating, the heartbeat would keep it running for ever, and a cancel would never land.
      expect(await waitFor(created.json().id)).toMatchObject({
        status: 'failed',
        error: { code: 'INTERNAL' },
      });
      for (const folder of scratch) await mkdir(folder, { recursive: true });
    },
  );
});
