import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { EvaluatorError } from '../errors.ts';
import type { Row } from '../readers/rows.ts';
import { externalTensorNames } from '../security/onnx.ts';
import type { EvaluationSpec } from '../spec/types.ts';
import {
  normalizeFeatures,
  numericValue,
  TensorLayout,
  type CollectedColumn,
  type Feature,
} from './features.ts';
import { metadataOf, parseModel, type ModelMetadata } from './metadata.ts';
import { ModelProto, type ModelObject } from './onnx-proto.ts';

export type ExecutionProvider = 'auto' | 'cuda' | 'cpu';

export interface Runtime {
  engine: 'onnxruntime-node';
  version: string;
  execution_provider: 'cuda' | 'cpu';
  device: string;
}

export interface ModelRunner {
  readonly runtime: Runtime;
  readonly metadata: ModelMetadata;
  readonly features: Feature[];
  /** Whether scores are probabilities (or only 0/1 from a label output). */
  readonly probabilistic: boolean;
  readonly output: {
    name: string;
    kind: 'probabilities' | 'label' | 'zipmap';
    positive_index: number | null;
  };
  readonly batchSize: number;
  /**
   * The columns fed to an integer or bool input (one input per column), by that input's type: such a column
   * takes whole numbers only, so a probe that moves its values must keep them whole (or leave it alone).
   */
  readonly integerInputs: ReadonlyMap<string, IntegerInputType>;
  /**
   * Unseen categories met while one-hot encoding, over every predict call so far: read it when the rows it
   * should count have been scored, before any others are.
   */
  unknownCategories(): number;
  /**
   * Positive-class scores; NaN for rows with a missing feature. `collected`: the same rows as the data pass
   * collected them (one column per feature, in spec order; rows[i] is row start + i there), so that a
   * single-tensor model is fed from parsed numbers and dictionary codes instead of the row objects.
   */
  predict(rows: Row[], collected?: Collected): Promise<Float64Array>;
  close(): Promise<void>;
}

export interface Collected {
  columns: CollectedColumn[];
  start: number;
}

export const DEFAULT_BATCH_SIZE = 4096;

/**
 * Where onnxruntime-node looks for the CUDA execution provider: beside its own libonnxruntime. Its npm package
 * ships without it; `scripts/setup.sh --gpu` puts it there.
 */
export const CUDA_PROVIDER_LIBRARY = path.join(
  path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')),
  '..',
  'bin',
  'napi-v6',
  process.platform,
  process.arch,
  'libonnxruntime_providers_cuda.so',
);

// A missing CUDA provider is the normal case on CPU machines and is reported through our own result (the
// runtime's execution_provider); onnxruntime's native log would print it as an error. Its failures still
// surface as exceptions. The level is read when onnxruntime's environment starts, so it is set on import.
ort.env.logLevel = 'fatal';

// ONNX Runtime's CUDA provider lets cuBLAS multiply float32 matrices in TF32 (10-bit mantissa) by default, and
// onnxruntime-node passes it no option but the device: on an H200 that moved a 16-unit MLP's scores by up to
// 9e-4 from the CPU's, and 41 of 200,000 rows crossed the threshold (bench/results/evaluators-cuda.md).
// Evidence must not depend on the provider beyond float32 rounding, so TF32 is refused through the variable
// cuBLAS and cuDNN read when the provider loads them. Set once, on import in the main thread: a worker
// thread's process.env is a copy that native code never reads, and the service runs evaluations in workers,
// after the main thread has imported this module (through evaluators/index.ts).
if (isMainThread) process.env.NVIDIA_TF32_OVERRIDE = '0';

interface OutputChoice {
  fetch: string;
  kind: 'probabilities' | 'label' | 'zipmap';
  positiveIndex: number | null;
  /** Model bytes to load instead (ZipMap's input exposed as a graph output). */
  bytes?: Uint8Array;
}

