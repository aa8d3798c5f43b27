// Quarterly report benchmark (issue 6): one region, 50 models, 10,000 decisions in the quarter.
// Measures input → HTML → PDF → hashes end to end, cold (browser start included) and warm (browser reused),
// and the peak memory of this process and of Chromium's processes together (target ≤ 15 s, ≤ 1 GiB).
//   npx tsx bench/reports/quarterly-bench.ts [--models 50] [--decisions 10000] [--runs 3] [--template ID]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPdfRenderer, generateReport, renderHtml } from '../../reports/index.ts';
import { makeReportInput } from '../../test/unit/reports/fixture.ts';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '50' },
    decisions: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    template: { type: 'string', default: 'eu/ai-act-pmm-quarterly' },
    out: { type: 'string', default: 'bench/results/reports.md' },
  },
});
const models = Number(values.models);
const decisions = Number(values.decisions);
const runs = Number(values.runs);

// Memory of this process and all its descendants (Chromium's browser, renderer, GPU and utility processes),
// read from /proc every 100 ms. Proportional set size (PSS): pages shared between Chromium's processes (its
// 200 MiB library, shared memory) are split between them instead of counted once per process, as RSS would.
function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(' ').map(Number));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}
function treeMemory(): { pss: number; rss: number; cpuSeconds: number } {
  let pss = 0;
  let rss = 0;
  let cpuTicks = 0;
  for (const pid of descendants(process.pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime + cutime + cstime: a process's CPU and that of the children it has reaped.
      cpuTicks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
      rss += Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // Gone already.
    }
  }
  // Linux counts CPU time in ticks of 1/100 s (USER_HZ).
  return { pss, rss, cpuSeconds: cpuTicks / 100 };
}
let peak = 0;
let peakRss = 0;
// The sampler's own CPU time (reading smaps is not free), taken out of the CPU figures below.
let samplerMs = 0;
function sample(): void {
  const before = process.cpuUsage();
  const m = treeMemory();
  peak = Math.max(peak, m.pss);
  peakRss = Math.max(peakRss, m.rss);
  const used = process.cpuUsage(before);
  samplerMs += (used.user + used.system) / 1000;
}
const sampler = setInterval(sample, 100);

const input = makeReportInput({ template: values.template!, models, decisions });
const inputBytes = Buffer.byteLength(JSON.stringify(input));
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

const timings: {
  run: number;
  kind: string;
  html_ms: number;
  total_ms: number;
  cpu_s: number;
  pages: number;
  pdf_kib: number;
}[] = [];
let renderer = await createPdfRenderer();
for (let run = 1; run <= runs; run++) {
  const cold = run === 1;
  if (cold) {
    await renderer.close();
  }
  const cpu0 = treeMemory().cpuSeconds;
  const sampler0 = samplerMs;
  const t0 = process.hrtime.bigint();
  if (cold) renderer = await createPdfRenderer();
  const { pdf } = await generateReport(input, renderer);
  const total_ms = ms(t0);
  const cpu_s = treeMemory().cpuSeconds - cpu0 - (samplerMs - sampler0) / 1000;
  const tHtml = process.hrtime.bigint();
  await renderHtml(input);
  const html_ms = ms(tHtml);
  const pages = (
    Buffer.from(pdf)
      .toString('latin1')
      .match(/\/Type\s*\/Page[^s]/g) ?? []
  ).length;
  timings.push({
    run,
    kind: cold ? 'cold (starts Chromium)' : 'warm',
    html_ms,
    total_ms,
    cpu_s,
    pages,
    pdf_kib: pdf.length / 1024,
  });
  console.log(
    `run ${run}: html ${html_ms.toFixed(0)} ms, total ${total_ms.toFixed(0)} ms, CPU ${cpu_s.toFixed(1)} s, ${pages} pages, ${(pdf.length / 1024).toFixed(0)} KiB`,
  );
}
await renderer.close();
clearInterval(sampler);
sample();
const nodeMaxRss = process.resourceUsage().maxRSS * 1024;

const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
const worst = Math.max(...timings.map((t) => t.total_ms));
const cpu = os.cpus();
const md = `# Reports benchmark

Command: \`npx tsx bench/reports/quarterly-bench.ts --models ${models} --decisions ${decisions} --runs ${runs} --template ${values.template}\`
Machine: ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, Debian Chromium (\`/usr/bin/chromium\`).
Date: ${new Date().toISOString()}. Load average ${os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(', ')} at the end; treat wall times as upper bounds.

Input: one region, ${models} models, ${decisions.toLocaleString('en-US')} decisions, ${models} evidence documents, 4 quarters of trends
(${(inputBytes / 1024).toFixed(0)} KiB of JSON). Template \`${values.template}\`. "Total" is input → HTML (charts included) → PDF → sha256s and the
\`report.generated\` entry; "HTML" times \`renderHtml\` alone, run again after each total. CPU is user +
system time of this process and Chromium's processes during the total, a figure that contention on a shared
machine inflates far less than wall time.

| run | kind | HTML ms | total ms | CPU s (Node + Chromium) | pages | PDF KiB |
| --- | --- | --- | --- | --- | --- | --- |
${timings.map((t) => `| ${t.run} | ${t.kind} | ${t.html_ms.toFixed(0)} | ${t.total_ms.toFixed(0)} | ${t.cpu_s.toFixed(1)} | ${t.pages} | ${t.pdf_kib.toFixed(0)} |`).join('\n')}

Peak memory (PSS), this process and Chromium's processes together (sampled every 100 ms from /proc): **${mib(peak)} MiB**
(Node process alone, maxRSS: ${mib(nodeMaxRss)} MiB; the processes' RSS summed, which counts Chromium's shared pages once per
process: ${mib(peakRss)} MiB).

Target: ≤ 15 s and ≤ 1 GiB. Slowest run ${(worst / 1000).toFixed(1)} s: ${worst <= 15_000 && peak <= 2 ** 30 ? 'met' : 'NOT met'}.
`;
writeFileSync(path.resolve(values.out!), md);
console.log(md);
