import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createReportScheduler,
  periodLengthOf,
  type ReportRun,
  type ReportTables,
  type SchedulerRegion,
} from '../../../reports/index.ts';
import { openDatabase, type DatabaseHandle } from '../../../server/db/database.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';

let tdb: TestDatabase;
let db: Kysely<ReportTables>;

beforeAll(async () => {
  tdb = await openTestDatabase();
  db = tdb.db as unknown as Kysely<ReportTables>;
});
afterAll(async () => {
  await tdb?.close();
});

/** A clock the test moves by hand. */
function manualClock(iso: string) {
  let now = new Date(iso);
  return {
    now: () => new Date(now),
    set: (to: string) => {
      now = new Date(to);
    },
  };
}

const QUARTERLY = '0 6 1 1,4,7,10 *';
// Each test uses its own region ids, so that the tests of this file share one database without meeting.
const region = (id: string, timezone: string, templates: readonly string[]): SchedulerRegion => ({
  id,
  timezone,
  reports: templates.map((template) => ({ template, schedule: QUARTERLY })),
});
const key = (r: Pick<ReportRun, 'region' | 'template' | 'period'>) => `${r.region}|${r.template}|${r.period}`;

async function seedDone(regionId: string, template: string, period: string, scheduledFor: string) {
  await db
    .insertInto('report_run')
    .values({
      region: regionId,
      template,
      period,
      scheduled_for: new Date(scheduledFor),
      status: 'done',
      attempts: 1,
    })
    .execute();
}

