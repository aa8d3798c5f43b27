import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCAN_LIMITS, expansionCap } from '../../../../evaluators/security/findings.ts';
import { scanKerasH5 } from '../../../../evaluators/security/h5.ts';
import { scanOnnx } from '../../../../evaluators/security/onnx.ts';
import { classifyGlobal, scanPickle } from '../../../../evaluators/security/pickle.ts';
import { checkZip } from '../../../../evaluators/security/zip.ts';
import {
  benignPickle,
  hdf5KerasModel,
  hostileOnnx,
  kerasH5,
  kerasH5HeapPointers,
  kerasH5WithDecoy,
  nestedLambda,
  osSystemPickleV0,
  osSystemPickleV4,
  zipOf,
} from '../../../support/evaluators/hostile.ts';

describe('pickle opcode scan', () => {
  it('finds os.system imported by GLOBAL (protocol 0)', () => {
    const findings = scanPickle(osSystemPickleV0());
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        message: expect.stringContaining('os.system'),
      }),
    );
  });
  it('finds posix.system imported by STACK_GLOBAL through the memo (protocol 4)', () => {
    const findings = scanPickle(osSystemPickleV4());
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        message: expect.stringContaining('posix.system'),
      }),
    );
  });
  it('passes a benign pickle with only an info finding', () => {
    expect(scanPickle(benignPickle()).map((f) => f.severity)).toEqual(['info']);
  });
  it('reports truncated and garbage streams instead of throwing', () => {
    const truncated = osSystemPickleV4().subarray(0, 20);
    expect(scanPickle(truncated).some((f) => f.id === 'pickle.truncated')).toBe(true);
    expect(scanPickle(Uint8Array.from([0xff, 0x00])).map((f) => f.id)).toEqual(['pickle.invalid_opcode']);
    expect(scanPickle(new Uint8Array(0)).map((f) => f.id)).toEqual(['pickle.truncated']);
  });
  it('classifies callables', () => {
    expect(classifyGlobal('builtins', 'eval')).toBe('critical');
    expect(classifyGlobal('subprocess', 'Popen')).toBe('critical');
    expect(classifyGlobal('numpy.core.multiarray', '_reconstruct')).toBeNull();
    // Not known to be data: an import that cannot be shown safe.
    expect(classifyGlobal('mypkg', 'Thing')).toBe('high');
  });
});

