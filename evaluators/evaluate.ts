import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { Ajv } from 'ajv';
import canonicalize from 'canonicalize';
import {
  ColumnCollector,
  Growable,
  MAX_CATEGORIES,
  MissingCounter,
  RowSample,
  sharedKind,
  type ColumnKind,
} from './collect.ts';
import { EvaluatorError } from './errors.ts';
import type { Evidence, SkippedMetric } from './evidence.ts';
import { classBalanceOf, proxiesOf, representationOf } from './metrics/data-quality.ts';
import { categoricalDrift, numericDrift, numericDriftOfSorted } from './metrics/drift.ts';
import { bootstrapFairness, buildCells, fairnessOf } from './metrics/fairness.ts';
import {
  counterfactualFlips,
  numericBaseline,
  permutationImportance,
  perturbationSensitivity,
  topReasons,
  type Predict,
} from './metrics/model-probes.ts';
import { calibrationOf, performanceOf } from './metrics/performance.ts';
import { createRng, sortPresent, type SortedValues } from './metrics/stats.ts';
import { normalizeFeatures, numericValue, type Feature } from './onnx/features.ts';
import { openModel, type ExecutionProvider, type IntegerInputType, type ModelRunner } from './onnx/runner.ts';
import { dataFormatOf, readRowBatches, type Cell, type Row } from './readers/rows.ts';
import EVIDENCE_SCHEMA from './schema/evidence.schema.json' with { type: 'json' };
import { scanModelFile, type ScanReport } from './security/scan.ts';
import { loadSpec } from './spec/load-spec.ts';
import { METRIC_FAMILIES, type EvaluationSpec, type MetricFamily, type ReadSpec } from './spec/types.ts';
import { libraryVersions } from './versions.ts';

export interface EvaluateLimits {
  maxRows?: number;
  maxBytes?: number;
  timeoutMs?: number;
}

export interface EvaluationProgress {
  phase: 'scan' | 'data' | 'reference' | 'metrics' | 'reasons' | 'done';
  rows: number;
}

export interface EvaluateInput {
  /**
   * Path of an ONNX model; without it, predictions come from spec.prediction.column, or from
   * spec.prediction.score at spec.prediction.threshold.
   */
  model?: string;
  data: string;
  /** Reference dataset for drift. */
  reference?: string;
  /** A validated spec, or YAML / JSON text. */
  spec: EvaluationSpec | string;
  executionProvider?: ExecutionProvider;
  onProgress?: (progress: EvaluationProgress) => void;
  limits?: EvaluateLimits;
  signal?: AbortSignal;
  /**
   * When the evidence was gathered, recorded as `generated_at` (policies judge freshness by it). An input
   * like the others: the same inputs and the same instant give the same bytes; without it, none is recorded.
   */
  generatedAt?: Date;
  /**
   * With spec.explainability.adverse_decision: receives the adverse-action reasons of every row given that
   * decision, as JSON Lines in data order, a chunk at a time (awaited, so a slow writer holds the pass back).
   * The evidence records their count and sha256 whether or not they are taken here.
   */
  onAdverseReasons?: (lines: string) => Promise<void>;
}

export interface EvaluationResult {
  evidence: Evidence;
  /** Wall-clock milliseconds per phase; not part of the evidence, which must not depend on timing. */
  timings: Record<string, number>;
  /** The evidence as RFC 8785 canonical JSON: the bytes that are hashed and stored. */
  json: string;
  sha256: string;
}

export const DEFAULT_MIN_GROUP_SIZE = 30;
export const DEFAULT_PROBE_SAMPLE = 500;
const PROGRESS_EVERY = 10_000;
const REASON_ROWS = 10;
/**
 * Mixed into explainability.seed for the pick of the explained rows: the sample's reservoir drew from the
 * stream of that seed itself, and the same draws would pick the slots it had just filled with later rows.
 */
const REASON_ROWS_SEED_MIX = 0x2545f491;

/**
 * The sampled rows the evidence explains (indices into the sample, in data order): `count` of them, picked by
 * the first steps of a seeded shuffle. Not the sample's first slots: a reservoir keeps the file's first rows
 * there (slot i holds row i with chance size / rows, any later row with chance 1 / rows).
 */
