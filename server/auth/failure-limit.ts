import type { FastifyInstance } from 'fastify';

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
 * times within the sliding window gets 429 with Retry-After on every request that carries credentials, until
 * its oldest failure leaves the window. Kept in process: each replica counts on its own.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly maxClients: number;
  private readonly clock: () => Date;

  constructor(private readonly options: FailureLimitOptions) {
    if (!Number.isInteger(options.maxFailures) || options.maxFailures < 0)
      throw new TypeError('maxFailures must be an integer ≥ 0');
    if (!(options.windowMs > 0)) throw new TypeError('windowMs must be positive');
    this.maxClients = options.maxClients ?? 100_000;
    this.clock = options.clock ?? (() => new Date());
  }

  /** Seconds until the client may try again; 0 when it is not blocked. */
  blockedFor(client: string): number {
    if (this.options.maxFailures === 0) return 0;
    const recent = this.recent(client);
    if (recent.length < this.options.maxFailures) return 0;
    const until = recent[recent.length - this.options.maxFailures]! + this.options.windowMs;
    return Math.max(1, Math.ceil((until - this.clock().getTime()) / 1000));
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

  /** Adds the hooks to the app. Call before routes are registered, so that every route gets them. */
  attach(app: FastifyInstance): void {
    if (this.options.maxFailures === 0) return;
    app.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization === undefined) return;
      const seconds = this.blockedFor(request.ip);
      if (seconds === 0) return;
      request.log.warn(
        {
          code: 'TOO_MANY_AUTH_FAILURES',
          reason: `${request.ip} failed authentication ${this.options.maxFailures} times`,
        },
        'request refused',
      );
      await reply
        .status(429)
        .header('retry-after', String(seconds))
        .send({
          statusCode: 429,
          code: 'TOO_MANY_AUTH_FAILURES',
          message: `too many failed authentications; retry in ${seconds} s`,
        });
    });
    // Only a credential that failed counts: a request without one (a probe, a misconfigured client behind the
    // same address) guesses nothing, and counting it would lock out that address's real clients.
    app.addHook('onResponse', async (request, reply) => {
      if (reply.statusCode === 401 && request.headers.authorization !== undefined)
        this.recordFailure(request.ip);
    });
  }
}
