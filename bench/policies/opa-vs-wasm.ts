// Policy evaluation: the real OPA server (`opa run --server`, Go evaluator) answering
// POST /v1/data/arbiter/deployment/decision versus our in-process Wasm engine (worker pool), on the same
// policy sources, the same region data and the same 1,000 inputs. Parity first, then throughput and latency.
//
//   npx tsx bench/policies/opa-vs-wasm.ts [--inputs 1000] [--seconds 10] [--connections 16]
//
// Writes bench/results/policies.md.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import canonicalize from 'canonicalize';
import {
  buildBundle,
  buildInputDocument,
  createPolicyEngine,
  normalizeDecision,
  resolveOpaBinary,
  type InputDocument,
} from '../../policies/index.ts';
import { loadRegions, policyDataDocument } from '../../regions/index.ts';
import { loadSamples, POLICIES_DIR, SAMPLE_CLOCK } from '../../test/integration/policies/support.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const INPUTS = Number(args.get('inputs') ?? 1000);
const SECONDS = Number(args.get('seconds') ?? 10);
const CONNECTIONS = Number(args.get('connections') ?? 16);
const PORT = 18181;
const ENTRYPOINT = 'arbiter/deployment/decision';
const run = promisify(execFile);
const opa = resolveOpaBinary();

// Deterministic corpus: the deployment samples, with their numbers jittered by a seeded generator so that
// every input is different and both allow and deny paths are exercised.
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function jitter(value: unknown, rand: () => number): unknown {
  if (typeof value === 'number' && value > 0 && value < 1)
    return Math.round((value + (rand() - 0.5) * 0.12) * 1e4) / 1e4;
  if (Array.isArray(value)) return value.map((v) => jitter(v, rand));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jitter(v, rand)]));
  }
  return value;
}