function classLabels(model: ModelObject, zipmapOutput: string): { input: string; labels: string[] } | null {
  for (const node of model.graph?.node ?? []) {
    if (node.opType === 'ZipMap' && node.output?.[0] === zipmapOutput && node.input?.[0]) {
      const attr = (name: string) => node.attribute?.find((a) => a.name === name);
      const ints = attr('classlabels_int64s')?.ints;
      const strings = attr('classlabels_strings')?.strings;
      const labels = ints?.length
        ? ints.map(String)
        : (strings ?? []).map((s) => new TextDecoder().decode(s));
      return { input: node.input[0], labels };
    }
  }
  return null;
}

// onnxruntime-node cannot return sequences of maps ("Non tensor type is temporarily not supported"), so a
// ZipMap output is read from the probability tensor that feeds it, added as an extra graph output. It is added
// by appending a second `graph` field to the model's bytes, which protobuf parsers merge into the first (a
// repeated field such as `output` is concatenated): every byte of the model stays as it was, including fields
// our schema does not know, which a decode and re-encode would drop.
function exposeTensor(bytes: Uint8Array, name: string): Uint8Array {
  const addition = ModelProto.encode(ModelProto.fromObject({ graph: { output: [{ name }] } })).finish();
  return Buffer.concat([bytes, addition]);
}

const POSITIVE_CLASS_FIELD = 'spec.prediction.positive_class';

function chooseOutput(
  model: ModelObject,
  metadata: ModelMetadata,
  bytes: Uint8Array,
  spec: EvaluationSpec,
): OutputChoice {
  const wanted = spec.prediction?.output ?? 'probabilities';
  const positive = spec.prediction?.positive_class ?? 1;
  const isProbTensor = (o: ModelMetadata['outputs'][number]) =>
    o.type === 'tensor(float)' || o.type === 'tensor(double)';
  const isLabel = (o: ModelMetadata['outputs'][number]) => o.type.startsWith('tensor(') && !isProbTensor(o);
  const isZip = (o: ModelMetadata['outputs'][number]) => o.type.startsWith('seq(map(');
  const named = metadata.outputs.find((o) => o.name === wanted);
  const candidates =
    named !== undefined
      ? [named]
      : wanted === 'label'
        ? metadata.outputs.filter(isLabel)
        : wanted === 'probabilities'
          ? [
              ...metadata.outputs.filter(isProbTensor),
              ...metadata.outputs.filter(isZip),
              ...metadata.outputs.filter(isLabel),
            ]
          : [];
  const out = candidates[0];
  if (!out) {
    throw new EvaluatorError(
      'EVAL_MODEL_UNSUPPORTED',
      `spec.prediction.output ${wanted} matches none of the model outputs (${metadata.outputs.map((o) => `${o.name}: ${o.type}`).join(', ')})`,
    );
  }
  if (isZip(out)) {
    const zip = classLabels(model, out.name);
    if (!zip)
      throw new EvaluatorError(
        'EVAL_MODEL_UNSUPPORTED',
        `output ${out.name} is a sequence of maps not made by ZipMap`,
      );
    const index = zip.labels.indexOf(String(positive));
    if (index < 0) {
      throw new EvaluatorError(
        'EVAL_SPEC_INVALID',
        `spec.prediction.positive_class ${positive} is not among the ZipMap class labels ${zip.labels.join(', ')}`,
        { field: POSITIVE_CLASS_FIELD },
      );
    }
    return { fetch: zip.input, kind: 'zipmap', positiveIndex: index, bytes: exposeTensor(bytes, zip.input) };
  }
  if (isProbTensor(out)) {
    // A probability tensor has no class names: positive_class is a column index, and text reads as one only
    // when it is a number (YAML's quoted '1'). Any other text would pick some column for the wrong class.
    const index = typeof positive === 'string' && /^\d+$/.test(positive) ? Number(positive) : positive;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
      throw new EvaluatorError(
        'EVAL_SPEC_INVALID',
        `spec.prediction.positive_class ${JSON.stringify(positive)} is not a column index of output ${out.name} (${out.type}), which holds one probability per class`,
        { field: POSITIVE_CLASS_FIELD },
      );
    }
    return { fetch: out.name, kind: 'probabilities', positiveIndex: index };
  }
  if (isLabel(out)) return { fetch: out.name, kind: 'label', positiveIndex: null };
  throw new EvaluatorError('EVAL_MODEL_UNSUPPORTED', `output ${out.name} has unsupported type ${out.type}`);
}

