import { describe, expect, it } from 'vitest';
import { parseExpiry } from '../../../../server/cli/token.ts';
import { CliFailure } from '../../../../server/cli/output.ts';

const NOW = new Date('2026-11-23T12:00:00Z');

/** The usage error parseExpiry throws for `value`. */
function refusal(value: string): CliFailure {
  try {
    parseExpiry(value, NOW);
  } catch (err) {
    return err as CliFailure;
  }
  throw new Error(`${value} was taken`);
}

describe('parseExpiry (--expires)', () => {
  it('takes 30d, 12h, 90m from now and RFC 3339 date-times with their offset', () => {
    const cases: [string, string][] = [
      ['30d', '2026-12-23T12:00:00.000Z'],
      ['12h', '2026-11-24T00:00:00.000Z'],
      ['90m', '2026-11-23T13:30:00.000Z'],
      ['2027-01-31T00:00:00Z', '2027-01-31T00:00:00.000Z'],
      ['2027-01-31T00:00:00+05:30', '2027-01-30T18:30:00.000Z'],
      ['2027-01-31T00:00:00-08:00', '2027-01-31T08:00:00.000Z'],
      ['2027-01-31t00:00:00.1239z', '2027-01-31T00:00:00.123Z'],
      ['2028-02-29T23:59:59Z', '2028-02-29T23:59:59.000Z'],
    ];
    for (const [value, expected] of cases)
      expect(parseExpiry(value, NOW).toISOString(), value).toBe(expected);
  });

  it('refuses, as a usage error naming --expires, what new Date() read in the local zone, rolled over or guessed', () => {
    for (const value of [
      '2027-01-31T00:00:00', // no offset: local time
      '2027-01-31T00:00', // no seconds, no offset
      '2027-01-31', // a bare date: not documented
      '2027-01-31 00:00:00Z',
      'Jan 31 2027',
      'tomorrow 5pm',
      '-1d',
      '1w',
    ]) {
      const err = refusal(value);
      expect(err, value).toBeInstanceOf(CliFailure);
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(
        `--expires ${value}: use 30d, 12h, 90m, or an RFC 3339 date-time with its offset (2027-01-31T00:00:00Z)`,
      );
    }
    for (const value of [
      '2027-02-30T00:00:00Z', // was March 2
      '2027-02-29T00:00:00Z',
      '2027-13-01T00:00:00Z',
      '2027-01-31T24:00:00Z',
      '2027-01-31T23:60:00Z',
      '2027-12-31T23:59:60Z', // a leap second: Date has none
      '2027-01-31T00:00:00+24:00',
    ]) {
      const err = refusal(value);
      expect(err, value).toBeInstanceOf(CliFailure);
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(`--expires ${value}: no such date and time`);
    }
    expect(refusal('99999999999d').message).toBe('--expires 99999999999d: too far ahead');
  });
});
