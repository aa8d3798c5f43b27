import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../../server/auth/errors.ts';
import { AuthFailureLimiter } from '../../../../server/auth/failure-limit.ts';

/** An authentication that settles when the test says: how a burst is in flight at once. */
function pending() {
  let settle!: (refusal?: AuthError) => void;
  const done = new Promise<string>((resolve, reject) => {
    settle = (refusal) => (refusal ? reject(refusal) : resolve('identity'));
  });
  // A check the limiter refused to start is never awaited: its refusal is not an unhandled one.
  done.catch(() => undefined);
  return { done, settle };
}
const refused = () => new AuthError('UNAUTHENTICATED', 'invalid token');

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

  it('refuses a burst of distinct credentials past the limit before checking them', async () => {
    const { l } = limiter(3);
    const checks = Array.from({ length: 8 }, pending);
    let checked = 0;
    const attempts = checks.map((check, i) =>
      l.attempt('a', `guess-${i}`, () => {
        checked++;
        return check.done;
      }),
    );
    const outcomes = Promise.allSettled(attempts);
    for (const check of checks) check.settle(refused());
    const results = await outcomes;
    expect(checked).toBe(3);
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as AuthError).code : r.status));
    expect(codes).toEqual([...Array(3).fill('UNAUTHENTICATED'), ...Array(5).fill('TOO_MANY_AUTH_FAILURES')]);
    expect(l.blockedFor('a')).toBe(60);
    await expect(l.attempt('b', 'a-token', async () => 'identity')).resolves.toBe('identity');
  });

  it('counts one credential on many requests at once as one, and lets them through', async () => {
    const { l } = limiter(2);
    const check = pending();
    const attempts = Array.from({ length: 20 }, () => l.attempt('a', 'the-token', () => check.done));
    check.settle();
    expect(await Promise.all(attempts)).toEqual(Array(20).fill('identity'));
    expect(l.blockedFor('a')).toBe(0);
  });

  it('asks a client blocked only by credentials still being checked to retry in a second', async () => {
    const { l } = limiter(2);
    const check = pending();
    const first = l.attempt('a', 'one', () => check.done);
    const second = l.attempt('a', 'two', () => check.done);
    await expect(l.attempt('a', 'three', async () => 'identity')).rejects.toMatchObject({
      code: 'TOO_MANY_AUTH_FAILURES',
      retryAfterSeconds: 1,
    });
    check.settle();
    await Promise.all([first, second]);
    await expect(l.attempt('a', 'three', async () => 'identity')).resolves.toBe('identity');
  });

  it('counts refusals of the credential only, not a wrong role or an unreachable issuer', async () => {
    const { l } = limiter(1);
    for (const code of ['FORBIDDEN', 'IDENTITY_PROVIDER_UNAVAILABLE'] as const)
      await expect(
        l.attempt('a', code, () => Promise.reject(new AuthError(code, code))),
      ).rejects.toMatchObject({ code });
    expect(l.blockedFor('a')).toBe(0);
    await expect(l.attempt('a', 'guess', () => Promise.reject(refused()))).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    expect(l.blockedFor('a')).toBe(60);
  });
});