async function createSession(
  bytes: Uint8Array,
  provider: ExecutionProvider,
): Promise<{ session: ort.InferenceSession; used: 'cuda' | 'cpu' }> {
  if (provider !== 'cpu') {
    try {
      return {
        session: await ort.InferenceSession.create(bytes, {
          executionProviders: ['cuda'],
          logSeverityLevel: 4,
        }),
        used: 'cuda',
      };
    } catch (cause) {
      if (provider === 'cuda') {
        throw new EvaluatorError(
          'EVAL_INFERENCE_FAILED',
          existsSync(CUDA_PROVIDER_LIBRARY)
            ? `the CUDA execution provider did not load (${(cause as Error).message}): it needs an NVIDIA GPU, its driver and the CUDA 13 runtime libraries; scripts/setup.sh --gpu lists those missing`
            : 'the CUDA execution provider is not installed: onnxruntime-node ships without it; scripts/setup.sh --gpu installs it',
          { cause },
        );
      }
    }
  }
  try {
    return {
      session: await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] }),
      used: 'cpu',
    };
  } catch (cause) {
    throw new EvaluatorError(
      'EVAL_MODEL_INVALID',
      `onnxruntime refused the model: ${(cause as Error).message}`,
      { cause },
    );
  }
}

const TYPED: Record<string, 'float32' | 'float64' | 'int64' | 'int32' | 'string' | 'bool'> = {
  float: 'float32',
  double: 'float64',
  int64: 'int64',
  int32: 'int32',
  string: 'string',
  bool: 'bool',
};

// The values an integer input holds as they are. Any other value (3.5, 1e30, 300 for a bool) would reach the
// model as a different one, truncated or wrapped: such a row is unscorable, as a float input's text is. int64
// stops at 2^53, past which a number no longer tells the integers the data wrote apart.
export type IntegerInputType = 'int64' | 'int32' | 'bool';

const INTEGER_RANGES: Record<IntegerInputType, { min: number; max: number }> = {
  int64: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  int32: { min: -(2 ** 31), max: 2 ** 31 - 1 },
  bool: { min: 0, max: 1 },
};

interface InputPlan {
  /** The feeds for a batch; `release` once the run that reads them has finished. */
  build(
    rows: Row[],
    ok: Uint8Array,
    collected?: Collected,
  ): { feeds: Record<string, ort.Tensor>; release?: () => void };
  unknownCategories(): number;
  readonly integerInputs: ReadonlyMap<string, IntegerInputType>;
}

function singleTensorPlan(metadata: ModelMetadata, features: Feature[], spec: EvaluationSpec): InputPlan {
  const input = spec.model?.input
    ? metadata.inputs.find((i) => i.name === spec.model?.input)
    : metadata.inputs[0];
  if (!input)
    throw new EvaluatorError(
      'EVAL_SPEC_INVALID',
      `spec.model.input ${spec.model?.input} is not an input of the model`,
    );
  if (input.type !== 'tensor(float)') {
    throw new EvaluatorError(
      'EVAL_MODEL_UNSUPPORTED',
      `input ${input.name} is ${input.type}; a single input must be tensor(float)`,
    );
  }
  const layout = new TensorLayout(features);
  const declared = input.shape?.[input.shape.length - 1];
  if (typeof declared === 'number' && declared !== layout.width) {
    throw new EvaluatorError(
      'EVAL_SPEC_INVALID',
      `spec.features encode ${layout.width} values per row but model input ${input.name} takes ${declared}`,
    );
  }
  // Input arrays are reused: a fresh one per batch costs the runtime page faults and zeroing each time, a
  // noticeable share of a small model's inference. A batch in flight holds its array until released.
  const idle: Float32Array[] = [];
  return {
    build(rows, ok, collected) {
      const size = rows.length * layout.width;
      let buffer = idle.pop();
      if (!buffer || buffer.length < size) buffer = new Float32Array(size);
      const data = buffer.subarray(0, size);
      data.fill(0);
      if (!collected || !layout.encodeColumns(collected.columns, collected.start, rows.length, data, ok)) {
        for (let i = 0; i < rows.length; i++) ok[i] = layout.encode(rows[i]!, data, i * layout.width) ? 1 : 0;
      }
      return {
        feeds: { [input.name]: new ort.Tensor('float32', data, [rows.length, layout.width]) },
        release: () => void idle.push(buffer),
      };
    },
    unknownCategories: () => layout.unknownCategories,
    integerInputs: new Map(),
  };
}

