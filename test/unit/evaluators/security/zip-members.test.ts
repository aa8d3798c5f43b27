import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanModelFile } from '../../../../evaluators/security/scan.ts';
import { npyOf, osSystemPickleV0, osSystemPickleV4, zipOf } from '../../../support/evaluators/hostile.ts';

// np.load of an .npz reads any member whose first bytes are \x93NUMPY as an array, whatever its name (NpzFile's
// __getitem__ checks the magic, not the suffix). So the scan reads a member by what it begins with, too.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arbiter-members-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
const scan = async (name: string, bytes: Uint8Array) => {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return scanModelFile(path);
};
const critical = expect.objectContaining({
  id: 'pickle.dangerous_import',
  severity: 'critical',
  message: expect.stringContaining('system'),
});
const objectArray = npyOf('|O', osSystemPickleV0('touch /tmp/pwned'));

/** A raw deflate stream that opens with `count` empty stored blocks (5 bytes each), then deflates `data`. */
const paddedDeflate = (data: Uint8Array, count: number): Buffer =>
  Buffer.concat([
    ...Array.from({ length: count }, () => Buffer.from([0, 0, 0, 0xff, 0xff])),
    deflateRawSync(data),
  ]);

describe('archive members read by what they begin with', () => {
  it.each([
    ['stored', false],
    ['deflated', true],
  ])(
    "finds the object array of an .npz member with no .npy suffix (npy.py's nosuffix.npz), %s",
    async (_how, deflate) => {
      const report = await scan('nosuffix.npz', zipOf([{ name: 'weights', data: objectArray, deflate }]));
      expect(report.findings).toEqual([
        critical,
        expect.objectContaining({ id: 'pickle.stop', location: 'weights@128' }),
      ]);
      expect(report.max_severity).toBe('critical');
    },
  );

  it('reads a deflated member whole where its first 4 KiB inflate to too little to tell', async () => {
    const report = await scan(
      'padded.npz',
      zipOf([
        {
          name: 'weights',
          data: paddedDeflate(objectArray, 1000),
          method: 8,
          claimedSize: objectArray.length,
        },
      ]),
    );
    expect(report.findings).toContainEqual(critical);
  });

  it('reports a member compressed as Python reads and the scan cannot (LZMA), whatever its name, as high', async () => {
    const report = await scan('lzma.npz', zipOf([{ name: 'weights', data: objectArray, method: 14 }]));
    expect(report.findings).toEqual([
      expect.objectContaining({ id: 'zip.unsupported_method', severity: 'high' }),
    ]);
  });

  it('finds a pickle, a gzip pickle and an archive in members of any name, and refuses an xz one', async () => {
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(40, 7)]);
    const report = await scan(
      'members.zip',
      zipOf([
        { name: 'model', data: osSystemPickleV4() },
        { name: 'model.gz', data: gzipSync(osSystemPickleV4()) },
        { name: 'inner', data: zipOf([{ name: 'x', data: osSystemPickleV4() }]) },
        { name: 'blob', data: xz },
      ]),
    );
    const serious = report.findings.filter((f) => f.severity === 'critical' || f.severity === 'high');
    expect(serious.map((f) => [f.id, f.location?.split('@')[0]])).toEqual([
      ['pickle.dangerous_import', 'model'],
      ['pickle.dangerous_import', 'model.gz'],
      ['pickle.dangerous_import', 'inner!/x'],
      ['compression.unsupported', 'blob'],
    ]);
  });

  it('passes tensor data that begins as a pickle, an array or a compressed stream would, by chance', async () => {
    // torch.save's archive/data/N: raw tensor bytes. An int16 640 reads as PROTO 2; 0x8b1f as gzip's first two bytes.
    const report = await scan(
      'tensors.pt',
      zipOf([
        { name: 'archive/data.pkl', data: Buffer.from([0x80, 2, 0x7d, 0x2e]) },
        { name: 'archive/data/0', data: Buffer.from(new Int16Array([640, 7, -3, 0x2e00]).buffer) },
        { name: 'archive/data/1', data: Buffer.from(new Uint16Array([0x8b1f, 0x0808, 1]).buffer) },
        { name: 'archive/data/2', data: Buffer.from([0x42, 0x5a, 0x68, 0x39, 1, 2, 3, 4, 5, 6]) },
        // PROTO 2, NONE, STOP, and bytes that are no pickle: data, which no loader reads as one.
        { name: 'archive/data/3', data: Buffer.from([0x80, 2, 0x4e, 0x2e, 0x93, 0xff, 0, 0]) },
        { name: 'archive/version', data: Buffer.from('3\n') },
      ]),
    );
    expect(report.findings.map((f) => [f.id, f.severity])).toEqual([['pickle.stop', 'info']]);
  });
});
