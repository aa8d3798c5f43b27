import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { EvaluatorError } from '../errors.ts';
import {
  decodeModel,
  ONNX_DATA_TYPES,
  type DimensionObject,
  type ModelObject,
  type TypeObject,
  type ValueInfoObject,
} from './onnx-proto.ts';

export interface ModelIo {
  name: string;
  /** onnxruntime's spelling: tensor(float), seq(map(int64,tensor(float))). */
  type: string;
  /** Dimensions: a number, a symbolic name, or null when unknown; null for non-tensors. */
  shape: (number | string | null)[] | null;
  elem_type: string | null;
}

export interface ModelMetadata {
  format: 'onnx';
  size: number;
  sha256: string;
  ir_version: number | null;
  opset: { domain: string; version: number }[];
  producer: { name: string; version: string };
  domain: string;
  model_version: number | null;
  doc_string: string;
  inputs: ModelIo[];
  outputs: ModelIo[];
  metadata_props: Record<string, string>;
}

// Guards against hostile files: a model bigger than this is refused before it is read into memory.
export const DEFAULT_MAX_MODEL_BYTES = 2 * 1024 ** 3;

export function typeName(type: TypeObject | undefined): string {
  if (!type) return 'unknown';
  if (type.tensorType) return `tensor(${ONNX_DATA_TYPES[type.tensorType.elemType ?? 0] ?? 'unknown'})`;
  if (type.sequenceType) return `seq(${typeName(type.sequenceType.elemType)})`;
  if (type.mapType)
    return `map(${ONNX_DATA_TYPES[type.mapType.keyType ?? 0] ?? 'unknown'},${typeName(type.mapType.valueType)})`;
  if (type.optionalType) return `optional(${typeName(type.optionalType.elemType)})`;
  if (type.sparseTensorType)
    return `sparse_tensor(${ONNX_DATA_TYPES[type.sparseTensorType.elemType ?? 0] ?? 'unknown'})`;
  return 'unknown';
}

function dimOf(d: DimensionObject): number | string | null {
  if (d.dimValue !== undefined) return Number(d.dimValue);
  if (d.dimParam !== undefined && d.dimParam !== '') return d.dimParam;
  return null;
}

function ioOf(v: ValueInfoObject): ModelIo {
  const tensor = v.type?.tensorType;
  return {
    name: v.name ?? '',
    type: typeName(v.type),
    shape: tensor ? (tensor.shape?.dim ?? []).map(dimOf) : null,
    elem_type: tensor ? (ONNX_DATA_TYPES[tensor.elemType ?? 0] ?? 'unknown') : null,
  };
}

export function metadataOf(model: ModelObject, bytes: Uint8Array): ModelMetadata {
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  // The model file names these keys: from entries, __proto__ is a key like any other (the last of a key wins).
  const props: Record<string, string> = Object.fromEntries(
    (model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']),
  );
  return {
    format: 'onnx',
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ir_version: model.irVersion === undefined ? null : Number(model.irVersion),
    opset: (model.opsetImport ?? []).map((o) => ({
      domain: o.domain ?? '',
      version: Number(o.version ?? 0),
    })),
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    domain: model.domain ?? '',
    model_version: model.modelVersion === undefined ? null : Number(model.modelVersion),
    doc_string: model.docString ?? '',
    // Old exporters list initializers among graph inputs; they are weights, not inputs to feed.
    inputs: (model.graph?.input ?? []).filter((v) => !initializers.has(v.name)).map(ioOf),
    outputs: (model.graph?.output ?? []).map(ioOf),
    metadata_props: props,
  };
}

export function parseModel(bytes: Uint8Array, label = 'model'): ModelObject {
  try {
    const model = decodeModel(bytes);
    if (!model.graph) throw new Error('no graph');
    return model;
  } catch (cause) {
    if (cause instanceof EvaluatorError) throw cause;
    throw new EvaluatorError(
      'EVAL_MODEL_INVALID',
      `${label} is not a readable ONNX model: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/**
 * Reads an ONNX model's metadata (opset, producer, inputs and outputs with types and shapes,
 * metadata_props, size, sha256) by parsing the protobuf; never runs the model.
 */
export async function readModelMetadata(
  path: string,
  options: { maxBytes?: number } = {},
): Promise<ModelMetadata> {
  const max = options.maxBytes ?? DEFAULT_MAX_MODEL_BYTES;
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (cause) {
    throw new EvaluatorError('EVAL_MODEL_INVALID', `cannot read model file ${path}`, { cause });
  }
  if (size > max)
    throw new EvaluatorError('EVAL_LIMIT_BYTES', `model file is ${size} bytes, over the limit of ${max}`);
  const bytes = await readFile(path);
  return metadataOf(parseModel(bytes, path), bytes);
}