function pickRows(positions: readonly number[], count: number, seed: number): number[] {
  const rng = createRng(seed);
  const order = positions.map((_, i) => i);
  const picked = Math.min(count, order.length);
  for (let i = 0; i < picked; i++) {
    const j = i + Math.floor(rng() * (order.length - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, picked).sort((a, b) => positions[a]! - positions[b]!);
}

const validateEvidence = new Ajv({ allErrors: true, strict: false }).compile(EVIDENCE_SCHEMA);

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A cell's value for matching a spec's `positive`: booleans and the text true/false (any case, as pandas writes
 * True) are 1 and 0, numeric text is its number ("1.0", as pandas writes an integer column with gaps, is 1);
 * other text stays as it is.
 */
function matchKey(value: Cell): number | string {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const text = String(value);
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true' ? 1 : 0;
  const number = text.trim() === '' ? Number.NaN : Number(text);
  return Number.isFinite(number) ? number : text;
}

/** Whether a cell is one of the spec's positive values (one value or a list), compared by matchKey. */
function positiveMatcher(positive: unknown): (value: Cell) => boolean {
  const keys = new Set((Array.isArray(positive) ? positive : [positive]).map((p) => matchKey(p as Cell)));
  // Labels take few distinct values: each text is keyed once (up to a bound, for a column that is not a label).
  const seen = new Map<string, boolean>();
  return (value) => {
    if (typeof value !== 'string') return keys.has(matchKey(value));
    let hit = seen.get(value);
    if (hit === undefined) {
      hit = keys.has(matchKey(value));
      if (seen.size < 1024) seen.set(value, hit);
    }
    return hit;
  };
}

/**
 * The most rates a fairness bootstrap keeps (resamples × (3 × groups + 2) over its groupings): about 160 MB.
 * 1,000 resamples of 7 groupings with 170 groups among them keep 524,000.
 */
const MAX_BOOTSTRAP_SAMPLES = 20_000_000;

/** The most values of a sensitive attribute a counterfactual probe swaps into each sampled row. */
const MAX_COUNTERFACTUAL_VALUES = 100;

class Guard {
  private readonly deadline: number;
  constructor(
    readonly limits: EvaluateLimits,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.deadline = limits.timeoutMs === undefined ? Infinity : Date.now() + limits.timeoutMs;
  }
  check(rows?: number): void {
    if (this.signal?.aborted) throw new EvaluatorError('EVAL_ABORTED', 'evaluation was cancelled');
    if (Date.now() > this.deadline) {
      throw new EvaluatorError(
        'EVAL_TIMEOUT',
        `evaluation ran past its time limit of ${this.limits.timeoutMs} ms`,
      );
    }
    if (rows !== undefined && this.limits.maxRows !== undefined && rows > this.limits.maxRows) {
      throw new EvaluatorError(
        'EVAL_LIMIT_ROWS',
        `data has more than the limit of ${this.limits.maxRows} rows`,
      );
    }
  }
  /** Refuses, before any work, a file that is missing, not a regular file, unreadable or over the limit. */
  async size(path: string, what: string): Promise<void> {
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error(info.isDirectory() ? 'is a directory' : 'not a regular file');
      await (await open(path, 'r')).close();
      size = info.size;
    } catch (cause) {
      // Node's "ENOENT: no such file or directory, stat '…'" without the path it repeats.
      const reason = (cause as Error).message.split(', ')[0];
      throw new EvaluatorError(
        what === 'model' ? 'EVAL_MODEL_INVALID' : 'EVAL_DATA_INVALID',
        `cannot read ${what} file ${path}: ${reason}`,
        { cause },
      );
    }
    if (this.limits.maxBytes !== undefined && size > this.limits.maxBytes) {
      throw new EvaluatorError(
        'EVAL_LIMIT_BYTES',
        `${what} file is ${size} bytes, over the limit of ${this.limits.maxBytes}`,
      );
    }
  }
}

/**
 * The runner's predict, one batch at a time with the time limit and a cancel checked before each: a probe
 * hands over every variant it scores at once (permutation importance, rows × repeats per feature; the
 * reasons, rows × features), minutes of inference that must stop when the evaluation is stopped.
 */
function guardedPredict(runner: ModelRunner, guard: Guard): Predict {
  return async (rows) => {
    const size = runner.batchSize;
    if (rows.length <= size) {
      guard.check();
      return runner.predict(rows);
    }
    const scores = new Float64Array(rows.length);
    for (let start = 0; start < rows.length; start += size) {
      guard.check();
      scores.set(await runner.predict(rows.slice(start, start + size)), start);
    }
    return scores;
  };
}

interface Collected {
  rows: number;
  label: Int8Array | null;
  pred: Int8Array;
  score: Float64Array | null;
  columns: Map<string, ColumnCollector>;
  missing: MissingCounter;
  /** The rows each probing family draws (empty when it does not run or no model does). */
  samples: ProbeSamples;
  rowsWithoutPrediction: number;
}

interface Plan {
  spec: EvaluationSpec;
  features: Feature[];
  families: Set<MetricFamily>;
  runner: ModelRunner | null;
  threshold: number;
  /** The size and seed of each probing family's sample: spec.robustness's and spec.explainability's. */
  samples: Record<keyof ProbeSamples, { size: number; seed: number }>;
}

const NO_SAMPLE = { size: 0, seed: 0 };

interface ProbeSamples {
  robustness: RowSample;
  explainability: RowSample;
}

/** Which of the two files a pass reads: each is read as its own part of the spec says. */
type Source = 'data' | 'reference';

/** A column the spec names, with the spec field that names it. */
interface NamedColumn {
  field: string;
  column: string;
}

/**
 * The columns a pass must find in its file. The data must hold every column the spec names; the reference
 * those that drift compares, and the model's features when a model scores it.
 */
function namedColumns(spec: EvaluationSpec, source: Source, model: boolean): NamedColumn[] {
  const named: NamedColumn[] = [];
  const features = (): void =>
    (spec.features ?? []).forEach((f, i) =>
      named.push(
        typeof f === 'string'
          ? { field: `spec.features[${i}]`, column: f }
          : { field: `spec.features[${i}].column`, column: f.column },
      ),
    );
  if (source === 'data') {
    if (spec.label) named.push({ field: 'spec.label.column', column: spec.label.column });
    if (!model && spec.prediction?.column)
      named.push({ field: 'spec.prediction.column', column: spec.prediction.column });
    if (!model && spec.prediction?.score)
      named.push({ field: 'spec.prediction.score', column: spec.prediction.score });
    // Intersections name only sensitive attributes (loadSpec checks), so these cover them too.
    (spec.sensitive ?? []).forEach((column, i) => named.push({ field: `spec.sensitive[${i}]`, column }));
    features();
    for (const column of Object.keys(spec.data_quality?.columns ?? {}))
      named.push({ field: `spec.data_quality.columns.${column}`, column });
  } else if (model) features();
  (spec.drift?.features ?? []).forEach((column, i) =>
    named.push({ field: `spec.drift.features[${i}]`, column }),
  );
  return named;
}

/** Column names shown in an error: enough to spot a typo, never a whole JSON Lines key space. */
const SHOWN_COLUMNS = 30;

/**
 * Refuses a spec that names a column the file does not hold: the metrics of such a column would all be
 * empty or null, and the evidence would look like an evaluation that found nothing.
 */
function checkColumns(
  named: NamedColumn[],
  has: (column: string) => boolean,
  columns: string[],
  source: Source,
): void {
  const absent = named.filter((n) => !has(n.column));
  if (absent.length === 0) return;
  const shown = columns.slice(0, SHOWN_COLUMNS).join(', ');
  const more = columns.length > SHOWN_COLUMNS ? `, … ${columns.length - SHOWN_COLUMNS} more` : '';
  throw new EvaluatorError(
    'EVAL_SPEC_INVALID',
    absent
      .map(
        (n) =>
          `${n.field}: column ${JSON.stringify(n.column)} is not in the ${source === 'data' ? 'data' : 'reference data'} (columns: ${shown}${more})`,
      )
      .join('; '),
    { field: absent[0]!.field },
  );
}

async function collect(
  path: string,
  source: Source,
  plan: Plan,
  guard: Guard,
  onRows: (rows: number) => void,
  signal?: AbortSignal,
): Promise<Collected> {
  const { spec, runner } = plan;
  const read = source === 'data' ? spec.data : spec.reference_data;
  const named = namedColumns(spec, source, runner !== null);
  // CSV and Parquet rows all hold the header's columns, so the first row settles the check before any
  // inference; a JSON Lines row holds the keys its line gives, so only the whole file does.
  const format = read?.format ?? dataFormatOf(path);
  if (!format)
    throw new EvaluatorError(
      'EVAL_DATA_FORMAT',
      `cannot tell the format of ${path} from its name; set spec.${source === 'data' ? 'data' : 'reference_data'}.format`,
    );
  const sameColumnsInEveryRow = format !== 'jsonl';
  const labelColumn = spec.label?.column;
  const labelPositive = spec.label ? positiveMatcher(spec.label.positive) : null;
  const predColumn = runner ? null : (spec.prediction?.column ?? null);
  const predPositive = positiveMatcher(spec.prediction?.positive ?? 1);
  const scoreColumn = runner ? null : (spec.prediction?.score ?? null);
  const columns = new Map<string, ColumnCollector>();
  const track = (name: string, kind: ColumnKind | null): void => {
    if (!columns.has(name)) columns.set(name, new ColumnCollector(name, kind));
  };
  // A column named `constructor` or `toString` is a column: only the spec's own keys declare a kind.
  const declared = spec.data_quality?.columns ?? {};
  const declaredKind = (name: string) => (Object.hasOwn(declared, name) ? declared[name]! : null);
  for (const s of spec.sensitive ?? []) track(s, 'categorical');
  // A numeric feature is what the model reads as a number, whatever text a few of its cells hold.
  for (const f of plan.features)
    track(f.column, f.kind === 'categorical' ? 'categorical' : (declaredKind(f.column) ?? 'numeric'));
  for (const d of spec.drift?.features ?? []) track(d, declaredKind(d));
  const tracked = [...columns.values()];
  const featureColumns = plan.features.map((f) => columns.get(f.column)!);

  const label = new Growable((n) => new Int8Array(n));
  const pred = new Growable((n) => new Int8Array(n));
  const score = new Growable((n) => new Float64Array(n));
  const missing = new MissingCounter();
  // Each probing family's seeded sample of scorable rows.
  const samples: ProbeSamples = {
    robustness: new RowSample(plan.samples.robustness.size, plan.samples.robustness.seed),
    explainability: new RowSample(plan.samples.explainability.size, plan.samples.explainability.seed),
  };
  let rows = 0;
  let batch: Row[] = [];
  let batchStart = 0;

  const fill = (rowsOfBatch: Row[], start: number, scores: Float64Array): void => {
    for (let i = 0; i < rowsOfBatch.length; i++) {
      const s = scores[i]!;
      const at = start + i;
      score.set(at, s);
      pred.set(at, Number.isNaN(s) ? -1 : s >= plan.threshold ? 1 : 0);
      if (!Number.isNaN(s)) {
        const y = labelColumn ? label.view()[at]! : -1;
        samples.robustness.add(rowsOfBatch[i]!, at, y, s);
        samples.explainability.add(rowsOfBatch[i]!, at, y, s);
      }
    }
  };
  const flush = async (): Promise<void> => {
    if (!runner || batch.length === 0) return;
    // The features were just collected for these rows: the runner encodes them from there.
    const collected = { columns: featureColumns.map((c) => c.collected()), start: batchStart };
    fill(batch, batchStart, await runner.predict(batch, collected));
    batch = [];
  };

  for await (const rowsRead of rowBatchesOf(path, read, guard, signal)) {
    if (rows === 0 && sameColumnsInEveryRow) {
      const first = rowsRead[0]!;
      checkColumns(named, (c) => Object.hasOwn(first, c), Object.keys(first), source);
    }
    for (const row of rowsRead) {
      rows++;
      if (rows % 1000 === 0) guard.check(rows);
      missing.add(row);
      for (const c of tracked) c.add(row[c.name]);
      if (labelColumn) {
        const v = row[labelColumn];
        label.push(v === null || v === undefined ? -1 : labelPositive!(v) ? 1 : 0);
      }
      if (runner) {
        if (batch.length === 0) batchStart = rows - 1;
        pred.push(-1);
        score.push(Number.NaN);
        batch.push(row);
        if (batch.length >= runner.batchSize) await flush();
      } else {
        // An infinite score ("Infinity", "1e309") is no score: it would rank above every real one and reach the
        // evidence's medians as a number JSON cannot hold.
        const read = scoreColumn ? numericValue(row[scoreColumn]) : Number.NaN;
        const s = Number.isFinite(read) ? read : Number.NaN;
        if (scoreColumn) score.push(s);
        if (predColumn) {
          const v = row[predColumn];
          pred.push(v === null || v === undefined ? -1 : predPositive(v) ? 1 : 0);
        } else pred.push(Number.isNaN(s) ? -1 : s >= plan.threshold ? 1 : 0);
      }
      if (rows % PROGRESS_EVERY === 0) onRows(rows);
    }
  }
  await flush();
  guard.check(rows);
  if (rows === 0)
    throw new EvaluatorError(
      'EVAL_DATA_INVALID',
      `${source === 'data' ? 'data' : 'reference'} file ${path} holds no rows${read?.skip_lines ? ` after the ${read.skip_lines} line(s) spec.${source === 'data' ? 'data' : 'reference_data'}.skip_lines skips` : ''}`,
    );
  if (!sameColumnsInEveryRow) {
    const seen = new Set(missing.columns());
    checkColumns(named, (c) => seen.has(c), [...seen], source);
  }
  onRows(rows);
  const predView = pred.view();
  let withoutPrediction = 0;
  for (const p of predView) if (p < 0) withoutPrediction++;
  return {
    rows,
    label: labelColumn ? label.view() : null,
    pred: predView,
    score: runner || scoreColumn ? score.view() : null,
    columns,
    missing,
    samples,
    rowsWithoutPrediction: withoutPrediction,
  };
}

/** A file's rows in batches, read as its part of the spec says; every pass over a file reads it the same way. */
function rowBatchesOf(
  path: string,
  read: ReadSpec | undefined,
  guard: Guard,
  signal?: AbortSignal,
): AsyncGenerator<Row[]> {
  return readRowBatches(path, {
    maxRows: guard.limits.maxRows,
    format: read?.format,
    columns: read?.columns,
    delimiter: read?.delimiter,
    skipLines: read?.skip_lines,
    naValues: read?.na_values,
    signal,
  });
}

interface AdverseReasonsPlan {
  /** The features a reason may name: the model's, less the sensitive attributes. */
  features: string[];
  baseline: Row;
  top: number;
  adverse: 0 | 1;
}

/**
 * A second pass over the data for adverse-action notices: each scorable row given the adverse decision, with
 * its top reasons, one RFC 8785 line each, in data order. The data must hash as it did in the first pass, so
 * that the lines belong to the evidence that records their sha256.
 */
async function adverseReasons(
  path: string,
  plan: Plan & { runner: ModelRunner },
  reasonsPlan: AdverseReasonsPlan,
  dataSha256: string,
  guard: Guard,
  onLines: (lines: string) => Promise<void>,
  onRows: (rows: number) => void,
  signal?: AbortSignal,
): Promise<{ rows: number; withoutReasons: number; sha256: string; unscorable: Record<string, number> }> {
  const { runner, threshold } = plan;
  const predict = guardedPredict(runner, guard);
  const check = (): void => guard.check();
  const rehashed = sha256File(path);
  rehashed.catch(() => {});
  const hash = createHash('sha256');
  let rows = 0;
  let adverseRows = 0;
  let withoutReasons = 0;
  const unscorable: Record<string, number> = Object.fromEntries(reasonsPlan.features.map((f) => [f, 0]));
  const pass = async (batch: Row[], start: number): Promise<void> => {
    const scores = await predict(batch);
    const chosen: number[] = [];
    scores.forEach((s, i) => {
      if (!Number.isNaN(s) && (s >= threshold ? 1 : 0) === reasonsPlan.adverse) chosen.push(i);
    });
    if (chosen.length === 0) return;
    const reasons = await topReasons(
      chosen.map((i) => batch[i]!),
      reasonsPlan.features,
      reasonsPlan.baseline,
      predict,
      threshold,
      reasonsPlan.top,
      check,
    );
    for (const [f, n] of Object.entries(reasons.unscorable)) unscorable[f]! += n;
    for (const r of reasons.rows) if (r.reasons.length === 0) withoutReasons++;
    const lines = reasons.rows
      .map(({ row, ...r }) => canonicalize({ row: start + chosen[row]!, ...r }) + '\n')
      .join('');
    hash.update(lines);
    adverseRows += chosen.length;
    await onLines(lines);
  };
  let batch: Row[] = [];
  for await (const rowsRead of rowBatchesOf(path, plan.spec.data, guard, signal)) {
    for (const row of rowsRead) {
      batch.push(row);
      if (batch.length >= runner.batchSize) {
        await pass(batch, rows);
        rows += batch.length;
        batch = [];
        guard.check();
        onRows(rows);
      }
    }
  }
  await pass(batch, rows);
  rows += batch.length;
  onRows(rows);
  if ((await rehashed) !== dataSha256)
    throw new EvaluatorError('EVAL_DATA_INVALID', `data file ${path} changed while it was being evaluated`);
  return { rows: adverseRows, withoutReasons, sha256: hash.digest('hex'), unscorable };
}

/**
 * The baseline each feature is reset to: over these rows, a numeric feature's median (numericBaseline: a value
 * its input can take) and a categorical feature's mode (a tie: the value that sorts first); null where no row
 * holds a value.
 */
function baselineOf(
  rows: readonly Row[],
  features: readonly Feature[],
  integerInputs: ReadonlyMap<string, IntegerInputType>,
): Row {
  return Object.fromEntries(
    features.map((f) => {
      if (f.kind === 'numeric') {
        const input = integerInputs.get(f.column);
        const values = sortPresent(Float64Array.from(rows, (row) => numericValue(row[f.column]))).values;
        return [
          f.column,
          numericBaseline(values, input === undefined ? 'float' : input === 'bool' ? 'bool' : 'integer'),
        ];
      }
      const counts = new Map<string, number>();
      for (const row of rows) {
        const cell = row[f.column];
        if (cell === null || cell === undefined) continue;
        counts.set(String(cell), (counts.get(String(cell)) ?? 0) + 1);
      }
      const mode = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
      return [f.column, mode?.[0] ?? null];
    }),
  );
}

/**
 * What the evidence's warnings say of the resets to the baseline that the model could not score, which give
 * their rows no contribution from that feature; null when there were none.
 */
function unscorableWarning(unscorable: Record<string, number>, baseline: Row, rows: string): string | null {
  const features = Object.entries(unscorable).filter(([, n]) => n > 0);
  if (features.length === 0) return null;
  const each = features.map(([f, n]) => `${f} (to ${JSON.stringify(baseline[f] ?? null)}): ${n}`).join(', ');
  return `explainability.reasons: the model gave no score with a feature reset to its baseline for some ${rows}, so their reasons leave that feature out; unscored resets by feature: ${each}`;
}

function medianOfSorted(present: Float64Array): number | null {
  if (present.length === 0) return null;
  const mid = present.length >> 1;
  if (present.length % 2) return present[mid]!;
  const [a, b] = [present[mid - 1]!, present[mid]!];
  // Two values near 1.8e308 overflow their sum, not their halves.
  return Number.isFinite(a + b) ? (a + b) / 2 : a / 2 + b / 2;
}

function std(values: Float64Array): number {
  // Squared deviations overflow past about 1e154: such values are divided by the largest magnitude first
  // (others are not, which keeps their result to the bit).
  let largest = 0;
  for (let i = 0; i < values.length; i++)
    if (Number.isFinite(values[i]!)) largest = Math.max(largest, Math.abs(values[i]!));
  const scale = largest > 1e150 ? largest : 1;
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]! / scale;
    if (!Number.isFinite(x)) continue;
    n++;
    const d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  return n > 1 ? Math.sqrt(m2 / (n - 1)) * scale : 0;
}

