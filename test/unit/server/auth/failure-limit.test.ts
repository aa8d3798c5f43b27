import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../../../../server/auth/failure-limit.ts';

function limiter(maxFailures: number, windowMs = 60_000) {
  let now = Date.parse('2026-11-23T00:00:00Z');
  const l = new AuthFailureLimiter({ maxFailures, windowMs, maxClients: 3, clock: () => new Date(now) });
  return { l, advance: (ms: number) => (now += ms) };
}

describe('AuthFailureLimiter', () => {
  it('blocks a client at the limit until its oldest counted failure leaves the window', () => {
    const { l, advance } = limiter(3);
    l.recordFailure('10.0.0.1');
    advance(10_000);
    l.recordFailure('10.0.0.1');
    l.recordFailure('10.0.0.1');
    expect(l.blockedFor('10.0.0.1')).toBe(50);
    expect(l.blockedFor('10.0.0.2')).toBe(0);
    advance(50_000);
    expect(l.blockedFor('10.0.0.1')).toBe(0);
  });

  it('forgets failures older than the window', () => {
    const { l, advance } = limiter(2);
    l.recordFailure('a');
    advance(61_000);
    l.recordFailure('a');
    expect(l.blockedFor('a')).toBe(0);
  });

  it('tracks a bounded number of clients, forgetting the longest-tracked', () => {
    const { l } = limiter(1);
    for (const c of ['a', 'b', 'c', 'd']) l.recordFailure(c);
    expect(l.blockedFor('a')).toBe(0);
    expect(l.blockedFor('d')).toBe(60);
  });

  it('does nothing with a limit of 0, and refuses bad options', () => {
    const { l } = limiter(0);
    for (let i = 0; i < 100; i++) l.recordFailure('a');
    expect(l.blockedFor('a')).toBe(0);
    expect(() => new AuthFailureLimiter({ maxFailures: -1, windowMs: 1 })).toThrow(TypeError);
    expect(() => new AuthFailureLimiter({ maxFailures: 1, windowMs: 0 })).toThrow(TypeError);
  });
});