describe('Keras H5 scan', () => {
  it('finds Lambda layers in model_config without an HDF5 library', () => {
    const findings = scanKerasH5(
      kerasH5([
        { class_name: 'Dense', config: { name: 'dense' } },
        { class_name: 'Lambda', config: { name: 'sneaky', function: ['4wEAAAAAAAAA', null, null] } },
      ]),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        id: 'keras.lambda_layer',
        severity: 'high',
        message: expect.stringContaining('sneaky'),
      }),
    ]);
  });
  it('passes a model without Lambda layers', () => {
    expect(scanKerasH5(kerasH5([{ class_name: 'Dense', config: { name: 'd' } }]))).toEqual([]);
  });
  it('reads past a decoy model_config earlier in the file', () => {
    const findings = scanKerasH5(kerasH5WithDecoy([{ class_name: 'Lambda', config: { name: 'behind' } }]));
    expect(findings).toEqual([
      expect.objectContaining({ id: 'keras.lambda_layer', message: expect.stringContaining('behind') }),
    ]);
  });
  it('finds a Lambda inside 30 nested models', () => {
    expect(scanKerasH5(kerasH5([nestedLambda(30)]))).toEqual([
      expect.objectContaining({
        id: 'keras.lambda_layer',
        severity: 'high',
        message: expect.stringContaining('deep'),
      }),
    ]);
  });
  describe('in a real HDF5 file', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'arbiter-h5-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const lambda = [
      { class_name: 'Dense', config: { name: 'dense' } },
      { class_name: 'Lambda', config: { name: 'sneaky' } },
    ];

    it.each(['fixed', 'variable'] as const)(
      'finds a Lambda in a %s-length string model_config',
      async (strings) => {
        const findings = scanKerasH5(await hdf5KerasModel(join(dir, `${strings}.h5`), lambda, strings));
        expect(findings).toEqual([
          expect.objectContaining({ id: 'keras.lambda_layer', message: expect.stringContaining('sneaky') }),
        ]);
      },
    );
    it('passes one without Lambda layers', async () => {
      const file = await hdf5KerasModel(join(dir, 'dense.h5'), lambda.slice(0, 1), 'variable');
      expect(scanKerasH5(file)).toEqual([]);
    });
    it('reports a variable-length model_config whose heap is cut off as not inspected', async () => {
      const file = await hdf5KerasModel(join(dir, 'cut.h5'), lambda, 'variable');
      const heap = Buffer.from(file).lastIndexOf('GCOL');
      expect(scanKerasH5(file.subarray(0, heap))).toEqual([
        expect.objectContaining({
          id: 'keras.config_not_inspected',
          severity: 'high',
          message: `no global heap collection at byte ${heap}; it is not inspected`,
        }),
        expect.objectContaining({ id: 'keras.no_model_config' }),
      ]);
    });
    it.each(['fixed', 'variable'] as const)(
      'reports a %s-length model_config padded past 16 MiB, a Lambda behind the padding, as high',
      async (strings) => {
        const padded = [
          { class_name: 'Dense', config: { name: 'd', pad: 'x'.repeat(17 * 1024 ** 2) } },
          { class_name: 'Lambda', config: { name: 'evil' } },
        ];
        const file = await hdf5KerasModel(join(dir, `padded-${strings}.h5`), padded, strings);
        expect(scanKerasH5(file)).toEqual([
          expect.objectContaining({
            id: 'keras.config_not_inspected',
            severity: 'high',
            message: expect.stringContaining('longer than the 16777216 bytes the scan reads'),
          }),
          expect.objectContaining({ id: 'keras.no_model_config', severity: 'info' }),
        ]);
      },
    );
  });
  it('reports configs it does not read to the end, and stops after 64 MiB of them', () => {
    const span = 16 * 1024 ** 2 + 64;
    const file = Buffer.alloc(5 * span, '[');
    for (let k = 0; k < 5; k++) file.write('model_config{', k * span);
    const findings = scanKerasH5(file);
    // Four unclosed 16 MiB candidates spend the 64 MiB budget; the fourth says so and the fifth is never read.
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ...Array(4).fill(['keras.config_not_inspected', 'high']),
      ['keras.no_model_config', 'info'],
    ]);
    expect(findings[0]!.message).toContain('does not close within 16777216 bytes');
    expect(findings[3]!.message).toContain('beyond the 67108864 bytes the scan reads');
  });
  it('says the budget is spent when a config read to its very end leaves another unread', () => {
    // Four closed configs of exactly 16 MiB (`{"":"`, the x's, `"}`) spend the 64 MiB budget to its last byte.
    const config = (): string => `model_config{"":"${'x'.repeat(16 * 1024 ** 2 - 7)}"}`;
    const lambda = JSON.stringify({ class_name: 'Lambda', config: { name: 'after' } });
    const file = Buffer.from(`${config().repeat(4)}model_config${lambda}`);
    expect(scanKerasH5(file)).toEqual([
      expect.objectContaining({
        id: 'keras.config_not_inspected',
        message: expect.stringContaining('beyond the 67108864 bytes the scan reads'),
        location: `model_config@${file.lastIndexOf('model_config{') + 'model_config'.length}`,
      }),
    ]);
  });
});

