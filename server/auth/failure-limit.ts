import { AuthError } from './errors.ts';

export interface FailureLimitOptions {
  /** Failed authentications a client may have within the window; 0 turns the limit off. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** Clients tracked at once; the longest-tracked is forgotten first (a bound against address sprays). */
  readonly maxClients?: number;
  readonly clock?: () => Date;
}

/**
 * Slows down credential guessing: a client (by IP address) whose requests failed authentication `maxFailures`
 * times within the sliding window gets 429 with Retry-After on every authenticated route it calls with
 * credentials, until its oldest failure leaves the window. Kept in process: each replica counts on its own.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  /** Per client, the distinct credentials being checked now, each with how many requests carry it. */
  private readonly checking = new Map<string, Map<string, number>>();
  private readonly maxClients: number;
  private readonly clock: () => Date;

  constructor(private readonly options: FailureLimitOptions) {
    if (!Number.isInteger(options.maxFailures) || options.maxFailures < 0)
      throw new TypeError('maxFailures must be an integer ≥ 0');
    if (!(options.windowMs > 0)) throw new TypeError('windowMs must be positive');
    this.maxClients = options.maxClients ?? 100_000;
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Seconds until the client may try again; 0 when it is not blocked. `checking` credentials still being
   * checked count as failures to come; a block that only they make lasts as long as they do, moments.
   */
  blockedFor(client: string, checking = 0): number {
    if (this.options.maxFailures === 0) return 0;
    const recent = this.recent(client);
    if (recent.length + checking < this.options.maxFailures) return 0;
    if (recent.length < this.options.maxFailures) return 1;
    const until = recent[recent.length - this.options.maxFailures]! + this.options.windowMs;
    return Math.max(1, Math.ceil((until - this.clock().getTime()) / 1000));
  }

  /**
   * Checks one credential of the client's with `authenticate`, counting a refusal (UNAUTHENTICATED) as a
   * failure. Counted only once refused, a burst of guesses sent at once would all be checked before the first
   * failure counted; so each distinct credential still being checked counts against the limit as well. The
   * same credential on several requests at once (a client's parallel calls) counts once.
   * Throws AuthError TOO_MANY_AUTH_FAILURES, without calling `authenticate`, when the client is blocked.
   */
  async attempt<T>(client: string, credential: string, authenticate: () => Promise<T>): Promise<T> {
    if (this.options.maxFailures === 0) return authenticate();
    const checking = this.checking.get(client) ?? new Map<string, number>();
    const seconds = this.blockedFor(client, checking.size - (checking.has(credential) ? 1 : 0));
    if (seconds > 0) {
      throw new AuthError(
        'TOO_MANY_AUTH_FAILURES',
        `too many failed authentications; retry in ${seconds} s`,
        `${client} reached ${this.options.maxFailures} failed or unsettled authentications`,
        seconds,
      );
    }
    checking.set(credential, (checking.get(credential) ?? 0) + 1);
    this.checking.set(client, checking);
    try {
      return await authenticate();
    } catch (err) {
      if (err instanceof AuthError && err.code === 'UNAUTHENTICATED') this.recordFailure(client);
      throw err;
    } finally {
      const carriers = checking.get(credential)! - 1;
      if (carriers > 0) checking.set(credential, carriers);
      else checking.delete(credential);
      if (checking.size === 0) this.checking.delete(client);
    }
  }

  recordFailure(client: string): void {
    if (this.options.maxFailures === 0) return;
    const recent = this.recent(client);
    recent.push(this.clock().getTime());
    // Only the newest maxFailures timestamps ever decide anything.
    if (recent.length > this.options.maxFailures) recent.splice(0, recent.length - this.options.maxFailures);
    this.failures.delete(client);
    this.failures.set(client, recent);
    if (this.failures.size > this.maxClients) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(client: string): number[] {
    const since = this.clock().getTime() - this.options.windowMs;
    const list = (this.failures.get(client) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(client);
    return list;
  }
}
