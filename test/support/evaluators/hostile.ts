import { readFile } from 'node:fs/promises';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { encodeModel, type GraphSpec } from '../../../evaluators/fixtures/onnx-writer.ts';
import {
  decodeModel,
  ModelProto,
  type GraphObject,
  type ModelObject,
  type SparseTensorObject,
  type TensorObject,
} from '../../../evaluators/onnx/onnx-proto.ts';

// Builders for hostile model files. Each is assembled byte by byte here, so the tests show exactly what the
// scanner is up against.

/**
 * A zip archive (stored or deflated entries) with a correct central directory, except that an entry may claim an
 * uncompressed size other than its real one, or (`method`) a compression method its stored bytes do not use.
 */
export function zipOf(
  entries: { name: string; data: Uint8Array; deflate?: boolean; claimedSize?: number; method?: number }[],
): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflate ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    const method = e.method ?? (e.deflate ? 8 : 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.claimedSize ?? e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.claimedSize ?? e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Protocol 0: `cos\nsystem\n(S'…'\ntR.` — GLOBAL os.system, then REDUCE calls it. */
export function osSystemPickleV0(command = 'echo pwned'): Uint8Array {
  return Buffer.from(`cos\nsystem\n(S'${command}'\ntR.`, 'latin1');
}

/** Protocol 4: module and name pushed as strings and memoized, then STACK_GLOBAL and REDUCE. */
export function osSystemPickleV4(command = 'echo pwned'): Uint8Array {
  const str = (s: string) => Buffer.concat([Buffer.from([0x8c, s.length]), Buffer.from(s)]);
  const body = Buffer.concat([
    str('posix'),
    Buffer.from([0x94]),
    str('system'),
    Buffer.from([0x94, 0x93, 0x94]),
    str(command),
    Buffer.from([0x94, 0x85, 0x94, 0x52, 0x94, 0x2e]),
  ]);
  const frame = Buffer.alloc(9);
  frame[0] = 0x95;
  frame.writeBigUInt64LE(BigInt(body.length), 1);
  return Buffer.concat([Buffer.from([0x80, 0x04]), frame, body]);
}

/**
 * A .npy file (format version 1.0) of dtype `descr` (a type string, or a structured dtype's list as written)
 * whose data is `body`: for an object dtype, the pickle
 * np.save writes after the header.
 */
export function npyOf(descr: string, body: Uint8Array, shape = '(1,)'): Uint8Array {
  const literal = descr.startsWith('[') ? descr : `'${descr}'`; // a structured dtype's list, or a type string
  let header = `{'descr': ${literal}, 'fortran_order': False, 'shape': ${shape}, }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const length = Buffer.alloc(2);
  length.writeUInt16LE(header.length);
  return Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), length, Buffer.from(header), body]);
}

/** A Keras 3 config.json (Python's json.dumps of it) whose Sequential model holds `layers`. */
export function kerasConfigJson(layers: string): Uint8Array {
  return Buffer.from(`{"class_name": "Sequential", "config": {"name": "m", "layers": [${layers}]}}`);
}

/** A benign pickle of collections.OrderedDict(), protocol 2. */
export function benignPickle(): Uint8Array {
  return Buffer.from('\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.', 'latin1');
}

/**
 * A gzip pickle (protocol 4) of `megabytes` MiB of NONE opcodes, as concatenated gzip members of 1 MiB each, so
 * the expansion is never held here: about 1 KiB on disk per MiB it expands to.
 */
export function gzipPickleBomb(megabytes: number): Uint8Array {
  const none = Buffer.alloc(1024 ** 2, 'N');
  return Buffer.concat([
    gzipSync(Buffer.concat([Buffer.from([0x80, 0x04]), none])),
    ...Array<Buffer>(megabytes - 1).fill(gzipSync(none)),
  ]);
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Minimal HDF5-looking file: the signature and a model_config attribute holding Keras JSON. */
export function kerasH5(layers: { class_name: string; config: Record<string, unknown> }[]): Uint8Array {
  const config = JSON.stringify({ class_name: 'Sequential', config: { name: 'm', layers } });
  return Buffer.concat([
    HDF5_SIGNATURE,
    Buffer.alloc(120),
    Buffer.from('model_config'),
    Buffer.alloc(24),
    Buffer.from(config),
    Buffer.alloc(64),
  ]);
}

/** kerasH5 with an earlier, Lambda-free `model_config` JSON in front (say, in a dataset's bytes). */
export function kerasH5WithDecoy(
  layers: { class_name: string; config: Record<string, unknown> }[],
): Uint8Array {
  const decoy = JSON.stringify({ class_name: 'Sequential', config: { name: 'decoy', layers: [] } });
  const real = kerasH5(layers);
  return Buffer.concat([
    real.subarray(0, HDF5_SIGNATURE.length),
    Buffer.from(`model_config${decoy}`),
    real.subarray(HDF5_SIGNATURE.length),
  ]);
}

/**
 * An HDF5-looking file (superblock version 0: 8-byte addresses and lengths) with `attributes` `model_config`
 * attribute messages, each a variable-length string whose global heap ID names object 0xffffffff, which no
 * collection holds. The collections they point into, laid out from byte 64:
 * - 'one': a single collection of `objects` empty objects, into which every attribute points;
 * - 'chained': `objects` collections, each the data of the first object of the one before, so that collection k
 *   holds all those after it; attribute k points at collection k (modulo `objects`).
 */
export function kerasH5HeapPointers(
  attributes: number,
  objects: number,
  heap: 'one' | 'chained',
): Uint8Array {
  const heapAt = 64;
  const objectBytes = heap === 'one' ? 16 : 32;
  const heapEnd = heapAt + (heap === 'one' ? 16 : 0) + objects * objectBytes;
  const file = Buffer.alloc(heapEnd + attributes * 64);
  HDF5_SIGNATURE.copy(file, 0);
  file[13] = 8;
  file[14] = 8;
  const collection = (at: number): void => {
    file.write('GCOL', at, 'latin1');
    file[at + 4] = 1;
    file.writeBigUInt64LE(BigInt(heapEnd - at), at + 8);
  };
  /** An object header: its index (never 0, the free space) and the size of the data after it. */
  const object = (at: number, index: number, size: number): void => {
    file.writeUInt16LE(index, at);
    file.writeBigUInt64LE(BigInt(size), at + 8);
  };
  const collectionAt = (k: number): number => (heap === 'one' ? heapAt : heapAt + (k % objects) * 32);
  if (heap === 'one') {
    collection(heapAt);
    for (let k = 0; k < objects; k++) object(heapAt + 16 + k * 16, 1 + (k % 65535), 0);
  } else
    for (let k = 0; k < objects; k++) {
      collection(collectionAt(k));
      object(collectionAt(k) + 16, 1, 16);
    }
  const name = 'model_config';
  for (let c = 0; c < attributes; c++) {
    // Attribute message version 1: name, datatype and dataspace, each padded to 8 bytes.
    const at = heapEnd + c * 64;
    file[at] = 1;
    file.writeUInt16LE(name.length + 1, at + 2);
    file.writeUInt16LE(16, at + 4);
    file.writeUInt16LE(8, at + 6);
    file.write(name, at + 8, 'latin1');
    file[at + 24] = 0x19; // datatype class 9 (variable length), version 1
    file[at + 25] = 0x01; // a string
    // The value: a length, then the heap ID (collection address, object index).
    file.writeBigUInt64LE(BigInt(collectionAt(c)), at + 52);
    file.writeUInt32LE(0xffffffff, at + 60);
  }
  return new Uint8Array(file.buffer, file.byteOffset, file.length);
}

/** A Lambda layer inside `depth` models nested one in another (Keras allows a model as a layer). */
export function nestedLambda(depth: number): { class_name: string; config: Record<string, unknown> } {
  let layer = { class_name: 'Lambda', config: { name: 'deep' } as Record<string, unknown> };
  for (let k = 0; k < depth; k++)
    layer = { class_name: 'Functional', config: { name: `model_${k}`, layers: [layer] } };
  return layer;
}

const tiny = (overrides: Partial<GraphSpec>): Uint8Array =>
  encodeModel({
    name: 'hostile',
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'y', shape: ['N', 1] }],
    initializers: [{ name: 'w', dims: [2, 1], data: [1, 1] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    ...overrides,
  });

/** Decodes a model, edits in what the fixture writer has no words for, and encodes it again. */
function edited(bytes: Uint8Array, edit: (model: ModelObject, graph: GraphObject) => void): Uint8Array {
  const model = decodeModel(bytes);
  edit(model, model.graph!);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** A sparse tensor of dense shape `dims` whose two non-zero values are `values` (re-shaped to [2]). */
const sparseOf = (values: TensorObject, dims: string[]): SparseTensorObject => ({
  values: { ...values, dims: ['2'] },
  indices: {
    name: `${values.name}_indices`,
    dims: ['2'],
    dataType: 7,
    rawData: new Uint8Array(BigInt64Array.from([0n, 1n]).buffer),
  },
  dims,
});

/** The graph's one initializer, taken out of it (to be put elsewhere). */
const takeInitializer = (graph: GraphObject): TensorObject => graph.initializer!.pop()!;

export const hostileOnnx = {
  valid: () => tiny({}),
  /** An initializer claiming 10 GB (2,684,354,560 floats) with no data behind it. */
  tenGigabyteDimension: () => tiny({ initializers: [{ name: 'w', dims: [2_684_354_560, 1], data: [] }] }),
  externalData: (location: string) =>
    tiny({
      initializers: [{ name: 'w', dims: [2, 1], data: [], external: { location, offset: '0', length: '8' } }],
    }),
  customDomain: () =>
    tiny({ nodes: [{ op: 'RunShell', domain: 'com.evil', inputs: ['x', 'w'], outputs: ['y'] }] }),
  /** externalData's tensor as the values of a sparse initializer (GraphProto.sparse_initializer). */
  sparseExternalData: (location: string) =>
    edited(hostileOnnx.externalData(location), (_, graph) => {
      graph.sparseInitializer = [sparseOf(takeInitializer(graph), ['2', '1'])];
    }),
  /** externalData's tensor as the values of a Constant node's sparse_value (AttributeProto.sparse_tensor). */
  sparseAttributeExternalData: (location: string) =>
    edited(hostileOnnx.externalData(location), (_, graph) => {
      const sparseTensor = sparseOf(takeInitializer(graph), ['2', '1']);
      graph.node!.unshift({
        opType: 'Constant',
        name: 'constant_w',
        output: ['w'],
        attribute: [{ name: 'sparse_value', type: 11, sparseTensor }],
      });
    }),
  /** externalData's tensor as an initializer of a training step (ModelProto.training_info). */
  trainingExternalData: (location: string) =>
    edited(hostileOnnx.externalData(location), (model, graph) => {
      model.trainingInfo = [{ algorithm: { name: 'step', initializer: [takeInitializer(graph)] } }];
    }),
  /** externalData's tensor as the default of a model-local function's attribute (FunctionProto.attribute_proto). */
  functionDefaultExternalData: (location: string) =>
    edited(hostileOnnx.externalData(location), (model, graph) => {
      const t = takeInitializer(graph);
      model.functions = [
        { name: 'Scale', domain: 'local.functions', attributeProto: [{ name: 'w', type: 4, t }] },
      ];
    }),
  /** A sparse initializer whose dense shape is `dims` (its two stored values are real). */
  sparseShape: (dims: number[]) =>
    edited(tiny({}), (_, graph) => {
      graph.sparseInitializer = [sparseOf(takeInitializer(graph), dims.map(String))];
    }),
  /** customDomain's RunShell node moved into a model-local function; the graph itself is plain. */
  functionCustomDomain: () =>
    edited(hostileOnnx.customDomain(), (model, graph) => {
      model.functions = [{ name: 'Helper', domain: 'local.functions', node: graph.node }];
      graph.node = [{ opType: 'MatMul', name: 'matmul_0', input: ['x', 'w'], output: ['y'] }];
    }),
};

/**
 * A real HDF5 file, written by the HDF5 library (h5wasm), laid out as Keras's H5 format: a weights dataset and
 * the architecture as the root group's `model_config` attribute. A fixed-length string is stored in the
 * attribute message itself, as Keras writes it; a variable-length one in the global heap, which h5py also
 * hands to Keras as a string. The attribute is written after the weights, so a variable-length value lies at
 * the end of the file, far from the attribute's name.
 */
export async function hdf5KerasModel(
  path: string,
  layers: { class_name: string; config: Record<string, unknown> }[],
  strings: 'fixed' | 'variable',
): Promise<Uint8Array> {
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  const config = JSON.stringify({ class_name: 'Sequential', config: { name: 'm', layers } });
  const file = new h5wasm.File(path, 'w');
  file.create_dataset({ name: 'model_weights', data: new Float32Array(50_000) });
  file.create_attribute(
    'model_config',
    config,
    null,
    strings === 'fixed' ? `S${Buffer.byteLength(config)}` : null,
  );
  file.close();
  return readFile(path);
}
