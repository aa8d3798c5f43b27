import protobuf from 'protobufjs';

// The subset of onnx/onnx.proto (IR version 10, proto2) that Arbiter reads and writes, as a protobufjs JSON
// descriptor. Field numbers are those of https://github.com/onnx/onnx/blob/main/onnx/onnx.proto; fields we do
// not list are skipped by the decoder, never misread.
const DESCRIPTOR = {
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
            floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int32Data: { rule: 'repeated', type: 'int32', id: 5, options: { packed: true } },
            stringData: { rule: 'repeated', type: 'bytes', id: 6 },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
            doubleData: { rule: 'repeated', type: 'double', id: 10, options: { packed: true } },
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
};

export const ONNX_ROOT = protobuf.Root.fromJSON(DESCRIPTOR);
export const ModelProto = ONNX_ROOT.lookupType('onnx.ModelProto');

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
  floatData?: number[];
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

/** Decodes ModelProto bytes; throws what protobufjs throws on malformed input (callers wrap it). */
export function decodeModel(bytes: Uint8Array): ModelObject {
  const message = ModelProto.decode(bytes);
  return ModelProto.toObject(message, { longs: String, defaults: false, arrays: true }) as ModelObject;
}