describe('Keras H5 scan of hostile global heaps', () => {
  const missing = (address: number): string =>
    `object 4294967295 of the global heap collection at byte ${address} is missing; it is not inspected`;

  it('walks a collection once however many attributes point into it, and lists 100 of them', () => {
    // 4,000 attributes into one collection of 640 KB: walked once for each, they would read 2.5 GB and spend
    // the 64 MiB budget, which would say so.
    const findings = scanKerasH5(kerasH5HeapPointers(4000, 40_000, 'one'));
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ...Array(100).fill(['keras.config_not_inspected', 'high']),
      ['keras.no_model_config', 'info'],
    ]);
    expect(findings[0]!.message).toBe(missing(64));
    expect(findings[99]!.message).toBe(`${missing(64)} (and 3900 more like it in the file)`);
  });

  it('pays for each collection it walks from the byte budget, and stops when that is spent', () => {
    // 2,100 collections, each holding the rest: walking every one would read 32 × 2100 × 2101 / 2 bytes, 70.6 MB.
    const findings = scanKerasH5(kerasH5HeapPointers(2100, 2100, 'chained'));
    expect(findings).toHaveLength(102);
    expect(findings.slice(0, 100).map((f) => f.message)).toEqual(
      Array.from({ length: 100 }, (_, k) =>
        k < 99 ? missing(64 + 32 * k) : `${missing(64 + 32 * k)} (and 1535 more like it in the file)`,
      ),
    );
    // Collection k's walk reads 32 × (2100 - k) - 16 bytes: for k = 0 … 1634 that is 67,100,400 bytes, and
    // collection 1635 (14,880 bytes) does not fit in the 8,464 left of the budget.
    expect(findings[100]).toMatchObject({
      id: 'keras.config_not_inspected',
      message: expect.stringContaining('beyond the 67108864 bytes the scan reads'),
      location: `model_config@${64 + 2100 * 32 + 1635 * 64 + 8}`,
    });
    expect(findings[101]!.id).toBe('keras.no_model_config');
  });

  it('finds a Lambda behind thousands of attributes it cannot read', () => {
    const lambda = JSON.stringify({ class_name: 'Lambda', config: { name: 'behind' } });
    const file = Buffer.concat([
      kerasH5HeapPointers(4000, 40_000, 'one'),
      Buffer.alloc(64),
      Buffer.from(`model_config${'\0'.repeat(24)}${lambda}`),
    ]);
    const findings = scanKerasH5(file);
    expect(findings.filter((f) => f.id === 'keras.config_not_inspected')).toHaveLength(100);
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'keras.lambda_layer',
        severity: 'high',
        message: expect.stringContaining('behind'),
      }),
    );
  });

  it('lists at most 100 Lambda layers, counting the rest', () => {
    const lambdas = Array.from({ length: 250 }, (_, k) => ({
      class_name: 'Lambda',
      config: { name: `l${k}` },
    }));
    const findings = scanKerasH5(kerasH5(lambdas));
    expect(findings).toHaveLength(100);
    expect(findings.every((f) => f.id === 'keras.lambda_layer' && f.severity === 'high')).toBe(true);
    expect(findings[99]!.message).toMatch(/Lambda layer l99 .* \(and 150 more like it in the file\)$/);
  });
});

describe('expansion cap', () => {
  it('is the compression ratio times the compressed size, at least 1 MiB', () => {
    expect(expansionCap(260_000, DEFAULT_SCAN_LIMITS)).toBe(
      260_000 * DEFAULT_SCAN_LIMITS.maxCompressionRatio,
    );
    expect(expansionCap(100, DEFAULT_SCAN_LIMITS)).toBe(1024 ** 2);
  });
  it("stays within the caller's maxBytes and maxUncompressedBytes", () => {
    expect(expansionCap(260_000, { ...DEFAULT_SCAN_LIMITS, maxBytes: 1000 })).toBe(1000);
    expect(expansionCap(260_000, { ...DEFAULT_SCAN_LIMITS, maxUncompressedBytes: 2000 })).toBe(2000);
  });
});

describe('zip checks', () => {
  it('flags a zip bomb by its compression ratio', () => {
    const bomb = zipOf([{ name: 'data.pkl', data: new Uint8Array(64 * 1024 ** 2), deflate: true }]);
    const { findings, bomb: isBomb } = checkZip(bomb, DEFAULT_SCAN_LIMITS);
    expect(isBomb).toBe(true);
    expect(findings[0]).toMatchObject({ id: 'zip.bomb_ratio', severity: 'high' });
  });
  it('flags path traversal and a total over the cap', () => {
    const zip = zipOf([{ name: '../evil.py', data: new Uint8Array(10) }]);
    expect(checkZip(zip, DEFAULT_SCAN_LIMITS).findings.map((f) => f.id)).toEqual(['zip.path_traversal']);
    expect(
      checkZip(zip, { ...DEFAULT_SCAN_LIMITS, maxUncompressedBytes: 5 }).findings.map((f) => f.id),
    ).toContain('zip.bomb_total');
  });
  it('reports an unreadable archive', () => {
    expect(checkZip(Uint8Array.from([0x50, 0x4b, 3, 4, 0]), DEFAULT_SCAN_LIMITS).findings[0]!.id).toBe(
      'zip.unreadable',
    );
  });
});

