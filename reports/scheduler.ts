import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { sql, type Kysely } from 'kysely';
import { periodContaining, previousPeriod, type PeriodLength } from './period.ts';
import type { ReportTables } from './tables.ts';
import { periodLengthOf } from './templates.ts';

/** The part of a region's config the scheduler reads. */
export interface SchedulerRegion {
  readonly id: string;
  readonly timezone: string;
  readonly reports?: readonly { readonly template: string; readonly schedule: string }[];
}

/**
 * One report to produce: the period is the one before the one the schedule fired in, of the template's length
 * (the quarter, or the year, just ended).
 */
export interface ReportRun {
  readonly region: string;
  readonly template: string;
  readonly period: string;
  readonly scheduled_for: Date;
  /** 1 on the first try. */
  readonly attempt: number;
}

export interface ReportSchedulerOptions {
  readonly db: Kysely<ReportTables>;
  readonly regions: readonly SchedulerRegion[];
  /** Produces and stores the report (render, hash, append `report.generated`). Throw to have it retried. */
  readonly generate: (run: ReportRun) => Promise<void>;
  readonly clock?: () => Date;
  /** Names this process in `claimed_by`; random by default. */
  readonly workerId?: string;
  readonly retry?: {
    readonly maxAttempts?: number;
    readonly baseDelayMs?: number;
    readonly maxDelayMs?: number;
  };
  /** How long a claim holds before another process may take the run over (default 15 min). */
  readonly leaseMs?: number;
  /** How often `start()` ticks (default 60 s). */
  readonly pollIntervalMs?: number;
  /** Told of each failed attempt (with its run) and each failed tick of `start()` (without). */
  readonly onError?: (error: unknown, run?: ReportRun) => void;
}

export interface TickResult {
  readonly generated: readonly ReportRun[];
  readonly failed: readonly {
    readonly run: ReportRun;
    readonly error: string;
    readonly retry_at: Date | null;
  }[];
}

export interface ReportScheduler {
  /** Records every run that is due by the clock, then claims and generates due runs until none is left. */
  tick(): Promise<TickResult>;
  /** The (region, template, period) runs the schedules make due now, missed ones included. */
  dueRuns(): Promise<Omit<ReportRun, 'attempt'>[]>;
  /** Ticks every `pollIntervalMs` until `stop()`. */
  start(): void;
  stop(): Promise<void>;
}

// The periods one tick catches up after a long outage; the next tick goes on from the last one recorded.
const MAX_CATCH_UP = 64;

// nextRun excludes its reference instant; a firing at exactly `instant` (midnight as a period begins) counts.
const firstFiringFrom = (cron: Cron, instant: Date) => cron.nextRun(new Date(instant.getTime() - 1));

/**
 * Runs each region's report schedules exactly once per (region, template, period), across any number of
 * processes sharing the database: a run is a row keyed by (region, template, period), inserted by whoever sees
 * it due first and claimed by one process at a time (`FOR UPDATE SKIP LOCKED`). Periods missed while no
 * process ran are caught up from the last recorded run; a first start produces only the latest period.
 * Failed runs are retried with exponential backoff.
 */
