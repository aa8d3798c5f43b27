import { Cron } from 'croner';
import { ReportError } from './errors.ts';

/** How long a template's reporting period is: a calendar quarter, or a calendar year (NYC LL144's annual audit). */
export type PeriodLength = 'quarter' | 'year';

/**
 * A calendar quarter (`2026-Q3`) or year (`2026`) in a region's timezone: `start` inclusive, `end` exclusive,
 * both as instants.
 */
export interface Period {
  readonly id: string;
  readonly length: PeriodLength;
  readonly year: number;
  /** Null for a year. */
  readonly quarter: 1 | 2 | 3 | 4 | null;
  readonly start: Date;
  readonly end: Date;
}

const FORMS: Readonly<Record<PeriodLength, { pattern: RegExp; form: string; example: string }>> = {
  quarter: { pattern: /^(\d{4})-Q([1-4])$/, form: 'a quarter, YYYY-Qn', example: '2026-Q3' },
  year: { pattern: /^(\d{4})$/, form: 'a calendar year, YYYY', example: '2026' },
};

/**
 * `2026-Q3` (a quarter) or `2026` (a year) → its first and its end instant on the wall clock of `timezone`.
 * @throws ReportError `REPORT_PERIOD_INVALID`, naming the field `period`, for an id not of the form `length`
 *   asks, or a timezone the period cannot be counted in.
 */
export function parsePeriod(id: string, timezone: string, length: PeriodLength = 'quarter'): Period {
  const { pattern, form, example } = FORMS[length];
  const m = pattern.exec(id);
  if (!m) {
    throw new ReportError(
      'REPORT_PERIOD_INVALID',
      `period ${JSON.stringify(id)} is not ${form} (e.g. ${example})`,
      { field: 'period' },
    );
  }
  const year = Number(m[1]);
  // Nothing Arbiter records predates the Unix epoch; and Date.UTC reads years below 100 as 19xx.
  if (year < 1970)
    throw new ReportError('REPORT_PERIOD_INVALID', `period ${id}: the year must be 1970 or later`, {
      field: 'period',
    });
  if (length === 'year') {
    return {
      id,
      length,
      year,
      quarter: null,
      start: monthStart(year, 1, timezone),
      end: monthStart(year + 1, 1, timezone),
    };
  }
  const quarter = Number(m[2]) as 1 | 2 | 3 | 4;
  const firstMonth = (quarter - 1) * 3 + 1;
  return {
    id,
    length,
    year,
    quarter,
    start: monthStart(year, firstMonth, timezone),
    end: quarter === 4 ? monthStart(year + 1, 1, timezone) : monthStart(year, firstMonth + 3, timezone),
  };
}

/** The quarter (or year) that contains `instant`, as seen on a wall clock in `timezone`. */
export function periodContaining(instant: Date, timezone: string, length: PeriodLength = 'quarter'): Period {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      year: 'numeric',
      month: 'numeric',
    }).formatToParts(instant);
  } catch (err) {
    throw new ReportError('REPORT_PERIOD_INVALID', `cannot compute periods in timezone ${timezone}`, {
      cause: err,
    });
  }
  const year = Number(parts.find((p) => p.type === 'year')?.value);
  const month = Number(parts.find((p) => p.type === 'month')?.value);
  const id = length === 'year' ? `${year}` : `${year}-Q${Math.ceil(month / 3)}`;
  return parsePeriod(id, timezone, length);
}

/** The period of the same length just before `period`. */
export function previousPeriod(period: Period, timezone: string): Period {
  if (period.quarter === null) return parsePeriod(`${period.year - 1}`, timezone, 'year');
  return period.quarter === 1
    ? parsePeriod(`${period.year - 1}-Q4`, timezone, 'quarter')
    : parsePeriod(`${period.year}-Q${period.quarter - 1}`, timezone, 'quarter');
}

// Midnight on the first day of `month`, on the region's wall clock. croner does the zone arithmetic (DST
// included): the first firing of "00:00 on day 1 of that month" after a moment safely before it.
function monthStart(year: number, month: number, timezone: string): Date {
  const before = new Date(Date.UTC(year, month - 1, 1) - 2 * 86_400_000);
  let next: Date | null;
  try {
    next = new Cron(`0 0 0 1 ${month} *`, { timezone }).nextRun(before);
  } catch (err) {
    throw new ReportError('REPORT_PERIOD_INVALID', `cannot compute periods in timezone ${timezone}`, {
      cause: err,
    });
  }
  if (!next) throw new ReportError('REPORT_PERIOD_INVALID', `no start of ${year}-${month} in ${timezone}`);
  return next;
}