async function corpus(): Promise<InputDocument[]> {
  const samples = (await loadSamples()).filter((s) => s.body.stage === 'deployment');
  const rand = mulberry32(20261123);
  return Array.from({ length: INPUTS }, (_, i) => {
    const { body } = samples[i % samples.length]!;
    return buildInputDocument({
      stage: 'deployment',
      region: body.region,
      now: SAMPLE_CLOCK,
      subject: { ...body.subject, version: `1.${i}` },
      evidence: jitter(body.evidence, rand) as Record<string, unknown>,
      model_card: body.model_card,
      waivers:
        i % 7 === 0
          ? [
              {
                id: `w-${i}`,
                rule: 'SEC-FINDING',
                model: body.subject.model,
                region: body.region,
                expires_at: '2027-01-01T00:00:00.000Z',
              },
            ]
          : [],
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-bench-'));
  const data = policyDataDocument(await loadRegions());
  const revision = 'bench';
  const wasmBundle = await buildBundle({
    sourceDir: POLICIES_DIR,
    revision,
    out: path.join(dir, 'wasm.tar.gz'),
    data,
  });
  // The same sources and data as a plain bundle for OPA's Go evaluator.
  const dataRoot = path.join(dir, 'data');
  await mkdir(dataRoot);
  await writeFile(path.join(dataRoot, '.manifest'), JSON.stringify({ roots: ['regions'] }));
  await writeFile(path.join(dataRoot, 'data.json'), JSON.stringify(data));
  await run(
    opa,
    [
      'build',
      '-b',
      '.',
      dataRoot,
      '--ignore',
      '*_test.rego',
      '-r',
      revision,
      '-o',
      path.join(dir, 'rego.tar.gz'),
    ],
    {
      cwd: POLICIES_DIR,
    },
  );
  const inputs = await corpus();
  const bodies = inputs.map((input) => JSON.stringify({ input }));

  const server = spawn(
    opa,
    [
      'run',
      '--server',
      '--addr',
      `127.0.0.1:${PORT}`,
      '--skip-version-check',
      '--log-level',
      'error',
      path.join(dir, 'rego.tar.gz'),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${PORT}/v1/data/${ENTRYPOINT}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/health`)).ok) break;
    } catch {
      if (i > 100) throw new Error('opa server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const poolSize = os.availableParallelism();
  const engine = await createPolicyEngine({ bundle: wasmBundle, poolSize });
  const lines: string[] = [];
  try {
    // Parity gate.
    let allowCount = 0;
    for (let i = 0; i < inputs.length; i++) {
      const response = (await (await fetch(url, { method: 'POST', body: bodies[i] })).json()) as {
        result?: unknown;
      };
      const fromOpa = normalizeDecision(response.result);
      const { decision } = await engine.evaluate('deployment', inputs[i]!);
      if (canonicalize(fromOpa) !== canonicalize(decision)) {
        throw new Error(
          `input ${i}: OPA and Wasm disagree\nopa:  ${canonicalize(fromOpa)}\nwasm: ${canonicalize(decision)}`,
        );
      }
      if (decision.allow) allowCount++;
    }
    console.log(`parity: ${inputs.length}/${inputs.length} decisions identical (${allowCount} allow)`);

    // OPA server under autocannon, cycling through the corpus.
    let next = 0;
    const opaRun = async (connections: number) =>
      autocannon({
        url,
        connections,
        duration: SECONDS,
        requests: [
          {
            method: 'POST',
            setupRequest: (req: Record<string, unknown>) => ({
              ...req,
              headers: { 'content-type': 'application/json' },
              body: bodies[next++ % bodies.length],
            }),
          },
        ],
      });
    await opaRun(CONNECTIONS); // warm-up, discarded
    const opaResults = [] as { connections: number; rps: number; p50: number; p99: number; errors: number }[];
    for (const connections of [1, CONNECTIONS]) {
      const r = await opaRun(connections);
      opaResults.push({
        connections,
        rps: r.requests.total / SECONDS,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors + r.non2xx,
      });
      console.log(
        `opa server c=${connections}: ${(r.requests.total / SECONDS).toFixed(0)} decisions/s p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms`,
      );
    }

    // In-process: `engine.evaluate` (JSON + canonical hash + worker round trip), closed loop with N in flight.
    const inProcess = async (inFlight: number) => {
      const latencies: number[] = [];
      const deadline = performance.now() + SECONDS * 1000;
      let i = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (performance.now() < deadline) {
            const input = inputs[i++ % inputs.length]!;
            const t0 = performance.now();
            await engine.evaluate('deployment', input);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      return {
        rps: latencies.length / SECONDS,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      };
    };
    await inProcess(CONNECTIONS); // warm-up
    const wasmResults = [] as { inFlight: number; rps: number; p50: number; p99: number }[];
    for (const inFlight of [1, CONNECTIONS]) {
      const r = await inProcess(inFlight);
      wasmResults.push({ inFlight, ...r });
      console.log(
        `in-process c=${inFlight}: ${r.rps.toFixed(0)} decisions/s p50 ${r.p50.toFixed(3)} ms p99 ${r.p99.toFixed(3)} ms`,
      );
    }

    const { stdout: opaVersion } = await run(opa, ['version']);
    const cpus = os.cpus();
    lines.push(
      '# Policy evaluation benchmark: OPA server vs in-process Wasm',
      '',
      `Command: \`npx tsx bench/policies/opa-vs-wasm.ts --inputs ${INPUTS} --seconds ${SECONDS} --connections ${CONNECTIONS}\``,
      `Machine: ${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ` +
        `opa ${opaVersion.split('\n')[0]!.replace('Version: ', '')} (Go evaluator, plain bundle), @open-policy-agent/opa-wasm 1.10.0.`,
      `Date: ${new Date().toISOString()}. Client and server share the machine, which other agents also use ` +
        `(load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' / ')} at the end): treat figures as indicative.`,
      '',
      `Same policy sources (\`policies/\`, ${wasmBundle.entrypoints.length} entrypoints), same region data, same ${INPUTS} deployment inputs ` +
        '(the deployment samples with seeded jitter on every rate; every 7th carries a waiver).',
      `Parity: all ${INPUTS} decisions identical between OPA and Wasm after sorting sets (${allowCount} allow, ${INPUTS - allowCount} deny).`,
      '',
      `| path | concurrency | decisions/s | p50 ms | p99 ms |`,
      '| --- | --- | --- | --- | --- |',
      ...opaResults.map(
        (r) =>
          `| \`opa run --server\` POST /v1/data/${ENTRYPOINT} (autocannon, keep-alive) | ${r.connections} connections | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} |`,
      ),
      ...wasmResults.map(
        (r) =>
          `| in-process \`engine.evaluate\` (${poolSize} worker threads) | ${r.inFlight} in flight | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
      ),
      '',
      `Ratio in-process / OPA server at ${CONNECTIONS}: ${(wasmResults.at(-1)!.rps / opaResults.at(-1)!.rps).toFixed(2)}× ` +
        `(at 1: ${(wasmResults[0]!.rps / opaResults[0]!.rps).toFixed(2)}×).`,
      '',
      'In-process figures include what a decision costs us besides the policy: JSON serialisation, the RFC 8785 hash of the input ' +
        'and the worker-thread round trip. The OPA figures include HTTP and JSON on loopback. The HTTP path of `POST /v1/decisions` ' +
        '(with the durable ledger append) is measured separately.',
      '',
    );
  } finally {
    await engine.close();
    server.kill();
    await rm(dir, { recursive: true, force: true });
  }
  const out = path.resolve(import.meta.dirname, '../results/policies.md');
  await writeFile(out, lines.join('\n'));
  console.log(`wrote ${out}`);
}

await main();
