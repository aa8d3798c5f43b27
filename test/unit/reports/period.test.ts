import { describe, expect, it } from 'vitest';
import { ReportError, parsePeriod, periodContaining, previousPeriod } from '../../../reports/index.ts';

describe('parsePeriod', () => {
  it('counts a quarter on the region wall clock, DST included', () => {
    const q3 = parsePeriod('2026-Q3', 'Europe/Brussels');
    expect(q3.start.toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(q3.end.toISOString()).toBe('2026-09-30T22:00:00.000Z');
    const q4 = parsePeriod('2026-Q4', 'America/New_York');
    expect(q4.start.toISOString()).toBe('2026-10-01T04:00:00.000Z');
    // New Year is in standard time, five hours behind UTC.
    expect(q4.end.toISOString()).toBe('2027-01-01T05:00:00.000Z');
    expect(parsePeriod('2026-Q1', 'Asia/Singapore').start.toISOString()).toBe('2025-12-31T16:00:00.000Z');
  });

  it('throws ReportError (not RangeError) for a malformed period or an unknown timezone', () => {
    expect(() => parsePeriod('2026-Q5', 'UTC')).toThrow(ReportError);
    expect(() => parsePeriod('2026Q1', 'UTC')).toThrow(/YYYY-Qn/);
    expect(() => parsePeriod('2026-Q1', 'Mars/Olympus')).toThrow(ReportError);
    // Date.UTC would read year 0 as 1900, and the quarter before as year -1.
    expect(() => parsePeriod('0000-Q1', 'UTC')).toThrow(/1970 or later/);
  });

  it('finds the quarter an instant falls in, in the given timezone', () => {
    const instant = new Date('2026-09-30T23:30:00Z');
    expect(periodContaining(instant, 'Europe/Brussels').id).toBe('2026-Q4');
    expect(periodContaining(instant, 'America/New_York').id).toBe('2026-Q3');
  });
});

describe('a period of a year (an annual template)', () => {
  it('counts a calendar year on the region wall clock, and the year before it', () => {
    const y = parsePeriod('2026', 'America/New_York', 'year');
    expect(y).toMatchObject({ id: '2026', length: 'year', year: 2026, quarter: null });
    // 1 January is in standard time in New York: five hours behind UTC at both ends.
    expect(y.start.toISOString()).toBe('2026-01-01T05:00:00.000Z');
    expect(y.end.toISOString()).toBe('2027-01-01T05:00:00.000Z');
    expect(previousPeriod(y, 'America/New_York').id).toBe('2025');
    expect(previousPeriod(parsePeriod('2026-Q1', 'UTC'), 'UTC').id).toBe('2025-Q4');
  });

  it('finds the year an instant falls in, in the given timezone', () => {
    // New Year's Eve 23:30 in New York is already 1 January in UTC.
    const instant = new Date('2027-01-01T04:30:00Z');
    expect(periodContaining(instant, 'America/New_York', 'year').id).toBe('2026');
    expect(periodContaining(instant, 'UTC', 'year').id).toBe('2027');
  });

  it('refuses a quarter where a year is due, and a year where a quarter is, naming the field', () => {
    for (const [id, length] of [
      ['2026-Q3', 'year'],
      ['2026', 'quarter'],
    ] as const) {
      try {
        parsePeriod(id, 'UTC', length);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ReportError);
        expect(err).toMatchObject({ code: 'REPORT_PERIOD_INVALID', field: 'period' });
      }
    }
    expect(() => parsePeriod('2026-Q3', 'UTC', 'year')).toThrow(/not a calendar year, YYYY/);
  });
});
