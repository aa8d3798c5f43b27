import { crc32, deflateRawSync } from 'node:zlib';
import { encodeModel, type GraphSpec } from '../../../evaluators/fixtures/onnx-writer.ts';

// Builders for hostile model files. Each is assembled byte by byte here, so the tests show exactly what the
// scanner is up against.

/** A zip archive (stored or deflated entries) with a correct central directory. */
export function zipOf(entries: { name: string; data: Uint8Array; deflate?: boolean }[]): Uint8Array {
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
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
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

/** A benign pickle of collections.OrderedDict(), protocol 2. */
export function benignPickle(): Uint8Array {
  return Buffer.from('\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.', 'latin1');
}

/** Minimal HDF5-looking file: the signature and a model_config attribute holding Keras JSON. */
export function kerasH5(layers: { class_name: string; config: Record<string, unknown> }[]): Uint8Array {
  const config = JSON.stringify({ class_name: 'Sequential', config: { name: 'm', layers } });
  return Buffer.concat([
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(120),
    Buffer.from('model_config'),
    Buffer.alloc(24),
    Buffer.from(config),
    Buffer.alloc(64),
  ]);
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
};