/**
 * What a valid spec must also agree with: where the predictions come from (a model, or a column of the data)
 * and the families it asks for. evaluate() checks it first; a service checks it before queueing a job.
 */
export function checkSpecFor(spec: EvaluationSpec, source: { model: boolean }): void {
  const invalid = (field: string, message: string) =>
    new EvaluatorError('EVAL_SPEC_INVALID', message, { field });
  const fromData = spec.prediction?.column ?? spec.prediction?.score;
  if (!source.model && !fromData) {
    throw invalid(
      'spec.prediction.column',
      'spec.prediction.column (or spec.prediction.score with a threshold) is required when no model is given',
    );
  }
  if (source.model && fromData) {
    throw invalid(
      spec.prediction?.column ? 'spec.prediction.column' : 'spec.prediction.score',
      'spec.prediction.column and score read predictions from the data, not from a model; use spec.prediction.output with a model',
    );
  }
  if (source.model && !(spec.features && spec.features.length > 0))
    throw invalid('spec.features', 'spec.features is required to feed a model');
  const families = new Set<MetricFamily>(spec.metrics ?? METRIC_FAMILIES);
  if (spec.explainability?.adverse_decision && !families.has('explainability')) {
    throw invalid(
      'spec.explainability.adverse_decision',
      'spec.explainability.adverse_decision asks for adverse-action reasons, but spec.metrics leaves out explainability',
    );
  }
  const threshold = spec.prediction?.threshold;
  if (source.model && threshold !== undefined && (threshold < 0 || threshold > 1)) {
    throw invalid(
      'spec.prediction.threshold',
      `spec.prediction.threshold ${threshold} lies outside [0, 1], where a model's probabilities lie`,
    );
  }
}

