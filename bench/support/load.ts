// What the HTTP benchmarks share: autocannon (CommonJS, untyped) and their `--name value` flags.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  statusCodeStats: Record<string, { count: number }>;
}

export const autocannon = createRequire(import.meta.url)('autocannon') as (
  opts: Record<string, unknown>,
) => Promise<AutocannonResult>;

/** Numeric flags (`--seconds 10`), each with its default. */
export function numericFlags<K extends string>(defaults: Record<K, number>): Record<K, number> {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: 'string' as const }])),
  });
  return Object.fromEntries(
    Object.entries(defaults).map(([name, fallback]) => {
      const given = values[name];
      return [name, given === undefined ? fallback : Number(given)];
    }),
  ) as Record<K, number>;
}
