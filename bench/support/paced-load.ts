// Open-loop load at a fixed rate, for latency at a given throughput.
//
// autocannon's rate limit (`overallRate`) is a per-connection quota per second: each connection sends its
// share back to back as fast as the server answers, then waits for the next one-second tick
// (httpClient.js, `reqsMadeThisSecond`). Its latency "at 1,000/s" is that of short bursts at full speed. Here
// request i is due at start + i / rate whatever became of the ones before it. Its latency runs from when it is
// handed to the connection pool, so time spent waiting for a free connection counts against the server, not
// for it (no coordinated omission). How late the generator's own timer handed requests over is reported
// apart: a late timer sends a burst, which can only make the server's figures worse.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

export interface PacedLoadOptions {
  readonly url: string;
  /** Request bodies, sent in turn. */
  readonly bodies: readonly string[];
  readonly headers: Record<string, string>;
  /** Requests per second. */
  readonly rate: number;
  readonly seconds: number;
  /** At most this many requests in flight, one per connection (keep-alive, no pipelining). */
  readonly connections: number;
}

export interface PacedLoadResult {
  /** 2xx answers per second of the run. */
  readonly rps: number;
  readonly ok: number;
  readonly failed: number;
  /** Latency in ms from each request's hand-over to the pool, over every request (failed ones included). */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** How late requests were handed over, in ms after they were due. */
  readonly lateP99: number;
}

export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const { origin, pathname } = new URL(options.url);
  const pool = new Pool(origin, { connections: options.connections, pipelining: 1 });
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies = new Float64Array(total);
  const lateness = new Float64Array(total);
  let ok = 0;
  let failed = 0;

  // pool.dispatch with a bare handler rather than pool.request: no promise or body stream per request, so the
  // generator takes less of the CPU it shares with the server.
  const headers = { 'content-type': 'application/json', ...options.headers };
  const send = (i: number, due: number): Promise<void> =>
    new Promise((resolve) => {
      const sent = performance.now();
      lateness[i] = sent - due;
      let status = 0;
      const settle = (succeeded: boolean): void => {
        latencies[i] = performance.now() - sent;
        if (succeeded) ok++;
        else failed++;
        resolve();
      };
      pool.dispatch(
        { path: pathname, method: 'POST', headers, body: options.bodies[i % options.bodies.length] },
        {
          // Its presence tells undici that this handler speaks the controller API.
          onRequestStart: () => undefined,
          onResponseStart: (_controller, statusCode) => void (status = statusCode),
          onResponseEnd: () => settle(status >= 200 && status < 300),
          onResponseError: () => settle(false),
        },
      );
    });

  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total;) {
    const now = performance.now();
    // Everything due by now goes out at once.
    while (i < total && start + i * interval <= now) {
      inFlight.push(send(i, start + i * interval));
      i++;
    }
    if (i < total) await sleep(Math.max(0, start + i * interval - performance.now()));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();

  latencies.sort();
  lateness.sort();
  const at = (sorted: Float64Array, p: number): number =>
    Number(sorted[Math.min(total - 1, Math.floor(p * total))]!.toFixed(2));
  return {
    rps: ok / elapsed,
    ok,
    failed,
    p50: at(latencies, 0.5),
    p99: at(latencies, 0.99),
    max: at(latencies, 1),
    lateP99: at(lateness, 0.99),
  };
}