/**
 * Runs the model (or reads predictions from a column) over the data and computes the evidence document
 * (arbiter.evidence/v1): the same inputs give the same canonical bytes and sha256.
 *
 * @example
 * const { json, sha256 } = await evaluate({ data: 'compas.csv', spec: specText });
 */
export async function evaluate(input: EvaluateInput): Promise<EvaluationResult> {
  const spec = loadSpec(input.spec);
  const limits = input.limits ?? {};
  const guard = new Guard(limits, input.signal);
  const progress = input.onProgress ?? (() => {});
  const families = new Set<MetricFamily>(spec.metrics ?? METRIC_FAMILIES);
  const skipped: SkippedMetric[] = [];
  const skip = (metric: string, reason: string): void => void skipped.push({ metric, reason });
  const timings: Record<string, number> = {};
  const started = performance.now();
  checkSpecFor(spec, { model: input.model !== undefined });
  await guard.size(input.data, 'data');
  if (input.reference) await guard.size(input.reference, 'reference');

  let runner: ModelRunner | null = null;
  let scan: ScanReport | null = null;
  let modelSha: string | undefined;
  if (input.model) {
    await guard.size(input.model, 'model');
    progress({ phase: 'scan', rows: 0 });
    scan = await scanModelFile(
      input.model,
      limits.maxBytes === undefined ? {} : { maxBytes: limits.maxBytes },
    );
    modelSha = scan.sha256 ?? undefined;
    const blocking = scan.findings.filter((f) => f.severity === 'high' || f.severity === 'critical');
    // A model that fails the scan is never handed to onnxruntime: loading it is what the scan guards against.
    if (blocking.length > 0) {
      throw new EvaluatorError(
        'EVAL_MODEL_INVALID',
        `model failed the security scan: ${blocking.map((f) => `${f.id}: ${f.message}`).join('; ')}`,
      );
    }
    runner = await openModel(await readFile(input.model), spec, input.executionProvider ?? 'auto');
  }

  try {
    const features = spec.features ? normalizeFeatures(spec.features) : [];
    // Each probing family draws its own sample, of its own size and seed: the rows one probes are not chosen by
    // the other's settings.
    const sampleOf = (family: keyof ProbeSamples) => ({
      size: runner && families.has(family) ? (spec[family]?.sample ?? DEFAULT_PROBE_SAMPLE) : 0,
      seed: spec[family]?.seed ?? 0,
    });
    const plan: Plan = {
      spec,
      features,
      families,
      runner,
      threshold: spec.prediction?.threshold ?? 0.5,
      samples: { robustness: sampleOf('robustness'), explainability: sampleOf('explainability') },
    };
    // Hashing reads the files a second time; start it now so it overlaps with parsing and inference.
    const dataSha = sha256File(input.data);
    const referenceSha = input.reference ? sha256File(input.reference) : null;
    dataSha.catch(() => {});
    referenceSha?.catch(() => {});
    const data = await collect(
      input.data,
      'data',
      plan,
      guard,
      (rows) => progress({ phase: 'data', rows }),
      input.signal,
    );
    // The runner counts over every row it encodes: the reference pass and the probes' synthetic variants
    // come after, and are no part of the data's quality.
    const unknownCategories = runner?.unknownCategories() ?? 0;
    const reference = input.reference
      ? await collect(
          input.reference,
          'reference',
          { ...plan, samples: { robustness: NO_SAMPLE, explainability: NO_SAMPLE } },
          guard,
          (rows) => progress({ phase: 'reference', rows }),
          input.signal,
        )
      : null;
    progress({ phase: 'metrics', rows: data.rows });
    guard.check();
    timings.read = performance.now() - started;
    let mark = performance.now();
    const lap = (name: string): void => {
      const now = performance.now();
      timings[name] = now - mark;
      mark = now;
    };

    const hasLabel = data.label !== null;
    const scored = data.score !== null && (runner ? runner.probabilistic : true);
    // A score column may be any ranking (COMPAS deciles); probability metrics need scores in [0, 1].
    const probabilistic = scored && inUnitInterval(data.score!);
    // The present scores sorted once, with their labels, serve ROC AUC, the median that LL144 scoring rates
    // compare against, and prediction drift.
    let sortedScores: SortedValues | null = null;
    const scoresSorted = (): SortedValues =>
      (sortedScores ??= data.label ? sortPresent(data.score!, data.label) : sortPresent(data.score!));
    // Maps keyed by column names or values of the data are built from entries throughout: assigned to an
    // object literal, a name such as __proto__ would set its prototype and vanish from the evidence.
    const rowsMissing: Record<string, number> = Object.fromEntries([
      ['prediction', data.rowsWithoutPrediction],
      ...(spec.label ? [['label', data.missing.missing(spec.label.column)]] : []),
      ...(spec.sensitive ?? []).map((s) => [s, data.columns.get(s)!.missing]),
      ...(runner ? [['features', data.rowsWithoutPrediction]] : []),
    ]);

    const reasonRowsSeed = ((spec.explainability?.seed ?? 0) ^ REASON_ROWS_SEED_MIX) >>> 0;
    const warnings = [...positiveWarnings(spec, data), ...cardinalityWarnings(spec, data, reference)];
    const evidence: Evidence = {
      schema: 'arbiter.evidence/v1',
      ...(input.generatedAt ? { generated_at: input.generatedAt.toISOString() } : {}),
      subject: {
        ...(modelSha ? { model_sha256: modelSha } : {}),
        dataset_sha256: await dataSha,
        ...(referenceSha ? { reference_sha256: await referenceSha } : {}),
        spec_sha256: sha256Hex(canonicalize(spec) ?? ''),
      },
      runtime: runner ? runner.runtime : { engine: 'none (predictions from a column)' },
      ...(runner ? { model: { ...runner.metadata, output_used: runner.output } } : {}),
      rows: data.rows,
      rows_missing: rowsMissing,
      seeds: {
        bootstrap: spec.bootstrap?.seed ?? 0,
        robustness_sample: plan.samples.robustness.seed,
        perturbation: spec.robustness?.seed ?? 0,
        explainability_sample: plan.samples.explainability.seed,
        permutation: spec.explainability?.seed ?? 0,
        reason_rows: reasonRowsSeed,
      },
      libraries: await libraryVersions(),
      skipped,
      ...(warnings.length > 0 ? { warnings } : {}),
    };

    // Performance
    if (families.has('performance')) {
      if (!hasLabel) skip('performance', 'no label column in the spec');
      else {
        // With a label, the sorted scores carry the labels along.
        const sorted = scored ? (scoresSorted() as SortedValues<Int8Array>) : null;
        const perf = performanceOf(data.label!, data.pred, scored ? data.score : null, sorted);
        const { rows: _rows, ...metrics } = perf;
        if (!probabilistic) Object.assign(metrics, { log_loss: null, brier: null });
        const sensitiveColumns = (spec.sensitive ?? []).map((s) => data.columns.get(s)!);
        const calibration = probabilistic
          ? calibrationOf(
              data.label!,
              data.score!,
              10,
              sensitiveColumns.map((c) => ({ codes: c.codes.view(), groups: c.values.length })),
            )
          : null;
        const byGroup: Record<string, Record<string, number | null>> = Object.fromEntries(
          calibration
            ? sensitiveColumns.flatMap((column, k) => {
                if (column.highCardinality) {
                  skip(`performance.calibration.ece_by_group.${column.name}`, pastCapReason(column.name));
                  return [];
                }
                const ece = calibration.byGroup[k]!;
                return [
                  [column.name, Object.fromEntries(column.values.map((value, code) => [value, ece[code]!]))],
                ];
              })
            : [],
        );
        evidence.performance = {
          ...metrics,
          rows: perf.rows,
          ...(calibration
            ? {
                calibration: {
                  ece: calibration.ece,
                  bins: calibration.bins,
                  binning: 'equal_width_10',
                  ece_by_group: byGroup,
                },
              }
            : {}),
        };
        if (!scored) skip('performance.roc_auc', 'no scores (a label output or no score column)');
        if (!probabilistic) {
          for (const m of ['log_loss', 'brier', 'calibration'])
            skip(`performance.${m}`, 'no probability scores in [0, 1]');
        }
      }
    }

    lap('performance');
    // Fairness
    if (families.has('fairness') && (spec.sensitive ?? []).length > 0) {
      const attrs = spec.sensitive!;
      const cols = attrs.map((a) => data.columns.get(a)!);
      // Scores only: a label-output model's 0/1 stand-ins have no median worth reporting, nor scoring rates.
      const scores = scored ? data.score : null;
      const med = scores ? medianOfSorted(scoresSorted().values) : null;
      let high: Int8Array | null = null;
      if (scores && med !== null) {
        high = new Int8Array(scores.length);
        for (let i = 0; i < high.length; i++)
          high[i] = Number.isNaN(scores[i]!) ? -1 : scores[i]! > med ? 1 : 0;
      }
      const cells = buildCells(
        attrs,
        cols.map((c) => c.values),
        cols.map((c) => c.codes.view()),
        data.label,
        data.pred,
        high,
      );
      // An attribute past the category cap would count the rows of its later values as unknown: it and
      // its intersections are skipped, not reported on part of the rows.
      const sets = [
        ...attrs.map((_, i) => [i]),
        ...(spec.intersections ?? []).map((g) => g.map((a) => attrs.indexOf(a))),
      ].filter((set) => {
        const capped = set.find((a) => cols[a]!.highCardinality);
        if (capped !== undefined)
          skip(`fairness.${set.map((a) => attrs[a]!).join('&')}`, pastCapReason(attrs[capped]!));
        return capped === undefined;
      });
      const minGroupSize = spec.min_group_size ?? DEFAULT_MIN_GROUP_SIZE;
      // The median that split the scores is reported with the scoring rates (LL144 §5-301(c)(1)).
      const options = {
        minGroupSize,
        hasLabel,
        hasScore: high !== null,
        ...(med !== null ? { medianScore: med } : {}),
      };
      const results = sets.map((set) => fairnessOf(cells, set, options));
      const resamples = spec.bootstrap?.resamples ?? 0;
      // Each resample keeps three rates a group and two gaps a grouping until the intervals are taken.
      const kept = resamples * results.reduce((n, r) => n + 3 * Object.keys(r.groups).length + 2, 0);
      if (resamples === 0) skip('fairness.bootstrap', 'spec.bootstrap.resamples is 0 or not set');
      else if (kept > MAX_BOOTSTRAP_SAMPLES)
        skip(
          'fairness.bootstrap',
          `${resamples} resamples of these groups would keep ${kept} rates, more than ${MAX_BOOTSTRAP_SAMPLES}: lower spec.bootstrap.resamples`,
        );
      else {
        const intervals = bootstrapFairness(cells, sets, {
          resamples,
          seed: spec.bootstrap!.seed,
          confidence: spec.bootstrap!.confidence ?? 0.95,
          minGroupSize,
          hasLabel,
          check: () => guard.check(),
        });
        results.forEach((r, k) => (r.bootstrap = intervals[k]!));
      }
      evidence.fairness = Object.fromEntries(
        results.map((r, k) => [sets[k]!.map((a) => attrs[a]!).join('&'), r]),
      );
      if (!hasLabel) {
        skip('fairness.tpr_fpr_fnr_ppv_accuracy', 'no label column in the spec');
        skip('fairness.equalized_odds', 'no label column in the spec');
      }
      if (!high) skip('fairness.ll144.scoring', 'no scores to compute scoring rates');
    } else if (families.has('fairness')) skip('fairness', 'spec.sensitive is empty');

    lap('fairness');
    // Drift
    if (families.has('drift')) {
      if (!reference) skip('drift', 'no reference dataset');
      else {
        const bins = spec.drift?.bins ?? 10;
        const driftFeatures: [string, unknown][] = [];
        for (const name of spec.drift?.features ?? []) {
          const current = data.columns.get(name)!;
          const ref = reference.columns.get(name)!;
          if (sharedKind(current, ref) === 'numeric')
            driftFeatures.push([name, numericDrift(ref.nums.view(), current.nums.view(), bins)]);
          else if (current.highCardinality || ref.highCardinality)
            skip(
              `drift.features.${name}`,
              pastCapReason(name, current.highCardinality ? 'data' : 'reference data'),
            );
          else driftFeatures.push([name, categoricalDrift(ref.counts(), current.counts())]);
        }
        const prediction =
          probabilistic && reference.score
            ? numericDriftOfSorted(sortPresent(reference.score).values, scoresSorted().values, bins)
            : categoricalDrift(countLabels(reference.pred), countLabels(data.pred));
        evidence.drift = { features: Object.fromEntries(driftFeatures), prediction };
      }
    }

    lap('drift');
    // Model probes: robustness and explainability need a model to re-run.
    // Every probe checks the time limit and a cancel before each batch it scores, not only once it is done.
    const predict = runner ? guardedPredict(runner, guard) : null;
    const check = (): void => guard.check();
    if (families.has('robustness')) {
      if (!predict) skip('robustness', 'predictions come from a column; there is no model to probe');
      else {
        const sample = data.samples.robustness.rows;
        const counterfactual = [];
        for (const s of spec.sensitive ?? []) {
          const feature = features.find((f) => f.column === s);
          if (!feature) {
            skip(`robustness.counterfactual.${s}`, `${s} is not a model feature`);
            continue;
          }
          const values = feature.categories ?? data.columns.get(s)!.values;
          // Every sampled row is scored once per other value: a numeric attribute of thousands of values
          // (an exact age, an income) would cost millions of scorings and as many swaps in the evidence.
          if (values.length > MAX_COUNTERFACTUAL_VALUES) {
            skip(
              `robustness.counterfactual.${s}`,
              `${s} takes ${values.length} distinct values, more than the ${MAX_COUNTERFACTUAL_VALUES} a counterfactual swaps in; a banded column (an age band, say) can be probed`,
            );
            continue;
          }
          counterfactual.push(await counterfactualFlips(sample, s, values, predict, plan.threshold, check));
        }
        const numeric = features
          .filter((f) => {
            if (f.kind !== 'numeric') return false;
            if (runner!.integerInputs.get(f.column) !== 'bool') return true;
            skip(
              `robustness.perturbation.${f.column}`,
              `${f.column} feeds a bool input: noise has no meaning there`,
            );
            return false;
          })
          .map((f) => ({
            column: f.column,
            std: std(data.columns.get(f.column)!.nums.view()),
            whole: runner!.integerInputs.has(f.column),
          }));
        const perturbation = await perturbationSensitivity(
          sample,
          numeric,
          predict,
          plan.threshold,
          spec.robustness?.perturbation ?? 0.05,
          spec.robustness?.seed ?? 0,
          check,
        );
        evidence.robustness = { sample_rows: sample.length, counterfactual, perturbation };
      }
    }
    lap('robustness');
    if (families.has('explainability')) {
      if (!predict) skip('explainability', 'predictions come from a column; there is no model to probe');
      else {
        const sample = data.samples.explainability;
        const columnsOfModel = features.map((f) => f.column);
        const importance = await permutationImportance(
          sample.rows,
          columnsOfModel,
          data.label ? sample.labels() : null,
          predict,
          plan.threshold,
          spec.explainability?.repeats ?? 3,
          spec.explainability?.seed ?? 0,
          check,
        );
        // The baseline is the profile of a favourable outcome: the medians and modes of the sampled rows the
        // model did not give the adverse decision. A row given it then has a reason wherever it differs from that
        // profile in a way that costs it, rather than none where it resembles the average applicant, whom the model
        // may well turn down too. Without an adverse decision, or without a sampled row given the other one, the
        // baseline is taken over the whole sample, and the evidence says which.
        const adverseDecision = spec.explainability?.adverse_decision;
        const sampleScores = sample.scores();
        const favourable = adverseDecision === undefined ? null : adverseDecision === 'positive' ? 0 : 1;
        const favoured = sample.rows.filter(
          (_, i) => favourable !== null && (sampleScores[i]! >= plan.threshold ? 1 : 0) === favourable,
        );
        const fromFavoured = favoured.length > 0;
        if (favourable !== null && !fromFavoured)
          evidence.warnings = [
            ...(evidence.warnings ?? []),
            `explainability.reasons.baseline: none of the ${sample.rows.length} sampled rows was given the ${favourable === 1 ? 'positive' : 'negative'} (favourable) decision; the baseline is taken over all of them`,
          ];
        const baselineRows = fromFavoured ? favoured : sample.rows;
        const baseline = baselineOf(baselineRows, features, runner!.integerInputs);
        const baselineFrom = {
          decision: fromFavoured ? (favourable === 1 ? 'positive' : 'negative') : 'any',
          rows: baselineRows.length,
        };
        // An adverse-action notice may not give a protected characteristic as a reason (ECOA / Regulation B,
        // 12 CFR 1002.9): sensitive attributes are left out of the reasons, and said to be. What they do to the
        // scores is in robustness (counterfactual flips) and in the permutation importance above.
        const sensitive = new Set(spec.sensitive ?? []);
        const picked = pickRows(sample.positions, REASON_ROWS, reasonRowsSeed);
        const reasonRows = picked.map((i) => sample.rows[i]!);
        const reasonFeatures = columnsOfModel.filter((c) => !sensitive.has(c));
        const explained = await topReasons(
          reasonRows,
          reasonFeatures,
          baseline,
          predict,
          plan.threshold,
          spec.explainability?.top_reasons ?? 3,
          check,
        );
        const adverse = adverseDecision
          ? await adverseReasons(
              input.data,
              { ...plan, runner: runner! },
              {
                features: reasonFeatures,
                baseline,
                top: spec.explainability?.top_reasons ?? 3,
                adverse: adverseDecision === 'positive' ? 1 : 0,
              },
              evidence.subject.dataset_sha256,
              guard,
              input.onAdverseReasons ?? (async () => {}),
              (rows) => progress({ phase: 'reasons', rows }),
              input.signal,
            )
          : null;
        const unscored = [
          unscorableWarning(explained.unscorable, baseline, `of the ${explained.rows.length} rows explained`),
          adverse &&
            unscorableWarning(
              adverse.unscorable,
              baseline,
              `of the ${adverse.rows} rows given the ${adverseDecision} decision`,
            ),
          adverse !== null && adverse.withoutReasons > 0
            ? `explainability.reasons.adverse.rows_without_reasons: ${adverse.withoutReasons} of the ${adverse.rows} rows given the ${adverseDecision} decision have no reason: no feature, reset alone to its baseline, moves their score away from that decision`
            : null,
        ].filter((w): w is string => typeof w === 'string');
        if (unscored.length > 0) evidence.warnings = [...(evidence.warnings ?? []), ...unscored];
        evidence.explainability = {
          sample_rows: sample.rows.length,
          permutation_importance: importance,
          reasons: {
            method: 'reset_to_baseline',
            baseline,
            baseline_from: baselineFrom,
            not_given_as_reasons: columnsOfModel.filter((c) => sensitive.has(c)),
            rows: explained.rows.map(({ row, ...reason }) => ({
              row: sample.positions[picked[row]!]!,
              ...reason,
            })),
            unscorable: explained.unscorable,
            ...(adverse
              ? {
                  adverse: {
                    decision: adverseDecision,
                    rows: adverse.rows,
                    sha256: adverse.sha256,
                    rows_without_reasons: adverse.withoutReasons,
                    unscorable: adverse.unscorable,
                  },
                }
              : {}),
          },
        };
      }
    }

    lap('explainability');
    // Data quality
    if (families.has('data_quality')) {
      const expected = new Set<string>([
        ...(spec.label ? [spec.label.column] : []),
        ...(spec.prediction?.column ? [spec.prediction.column] : []),
        ...(spec.prediction?.score ? [spec.prediction.score] : []),
        ...(spec.sensitive ?? []),
        ...features.map((f) => f.column),
        ...(spec.drift?.features ?? []),
      ]);
      const seen = new Set(data.missing.columns());
      const nonNumeric: Record<string, number> = Object.fromEntries(
        features
          .filter((f) => f.kind === 'numeric')
          .map((f) => [f.column, data.columns.get(f.column)!.nonNumeric]),
      );
      const missingValues: Record<string, { count: number; share: number | null }> = Object.fromEntries(
        data.missing.columns().map((c) => {
          const n = data.missing.missing(c);
          return [c, { count: n, share: n / data.rows }];
        }),
      );
      // What policies judge (DQ-MISSING-RATE): the columns this evaluation uses, each with its share of rows
      // that lack it, and the share of their cells that are missing. Columns the evaluation does not read are
      // in missing_values only.
      let missingCells = 0;
      const usedColumns: Record<string, { missing_rate: number | null }> = Object.fromEntries(
        [...expected].sort().map((c) => {
          const n = data.missing.missing(c);
          missingCells += n;
          return [c, { missing_rate: n / data.rows }];
        }),
      );
      const cells = data.rows * expected.size;
      // A column past the category cap has rows in no category: its shares and its association with the
      // sensitive attributes would be taken over part of the rows. (Nor would an ID column's Cramér's V,
      // near 1 whatever it holds, say anything about proxies.)
      const capped = [...data.columns.values()].filter(
        (c) => c.highCardinality && c.kind() === 'categorical',
      );
      const sensitive = new Set(spec.sensitive ?? []);
      for (const c of capped) {
        if (sensitive.has(c.name)) skip(`data_quality.representation.${c.name}`, pastCapReason(c.name));
        skip(`data_quality.proxies.${c.name}`, pastCapReason(c.name));
      }
      const sensitiveData = (spec.sensitive ?? [])
        .map((s) => data.columns.get(s)!)
        .filter((c) => !capped.includes(c))
        .map((c) => c.data());
      const threshold = spec.data_quality?.proxy_threshold ?? 0.5;
      const proxies = proxiesOf(
        [...data.columns.values()]
          .filter((c) => !sensitive.has(c.name) && !capped.includes(c))
          .map((c) => ({ column: c.data(), numeric: c.kind() === 'numeric' })),
        sensitiveData,
        threshold,
      );
      evidence.data_quality = {
        schema: {
          expected_columns: [...expected].sort(),
          missing_columns: [...expected].filter((c) => !seen.has(c)).sort(),
          non_numeric_values: nonNumeric,
        },
        missing_rate: cells === 0 ? null : missingCells / cells,
        columns: usedColumns,
        missing_values: missingValues,
        ...(data.label ? { class_balance: classBalanceOf(data.label) } : {}),
        representation: Object.fromEntries(sensitiveData.map((c) => [c.name, representationOf(c)])),
        proxies: {
          threshold,
          measure: 'cramers_v',
          features: proxies,
          flagged: proxies.filter((p) => p.flagged).map((p) => `${p.feature}~${p.sensitive}`),
        },
        ...(runner ? { unknown_categories: unknownCategories } : {}),
      };
    }

    lap('data_quality');
    if (families.has('security')) {
      if (scan)
        evidence.security = { format: scan.format, max_severity: scan.max_severity, findings: scan.findings };
      else skip('security', 'no model file');
    }

    if (!validateEvidence(evidence)) {
      throw new Error(`evidence does not match its schema: ${JSON.stringify(validateEvidence.errors)}`);
    }
    let json: string | undefined;
    try {
      json = canonicalize(evidence);
    } catch (err) {
      // Only a number JSON cannot hold gets here: a statistic of values near ±1.8e308 that overflowed.
      throw new EvaluatorError(
        'EVAL_DATA_INVALID',
        `the data's values overflow a statistic of the evidence (${(err as Error).message}); values near ±1.8e308 cannot be evaluated`,
        { cause: err },
      );
    }
    if (json === undefined) throw new Error('evidence could not be canonicalized');
    lap('serialize');
    progress({ phase: 'done', rows: data.rows });
    return { evidence, json, sha256: sha256Hex(json), timings };
  } finally {
    await runner?.close();
  }
}

