// Ledger appends through the HTTP API, end to end: POST /v1/ledger/{region}/attestations answers 201 once the
// entry is durable. `arbiter serve` runs in its own process on the machine's PostgreSQL (a fresh database);
// load comes from autocannon on loopback. POST /v1/decisions is measured by bench/policies/decision-paths.ts.
//
//   npx tsx bench/ledger/http-appends.ts [--seconds 10]
//
// Writes bench/results/ledger-http.md.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { startArbiterServer } from '../support/arbiter-server.ts';
import { autocannon, numericFlags } from '../support/load.ts';

const { seconds: SECONDS } = numericFlags({ seconds: 10 });

const server = await startArbiterServer(18183);
const url = server.url;
const officer = await server.token('compliance_officer');

const rows: string[] = [];
async function load(name: string, opts: Record<string, unknown>) {
  const r = await autocannon({ url: `${url}${opts.path}`, duration: SECONDS, ...opts });
  const ok = r.statusCodeStats['201']?.count ?? 0;
  const line = `| ${name} | ${opts.connections} | ${opts.overallRate ?? 'max'} | ${(ok / SECONDS).toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx} | ${r.errors} |`;
  console.log(line);
  rows.push(line);
}

const attestation = {
  method: 'POST',
  path: '/v1/ledger/eu/attestations',
  headers: { authorization: `Bearer ${officer}`, 'content-type': 'application/json' },
  body: JSON.stringify({ statement: 'benchmark sign-off', references: ['bench'] }),
};

try {
  // Warm up the connection pool and the JIT.
  await autocannon({ url: `${url}${attestation.path}`, duration: 2, connections: 4, ...attestation });
  for (const connections of [1, 16, 64])
    await load('POST /v1/ledger/eu/attestations', { ...attestation, connections });
} finally {
  await server.stop();
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os.loadavg()[0]!.toFixed(1)} at the end`;
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('../results/ledger-http.md', import.meta.url),
  `# Ledger appends through HTTP, end to end (durable)

Command: \`npx tsx bench/ledger/http-appends.ts --seconds ${SECONDS}\` — ${new Date().toISOString()}
Machine: ${machine}; PostgreSQL 15 on loopback; \`arbiter serve\` in its own process, autocannon on loopback.
Rate \`max\`: as fast as the connections go; a number: autocannon's overall request rate (req/s).

| path | connections | rate | 201/s | p50 ms | p99 ms | non-2xx | errors |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`,
);
process.exit(0);