describe('ONNX scan', () => {
  it('finds nothing in a plain model', async () => {
    expect(await scanOnnx(hostileOnnx.valid(), null, DEFAULT_SCAN_LIMITS)).toEqual([]);
  });
  it('flags a 10 GB claimed dimension', async () => {
    const findings = await scanOnnx(hostileOnnx.tenGigabyteDimension(), null, DEFAULT_SCAN_LIMITS);
    expect(findings).toEqual([expect.objectContaining({ id: 'onnx.absurd_dimension', severity: 'high' })]);
  });
  it('flags a truncated model', async () => {
    const bytes = hostileOnnx.valid();
    const findings = await scanOnnx(bytes.subarray(0, bytes.length - 7), null, DEFAULT_SCAN_LIMITS);
    expect(findings.map((f) => [f.id, f.severity])).toEqual([['onnx.unreadable', 'high']]);
  });
  it('flags custom operator domains and external data outside the folder', async () => {
    expect(
      (await scanOnnx(hostileOnnx.customDomain(), null, DEFAULT_SCAN_LIMITS)).map((f) => f.id),
    ).toContain('onnx.custom_operator_domain');
    expect(
      (await scanOnnx(hostileOnnx.externalData('../../etc/passwd'), null, DEFAULT_SCAN_LIMITS))[0],
    ).toMatchObject({
      id: 'onnx.external_data_path_traversal',
      severity: 'critical',
    });
    expect((await scanOnnx(hostileOnnx.externalData('/etc/passwd'), null, DEFAULT_SCAN_LIMITS))[0]!.id).toBe(
      'onnx.external_data_absolute_path',
    );
  });
  it.each([
    ['a sparse initializer', hostileOnnx.sparseExternalData],
    ['a sparse tensor attribute', hostileOnnx.sparseAttributeExternalData],
    ['a training graph', hostileOnnx.trainingExternalData],
    ["a model-local function's attribute default", hostileOnnx.functionDefaultExternalData],
  ])('checks external data of a tensor in %s as in a dense initializer', async (_, build) => {
    const dense = await scanOnnx(hostileOnnx.externalData('../../etc/passwd'), null, DEFAULT_SCAN_LIMITS);
    expect(dense).toEqual([
      expect.objectContaining({ id: 'onnx.external_data_path_traversal', severity: 'critical' }),
    ]);
    expect(await scanOnnx(build('../../etc/passwd'), null, DEFAULT_SCAN_LIMITS)).toEqual(dense);
  });
  it('flags a sparse initializer whose dense shape is absurd, and passes a plain one', async () => {
    expect(await scanOnnx(hostileOnnx.sparseShape([2, 1]), null, DEFAULT_SCAN_LIMITS)).toEqual([]);
    expect(await scanOnnx(hostileOnnx.sparseShape([2_684_354_560, 1]), null, DEFAULT_SCAN_LIMITS)).toEqual([
      expect.objectContaining({ id: 'onnx.absurd_dimension', severity: 'high', location: 'sparse tensor w' }),
    ]);
  });
  it("flags a custom operator domain in a model-local function's body as in the graph", async () => {
    const inGraph = await scanOnnx(hostileOnnx.customDomain(), null, DEFAULT_SCAN_LIMITS);
    expect(inGraph).toEqual([
      expect.objectContaining({ id: 'onnx.custom_operator_domain', severity: 'high' }),
    ]);
    expect(await scanOnnx(hostileOnnx.functionCustomDomain(), null, DEFAULT_SCAN_LIMITS)).toEqual(inGraph);
  });
});
