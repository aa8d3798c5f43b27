// Three ways to a deployment decision, on the same policy sources, the same region data and the same 1,000
// inputs: the real OPA server (`opa run --server`, Go evaluator) answering
// POST /v1/data/arbiter/deployment/decision; our in-process Wasm engine (worker pool); and our whole
// POST /v1/decisions (`arbiter serve` in its own process: auth, validation, evaluation, the decision stored and
// appended durably to the ledger). Parity first, then throughput and latency: the most each path answers
// with a fixed number of requests in flight (autocannon, closed loop), and POST /v1/decisions at a fixed rate
// (open loop, bench/support/paced-load.ts).
//
//   npx tsx bench/policies/decision-paths.ts [--inputs 1000] [--seconds 10] [--connections 16]
//
// Writes bench/results/policies.md.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
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
import { loadSamples, POLICIES_DIR, type SampleBody } from '../../test/integration/policies/support.ts';
import { startArbiterServer } from '../support/arbiter-server.ts';
import { cpuPerRequest, cpuTimes } from '../support/cpu.ts';
import { autocannon, numericFlags } from '../support/load.ts';
import { pacedLoad } from '../support/paced-load.ts';

const {
  inputs: INPUTS,
  seconds: SECONDS,
  connections: CONNECTIONS,
} = numericFlags({ inputs: 1000, seconds: 10, connections: 16 });
const TARGET_RATE = 1000;
const OPA_PORT = 18181;
const ARBITER_PORT = 18182;
const ENTRYPOINT = 'arbiter/deployment/decision';
const run = promisify(execFile);
const opa = resolveOpaBinary();

// Deterministic corpus: the deployment samples, with their rates jittered by a seeded generator so that
// every input is different and both allow and deny paths are exercised; the figures derived from the
// per-group rates are then recomputed from them (consistentFairness).
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function jitter(value: unknown, rand: () => number): unknown {
  if (typeof value === 'number' && value > 0 && value < 1) {
    // Rates stay rates: the evidence schema (which the HTTP path enforces) bounds them to [0, 1].
    const moved = Math.round((value + (rand() - 0.5) * 0.12) * 1e4) / 1e4;
    return Math.min(0.9999, Math.max(0.0001, moved));
  }
  if (Array.isArray(value)) return value.map((v) => jitter(v, rand));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jitter(v, rand)]));
  }
  return value;
}

type Groups = Record<string, Record<string, unknown>>;

/**
 * The figures the policy recomputes from the per-group rates (impact ratios, parity and odds differences and
 * ratios), recomputed after the jitter: jittered on their own they would contradict the rates, and nearly
 * every input would be denied as inconsistent evidence rather than decided on its figures.
 */
function consistentFairness(evidence: Record<string, unknown>): Record<string, unknown> {
  const fairness = evidence.fairness as Record<string, { groups?: Groups }> | undefined;
  if (!fairness) return evidence;
  const rates = (groups: Groups, key: string) =>
    Object.values(groups).flatMap((g) => (typeof g[key] === 'number' ? [g[key] as number] : []));
  const range = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const ratio = (xs: number[]) => Math.min(...xs) / Math.max(...xs);
  for (const report of Object.values(fairness)) {
    const compared = Object.fromEntries(
      Object.entries(report.groups ?? {}).filter(
        ([, g]) => typeof g.impact_ratio === 'number' && typeof g.selection_rate === 'number',
      ),
    );
    const selection = rates(compared, 'selection_rate');
    if (selection.length < 2) continue;
    const highest = Math.max(...selection);
    for (const g of Object.values(compared)) {
      g.impact_ratio = (g.selection_rate as number) / highest;
      if (typeof g.tpr === 'number') g.fnr = 1 - g.tpr;
    }
    const tpr = rates(compared, 'tpr');
    const fpr = rates(compared, 'fpr');
    Object.assign(report, {
      demographic_parity_difference: range(selection),
      demographic_parity_ratio: ratio(selection),
      ...(tpr.length > 1 && fpr.length > 1
        ? {
            equalized_odds_difference: Math.max(range(tpr), range(fpr)),
            equalized_odds_ratio: Math.min(ratio(tpr), ratio(fpr)),
          }
        : {}),
    });
  }
  return evidence;
}