function perColumnPlan(metadata: ModelMetadata, features: Feature[]): InputPlan {
  const plans = metadata.inputs.map((input) => {
    const feature = features.find((f) => f.input === input.name);
    if (!feature)
      throw new EvaluatorError(
        'EVAL_SPEC_INVALID',
        `spec.features has no column for model input ${input.name}`,
      );
    const type = TYPED[input.elem_type ?? ''];
    if (!type)
      throw new EvaluatorError(
        'EVAL_MODEL_UNSUPPORTED',
        `input ${input.name} has unsupported type ${input.type}`,
      );
    return { input, feature, type, rank2: (input.shape?.length ?? 2) === 2 };
  });
  return {
    build(rows, ok) {
      ok.fill(1);
      const feeds: Record<string, ort.Tensor> = {};
      for (const p of plans) {
        const dims = p.rank2 ? [rows.length, 1] : [rows.length];
        const values = rows.map((r) => r[p.feature.column]);
        values.forEach((v, i) => {
          if (v === null || v === undefined) ok[i] = 0;
        });
        if (p.type === 'string')
          feeds[p.input.name] = new ort.Tensor(
            'string',
            values.map((v) => String(v ?? '')),
            dims,
          );
        else {
          const range = p.type === 'float32' || p.type === 'float64' ? null : INTEGER_RANGES[p.type];
          const numbers = values.map((v, i) => {
            const x = numericValue(v);
            // A float input holds float32, in which a double past its range (1e39) is ±Infinity.
            const fits = range
              ? Number.isInteger(x) && x >= range.min && x <= range.max
              : Number.isFinite(p.type === 'float32' ? Math.fround(x) : x);
            if (!fits) ok[i] = 0;
            return fits ? x : 0;
          });
          const data =
            p.type === 'float32'
              ? Float32Array.from(numbers)
              : p.type === 'float64'
                ? Float64Array.from(numbers)
                : p.type === 'int64'
                  ? BigInt64Array.from(numbers, (x) => BigInt(x))
                  : p.type === 'int32'
                    ? Int32Array.from(numbers)
                    : Uint8Array.from(numbers);
          feeds[p.input.name] = new ort.Tensor(p.type, data, dims);
        }
      }
      return { feeds };
    },
    unknownCategories: () => 0,
    integerInputs: new Map(
      plans.flatMap((p) =>
        p.type === 'int64' || p.type === 'int32' || p.type === 'bool'
          ? [[p.feature.column, p.type] as const]
          : [],
      ),
    ),
  };
}

/**
 * Column `column` of a [n, cols] score tensor into into[at..at+n), NaN where a row could not be scored. A
 * function of its own on float arrays: inline in runBatch, typed for every output kind, the same loop cost
 * about 25 ns a row in the benchmark against 4 here, a quarter of a 16-unit MLP's whole forward pass.
 */
function readScores(
  data: Float32Array | Float64Array,
  cols: number,
  column: number,
  ok: Uint8Array,
  n: number,
  into: Float64Array,
  at: number,
): void {
  for (let i = 0; i < n; i++) into[at + i] = ok[i] ? data[i * cols + column]! : Number.NaN;
}