describe('report scheduler', () => {
  it('two schedulers on one database generate each (region, template, period) exactly once', async () => {
    // A second connection pool, as a second server process would have (PGlite is one process's database).
    let second: DatabaseHandle | undefined;
    if (tdb.url) second = await openDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir, poolSize: 5 });
    const dbB = (second?.db ?? tdb.db) as unknown as Kysely<ReportTables>;
    try {
      const regions = [
        region('x-eu', 'Europe/Brussels', ['eu/ai-act-pmm-quarterly', 'governance-quarterly']),
        region('x-nyc', 'America/New_York', ['us-nyc/ll144-bias-audit']),
      ];
      // The last recorded runs are 2025-Q3's (for the annual LL144 audit, 2024's, fired on the same day); by
      // 2026-10-02 four quarters are due for each quarterly template, and the year 2025 for the annual one.
      for (const r of regions)
        for (const rep of r.reports!)
          await seedDone(
            r.id,
            rep.template,
            periodLengthOf(rep.template) === 'year' ? '2024' : '2025-Q3',
            '2025-10-01T12:00:00Z',
          );
      const clock = manualClock('2026-10-02T00:00:00Z');
      const calls: string[] = [];
      const generate = (worker: string) => async (run: ReportRun) => {
        calls.push(`${worker}:${key(run)}`);
        await sleep(20); // long enough for the other scheduler to try the same rows
      };
      const a = createReportScheduler({
        db,
        regions,
        generate: generate('a'),
        clock: clock.now,
        workerId: 'a',
      });
      const b = createReportScheduler({
        db: dbB,
        regions,
        generate: generate('b'),
        clock: clock.now,
        workerId: 'b',
      });
      const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
      const keys = calls.map((c) => c.slice(2)).sort();
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys).toHaveLength(9);
      expect(ra.generated.length + rb.generated.length).toBe(9);
      expect(keys.filter((k) => k.startsWith('x-nyc|'))).toEqual(['x-nyc|us-nyc/ll144-bias-audit|2025']);
      // Ticking again, from either instance, finds nothing left to do.
      const again = await Promise.all([a.tick(), b.tick()]);
      expect(again.flatMap((r) => r.generated)).toEqual([]);
      const rows = await db
        .selectFrom('report_run')
        .selectAll()
        .where('region', 'in', ['x-eu', 'x-nyc'])
        .execute();
      expect(rows.filter((r) => r.status === 'done')).toHaveLength(12);
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
    } finally {
      await second?.close();
    }
  });

  it('catches up on quarters missed while no scheduler ran, in order, and only those', async () => {
    const regions = [region('c-nyc', 'America/New_York', ['us/adverse-impact-quarterly'])];
    await seedDone('c-nyc', 'us/adverse-impact-quarterly', '2026-Q1', '2026-04-01T10:00:00Z');
    const clock = manualClock('2026-06-30T12:00:00Z');
    const done: string[] = [];
    const s = createReportScheduler({
      db,
      regions,
      clock: clock.now,
      generate: async (run) => void done.push(run.period),
    });
    expect(await s.tick()).toEqual({ generated: [], failed: [] });
    // The service is down from June to October: Q2 (due 1 July) and Q3 (due 1 October) are both missed.
    clock.set('2026-10-20T00:00:00Z');
    expect((await s.dueRuns()).map((r) => r.period)).toEqual(['2026-Q2', '2026-Q3']);
    const result = await s.tick();
    expect(done).toEqual(['2026-Q2', '2026-Q3']);
    expect(result.generated.map((r) => r.scheduled_for.toISOString())).toEqual([
      '2026-07-01T10:00:00.000Z', // 06:00 in New York (EDT)
      '2026-10-01T10:00:00.000Z',
    ]);
    // 1 January 06:00 EST is 11:00 UTC: not due at 10:59, due at 11:00.
    clock.set('2027-01-01T10:59:00Z');
    expect((await s.tick()).generated).toEqual([]);
    clock.set('2027-01-01T11:00:00Z');
    expect((await s.tick()).generated.map((r) => r.period)).toEqual(['2026-Q4']);
  });

  it('a schedule that fires daily reports each quarter once, at its first firing after the quarter ends', async () => {
    const daily: SchedulerRegion = {
      id: 'd-eu',
      timezone: 'Europe/Brussels',
      reports: [{ template: 'eu/ai-act-pmm-quarterly', schedule: '0 6 * * *' }],
    };
    const clock = manualClock('2026-04-01T10:00:00Z');
    const done: [string, string][] = [];
    const s = createReportScheduler({
      db,
      regions: [daily],
      clock: clock.now,
      generate: async (run) => void done.push([run.period, run.scheduled_for.toISOString()]),
    });
    // Ticking every day for 400 days: a quarter's later firings report on a quarter already recorded.
    for (let day = 0; day < 400; day++) {
      clock.set(new Date(Date.parse('2026-04-01T10:00:00Z') + day * 86_400_000).toISOString());
      await s.tick();
    }
    expect(done).toEqual([
      ['2026-Q1', '2026-04-01T04:00:00.000Z'], // 06:00 in Brussels (CEST)
      ['2026-Q2', '2026-07-01T04:00:00.000Z'],
      ['2026-Q3', '2026-10-01T04:00:00.000Z'],
      ['2026-Q4', '2027-01-01T05:00:00.000Z'], // 06:00 CET
      ['2027-Q1', '2027-04-01T04:00:00.000Z'],
    ]);
    expect(await s.dueRuns()).toEqual([]);

    // Down from May 2027 to February 2029: each missed quarter is caught up once, oldest first, by this
    // process or by a fresh one.
    clock.set('2029-02-10T00:00:00Z');
    const restarted = createReportScheduler({
      db,
      regions: [daily],
      clock: clock.now,
      generate: async (run) => void done.push([run.period, run.scheduled_for.toISOString()]),
    });
    expect((await restarted.tick()).generated.map((r) => r.period)).toEqual([
      '2027-Q2',
      '2027-Q3',
      '2027-Q4',
      '2028-Q1',
      '2028-Q2',
      '2028-Q3',
      '2028-Q4',
    ]);
    expect((await s.tick()).generated).toEqual([]);
    const rows = await db
      .selectFrom('report_run')
      .select(['period', 'status', 'attempts'])
      .where('region', '=', 'd-eu')
      .execute();
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
  });

  it('renders an annual template once a year, for the year just ended on the region clock', async () => {
    const annual: SchedulerRegion = {
      id: 'y-nyc',
      timezone: 'America/New_York',
      reports: [{ template: 'us-nyc/ll144-bias-audit', schedule: '0 6 1 1 *' }],
    };
    const clock = manualClock('2026-06-15T00:00:00Z');
    const done: string[] = [];
    const s = createReportScheduler({
      db,
      regions: [annual],
      clock: clock.now,
      generate: async (run) => void done.push(run.period),
    });
    // A first start in mid-2026: the latest firing was 1 January 2026, for the year 2025.
    expect((await s.tick()).generated.map((r) => [r.period, r.scheduled_for.toISOString()])).toEqual([
      ['2025', '2026-01-01T11:00:00.000Z'],
    ]);
    // Nothing more in 2026, whatever the quarter; 1 January 2027 06:00 EST (11:00 UTC) brings 2026.
    clock.set('2026-12-31T23:00:00Z');
    expect((await s.tick()).generated).toEqual([]);
    clock.set('2027-01-01T10:59:00Z');
    expect((await s.tick()).generated).toEqual([]);
    clock.set('2027-01-01T11:00:00Z');
    expect((await s.tick()).generated.map((r) => r.period)).toEqual(['2026']);
    // Down for two years: each missed year is caught up once, oldest first.
    clock.set('2029-03-01T00:00:00Z');
    expect((await s.tick()).generated.map((r) => r.period)).toEqual(['2027', '2028']);
    expect(done).toEqual(['2025', '2026', '2027', '2028']);
  });

  it('a quarterly schedule of an annual template still renders each year once', async () => {
    const clock = manualClock('2026-10-02T00:00:00Z');
    const s = createReportScheduler({
      db,
      regions: [region('q-nyc', 'America/New_York', ['us-nyc/ll144-bias-audit'])],
      clock: clock.now,
      generate: async () => {},
    });
    expect((await s.tick()).generated.map((r) => r.period)).toEqual(['2025']);
    clock.set('2027-01-02T00:00:00Z');
    expect((await s.tick()).generated.map((r) => r.period)).toEqual(['2026']);
    clock.set('2027-07-02T00:00:00Z');
    expect((await s.tick()).generated).toEqual([]);
  });

  it('refuses a schedule for a template it does not know, naming the region', () => {
    expect(() =>
      createReportScheduler({
        db,
        regions: [region('u-eu', 'Europe/Brussels', ['eu/no-such-report'])],
        generate: async () => {},
      }),
    ).toThrow(/region u-eu: schedule for an unknown template eu\/no-such-report/);
  });

  it('a first start produces only the latest period, not the whole history', async () => {
    const clock = manualClock('2026-11-23T00:00:00Z');
    const s = createReportScheduler({
      db,
      regions: [region('f-sg', 'Asia/Singapore', ['sg/ai-verify-summary'])],
      clock: clock.now,
      generate: async () => {},
    });
    expect((await s.tick()).generated.map((r) => r.period)).toEqual(['2026-Q3']);
  });

  it('retries a failed run with exponential backoff, then gives up after maxAttempts', async () => {
    const clock = manualClock('2026-10-01T05:00:00Z');
    let failures = 1;
    const attempts: number[] = [];
    const errors: unknown[] = [];
    const s = createReportScheduler({
      db,
      regions: [region('r-uk', 'Europe/London', ['uk/atrs-record'])],
      clock: clock.now,
      retry: { maxAttempts: 3, baseDelayMs: 60_000 },
      onError: (err) => errors.push(err),
      generate: async (run) => {
        attempts.push(run.attempt);
        if (failures-- > 0) throw new Error('chromium crashed');
      },
    });
    const first = await s.tick();
    expect(first.failed).toEqual([
      expect.objectContaining({ error: 'chromium crashed', retry_at: new Date('2026-10-01T05:01:00Z') }),
    ]);
    expect(errors).toHaveLength(1);
    // Not before the backoff has passed…
    clock.set('2026-10-01T05:00:59Z');
    expect(await s.tick()).toEqual({ generated: [], failed: [] });
    // …then retried, and done.
    clock.set('2026-10-01T05:01:00Z');
    expect((await s.tick()).generated.map((r) => [r.period, r.attempt])).toEqual([['2026-Q3', 2]]);
    expect(attempts).toEqual([1, 2]);

    // A run that keeps failing waits 1, then 2 minutes, and stops after the third attempt.
    const clock2 = manualClock('2026-10-01T12:00:00Z');
    const s2 = createReportScheduler({
      db,
      regions: [region('r-ca', 'America/Toronto', ['ca/aia-summary'])],
      clock: clock2.now,
      retry: { maxAttempts: 3, baseDelayMs: 60_000 },
      generate: async () => {
        throw new Error('always');
      },
    });
    expect((await s2.tick()).failed[0]?.retry_at).toEqual(new Date('2026-10-01T12:01:00Z'));
    clock2.set('2026-10-01T12:01:00Z');
    expect((await s2.tick()).failed[0]?.retry_at).toEqual(new Date('2026-10-01T12:03:00Z'));
    clock2.set('2026-10-01T12:03:00Z');
    expect((await s2.tick()).failed[0]?.retry_at).toBeNull();
    clock2.set('2026-10-02T00:00:00Z');
    expect(await s2.tick()).toEqual({ generated: [], failed: [] });
    const row = await db
      .selectFrom('report_run')
      .selectAll()
      .where('region', '=', 'r-ca')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', attempts: 3, last_error: 'always', next_attempt_at: null });
  });

  it('takes over a run whose claim expired with its process', async () => {
    const clock = manualClock('2026-10-01T12:00:00Z');
    await db
      .insertInto('report_run')
      .values({
        region: 'l-eu',
        template: 'eu/ai-act-annex-iv',
        period: '2026-Q3',
        scheduled_for: new Date('2026-10-01T04:00:00Z'),
        status: 'running',
        attempts: 1,
        claimed_by: 'dead-process',
        lease_until: new Date('2026-10-01T11:00:00Z'),
      })
      .execute();
    const s = createReportScheduler({
      db,
      regions: [region('l-eu', 'Europe/Brussels', ['eu/ai-act-annex-iv'])],
      clock: clock.now,
      workerId: 'survivor',
      generate: async () => {},
    });
    expect((await s.tick()).generated.map((r) => [r.period, r.attempt])).toEqual([['2026-Q3', 2]]);
    const row = await db
      .selectFrom('report_run')
      .selectAll()
      .where('region', '=', 'l-eu')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'done', claimed_by: 'survivor' });
  });
});
