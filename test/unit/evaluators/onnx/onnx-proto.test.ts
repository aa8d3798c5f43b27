import { describe, expect, it } from 'vitest';
import { encodeModel, INT64 } from '../../../../evaluators/fixtures/onnx-writer.ts';
import { metadataOf, parseModel } from '../../../../evaluators/onnx/metadata.ts';
import { decodeModel, MAX_MODEL_DECODE_BYTES, ModelProto } from '../../../../evaluators/onnx/onnx-proto.ts';
import { DEFAULT_SCAN_LIMITS } from '../../../../evaluators/security/findings.ts';
import { scanOnnx } from '../../../../evaluators/security/onnx.ts';

// Hostile ModelProto bytes, written field by field: what the writer would never produce.
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n & 127) | 128);
  out.push(n);
  return out;
}
/** A length-delimited field holding the parts, one after another. */
function field(id: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const head = [(id << 3) | 2, ...varint(length)];
  const out = new Uint8Array(head.length + length);
  out.set(head);
  let at = head.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
/** `count` copies of an empty length-delimited field. */
function emptyFields(id: number, count: number): Uint8Array {
  const out = new Uint8Array(2 * count);
  for (let k = 0; k < count; k++) out[2 * k] = (id << 3) | 2;
  return out;
}
/** ModelProto.graph holding `graph`. */
const model = (graph: Uint8Array) => field(7, graph);

const plain = () =>
  encodeModel({
    name: 'g',
    inputs: [{ name: 'x', shape: ['N', 2] }],
    outputs: [{ name: 'y', shape: ['N', 1] }],
    initializers: [{ name: 'w', dims: [2, 1], data: [1, 1] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    metadata: { owner: 'risk' },
  });

describe('decodeModel', () => {
  it('skips a tensor element list rather than building a value per element', () => {
    // 1,000,000 empty TensorProto.string_data entries in an initializer (2 MB): a hundred MB on the heap, were
    // they decoded.
    const bytes = model(field(5, field(8, new TextEncoder().encode('w')), emptyFields(6, 1_000_000)));
    const [tensor] = decodeModel(bytes, 10_000).graph?.initializer ?? [];
    expect(tensor).toMatchObject({ name: 'w' });
    expect(tensor).not.toHaveProperty('stringData');
  });

  it('refuses before decoding a model whose values would take more heap than it allows', () => {
    // 10,000 empty NodeProto messages, and 100,000 packed AttributeProto.ints (a byte each) in one node.
    const nodes = model(emptyFields(1, 10_000));
    const ints = model(field(1, field(5, field(8, new Uint8Array(100_000)))));
    for (const bytes of [nodes, ints]) {
      expect(() => decodeModel(bytes, 1024 ** 2)).toThrow(
        expect.objectContaining({
          code: 'EVAL_LIMIT_MEMORY',
          message: expect.stringContaining('than 1 MiB of memory can decode'),
        }),
      );
      expect(decodeModel(bytes, 100_000_000).graph?.node?.length).toBeGreaterThan(0);
    }
  });

  it('refuses nesting past protobufjs recursion limit as malformed, not as a stack overflow', () => {
    let graph: Uint8Array = new Uint8Array(0);
    // GraphProto.node → NodeProto.attribute → AttributeProto.g → GraphProto, 50 times over: 150 deep.
    for (let k = 0; k < 50; k++) graph = field(1, field(5, field(6, graph)));
    expect(() => decodeModel(model(graph))).toThrow('max depth exceeded');
  });

  it('keeps what the metadata, the scanner and the runner read, while the writer still writes element lists', () => {
    const bytes = encodeModel({
      name: 'g',
      inputs: [{ name: 'x', shape: ['N', 2] }],
      outputs: [{ name: 'y', shape: ['N', 2] }],
      initializers: [{ name: 'k', dims: [2], data: [1, 2], dataType: INT64 }],
      nodes: [
        {
          op: 'ZipMap',
          domain: 'ai.onnx.ml',
          inputs: ['x'],
          outputs: ['y'],
          attributes: { classlabels_int64s: [0, 1] },
        },
      ],
    });
    const written = ModelProto.toObject(ModelProto.decode(bytes), { longs: String }) as {
      graph: { initializer: { int64Data?: string[] }[] };
    };
    expect(written.graph.initializer[0]?.int64Data).toEqual(['1', '2']);
    const decoded = decodeModel(bytes);
    expect(decoded.graph?.initializer?.[0]).toMatchObject({ name: 'k', dims: ['2'], dataType: INT64 });
    expect(decoded.graph?.initializer?.[0]).not.toHaveProperty('int64Data');
    expect(decoded.graph?.node?.[0]?.attribute?.[0]).toMatchObject({
      name: 'classlabels_int64s',
      ints: ['0', '1'],
    });
    expect(decoded.graph?.input?.[0]?.type?.tensorType?.shape?.dim).toEqual([
      { dimParam: 'N' },
      { dimValue: '2' },
    ]);
  });

  it('reads metadata and scans a model that carries a large element list as it does without one', async () => {
    const bytes = plain();
    // A second `graph` field merges into the first: an extra initializer of 1,000,000 empty string_data entries.
    const bombed = Buffer.concat([bytes, model(field(5, emptyFields(6, 1_000_000)))]);
    const { size, sha256, ...metadata } = metadataOf(parseModel(bombed), bombed);
    expect(size).toBe(bombed.length);
    expect(sha256).not.toBe(metadataOf(parseModel(bytes), bytes).sha256);
    expect(metadata).toMatchObject({
      opset: [{ domain: '', version: 13 }],
      inputs: [{ name: 'x', type: 'tensor(float)', shape: ['N', 2], elem_type: 'float' }],
      outputs: [{ name: 'y', type: 'tensor(float)', shape: ['N', 1], elem_type: 'float' }],
      metadata_props: { owner: 'risk' },
    });
    expect(await scanOnnx(bombed, null, DEFAULT_SCAN_LIMITS)).toEqual(
      await scanOnnx(bytes, null, DEFAULT_SCAN_LIMITS),
    );
  });

  it('is refused by the metadata reader (EVAL_LIMIT_MEMORY) and reported by the scanner past the default bound', async () => {
    // Empty NodeProto messages, a few more than MAX_MODEL_DECODE_BYTES allows: 5.6 MB on disk, a GB decoded.
    const bytes = model(emptyFields(1, Math.ceil(MAX_MODEL_DECODE_BYTES / 384) + 1));
    expect(() => parseModel(bytes)).toThrow(expect.objectContaining({ code: 'EVAL_LIMIT_MEMORY' }));
    expect(await scanOnnx(bytes, null, DEFAULT_SCAN_LIMITS)).toEqual([
      expect.objectContaining({ id: 'onnx.too_many_values', severity: 'high' }),
    ]);
  });
});