/** Loads an ONNX model for inference with the chosen execution provider (auto: CUDA when it loads, else CPU). */
export async function openModel(
  bytes: Uint8Array,
  spec: EvaluationSpec,
  provider: ExecutionProvider = 'auto',
): Promise<ModelRunner> {
  const model = parseModel(bytes);
  const metadata = metadataOf(model, bytes);
  // The model is run from the bytes that were scanned and hashed; weights in other files would be neither.
  const external = externalTensorNames(model);
  if (external.length > 0) {
    throw new EvaluatorError(
      'EVAL_MODEL_UNSUPPORTED',
      `the model keeps tensors in external files (${external.slice(0, 5).join(', ')}${external.length > 5 ? ', …' : ''}); save it with its weights inside (onnx.save_model(model, path, save_as_external_data=False)) so that its sha256 covers them`,
    );
  }
  if (!spec.features || spec.features.length === 0) {
    throw new EvaluatorError('EVAL_SPEC_INVALID', 'spec.features is required to feed a model');
  }
  const features = normalizeFeatures(spec.features);
  const choice = chooseOutput(model, metadata, bytes, spec);
  const plan =
    metadata.inputs.length === 1 && !spec.features.some((f) => typeof f !== 'string' && f.input)
      ? singleTensorPlan(metadata, features, spec)
      : perColumnPlan(metadata, features);
  const { session, used } = await createSession(choice.bytes ?? bytes, provider);
  const batchSize = spec.model?.batch_size ?? DEFAULT_BATCH_SIZE;
  const positive = String(spec.prediction?.positive_class ?? 1);
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown';

  async function runBatch(
    rows: Row[],
    ok: Uint8Array,
    feeds: Record<string, ort.Tensor>,
    into: Float64Array,
    at: number,
  ): Promise<void> {
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run(feeds, [choice.fetch]);
    } catch (cause) {
      throw new EvaluatorError('EVAL_INFERENCE_FAILED', `inference failed: ${(cause as Error).message}`, {
        cause,
      });
    }
    const tensor = result[choice.fetch] as ort.Tensor;
    const data = tensor.data as ArrayLike<number | bigint | string>;
    const cols = tensor.dims.length === 2 ? tensor.dims[1]! : 1;
    if (
      choice.kind !== 'label' &&
      cols > 1 &&
      choice.positiveIndex !== null &&
      choice.positiveIndex >= cols
    ) {
      throw new EvaluatorError(
        'EVAL_SPEC_INVALID',
        `spec.prediction.positive_class ${choice.positiveIndex} is outside the ${cols} output columns`,
        { field: POSITIVE_CLASS_FIELD },
      );
    }
    if (choice.kind === 'label') {
      for (let i = 0; i < rows.length; i++)
        into[at + i] = ok[i] ? (String(data[i]) === positive ? 1 : 0) : Number.NaN;
      return;
    }
    const column = cols > 1 ? choice.positiveIndex! : 0;
    if (data instanceof Float32Array || data instanceof Float64Array)
      readScores(data, cols, column, ok, rows.length, into, at);
    else
      for (let i = 0; i < rows.length; i++)
        into[at + i] = ok[i] ? Number(data[i * cols + column]) : Number.NaN;
  }

  return {
    runtime: {
      engine: 'onnxruntime-node',
      version: ort.env.versions.node ?? ort.env.versions.common,
      execution_provider: used,
      device: used === 'cuda' ? 'cuda:0' : `cpu: ${cpu}`,
    },
    metadata,
    features,
    probabilistic: choice.kind !== 'label',
    output: { name: choice.fetch, kind: choice.kind, positive_index: choice.positiveIndex },
    batchSize,
    integerInputs: plan.integerInputs,
    unknownCategories: () => plan.unknownCategories(),
    async predict(rows, collected) {
      const scores = new Float64Array(rows.length);
      for (let start = 0; start < rows.length; start += batchSize) {
        const batch = rows.length <= batchSize ? rows : rows.slice(start, start + batchSize);
        const ok = new Uint8Array(batch.length);
        const { feeds, release } = plan.build(
          batch,
          ok,
          collected && { columns: collected.columns, start: collected.start + start },
        );
        try {
          await runBatch(batch, ok, feeds, scores, start);
        } finally {
          release?.();
        }
      }
      return scores;
    },
    close: () => session.release(),
  };
}
