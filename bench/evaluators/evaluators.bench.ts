// Evaluator benchmark (issue 5): 1,000,000 Adult-shaped synthetic rows.
//   npx tsx bench/evaluators/evaluators.bench.ts [rows]
// Writes bench/results/evaluators.md. Not part of the test suite.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ADULT_COLUMNS } from '../../evaluators/fixtures/datasets.ts';
import { ColumnCollector } from '../../evaluators/collect.ts';
import { evaluate, type EvaluationProgress } from '../../evaluators/index.ts';
import { bootstrapFairness, buildCells, fairnessOf } from '../../evaluators/metrics/fairness.ts';
import { normalizeFeatures, TensorLayout } from '../../evaluators/onnx/features.ts';
import { openModel } from '../../evaluators/onnx/runner.ts';
import { readRows, type Row } from '../../evaluators/readers/rows.ts';
import { adultWorkload } from './adult-synthetic.ts';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const BATCH = 4096;
// Timed passes of each side of the inference comparison (section 3), after one that warms up.
const PASSES = 5;
const lines: string[] = [];
const log = (line: string): void => {
  console.log(line);
  lines.push(line);
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const ms = (x: number): string => `${Math.round(x)} ms`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-bench-evaluators-'));
try {
  const { csv, reference, models, spec, synthetic } = await adultWorkload(dir, ROWS, BATCH);
  const modelPath = models['MLP 25→16→1'];

  log(`# Evaluators benchmark\n`);
  log(
    `- machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}, onnxruntime-node ${ort.env.versions.node}; load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}`,
  );
  log(
    `- execution provider: evaluate() runs with \`auto\` (CUDA when its provider loads, else CPU) and each run below names the one it got; the inference-throughput sections use the CPU provider on both sides.`,
  );
  log(`- command: \`npx tsx bench/evaluators/evaluators.bench.ts ${ROWS}\``);
  log(
    `- data: ${ROWS.toLocaleString('en-US')} Adult-shaped synthetic rows (adult.data resampled with a fixed seed, age and hours jittered), CSV; model: MLP 25→16→1 as ONNX; batch ${BATCH}\n`,
  );

  // 1. The whole pipeline: parse + map + infer + every metric family (bootstrap off, then 1,000 resamples).
  for (const resamples of [0, 1000]) {
    const marks: Record<string, number> = {};
    const t0 = performance.now();
    const result = await evaluate({
      model: modelPath,
      data: csv,
      reference,
      spec: { ...spec, bootstrap: { resamples, seed: 1 } },
      executionProvider: 'auto',
      onProgress: (p: EvaluationProgress) => (marks[p.phase] ??= performance.now()),
    });
    const total = performance.now() - t0;
    log(`## evaluate(), all families, bootstrap ${resamples}`);
    log(
      `- total ${seconds(total)} for ${result.evidence.rows.toLocaleString('en-US')} rows (${Math.round(result.evidence.rows / (total / 1000)).toLocaleString('en-US')} rows/s); execution provider ${result.evidence.runtime.execution_provider}`,
    );
    log(
      `- data pass (parse + map + infer): ${seconds(marks.reference! - marks.data!)}; reference pass (32,561 rows): ${seconds(marks.metrics! - marks.reference!)}`,
    );
    const t = result.timings;
    const full = t.performance! + t.fairness! + t.drift! + t.data_quality!;
    log(
      `- metrics over all rows (performance ${ms(t.performance!)}, fairness 3 attributes + 4 intersections ${ms(t.fairness!)}, drift ${ms(t.drift!)}, data quality ${ms(t.data_quality!)}): **${seconds(full)}**`,
    );
    log(
      `- model probes on a 500-row sample, independent of row count (robustness ${ms(t.robustness!)}, explainability ${ms(t.explainability!)}); canonical JSON + schema check ${ms(t.serialize!)}\n`,
    );
  }

  // 2. Fairness alone on the collected columns: 3 attributes and their intersections.
  const codes: Int32Array[] = [];
  const values: string[][] = [];
  const labels = new Int8Array(ROWS);
  const preds = new Int8Array(ROWS);
  const attrs = ['sex', 'race', 'relationship'];
  const dicts = attrs.map(() => new Map<string, number>());
  attrs.forEach(() => codes.push(new Int32Array(ROWS)));
  attrs.forEach(() => values.push([]));
  let i = 0;
  for await (const row of readRows(csv, { columns: ADULT_COLUMNS, naValues: ['', '?'] })) {
    attrs.forEach((a, k) => {
      const v = String(row[a]);
      let c = dicts[k]!.get(v);
      if (c === undefined) dicts[k]!.set(v, (c = values[k]!.push(v) - 1));
      codes[k]![i] = c;
    });
    labels[i] = String(row.income).startsWith('>50K') ? 1 : 0;
    preds[i] = Number(row['education-num']) >= 13 ? 1 : 0;
    i++;
  }
  const sets = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];
  let t = performance.now();
  const cells = buildCells(attrs, values, codes, labels, preds, null);
  const built = performance.now() - t;
  t = performance.now();
  for (const set of sets) fairnessOf(cells, set, { minGroupSize: 30, hasLabel: true, hasScore: false });
  const point = performance.now() - t;
  t = performance.now();
  bootstrapFairness(cells, sets, {
    resamples: 1000,
    seed: 1,
    confidence: 0.95,
    minGroupSize: 30,
    hasLabel: true,
  });
  const boot = performance.now() - t;
  log(
    `## Fairness: 3 attributes + 4 intersections (${sets.length} groupings, ${cells.count.length} outcome cells)`,
  );
  log(`- aggregate ${ROWS.toLocaleString('en-US')} rows into cells: ${seconds(built)}`);
  log(
    `- all fairness metrics without bootstrap: ${seconds(built + point)} (cells ${seconds(built)} + metrics ${point.toFixed(1)} ms)`,
  );
  log(`- with 1,000 bootstrap resamples: ${seconds(built + point + boot)} (resampling ${seconds(boot)})\n`);

  // 3. Inference throughput: a bare session.run loop over pre-encoded tensors against our runner as evaluate()
  //    calls it: a batch of rows together with the columns the data pass collected for them (numbers parsed,
  //    categories dictionary-coded; the metrics need those columns anyway), which the runner turns into the
  //    input tensor, runs, and reads the scores from. Collecting is data-pass work, done before the timers as
  //    it is outside inference in evaluate(). The row-object path, predict(rows), which the robustness and
  //    explainability probes use on their samples, is timed too. Both sides use the same session options.
  //    Each side runs over all the rows back to back, as a loop does, in passes that alternate which side goes
  //    first; the first pass warms up and the median of the others counts. Nothing is allocated for the data
  //    inside a timer, so no collection of it lands there. Two model sizes: the per-row encoding cost is
  //    fixed, so its share shrinks as the model does more work.
  const features = normalizeFeatures(spec.features!);
  const layout = new TensorLayout(features);
  const collectors = features.map(
    (f) => new ColumnCollector(f.column, f.kind === 'categorical' ? 'categorical' : 'numeric'),
  );
  const batches: { rows: Row[]; start: number; tensor: ort.Tensor }[] = [];
  for (let start = 0; start < ROWS; start += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, ROWS - start) }, synthetic);
    // As collect() in evaluate.ts tracks model features: numeric ones as numbers, whatever a cell holds.
    for (const row of rows) for (const c of collectors) c.add(row[c.name]);
    const x = new Float32Array(rows.length * layout.width);
    rows.forEach((r, k) => layout.encode(r, x, k * layout.width));
    batches.push({ rows, start, tensor: new ort.Tensor('float32', x, [rows.length, layout.width]) });
  }
  const columns = collectors.map((c) => c.collected());
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [label, file] of Object.entries(models)) {
    const runner = await openModel(await readFile(file), spec, 'cpu');
    const session = await ort.InferenceSession.create(await readFile(file), { executionProviders: ['cpu'] });
    const timed = async (run: (batch: (typeof batches)[number]) => Promise<unknown>): Promise<number> => {
      const s = performance.now();
      for (const batch of batches) await run(batch);
      return performance.now() - s;
    };
    const runBare = () => timed((b) => session.run({ features: b.tensor }, ['probabilities']));
    const runOurs = () => timed((b) => runner.predict(b.rows, { columns, start: b.start }));
    const passes = { bare: [] as number[], ours: [] as number[], fromRows: [] as number[] };
    for (let pass = 0; pass <= PASSES; pass++) {
      let bare: number, ours: number;
      if (pass % 2) {
        bare = await runBare();
        ours = await runOurs();
      } else {
        ours = await runOurs();
        bare = await runBare();
      }
      const fromRows = await timed((b) => runner.predict(b.rows));
      if (pass === 0) continue;
      passes.bare.push(bare);
      passes.ours.push(ours);
      passes.fromRows.push(fromRows);
    }
    await runner.close();
    await session.release();
    const [bare, ours, fromRows] = [median(passes.bare), median(passes.ours), median(passes.fromRows)];
    const rate = (t: number): string => Math.round(ROWS / (t / 1000)).toLocaleString('en-US');
    const perRow = (t: number): string => `${Math.round((t * 1e6) / ROWS)} ns a row`;
    const each = (xs: number[]): string => xs.map(ms).join(', ');
    log(
      `## Inference throughput, ${label}, batch ${BATCH}, CPU, ${ROWS.toLocaleString('en-US')} rows, median of ${PASSES} passes`,
    );
    log(
      `- bare \`session.run\` loop on pre-encoded tensors: ${seconds(bare)}, ${perRow(bare)} (${rate(bare)} rows/s; passes ${each(passes.bare)})`,
    );
    log(
      `- our runner as evaluate() calls it (collected columns → tensor, run, extract): ${seconds(ours)}, ${perRow(ours)} (${rate(ours)} rows/s; passes ${each(passes.ours)})`,
    );
    log(`- overhead: ${(((ours - bare) / bare) * 100).toFixed(1)}% (target ≤ 25%)`);
    log(
      `- our runner from row objects (the probes' path): ${seconds(fromRows)} (${rate(fromRows)} rows/s), overhead ${(((fromRows - bare) / bare) * 100).toFixed(1)}%\n`,
    );
  }

  await writeFile(path.resolve(import.meta.dirname, '../results/evaluators.md'), lines.join('\n') + '\n');
} finally {
  await rm(dir, { recursive: true, force: true });
}
