import type { Registry } from 'prom-client';
import type { Handlers } from './types.ts';

export interface OperationsDeps {
  version: string;
  databaseKind: 'postgres' | 'pglite';
  /** Named readiness checks; the service is ready when all pass. */
  readiness: Record<string, () => Promise<boolean>>;
  metrics: Registry;
}

export function operationsHandlers(deps: OperationsDeps): Handlers {
  return {
    getHealth: async () => ({ status: 'ok' }),
    getReadiness: async (_request, reply) => {
      const names = Object.keys(deps.readiness);
      const results = await Promise.all(names.map((n) => deps.readiness[n]!().catch(() => false)));
      const checks = Object.fromEntries(names.map((n, i) => [n, results[i] ? 'ok' : 'failing']));
      const ready = results.every(Boolean);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
    getMetrics: async (_request, reply) =>
      reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()),
    getVersion: async () => ({ version: deps.version, node: process.version, database: deps.databaseKind }),
  };
}
