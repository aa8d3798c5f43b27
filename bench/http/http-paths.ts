// The service's HTTP write paths end to end, each with its durable ledger append: POST /v1/decisions (validate,
// evaluate in the Wasm worker pool, store, append, answer) and POST /v1/ledger/{region}/attestations (append
// only). The service runs in this process on the machine's PostgreSQL (a fresh database); load comes from
// autocannon on loopback.
//
//   npx tsx bench/http/http-paths.ts [--seconds 10]
//
// Writes bench/results/http-paths.md.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../server/config.ts';
import { createService } from '../../server/service.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const SECONDS = Number(args.get('seconds') ?? 10);
const ADMIN_URL = process.env.ARBITER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const dbName = `arbiter_bench_${process.pid}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-bench-'));
const config = loadConfig(
  {
    ARBITER_LOG_LEVEL: 'warn',
    DATABASE_URL: Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString(),
  },
  { ARBITER_DATA_DIR: dataDir, ARBITER_PORT: '0' },
);
const service = await createService(config);
const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
const ci = (await service.tokens.create({ role: 'ci', createdBy: 'bench' })).token;
const officer = (await service.tokens.create({ role: 'compliance_officer', createdBy: 'bench' })).token;

const sample = JSON.parse(
  await readFile(
    new URL('../../policies/deployment/samples/allowed/eu-credit-scoring-high-risk.json', import.meta.url),
    'utf8',
  ),
);
sample.evidence.generated_at = new Date().toISOString();

const rows: string[] = [];
async function load(name: string, opts: Record<string, unknown>) {
  const r = await autocannon({ url: `${url}${opts.path}`, duration: SECONDS, ...opts });
  const ok = r.statusCodeStats['201']?.count ?? 0;
  const line = `| ${name} | ${opts.connections} | ${opts.overallRate ?? 'max'} | ${(ok / SECONDS).toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx} | ${r.errors} |`;
  console.log(line);
  rows.push(line);
}

const decision = {
  method: 'POST',
  path: '/v1/decisions',
  headers: { authorization: `Bearer ${ci}`, 'content-type': 'application/json' },
  body: JSON.stringify(sample),
};
const attestation = {
  method: 'POST',
  path: '/v1/ledger/eu/attestations',
  headers: { authorization: `Bearer ${officer}`, 'content-type': 'application/json' },
  body: JSON.stringify({ statement: 'benchmark sign-off', references: ['bench'] }),
};

try {
  // Warm up the worker pool, the connection pool and the JIT.
  await autocannon({ url: `${url}/v1/decisions`, duration: 2, connections: 4, ...decision });
  for (const connections of [1, 16, 64])
    await load('POST /v1/ledger/eu/attestations', { ...attestation, connections });
  for (const connections of [1, 16, 64]) await load('POST /v1/decisions', { ...decision, connections });
  await load('POST /v1/decisions', { ...decision, connections: 16, overallRate: 1000 });
} finally {
  await service.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  await rm(dataDir, { recursive: true, force: true });
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os.loadavg()[0]!.toFixed(1)} at the end`;
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('../results/http-paths.md', import.meta.url),
  `# HTTP write paths, end to end (durable ledger append included)

Command: \`npx tsx bench/http/http-paths.ts --seconds ${SECONDS}\` — ${new Date().toISOString()}
Machine: ${machine}; PostgreSQL 15 on loopback; service in-process, autocannon on loopback.
Rate \`max\`: as fast as the connections go; a number: autocannon's overall request rate (req/s).

| path | connections | rate | 201/s | p50 ms | p99 ms | non-2xx | errors |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`,
);
process.exit(0);
