import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanModelFile } from '../../../evaluators/index.ts';
import { DEFAULT_SCAN_LIMITS } from '../../../evaluators/security/findings.ts';
import {
  gzipPickleBomb,
  hostileOnnx,
  kerasConfigJson,
  kerasH5,
  npyOf,
  osSystemPickleV0,
  osSystemPickleV4,
  zipOf,
} from '../../support/evaluators/hostile.ts';

let dir: string;
const file = async (name: string, bytes: Uint8Array): Promise<string> => {
  const p = path.join(dir, name);
  await writeFile(p, bytes);
  return p;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-scan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scanModelFile', () => {
  it('passes a plain ONNX model', async () => {
    const report = await scanModelFile(await file('ok.onnx', hostileOnnx.valid()));
    expect(report).toMatchObject({ format: 'onnx', findings: [], max_severity: null });
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
  it('reports a truncated ONNX file as a finding', async () => {
    const bytes = hostileOnnx.valid();
    const report = await scanModelFile(await file('cut.onnx', bytes.subarray(0, bytes.length - 9)));
    expect(report.max_severity).toBe('high');
    expect(report.findings[0]!.id).toBe('onnx.unreadable');
  });
  it('reports a 10 GB claimed dimension without allocating it', async () => {
    const report = await scanModelFile(await file('huge.onnx', hostileOnnx.tenGigabyteDimension()));
    expect(report.findings.map((f) => f.id)).toEqual(['onnx.absurd_dimension']);
  });
  it('finds os.system in a pickle, plain and gzip-compressed (joblib)', async () => {
    for (const [name, bytes] of [
      ['model.pkl', osSystemPickleV0()],
      ['model.joblib', gzipSync(osSystemPickleV4())],
    ] as const) {
      const report = await scanModelFile(await file(name, bytes));
      expect(report.format).toBe('pickle');
      expect(report.max_severity).toBe('critical');
    }
  });
  it('finds a pickle inside a PyTorch-style zip, and stops at a zip bomb', async () => {
    const torch = await scanModelFile(
      await file('model.pt', zipOf([{ name: 'archive/data.pkl', data: osSystemPickleV4(), deflate: true }])),
    );
    expect(
      torch.findings.some(
        (f) => f.id === 'pickle.dangerous_import' && f.location?.startsWith('archive/data.pkl@'),
      ),
    ).toBe(true);
    const bomb = await scanModelFile(
      await file(
        'bomb.zip',
        zipOf([{ name: 'data.pkl', data: new Uint8Array(50 * 1024 ** 2), deflate: true }]),
      ),
    );
    expect(bomb.findings.map((f) => f.id)).toEqual(['zip.bomb_ratio']);
  });
  it('opens archives inside archives, three deep at most, and scans what they hold', async () => {
    const pickle = zipOf([{ name: 'data.pkl', data: osSystemPickleV4(), deflate: true }]);
    const twice = await scanModelFile(
      await file('outer.zip', zipOf([{ name: 'inner.zip', data: pickle, deflate: true }])),
    );
    expect(twice.findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        location: expect.stringMatching(/^inner\.zip!\/data\.pkl@/),
      }),
    );
    // A bomb inside is found as one, and named where it lies.
    const bomb = zipOf([{ name: 'data.pkl', data: new Uint8Array(50 * 1024 ** 2), deflate: true }]);
    const hidden = await scanModelFile(await file('hides.zip', zipOf([{ name: 'inner.zip', data: bomb }])));
    expect(hidden.findings).toEqual([
      expect.objectContaining({ id: 'zip.bomb_ratio', location: 'inner.zip!/data.pkl' }),
    ]);
    // The file, b and c are opened; d, a fourth archive, is a finding and not opened.
    let nested = pickle;
    for (const name of ['d.zip', 'c.zip', 'b.zip']) nested = zipOf([{ name, data: nested }]);
    const deep = await scanModelFile(await file('deep.zip', nested));
    expect(deep.findings).toEqual([
      expect.objectContaining({
        id: 'zip.nested_too_deep',
        severity: 'high',
        location: 'b.zip!/c.zip!/d.zip',
      }),
    ]);
  });
  it('scans an ONNX model and a compressed joblib inside an archive', async () => {
    const report = await scanModelFile(
      await file(
        'bundle.zip',
        zipOf([
          { name: 'model.onnx', data: hostileOnnx.customDomain(), deflate: true },
          { name: 'pipeline.joblib', data: gzipSync(osSystemPickleV4()) },
          { name: 'plain.onnx', data: hostileOnnx.valid() },
        ]),
      ),
    );
    const serious = report.findings.filter((f) => f.severity !== 'info');
    expect(serious.map((f) => [f.id, f.location?.split(/[:@]/)[0]])).toEqual([
      ['onnx.custom_operator_domain', 'model.onnx'],
      ['pickle.dangerous_import', 'pipeline.joblib'],
    ]);
  });
  it('stops a gzip pickle at the compression-ratio cap, short of its 256 MiB expansion', async () => {
    const bytes = gzipPickleBomb(256);
    const cap = bytes.length * DEFAULT_SCAN_LIMITS.maxCompressionRatio;
    const report = await scanModelFile(await file('bomb.pkl', bytes));
    expect(report.findings).toEqual([
      expect.objectContaining({
        id: 'compression.bomb',
        severity: 'high',
        message: expect.stringContaining(`expands past ${cap} bytes`),
      }),
    ]);
    expect(cap).toBeLessThan(256 * 1024 ** 2);
  });
  it("stops a gzip pickle at the caller's maxBytes when that is lower", async () => {
    const report = await scanModelFile(await file('small-cap.pkl', gzipPickleBomb(16)), {
      maxBytes: 1024 ** 2,
    });
    expect(report.findings).toEqual([
      expect.objectContaining({
        id: 'compression.bomb',
        message: expect.stringContaining('past 1048576 bytes'),
      }),
    ]);
  });
  it('stops a zip entry that expands past what its size fields claim', async () => {
    const data = new Uint8Array(64 * 1024 ** 2);
    const report = await scanModelFile(
      await file('liar.pt', zipOf([{ name: 'archive/data.pkl', data, deflate: true, claimedSize: 1000 }])),
    );
    expect(report.findings).toEqual([
      expect.objectContaining({ id: 'zip.bomb_expansion', severity: 'high' }),
    ]);
  });
  it('finds Keras Lambda layers in H5 files', async () => {
    const report = await scanModelFile(
      await file('m.h5', kerasH5([{ class_name: 'Lambda', config: { name: 'l' } }])),
    );
    expect(report).toMatchObject({ format: 'keras-h5', max_severity: 'high' });
  });
  it('checks external data on disk: symlinks out of the folder, missing files', async () => {
    const sub = path.join(dir, 'model');
    await mkdir(sub);
    await symlink('/etc/hostname', path.join(sub, 'weights.bin'));
    await writeFile(path.join(sub, 'm.onnx'), hostileOnnx.externalData('weights.bin'));
    const report = await scanModelFile(path.join(sub, 'm.onnx'));
    expect(report.findings[0]).toMatchObject({ id: 'onnx.external_data_symlink', severity: 'high' });
    await writeFile(path.join(sub, 'n.onnx'), hostileOnnx.externalData('absent.bin'));
    expect((await scanModelFile(path.join(sub, 'n.onnx'))).findings[0]!.id).toBe(
      'onnx.external_data_not_found',
    );
  });
  it('finds external data reached through a symlinked folder, and passes a plain external file', async () => {
    const sub = path.join(dir, 'linked-folder');
    const outside = path.join(dir, 'outside');
    await mkdir(path.join(sub, 'inside'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(outside, 'w.bin'), new Uint8Array(64));
    await symlink(outside, path.join(sub, 'weights'));
    await writeFile(path.join(sub, 'm.onnx'), hostileOnnx.externalData('weights/w.bin'));
    expect((await scanModelFile(path.join(sub, 'm.onnx'))).findings).toEqual([
      expect.objectContaining({ id: 'onnx.external_data_symlink', severity: 'high' }),
    ]);
    await writeFile(path.join(sub, 'inside', 'w.bin'), new Uint8Array(64));
    await writeFile(path.join(sub, 'n.onnx'), hostileOnnx.externalData('inside/w.bin'));
    expect((await scanModelFile(path.join(sub, 'n.onnx'))).findings).toEqual([]);
  });
  it('reports a symlinked model, a missing file and an oversized file', async () => {
    const target = await file('t.onnx', hostileOnnx.valid());
    await symlink(target, path.join(dir, 'link.onnx'));
    expect((await scanModelFile(path.join(dir, 'link.onnx'))).findings[0]!.id).toBe('file.symlink');
    expect((await scanModelFile(path.join(dir, 'nope.onnx'))).findings[0]!.id).toBe('file.unreadable');
    expect((await scanModelFile(target, { maxBytes: 10 })).findings[0]!.id).toBe('file.too_large');
  });
});