interface Waiver {
  readonly id: string;
  readonly rule: string;
  readonly model: string;
  readonly region: string;
  readonly expires_at: string;
}

/** The request bodies of POST /v1/decisions; each input document is what the server builds from its body. */
async function corpus(): Promise<SampleBody[]> {
  const samples = (await loadSamples()).filter((s) => s.body.stage === 'deployment');
  const rand = mulberry32(20261123);
  return Array.from({ length: INPUTS }, (_, i) => {
    const { body } = samples[i % samples.length]!;
    return {
      ...body,
      subject: { ...body.subject, version: `1.${i}` },
      evidence: consistentFairness(jitter(body.evidence, rand) as Record<string, unknown>),
    };
  });
}

function inputOf(body: SampleBody, now: Date, waivers: readonly Waiver[]): InputDocument {
  return buildInputDocument({
    stage: 'deployment',
    region: body.region,
    now,
    subject: body.subject,
    evidence: body.evidence,
    model_card: body.model_card,
    context: body.context,
    waivers: waivers.filter((w) => w.model === body.subject.model && w.region === body.region),
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Row {
  readonly path: string;
  readonly concurrency: string;
  readonly rate: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly failed: number;
}

/** Autocannon cycling through `bodies` (each connection takes the next one). */
async function load(
  url: string,
  bodies: readonly string[],
  connections: number,
  headers: Record<string, string>,
): Promise<{ rps: number; p50: number; p99: number; failed: number; ok: number }> {
  let next = 0;
  const r = await autocannon({
    url,
    connections,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          headers: { 'content-type': 'application/json', ...headers },
          body: bodies[next++ % bodies.length],
        }),
      },
    ],
  });
  const ok = Object.entries(r.statusCodeStats)
    .filter(([code]) => code.startsWith('2'))
    .reduce((sum, [, { count }]) => sum + count, 0);
  return { rps: ok / SECONDS, p50: r.latency.p50, p99: r.latency.p99, failed: r.non2xx + r.errors, ok };
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
  const requests = await corpus();

  const opaServer = spawn(
    opa,
    [
      'run',
      '--server',
      '--addr',
      `127.0.0.1:${OPA_PORT}`,
      '--skip-version-check',
      '--log-level',
      'error',
      path.join(dir, 'rego.tar.gz'),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const opaUrl = `http://127.0.0.1:${OPA_PORT}/v1/data/${ENTRYPOINT}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${OPA_PORT}/health`)).ok) break;
    } catch {
      if (i > 100) throw new Error('opa server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const arbiter = await startArbiterServer(ARBITER_PORT);
  const poolSize = os.availableParallelism();
  const engine = await createPolicyEngine({ bundle: wasmBundle, poolSize });
  const lines: string[] = [];
  try {
    const ci = { authorization: `Bearer ${await arbiter.token('ci')}` };
    const requester = { authorization: `Bearer ${await arbiter.token('compliance_officer')}` };
    const approver = { authorization: `Bearer ${await arbiter.token('compliance_officer')}` };
    const call = async (route: string, headers: Record<string, string>, body: unknown) => {
      const response = await fetch(`${arbiter.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${route}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    // One approved waiver, so that the waiver path is on the measured paths too: the model-file finding of
    // the denied eu sample is waived, for every input about that model in that region.
    const waived = requests.find((b) => JSON.stringify(b.evidence).includes('"critical"')) ?? requests[0]!;
    const requested = await call('/v1/waivers', requester, {
      rule: 'SEC-FINDING',
      model: waived.subject.model,
      region: waived.region,
      reason: 'benchmark: the finding is a known false positive',
      expires_at: '2027-06-30T00:00:00Z',
    });
    await call(`/v1/waivers/${requested.id}/approve`, approver, {});
    const waivers: Waiver[] = [
      {
        id: String(requested.id),
        rule: 'SEC-FINDING',
        model: waived.subject.model,
        region: waived.region,
        expires_at: '2027-06-30T00:00:00.000Z',
      },
    ];

    // Parity gate: OPA, the engine and the service decide every input the same way. The server stamps its
    // own clock on the input; the local documents take the clock of this moment (no rule turns on seconds).
    const now = new Date();
    const inputs = requests.map((body) => inputOf(body, now, waivers));
    const opaBodies = inputs.map((input) => JSON.stringify({ input }));
    const httpBodies = requests.map((body) => JSON.stringify(body));
    let allowCount = 0;
    let waivedCount = 0;
    for (let i = 0; i < inputs.length; i++) {
      const response = (await (await fetch(opaUrl, { method: 'POST', body: opaBodies[i] })).json()) as {
        result?: unknown;
      };
      const fromOpa = canonicalize(normalizeDecision(response.result));
      const { decision } = await engine.evaluate('deployment', inputs[i]!);
      const receipt = await call('/v1/decisions', ci, requests[i]);
      const fromHttp = canonicalize(
        normalizeDecision({
          allow: receipt.allow,
          deny: receipt.deny,
          warn: receipt.warn,
          obligations: receipt.obligations,
          waived: receipt.waived,
        }),
      );
      if (fromOpa !== canonicalize(decision) || fromHttp !== fromOpa) {
        throw new Error(
          `input ${i}: the paths disagree\nopa:  ${fromOpa}\nwasm: ${canonicalize(decision)}\nhttp: ${fromHttp}`,
        );
      }
      if (decision.allow) allowCount++;
      if (decision.waived.length > 0) waivedCount++;
    }
    console.log(
      `parity: ${inputs.length}/${inputs.length} decisions identical on all three paths (${allowCount} allow)`,
    );

    const rows: Row[] = [];
    const record = (row: Row) => {
      rows.push(row);
      console.log(
        `${row.path} ${row.concurrency} ${row.rate}: ${row.rps.toFixed(0)}/s p50 ${row.p50} ms p99 ${row.p99} ms failed ${row.failed}`,
      );
    };

    // OPA's server.
    await load(opaUrl, opaBodies, CONNECTIONS, {}); // warm-up, discarded
    for (const connections of [1, CONNECTIONS])
      record({
        path: `\`opa run --server\` POST /v1/data/${ENTRYPOINT}`,
        concurrency: `${connections} connections`,
        rate: 'max',
        ...(await load(opaUrl, opaBodies, connections, {})),
      });

    // In-process: `engine.evaluate` (JSON, canonical hash, worker round trip), closed loop with N in flight.
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
        p50: Number(percentile(latencies, 50).toFixed(2)),
        p99: Number(percentile(latencies, 99).toFixed(2)),
        failed: 0,
      };
    };
    await inProcess(CONNECTIONS); // warm-up
    for (const inFlight of [1, CONNECTIONS])
      record({
        path: `in-process \`engine.evaluate\` (${poolSize} worker threads)`,
        concurrency: `${inFlight} in flight`,
        rate: 'max',
        ...(await inProcess(inFlight)),
      });

    // The whole service.
    const decisionsUrl = `${arbiter.url}/v1/decisions`;
    await load(decisionsUrl, httpBodies, CONNECTIONS, ci); // warm-up, discarded
    for (const connections of [1, CONNECTIONS])
      record({
        path: '`arbiter serve` POST /v1/decisions (durable ledger append)',
        concurrency: `${connections} connections`,
        rate: 'max',
        ...(await load(decisionsUrl, httpBodies, connections, ci)),
      });
    // Open loop at the target rate and, to show where the latency target holds on this machine, below it.
    const paced = { url: decisionsUrl, bodies: httpBodies, headers: ci, connections: CONNECTIONS };
    await pacedLoad({ ...paced, rate: TARGET_RATE, seconds: 2 }); // the generator's own warm-up, discarded
    const recordPaced = (rate: number, result: Awaited<ReturnType<typeof pacedLoad>>) =>
      record({
        path: '`arbiter serve` POST /v1/decisions (durable ledger append)',
        concurrency: `≤ ${CONNECTIONS} connections`,
        rate: `${rate}/s, open loop`,
        ...result,
      });
    const belowTarget = [];
    for (const rate of [TARGET_RATE / 2, (TARGET_RATE * 3) / 4]) {
      const result = await pacedLoad({ ...paced, rate, seconds: SECONDS });
      recordPaced(rate, result);
      belowTarget.push({ rate, result });
    }
    const cpuBefore = cpuTimes(arbiter.pid);
    const atRate = await pacedLoad({ ...paced, rate: TARGET_RATE, seconds: SECONDS });
    const cpuAfter = cpuTimes(arbiter.pid);
    recordPaced(TARGET_RATE, atRate);
    const cpuAtRate =
      cpuBefore && cpuAfter ? cpuPerRequest(cpuBefore, cpuAfter, atRate.ok) : 'not measured (no /proc)';
    console.log(
      `at ${TARGET_RATE}/s: slowest ${atRate.max} ms, requests handed over late by p99 ${atRate.lateP99} ms; CPU per decision: ${cpuAtRate}`,
    );

    const [opa1, opaN, wasm1, wasmN, http1, httpN] = rows as [Row, Row, Row, Row, Row, Row];
    const ratio = (a: Row, b: Row) => `${(a.rps / b.rps).toFixed(2)}×`;
    const { stdout: opaVersion } = await run(opa, ['version']);
    const cpus = os.cpus();
    lines.push(
      '# Decision paths: OPA server, in-process Wasm, and the whole `POST /v1/decisions`',
      '',
      `Command: \`npx tsx bench/policies/decision-paths.ts --inputs ${INPUTS} --seconds ${SECONDS} --connections ${CONNECTIONS}\``,
      `Machine: ${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ` +
        `opa ${opaVersion.split('\n')[0]!.replace('Version: ', '')} (Go evaluator, plain bundle), @open-policy-agent/opa-wasm 1.10.0, PostgreSQL on loopback.`,
      `Date: ${new Date().toISOString()}. Load generator, servers and database share the machine ` +
        `(load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' / ')} at the end).`,
      '',
      `Same policy sources (\`policies/\`, ${wasmBundle.entrypoints.length} entrypoints), same region data, same ${INPUTS} deployment ` +
        'inputs: the deployment samples with seeded jitter on every rate, and one approved SEC-FINDING waiver that applies to ' +
        `${waivedCount} of them. Parity: all ${INPUTS} decisions identical on the three paths after sorting sets ` +
        `(${allowCount} allow, ${INPUTS - allowCount} deny).`,
      '',
      '| path | concurrency | rate | decisions/s | p50 ms | p99 ms | failed |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.path} | ${r.concurrency} | ${r.rate} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.failed} |`,
      ),
      '',
      `- In-process / OPA server: ${ratio(wasm1, opa1)} at 1, ${ratio(wasmN, opaN)} at ${CONNECTIONS} (target ≥ 5×).`,
      `- \`POST /v1/decisions\` / OPA server: ${ratio(http1, opa1)} at 1, ${ratio(httpN, opaN)} at ${CONNECTIONS} (target ≥ 1×).`,
      `- \`POST /v1/decisions\` at ${TARGET_RATE}/s (open loop: one request due every ${1000 / TARGET_RATE} ms whatever became ` +
        `of the ones before; latency from its hand-over to a pool of ${CONNECTIONS} connections, so waiting for a free one ` +
        `counts): ${atRate.rps.toFixed(0)}/s answered, p99 ${atRate.p99} ms, slowest ${atRate.max} ms (target p99 ≤ 10 ms). ` +
        `Below the target rate: ${belowTarget.map(({ rate, result }) => `p99 ${result.p99} ms at ${rate}/s`).join(', ')}. ` +
        `The generator handed requests over late by at most ${Math.max(atRate.lateP99, ...belowTarget.map((b) => b.result.lateP99))} ms at p99.`,
      `- CPU per decision at ${TARGET_RATE}/s (from /proc): ${cpuAtRate}.`,
      '',
      'The in-process figures include what a decision costs us besides the policy: JSON serialisation, the RFC 8785 hash of ' +
        'the input and the worker-thread round trip. The OPA figures include HTTP and JSON on loopback. `POST /v1/decisions` ' +
        'is the real service (`arbiter serve`, its own process): token check, contract and evidence validation, waivers, ' +
        'evaluation, and the decision row committed in the same transaction as its ledger entry before the 201.',
      '',
    );
  } finally {
    await engine.close();
    opaServer.kill();
    await arbiter.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const out = path.resolve(import.meta.dirname, '../results/policies.md');
  await writeFile(out, lines.join('\n'));
  console.log(`wrote ${out}`);
}

await main();
