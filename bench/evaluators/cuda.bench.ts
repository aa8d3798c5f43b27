// The CUDA execution provider against the CPU one (issue 5), on a machine with an NVIDIA GPU and
// `scripts/setup.sh --gpu` done:
//   npx tsx bench/evaluators/cuda.bench.ts [rows]
// Fails unless `cuda` loads. Checks that both providers give the same scores and the same evidence, then times
// evaluate() and bare inference on each. Writes bench/results/evaluators-cuda.md. Not part of the test suite.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ColumnCollector } from '../../evaluators/collect.ts';
import { evaluate, type EvaluationProgress, type EvaluationResult } from '../../evaluators/index.ts';
import { normalizeFeatures, TensorLayout } from '../../evaluators/onnx/features.ts';
import { openModel } from '../../evaluators/onnx/runner.ts';
import type { Row } from '../../evaluators/readers/rows.ts';
import { adultWorkload } from './adult-synthetic.ts';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const BATCH = 4096;
// Rows scored by both providers for the agreement check, and by the timed loops.
const SAMPLE = 200_000;
const lines: string[] = [];
const log = (line: string): void => {
  console.log(line);
  lines.push(line);
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const rate = (rows: number, ms: number): string => Math.round(rows / (ms / 1000)).toLocaleString('en-US');

function gpuName(): string {
  try {
    return execFileSync(
      'nvidia-smi',
      ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
      {
        encoding: 'utf8',
      },
    ).trim();
  } catch {
    return 'unknown (nvidia-smi did not answer)';
  }
}

/** Numeric leaves that differ between two evidence documents, and the largest difference among them. */
function compareEvidence(a: unknown, b: unknown, at = ''): { paths: string[]; largest: number } {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b ? { paths: [], largest: 0 } : { paths: [at], largest: Math.abs(a - b) };
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    const found = { paths: [] as string[], largest: 0 };
    for (const key of keys) {
      const sub = compareEvidence(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${at}/${key}`,
      );
      found.paths.push(...sub.paths);
      found.largest = Math.max(found.largest, sub.largest);
    }
    return found;
  }
  return JSON.stringify(a) === JSON.stringify(b)
    ? { paths: [], largest: 0 }
    : { paths: [at], largest: Infinity };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-bench-cuda-'));
try {
  const { csv, reference, models, spec, synthetic } = await adultWorkload(dir, ROWS, BATCH);
  const features = normalizeFeatures(spec.features!);
  const layout = new TensorLayout(features);

  log(`# Evaluators benchmark: CUDA against CPU\n`);
  log(`- GPU: ${gpuName()}`);
  log(
    `- machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}, onnxruntime-node ${ort.env.versions.node}`,
  );
  log(`- command: \`npx tsx bench/evaluators/cuda.bench.ts ${ROWS}\``);
  log(
    `- data: ${ROWS.toLocaleString('en-US')} Adult-shaped synthetic rows (as bench/evaluators/evaluators.bench.ts), CSV; batch ${BATCH}\n`,
  );

  // 1. The provider: `cuda` must load; a failure here is the product's own error, naming what is missing.
  const probe = await openModel(await readFile(models['MLP 25→16→1']), spec, 'cuda');
  const auto = await openModel(await readFile(models['MLP 25→16→1']), spec, 'auto');
  log(`## The provider`);
  log(`- \`cuda\` → ${JSON.stringify(probe.runtime)}`);
  log(`- \`auto\` → ${auto.runtime.execution_provider} (${auto.runtime.device})\n`);
  await Promise.all([probe.close(), auto.close()]);

  // 2. Agreement: the same rows scored on each provider.
  const sample: Row[] = Array.from({ length: SAMPLE }, synthetic);
  log(`## Agreement on ${SAMPLE.toLocaleString('en-US')} rows`);
  for (const [label, file] of Object.entries(models)) {
    const [gpu, cpu] = await Promise.all([
      openModel(await readFile(file), spec, 'cuda'),
      openModel(await readFile(file), spec, 'cpu'),
    ]);
    const [g, c] = [await gpu.predict(sample), await cpu.predict(sample)];
    let largest = 0;
    let flipped = 0;
    let missing = 0;
    for (let i = 0; i < SAMPLE; i++) {
      if (Number.isNaN(g[i]!) !== Number.isNaN(c[i]!)) throw new Error(`row ${i}: NaN on one provider only`);
      if (Number.isNaN(g[i]!)) {
        missing++;
        continue;
      }
      largest = Math.max(largest, Math.abs(g[i]! - c[i]!));
      if (g[i]! >= 0.5 !== c[i]! >= 0.5) flipped++;
    }
    log(
      `- ${label}: largest score difference ${largest.toExponential(2)}; ${flipped} of ${(SAMPLE - missing).toLocaleString('en-US')} scored rows on the other side of the 0.5 threshold`,
    );
    await Promise.all([gpu.close(), cpu.close()]);
  }
  log('');

  // 3. The whole pipeline on each provider: parse + map + infer + every metric family, bootstrap off.
  const runs: Record<string, EvaluationResult> = {};
  for (const provider of ['cuda', 'cpu'] as const) {
    const marks: Record<string, number> = {};
    const t0 = performance.now();
    const result = await evaluate({
      model: models['MLP 25→16→1'],
      data: csv,
      reference,
      spec: { ...spec, bootstrap: { resamples: 0, seed: 1 } },
      executionProvider: provider,
      onProgress: (p: EvaluationProgress) => (marks[p.phase] ??= performance.now()),
    });
    const total = performance.now() - t0;
    if (result.evidence.runtime.execution_provider !== provider)
      throw new Error(
        `asked for ${provider}, the evidence records ${result.evidence.runtime.execution_provider}`,
      );
    runs[provider] = result;
    log(`## evaluate() on ${provider}, MLP 25→16→1, all families, bootstrap 0`);
    log(
      `- total ${seconds(total)} for ${result.evidence.rows.toLocaleString('en-US')} rows (${rate(result.evidence.rows, total)} rows/s); data pass (parse + map + infer) ${seconds(marks.reference! - marks.data!)}`,
    );
    log(`- evidence runtime: ${JSON.stringify(result.evidence.runtime)}; sha256 ${result.sha256}\n`);
  }
  const withoutRuntime = (r: EvaluationResult) => ({ ...r.evidence, runtime: undefined });
  const diff = compareEvidence(withoutRuntime(runs.cuda!), withoutRuntime(runs.cpu!));
  log(`## The two evidence documents, runtime aside`);
  log(
    diff.paths.length === 0
      ? `- identical in every field`
      : `- ${diff.paths.length} numeric fields differ, by at most ${diff.largest.toExponential(2)}: ${diff.paths.slice(0, 8).join(', ')}${diff.paths.length > 8 ? ', …' : ''}`,
  );
  log('');

  // 4. Inference throughput: a bare session.run loop on pre-encoded tensors, per provider, model and batch
  //    size; and our runner as evaluate() calls it (collected columns → tensor, run, extract) on CUDA.
  log(`## Inference throughput, ${SAMPLE.toLocaleString('en-US')} rows, median of 5 passes`);
  log(`| model | batch | CPU bare rows/s | CUDA bare rows/s | CUDA ours rows/s | our overhead on CUDA |`);
  log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const collectors = features.map(
    (f) => new ColumnCollector(f.column, f.kind === 'categorical' ? 'categorical' : 'numeric'),
  );
  for (const row of sample) for (const c of collectors) c.add(row[c.name]);
  const collected = collectors.map((c) => c.collected());
  for (const [label, file] of Object.entries(models)) {
    for (const batch of [BATCH, 65_536]) {
      const tensors: ort.Tensor[] = [];
      for (let start = 0; start < SAMPLE; start += batch) {
        const rows = sample.slice(start, start + batch);
        const x = new Float32Array(rows.length * layout.width);
        rows.forEach((r, k) => layout.encode(r, x, k * layout.width));
        tensors.push(new ort.Tensor('float32', x, [rows.length, layout.width]));
      }
      const bare = async (provider: 'cuda' | 'cpu'): Promise<number> => {
        const session = await ort.InferenceSession.create(await readFile(file), {
          executionProviders: [provider],
        });
        const passes: number[] = [];
        for (let pass = 0; pass < 6; pass++) {
          const s = performance.now();
          for (const t of tensors) await session.run({ features: t }, ['probabilities']);
          passes.push(performance.now() - s);
        }
        await session.release();
        return median(passes.slice(1)); // the first pass warms up (kernel selection, allocations)
      };
      const runner = await openModel(await readFile(file), { ...spec, model: { batch_size: batch } }, 'cuda');
      const passes: number[] = [];
      for (let pass = 0; pass < 6; pass++) {
        const s = performance.now();
        await runner.predict(sample, { columns: collected, start: 0 });
        passes.push(performance.now() - s);
      }
      await runner.close();
      const ours = median(passes.slice(1));
      const [cpu, cuda] = [await bare('cpu'), await bare('cuda')];
      log(
        `| ${label} | ${batch.toLocaleString('en-US')} | ${rate(SAMPLE, cpu)} | ${rate(SAMPLE, cuda)} | ${rate(SAMPLE, ours)} | ${(((ours - cuda) / cuda) * 100).toFixed(1)}% |`,
      );
    }
  }

  await writeFile(
    path.resolve(import.meta.dirname, '../results/evaluators-cuda.md'),
    lines.join('\n') + '\n',
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
