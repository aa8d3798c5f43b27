// Where `arbiter serve`'s main thread spends its time under POST /v1/decisions at a fixed rate (open loop):
// starts the server with --cpu-prof, sends the deployment samples for a warm-up and then for the measured
// window, and prints, for the samples V8 took inside that window only, the functions with the most self time,
// with the latency and the CPU per decision (from /proc) of the same window.
//
//   npx tsx bench/policies/profile-serve.ts [--rate 600] [--seconds 10] [--top 30]
//
// Prints to standard output; writes nothing under bench/results. A companion of decision-paths.ts, for finding
// where the p99 of the decision path goes.
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadSamples } from '../../test/integration/policies/support.ts';
import { startArbiterServer } from '../support/arbiter-server.ts';
import { cpuPerRequest, cpuTimes } from '../support/cpu.ts';
import { numericFlags } from '../support/load.ts';
import { pacedLoad } from '../support/paced-load.ts';

const { rate: RATE, seconds: SECONDS, top: TOP } = numericFlags({ rate: 600, seconds: 10, top: 30 });
const PORT = 18183;
const WARM_UP_SECONDS = 3;

/** The subset of V8's .cpuprofile format read here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds on the clock V8 stamps its samples with (CLOCK_MONOTONIC, as process.hrtime). */
const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

function frameName({ functionName, url, lineNumber }: CpuProfile['nodes'][number]['callFrame']): string {
  const where = url.includes('/node_modules/')
    ? url.slice(url.lastIndexOf('/node_modules/') + '/node_modules/'.length)
    : url.replace(`file://${path.resolve(import.meta.dirname, '../..')}/`, '');
  return where ? `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}` : functionName;
}

/** Self time per function over the samples taken in [from, to] (µs), largest first. */
function selfTimes(profile: CpuProfile, from: number, to: number) {
  const names = new Map(profile.nodes.map((n) => [n.id, frameName(n.callFrame)]));
  const byName = new Map<string, number>();
  let at = profile.startTime;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i]!;
    at += delta;
    if (at < from || at > to) return;
    const name = names.get(id)!;
    byName.set(name, (byName.get(name) ?? 0) + delta);
    total += delta;
  });
  return { total, functions: [...byName].sort((a, b) => b[1] - a[1]) };
}

const samples = (await loadSamples()).filter((s) => s.body.stage === 'deployment');
// Every body a different model version, so that no decision repeats another's input.
const bodies = Array.from({ length: 1000 }, (_, i) => {
  const { body } = samples[i % samples.length]!;
  return JSON.stringify({ ...body, subject: { ...body.subject, version: `1.${i}` } });
});
const profileDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-profile-'));
const server = await startArbiterServer(PORT, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
let window: { from: number; to: number };
let measured: Awaited<ReturnType<typeof pacedLoad>>;
let cpu: string;
try {
  const load = {
    url: `${server.url}/v1/decisions`,
    bodies,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await server.token('ci')}` },
    rate: RATE,
    connections: 16,
  };
  await pacedLoad({ ...load, seconds: WARM_UP_SECONDS });
  const before = cpuTimes(server.pid)!;
  const from = monotonicMicros();
  measured = await pacedLoad({ ...load, seconds: SECONDS });
  window = { from, to: monotonicMicros() };
  cpu = cpuPerRequest(before, cpuTimes(server.pid)!, measured.ok);
} finally {
  // The profiles are written as the server exits.
  await server.stop();
}
try {
  // CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile; thread 0 is the main thread.
  const file = (await readdir(profileDir)).find((f) => f.includes(`.${server.pid}.0.`));
  if (!file) throw new Error(`no main-thread profile of process ${server.pid} in ${profileDir}`);
  const profile = JSON.parse(await readFile(path.join(profileDir, file), 'utf8')) as CpuProfile;
  const { total, functions } = selfTimes(profile, window.from, window.to);
  const windowMicros = window.to - window.from;
  if (total < windowMicros / 2)
    throw new Error(`the profile covers ${total} µs of the ${windowMicros} µs window: clocks disagree`);
  console.log(
    `POST /v1/decisions at ${RATE}/s for ${SECONDS} s (open loop, ≤ 16 connections): ${measured.ok} answered, ` +
      `${measured.failed} failed, p50 ${measured.p50} ms, p99 ${measured.p99} ms, slowest ${measured.max} ms`,
  );
  console.log(`CPU per decision: ${cpu}`);
  console.log(
    `\nMain thread of \`arbiter serve\`, self time in the window (${(total / 1000).toFixed(0)} ms sampled):`,
  );
  for (const [name, micros] of functions.slice(0, TOP))
    console.log(
      `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(1).padStart(8)} ms  ${name}`,
    );
} finally {
  await rm(profileDir, { recursive: true, force: true });
}
