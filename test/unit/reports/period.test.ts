import { describe, expect, it } from 'vitest';
import { ReportError, parsePeriod, periodContaining } from '../../../reports/index.ts';

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