export function createReportScheduler(options: ReportSchedulerOptions): ReportScheduler {
  const { db, generate } = options;
  const clock = options.clock ?? (() => new Date());
  const workerId = options.workerId ?? `reports-${randomUUID()}`;
  const maxAttempts = options.retry?.maxAttempts ?? 5;
  const baseDelayMs = options.retry?.baseDelayMs ?? 60_000;
  const maxDelayMs = options.retry?.maxDelayMs ?? 3_600_000;
  const leaseMs = options.leaseMs ?? 15 * 60_000;
  const schedules = options.regions.flatMap((region) =>
    (region.reports ?? []).map((r) => {
      let cron: Cron;
      try {
        cron = new Cron(r.schedule, { timezone: region.timezone });
      } catch (err) {
        throw new TypeError(
          `region ${region.id}: bad schedule ${JSON.stringify(r.schedule)} for ${r.template}`,
          {
            cause: err,
          },
        );
      }
      let periodLength: PeriodLength;
      try {
        periodLength = periodLengthOf(r.template);
      } catch (err) {
        throw new TypeError(`region ${region.id}: schedule for an unknown template ${r.template}`, {
          cause: err,
        });
      }
      return { region, template: r.template, cron, periodLength };
    }),
  );

  async function dueRuns(): Promise<Omit<ReportRun, 'attempt'>[]> {
    const now = clock();
    const runs: Omit<ReportRun, 'attempt'>[] = [];
    for (const s of schedules) {
      const last = await db
        .selectFrom('report_run')
        .select((eb) => eb.fn.max('scheduled_for').as('last'))
        .where('region', '=', s.region.id)
        .where('template', '=', s.template)
        .executeTakeFirst();
      const fires: Date[] = [];
      if (last?.last) {
        // Every firing within one period reports on the same period, the one before: only the first firing of
        // each period is enumerated, so a schedule that fires daily steps a quarter at a time, and the rest of
        // the last run's own period (already recorded) is skipped.
        const periodEnd = (t: Date) => periodContaining(t, s.region.timezone, s.periodLength).end;
        let t = firstFiringFrom(s.cron, periodEnd(new Date(last.last)));
        while (t && t <= now && fires.length < MAX_CATCH_UP) {
          fires.push(t);
          t = firstFiringFrom(s.cron, periodEnd(t));
        }
      } else {
        // previousRuns excludes its reference instant; a firing at exactly `now` is due.
        fires.push(...s.cron.previousRuns(1, new Date(now.getTime() + 1)));
      }
      for (const t of fires) {
        const period = previousPeriod(
          periodContaining(t, s.region.timezone, s.periodLength),
          s.region.timezone,
        );
        runs.push({ region: s.region.id, template: s.template, period: period.id, scheduled_for: t });
      }
    }
    return runs;
  }

  async function record(runs: readonly Omit<ReportRun, 'attempt'>[]): Promise<void> {
    if (runs.length === 0) return;
    await db
      .insertInto('report_run')
      .values(runs.map((r) => ({ ...r, status: 'pending' as const, attempts: 0 })))
      .onConflict((oc) => oc.columns(['region', 'template', 'period']).doNothing())
      .execute();
  }

  async function claim(now: Date): Promise<ReportRun | undefined> {
    const keys = schedules.map((s) => sql`(${s.region.id}, ${s.template})`);
    if (keys.length === 0) return undefined;
    const claimable = sql`(status = 'pending' or (status = 'failed' and next_attempt_at <= ${now})
      or (status = 'running' and lease_until < ${now}))`;
    // The status test is repeated outside the subquery: a row another process just claimed fails it.
    const result = await sql<{
      region: string;
      template: string;
      period: string;
      scheduled_for: Date;
      attempts: number;
    }>`
      update report_run set status = 'running', claimed_by = ${workerId}, attempts = attempts + 1,
        lease_until = ${new Date(now.getTime() + leaseMs)}, next_attempt_at = null
      where (region, template, period) = (
        select region, template, period from report_run
        where (region, template) in (${sql.join(keys)}) and ${claimable}
        order by scheduled_for, region, template
        limit 1 for update skip locked)
      and ${claimable}
      returning region, template, period, scheduled_for, attempts`.execute(db);
    const row = result.rows[0];
    if (!row) return undefined;
    return {
      region: row.region,
      template: row.template,
      period: row.period,
      scheduled_for: new Date(row.scheduled_for),
      attempt: row.attempts,
    };
  }

  async function tick(): Promise<TickResult> {
    await record(await dueRuns());
    const generated: ReportRun[] = [];
    const failed: { run: ReportRun; error: string; retry_at: Date | null }[] = [];
    for (;;) {
      const run = await claim(clock());
      if (!run) break;
      try {
        await generate(run);
        await db
          .updateTable('report_run')
          .set({ status: 'done', finished_at: clock(), lease_until: null, last_error: null })
          .where('region', '=', run.region)
          .where('template', '=', run.template)
          .where('period', '=', run.period)
          .where('claimed_by', '=', workerId)
          .execute();
        generated.push(run);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const retry_at =
          run.attempt >= maxAttempts
            ? null
            : new Date(clock().getTime() + Math.min(maxDelayMs, baseDelayMs * 2 ** (run.attempt - 1)));
        await db
          .updateTable('report_run')
          .set({
            status: 'failed',
            next_attempt_at: retry_at,
            lease_until: null,
            last_error: message.slice(0, 2000),
          })
          .where('region', '=', run.region)
          .where('template', '=', run.template)
          .where('period', '=', run.period)
          .where('claimed_by', '=', workerId)
          .execute();
        failed.push({ run, error: message, retry_at });
        options.onError?.(err, run);
      }
    }
    return { generated, failed };
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  return {
    tick,
    dueRuns,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        // A slow tick is never overlapped by the next one in the same process.
        running ??= tick()
          .catch((err: unknown) => options.onError?.(err))
          .finally(() => {
            running = undefined;
          });
      }, options.pollIntervalMs ?? 60_000);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