describe('scanModelFile on containers and compressions joblib, NumPy and Keras read', () => {
  const finding = (id: string, severity: string) => expect.objectContaining({ id, severity });

  it.each([
    ['bz2', Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(40, 7)])],
    ['xz', Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(40, 7)])],
    ['lzma', Buffer.concat([Buffer.from([0x5d, 0x00, 0x00, 0x80, 0x00]), Buffer.alloc(40, 0xff)])],
    ['lz4', Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), Buffer.alloc(40, 7)])],
  ])('refuses a joblib file compressed with %s, which it cannot read', async (compression, bytes) => {
    const report = await scanModelFile(await file(`model-${compression}.joblib`, bytes));
    expect(report.findings).toEqual([
      expect.objectContaining({
        id: 'compression.unsupported',
        severity: 'high',
        message: expect.stringContaining(`compressed with ${compression},`),
      }),
    ]);
  });

  it('refuses a .keras config.json stored with a method it cannot read, or that is no JSON', async () => {
    const lambda = kerasConfigJson('{"class_name": "Lambda", "config": {"name": "evil"}}');
    const lzma = await scanModelFile(
      await file('lzma.keras', zipOf([{ name: 'config.json', data: lambda, method: 14 }])),
    );
    expect(lzma.findings).toEqual([
      finding('zip.unsupported_method', 'high'),
      finding('keras.config_unreadable', 'high'),
    ]);
    const garbage = await scanModelFile(
      await file('garbage.keras', zipOf([{ name: 'config.json', data: Buffer.from('{"class_name": ') }])),
    );
    expect(garbage.findings).toEqual([finding('keras.config_unreadable', 'high')]);
  });

  it('reads a .keras config.json holding NaN and Infinity, as Python writes them', async () => {
    const config = kerasConfigJson(
      '{"class_name": "Dropout", "config": {"rate": NaN, "max": Infinity, "min": -Infinity, "note": "NaN"}}, ' +
        '{"class_name": "Lambda", "config": {"name": "evil"}}',
    );
    const report = await scanModelFile(
      await file('nan.keras', zipOf([{ name: 'config.json', data: config }])),
    );
    expect(report.findings).toEqual([finding('keras.lambda_layer', 'high')]);
  });

  it('scans the pickle of an object-dtype .npy, bare and inside an .npz, and passes a numeric one', async () => {
    const objects = npyOf('|O', osSystemPickleV4());
    for (const [name, bytes] of [
      ['weights.npy', objects],
      ['weights.npz', zipOf([{ name: 'arr_0.npy', data: objects, deflate: true }])],
    ] as const) {
      const report = await scanModelFile(await file(name, bytes));
      expect(report.findings).toContainEqual(
        expect.objectContaining({
          id: 'pickle.dangerous_import',
          severity: 'critical',
          message: expect.stringContaining('posix.system'),
        }),
      );
    }
    // A structured dtype with an object field is pickled too.
    const structured = await scanModelFile(
      await file('rec.npy', npyOf(`[('a', '<f8'), ('b', '|O')]`, osSystemPickleV0())),
    );
    expect(structured.max_severity).toBe('critical');
    const numbers = await scanModelFile(
      await file('numbers.npy', npyOf('<f8', Buffer.from('cos\nsystem\n.'))),
    );
    expect(numbers).toMatchObject({ format: 'npy', findings: [] });
    const cut = await scanModelFile(await file('cut.npy', npyOf('<f8', Buffer.alloc(0)).subarray(0, 12)));
    expect(cut.findings).toEqual([finding('npy.unreadable', 'high')]);
  });
});