/**
 * A `positive` that no row matches is no error: a window of data may hold no positives. But it is also what a
 * typo in the value looks like (`Yes` for `yes`), and every rate that counts positives then reads 0: the
 * evidence says so, for whoever reads the rates.
 */
function positiveWarnings(spec: EvaluationSpec, data: Collected): string[] {
  const warnings: string[] = [];
  if (spec.label && !data.label!.includes(1))
    warnings.push(
      `spec.label.positive: no value of column ${JSON.stringify(spec.label.column)} in the data matches ${JSON.stringify(spec.label.positive)}`,
    );
  const prediction = spec.prediction;
  if (prediction?.column && !data.pred.includes(1))
    warnings.push(
      `spec.prediction.positive: no value of column ${JSON.stringify(prediction.column)} in the data matches ${JSON.stringify(prediction.positive ?? 1)}${prediction.positive === undefined ? ' (the default)' : ''}`,
    );
  return warnings;
}

function pastCapReason(column: string, source: 'data' | 'reference data' = 'data'): string {
  return `column ${JSON.stringify(column)} holds more than ${MAX_CATEGORIES} distinct values in the ${source}; the rows of the values past the first ${MAX_CATEGORIES} belong to no category`;
}

/**
 * A column read as categories past the cap of MAX_CATEGORIES distinct values (an ID column, say) codes its
 * later values as no category: whatever counts or groups its categories is skipped, and the evidence says so
 * here too, once per column and file. The reference counts only for drift.
 */
