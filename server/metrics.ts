import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AnchorObserver, AnchorStatus } from '../ledger/index.ts';

/** Each app's registry, for what is wired after the app is built (the ledger's anchoring gauges). */
const registries = new WeakMap<FastifyInstance, Registry>();

/** A Prometheus registry per app (tests build many apps in one process) with HTTP request timings. */
export function createMetrics(app: FastifyInstance): Registry {
  const registry = new Registry();
  registries.set(app, registry);
  collectDefaultMetrics({ register: registry, prefix: 'arbiter_' });
  const duration = new Histogram({
    name: 'arbiter_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  return registry;
}

/** The registry `createMetrics` made for this app. */
export function metricsRegistryOf(app: FastifyInstance): Registry {
  const registry = registries.get(app);
  if (!registry) throw new TypeError('createMetrics was not called for this app');
  return registry;
}

/**
 * The ledger's anchoring health per region, as gauges: it observes the ledger's anchoring (ledger/ knows
 * nothing of Prometheus) and is read at each scrape.
 *
 * - `arbiter_anchor_last_success_timestamp_seconds{region}`: when the region's newest anchor was recorded
 *   (Unix time; by any process), absent while it has none. Alert on `time() - …` beyond a few anchoring
 *   intervals.
 * - `arbiter_anchor_consecutive_failures{region}`: anchoring attempts in a row that failed; 0 once one succeeds.
 * - `arbiter_anchor_checkpoints_awaiting{region}`: checkpoints signed since the newest anchored one.
 */
export class AnchorMetrics implements AnchorObserver {
  private readonly latest = new Map<string, AnchorStatus>();

  anchorStatus(status: AnchorStatus): void {
    this.latest.set(status.region, status);
  }

  /** Adds the gauges to `registry`. */
  register(registry: Registry): void {
    const latest = this.latest;
    const gauge = (name: string, help: string, value: (s: AnchorStatus) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['region'] as const,
        registers: [registry],
        collect() {
          this.reset();
          for (const status of latest.values()) {
            const v = value(status);
            if (v !== undefined) this.set({ region: status.region }, v);
          }
        },
      });
    gauge(
      'arbiter_anchor_last_success_timestamp_seconds',
      "When the region's newest EVM anchor was recorded (Unix time), by any process.",
      (s) => (s.lastAnchoredAt ? s.lastAnchoredAt.getTime() / 1000 : undefined),
    );
    gauge(
      'arbiter_anchor_consecutive_failures',
      "The region's anchoring attempts in a row that failed (0 once one succeeds).",
      (s) => s.consecutiveFailures,
    );
    gauge(
      'arbiter_anchor_checkpoints_awaiting',
      "The region's checkpoints signed since its newest anchored one.",
      (s) => s.awaitingCheckpoints,
    );
  }
}
