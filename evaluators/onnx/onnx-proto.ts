import protobuf from 'protobufjs';
import { EvaluatorError } from '../errors.ts';

// A tensor's elements, which the fixture writer sets. Nothing that decodes a model reads them (onnxruntime reads
// the weights from the file's bytes), and protobufjs would build a value for each: two bytes of an empty
// string_data entry cost a hundred on the heap, so a small file of them exhausts it. Models are decoded
// without them, as fields it skips.
const TENSOR_ELEMENT_FIELDS = {
  floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
  int32Data: { rule: 'repeated', type: 'int32', id: 5, options: { packed: true } },
  stringData: { rule: 'repeated', type: 'bytes', id: 6 },
  int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
  doubleData: { rule: 'repeated', type: 'double', id: 10, options: { packed: true } },
};

// The subset of onnx/onnx.proto (IR version 10, proto2) that Arbiter reads and writes, as a protobufjs JSON
// descriptor. Field numbers are those of https://github.com/onnx/onnx/blob/main/onnx/onnx.proto; fields we do
// not list are skipped by the decoder, never misread.
const descriptor = (tensorElements: Partial<typeof TENSOR_ELEMENT_FIELDS>) => ({
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: { type: 'int64', id: 1 },
                dimParam: { type: 'string', id: 2 },
                denotation: { type: 'string', id: 3 },
              },
            },
          },
        },
        TypeProto: {
          oneofs: {
            value: { oneof: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType'] },
          },
          fields: {
            tensorType: { type: 'Tensor', id: 1 },
            sequenceType: { type: 'Sequence', id: 4 },
            mapType: { type: 'Map', id: 5 },
            denotation: { type: 'string', id: 6 },
            sparseTensorType: { type: 'Tensor', id: 8 },
            optionalType: { type: 'Optional', id: 9 },
          },
          nested: {
            Tensor: {
              fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
            },
            Sequence: { fields: { elemType: { type: 'TypeProto', id: 1 } } },
            Map: { fields: { keyType: { type: 'int32', id: 1 }, valueType: { type: 'TypeProto', id: 2 } } },
            Optional: { fields: { elemType: { type: 'TypeProto', id: 1 } } },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            docString: { type: 'string', id: 3 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            ...tensorElements,
            name: { type: 'string', id: 8 },
            // Decoded as a view of the model's bytes, not a copy: its length is checked against the dims.
            rawData: { type: 'bytes', id: 9 },
            docString: { type: 'string', id: 12 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        SparseTensorProto: {
          fields: {
            values: { type: 'TensorProto', id: 1 },
            indices: { type: 'TensorProto', id: 2 },
            dims: { rule: 'repeated', type: 'int64', id: 3 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            tp: { type: 'TypeProto', id: 14 },
            sparseTensor: { type: 'SparseTensorProto', id: 22 },
            floats: { rule: 'repeated', type: 'float', id: 7, options: { packed: false } },
            ints: { rule: 'repeated', type: 'int64', id: 8, options: { packed: false } },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            tensors: { rule: 'repeated', type: 'TensorProto', id: 10 },
            graphs: { rule: 'repeated', type: 'GraphProto', id: 11 },
            sparseTensors: { rule: 'repeated', type: 'SparseTensorProto', id: 23 },
            typeProtos: { rule: 'repeated', type: 'TypeProto', id: 15 },
            docString: { type: 'string', id: 13 },
            type: { type: 'int32', id: 20 },
            refAttrName: { type: 'string', id: 21 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
            domain: { type: 'string', id: 7 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            sparseInitializer: { rule: 'repeated', type: 'SparseTensorProto', id: 15 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            valueInfo: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
          },
        },
        FunctionProto: {
          fields: {
            name: { type: 'string', id: 1 },
            input: { rule: 'repeated', type: 'string', id: 4 },
            output: { rule: 'repeated', type: 'string', id: 5 },
            attribute: { rule: 'repeated', type: 'string', id: 6 },
            attributeProto: { rule: 'repeated', type: 'AttributeProto', id: 11 },
            node: { rule: 'repeated', type: 'NodeProto', id: 7 },
            docString: { type: 'string', id: 8 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 9 },
            domain: { type: 'string', id: 10 },
            overload: { type: 'string', id: 13 },
            valueInfo: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        TrainingInfoProto: {
          fields: {
            initialization: { type: 'GraphProto', id: 1 },
            algorithm: { type: 'GraphProto', id: 2 },
            initializationBinding: { rule: 'repeated', type: 'StringStringEntryProto', id: 3 },
            updateBinding: { rule: 'repeated', type: 'StringStringEntryProto', id: 4 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
            trainingInfo: { rule: 'repeated', type: 'TrainingInfoProto', id: 20 },
            functions: { rule: 'repeated', type: 'FunctionProto', id: 25 },
          },
        },
      },
    },
  },
});

/** ModelProto with every field we know, for writing models. */
export const ModelProto = protobuf.Root.fromJSON(descriptor(TENSOR_ELEMENT_FIELDS)).lookupType(
  'onnx.ModelProto',
);
const ModelProtoRead = protobuf.Root.fromJSON(descriptor({})).resolveAll().lookupType('onnx.ModelProto');

/** TensorProto.DataType names, by number. */
export const ONNX_DATA_TYPES: Record<number, string> = {
  0: 'undefined',
  1: 'float',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'double',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

export const ONNX_ELEMENT_BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  14: 8,
  15: 16,
  16: 2,
};

// Decoded shapes, as protobufjs's toObject gives them with longs as strings.
export interface DimensionObject {
  dimValue?: string;
  dimParam?: string;
}
export interface TypeObject {
  tensorType?: { elemType?: number; shape?: { dim?: DimensionObject[] } };
  sequenceType?: { elemType?: TypeObject };
  mapType?: { keyType?: number; valueType?: TypeObject };
  optionalType?: { elemType?: TypeObject };
  sparseTensorType?: { elemType?: number; shape?: { dim?: DimensionObject[] } };
}
export interface ValueInfoObject {
  name?: string;
  type?: TypeObject;
}
export interface TensorObject {
  name?: string;
  dims?: string[];
  dataType?: number;
  rawData?: Uint8Array;
  externalData?: { key?: string; value?: string }[];
  dataLocation?: number;
}
export interface SparseTensorObject {
  values?: TensorObject;
  indices?: TensorObject;
  /** The dense shape the values and indices describe. */
  dims?: string[];
}
export interface AttributeObject {
  name?: string;
  /** AttributeProto.AttributeType: which value field is in use. */
  type?: number;
  ints?: string[];
  strings?: Uint8Array[];
  t?: TensorObject;
  g?: GraphObject;
  tensors?: TensorObject[];
  graphs?: GraphObject[];
  sparseTensor?: SparseTensorObject;
  sparseTensors?: SparseTensorObject[];
}
export interface NodeObject {
  input?: string[];
  output?: string[];
  opType?: string;
  domain?: string;
  name?: string;
  attribute?: AttributeObject[];
}
export interface GraphObject {
  name?: string;
  node?: NodeObject[];
  initializer?: TensorObject[];
  sparseInitializer?: SparseTensorObject[];
  input?: ValueInfoObject[];
  output?: ValueInfoObject[];
}
/** A model-local function: nodes that graph nodes of its (domain, name) expand to. */
export interface FunctionObject {
  name?: string;
  domain?: string;
  node?: NodeObject[];
  /** Attribute defaults, which can hold tensors and graphs like a node's attributes. */
  attributeProto?: AttributeObject[];
  opsetImport?: { domain?: string; version?: string }[];
}
export interface TrainingInfoObject {
  initialization?: GraphObject;
  algorithm?: GraphObject;
}
export interface ModelObject {
  irVersion?: string;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: string;
  docString?: string;
  graph?: GraphObject;
  opsetImport?: { domain?: string; version?: string }[];
  metadataProps?: { key?: string; value?: string }[];
  trainingInfo?: TrainingInfoObject[];
  functions?: FunctionObject[];
}

/**
 * Most heap a model's decoding may take. protobufjs builds an object or more for every value, and toObject copies
 * it, while a value costs a byte or two on disk: what a model costs the heap is bounded here, not by its size. A
 * quarter of the 4 GiB an evaluation thread has by default; the largest real graphs (transformers of tens of
 * thousands of nodes, tree ensembles of a million tree nodes in attribute lists) take a fraction of it.
 */
export const MAX_MODEL_DECODE_BYTES = 1024 ** 3;

// Heap bytes one decoded value takes, with toObject's copy, as measured with protobufjs 8: a message ~330, a bytes
// view ~125, a 64-bit integer (a Long, then a string) ~90, a number or string in an array 16 to 40.
const MESSAGE_COST = 384;
const VALUE_COST: Record<string, number> = {
  bytes: 128,
  int64: 96,
  uint64: 96,
  sint64: 96,
  fixed64: 96,
  sfixed64: 96,
};
const SCALAR_COST = 40;

// Wire type 2 holds one value of these types, or a packed list of them; each list element is a varint but for
// the fixed-width types here.
const FIXED_WIDTH: Record<string, number> = {
  float: 4,
  fixed32: 4,
  sfixed32: 4,
  double: 8,
  fixed64: 8,
  sfixed64: 8,
};
const PACKABLE = new Set([
  ...Object.keys(FIXED_WIDTH),
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'bool',
]);

/**
 * Takes the heap that decoding from reader.pos to end, as `type`, would build out of budget.left, and returns
 * once it runs out. Only the wire structure is read (tags, lengths, varint ends); fields the type lacks cost
 * nothing, as the decoder skips them.
 */
function chargeDecode(
  reader: protobuf.Reader,
  end: number,
  type: protobuf.Type,
  depth: number,
  budget: { left: number },
): void {
  if (depth > protobuf.util.recursionLimit) throw new Error('max depth exceeded');
  while (reader.pos < end && budget.left >= 0) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    const field = type.fieldsById[tag >>> 3];
    if (field && wireType === 2 && field.resolvedType instanceof protobuf.Type) {
      const sub = reader.uint32() + reader.pos;
      if (sub > end) throw new RangeError('index out of range');
      budget.left -= MESSAGE_COST;
      chargeDecode(reader, sub, field.resolvedType, depth + 1, budget);
    } else if (field && wireType === 2 && field.repeated && PACKABLE.has(field.type)) {
      const sub = reader.uint32() + reader.pos;
      if (sub > end) throw new RangeError('index out of range');
      const width = FIXED_WIDTH[field.type];
      let elements = 0;
      if (width) elements = Math.ceil((sub - reader.pos) / width);
      else for (let at = reader.pos; at < sub; at++) if (reader.buf[at]! < 0x80) elements++;
      budget.left -= elements * (VALUE_COST[field.type] ?? SCALAR_COST);
      reader.pos = sub;
    } else {
      if (field) budget.left -= VALUE_COST[field.type] ?? SCALAR_COST;
      reader.skipType(wireType, depth, tag >>> 3);
    }
  }
}

/**
 * Decodes ModelProto bytes, without the tensors' element lists. Throws EvaluatorError EVAL_LIMIT_MEMORY, before
 * decoding, when that would take more than maxHeapBytes; otherwise what protobufjs throws on malformed input
 * (callers wrap it).
 */
export function decodeModel(bytes: Uint8Array, maxHeapBytes = MAX_MODEL_DECODE_BYTES): ModelObject {
  const budget = { left: maxHeapBytes };
  const reader = protobuf.Reader.create(bytes);
  chargeDecode(reader, reader.len, ModelProtoRead, 0, budget);
  if (budget.left < 0) {
    throw new EvaluatorError(
      'EVAL_LIMIT_MEMORY',
      `the model holds more values (graph nodes, attributes, list elements) than ${maxHeapBytes / 1024 ** 2} MiB of memory can decode`,
    );
  }
  // Fields the type lacks (the element lists among them) are skipped, not kept as unknown fields to re-encode.
  const decoding = protobuf.Reader.create(bytes);
  decoding.discardUnknown = true;
  const message = ModelProtoRead.decode(decoding);
  return ModelProtoRead.toObject(message, { longs: String, defaults: false, arrays: true }) as ModelObject;
}