function cardinalityWarnings(spec: EvaluationSpec, data: Collected, reference: Collected | null): string[] {
  const drifted = new Set(spec.drift?.features ?? []);
  const warnings: string[] = [];
  const sources = [['data', data, reference] as const, ['reference data', reference, data] as const];
  for (const [source, collected, other] of sources) {
    for (const column of collected?.columns.values() ?? []) {
      if (!column.highCardinality || (source === 'reference data' && !drifted.has(column.name))) continue;
      const counterpart = other?.columns.get(column.name);
      const categorical =
        column.kind() === 'categorical' ||
        (counterpart !== undefined &&
          drifted.has(column.name) &&
          sharedKind(column, counterpart) === 'categorical');
      if (categorical) warnings.push(pastCapReason(column.name, source));
    }
  }
  return warnings;
}

function countLabels(pred: Int8Array): Map<string, number> {
  let negative = 0;
  let positive = 0;
  for (let i = 0; i < pred.length; i++) {
    if (pred[i] === 0) negative++;
    else if (pred[i] === 1) positive++;
  }
  const counts = new Map<string, number>();
  if (negative > 0) counts.set('0', negative);
  if (positive > 0) counts.set('1', positive);
  return counts;
}

function inUnitInterval(score: Float64Array): boolean {
  for (let i = 0; i < score.length; i++) {
    const s = score[i]!;
    if (!Number.isNaN(s) && (s < 0 || s > 1)) return false;
  }
  return true;
}
