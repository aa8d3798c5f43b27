import { Cron } from 'croner';
import { ReportError } from './errors.ts';

/** A calendar quarter in a region's timezone: `start` inclusive, `end` exclusive, both as instants. */
export interface Period {
  readonly id: string;
  readonly year: number;
  readonly quarter: 1 | 2 | 3 | 4;
  readonly start: Date;
  readonly end: Date;
}

const PERIOD_ID = /^(\d{4})-Q([1-4])$/;

/** `2026-Q3` → the instants 2026-07-01T00:00 and 2026-10-01T00:00 in `timezone`. */
export function parsePeriod(id: string, timezone: string): Period {
  const m = PERIOD_ID.exec(id);
  if (!m)
    throw new ReportError('REPORT_PERIOD_INVALID', `period ${JSON.stringify(id)} is not of the form YYYY-Qn`);
  const year = Number(m[1]);
  // Nothing Arbiter records predates the Unix epoch; and Date.UTC reads years below 100 as 19xx.
  if (year < 1970)
    throw new ReportError('REPORT_PERIOD_INVALID', `period ${id}: the year must be 1970 or later`);
  const quarter = Number(m[2]) as Period['quarter'];
  return {
    id,
    year,
    quarter,
    start: quarterStart(year, quarter, timezone),
    end:
      quarter === 4
        ? quarterStart(year + 1, 1, timezone)
        : quarterStart(year, (quarter + 1) as Period['quarter'], timezone),
  };
}

/** The quarter that contains `instant`, as seen on a wall clock in `timezone`. */
export function periodContaining(instant: Date, timezone: string): Period {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    year: 'numeric',
    month: 'numeric',
  }).formatToParts(instant);
  const year = Number(parts.find((p) => p.type === 'year')?.value);
  const month = Number(parts.find((p) => p.type === 'month')?.value);
  return parsePeriod(`${year}-Q${Math.ceil(month / 3)}`, timezone);
}

/** The quarter before `period`. */
export function previousPeriod(period: Period, timezone: string): Period {
  return period.quarter === 1
    ? parsePeriod(`${period.year - 1}-Q4`, timezone)
    : parsePeriod(`${period.year}-Q${period.quarter - 1}`, timezone);
}

// Midnight on the first day of the quarter, on the region's wall clock. croner does the zone arithmetic (DST
// included): the first firing of "00:00 on day 1 of that month" after a moment safely before it.
function quarterStart(year: number, quarter: Period['quarter'], timezone: string): Date {
  const month = (quarter - 1) * 3 + 1;
  const before = new Date(Date.UTC(year, month - 1, 1) - 2 * 86_400_000);
  let next: Date | null;
  try {
    next = new Cron(`0 0 0 1 ${month} *`, { timezone }).nextRun(before);
  } catch (err) {
    throw new ReportError('REPORT_PERIOD_INVALID', `cannot compute periods in timezone ${timezone}`, {
      cause: err,
    });
  }
  if (!next)
    throw new ReportError('REPORT_PERIOD_INVALID', `no quarter start for ${year}-Q${quarter} in ${timezone}`);
  return next;
}
