import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCAN_LIMITS } from '../../../../evaluators/security/findings.ts';
import { scanModelFile } from '../../../../evaluators/security/scan.ts';
import { checkZip, readCentralDirectory } from '../../../../evaluators/security/zip.ts';
import { kerasConfigJson, osSystemPickleV0 } from '../../../support/evaluators/hostile.ts';

// Zip archives laid out record by record, as the reviewer's scripts (zip64.py, zipconcat.py) wrote them: one file
// whose readers see different directories. Python's zipfile reads the ZIP64 record whenever its locator is there,
// and the directory that ends where that record (or the classic one) starts, whatever offset the record gives.

const u16 = (n: number) => Buffer.from([n & 0xff, (n >> 8) & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** A benign protocol 2 pickle of a str of 100 characters. */
const BENIGN = Buffer.concat([
  Buffer.from([0x80, 2, 0x58]),
  u32(100),
  Buffer.alloc(100, 'a'),
  Buffer.from('.'),
]);
const EVIL = Buffer.from(osSystemPickleV0('touch /tmp/pwned'));

class Archive {
  bytes: Buffer = Buffer.alloc(0);
  /** Appends parts; returns where they start. */
  add(...parts: Buffer[]): number {
    const at = this.bytes.length;
    this.bytes = Buffer.concat([this.bytes, ...parts]);
    return at;
  }
  /** A stored entry's local header and data; returns the header's offset. */
  local(name: string, data: Buffer): number {
    const n = Buffer.from(name, 'latin1');
    return this.add(
      u32(0x04034b50),
      u16(20),
      u16(0),
      u16(0),
      u32(0),
      u32(crc32(data)),
      u32(data.length),
      u32(data.length),
      u16(n.length),
      u16(0),
      n,
      data,
    );
  }
}

/** A central directory entry for a stored entry whose local header is at `offset`, with `extra` fields. */
const central = (name: string, data: Buffer, offset: number, extra = Buffer.alloc(0)): Buffer => {
  const n = Buffer.from(name, 'latin1');
  return Buffer.concat([
    u32(0x02014b50),
    u16(20),
    u16(20),
    u16(0),
    u16(0),
    u32(0),
    u32(crc32(data)),
    u32(data.length),
    u32(data.length),
    u16(n.length),
    u16(extra.length),
    u16(0),
    u16(0),
    u16(0),
    u32(0),
    u32(offset),
    n,
    extra,
  ]);
};
const endRecord = (count: number, size: number, offset: number): Buffer =>
  Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(count), u16(count), u32(size), u32(offset), u16(0)]);
const zip64Record = (count: number, size: number, offset: number): Buffer =>
  Buffer.concat([
    u32(0x06064b50),
    u64(44),
    u16(45),
    u16(45),
    u32(0),
    u32(0),
    u64(count),
    u64(count),
    u64(size),
    u64(offset),
  ]);
const zip64Locator = (at: number): Buffer => Buffer.concat([u32(0x07064b50), u32(0), u64(at), u32(1)]);

const NAME = 'archive/data.pkl';

/** zip64.py: the classic record names a benign directory, the ZIP64 record (with its locator) a hostile one. */
function twoRecords(): Buffer {
  const zip = new Archive();
  const a = zip.local(NAME, BENIGN);
  const b = zip.local(NAME, EVIL);
  const dirA = central(NAME, BENIGN, a);
  const dirB = central(NAME, EVIL, b);
  const atA = zip.add(dirA);
  const atB = zip.add(dirB);
  const record = zip.add(zip64Record(1, dirB.length, atB));
  zip.add(zip64Locator(record), endRecord(1, dirA.length, atA));
  return zip.bytes;
}

/**
 * zipconcat.py: no ZIP64; the record's offset names a benign directory, but the directory that ends at the
 * record (where Python reads it) is a hostile one, whose offsets Python moves by the difference.
 */
function shiftedDirectory(): Buffer {
  const zip = new Archive();
  const a = zip.local(NAME, BENIGN);
  const b = zip.local(NAME, EVIL);
  const dirA = central(NAME, BENIGN, a);
  const atA = zip.add(dirA);
  zip.add(central(NAME, EVIL, b - dirA.length), endRecord(1, dirA.length, atA));
  return zip.bytes;
}

/** What torch.save (miniz, which always writes ZIP64 records) writes: both records say the same. */
function torchLike(classic: 'same' | 'saturated'): Buffer {
  const zip = new Archive();
  const a = zip.local(NAME, BENIGN);
  const b = zip.local('archive/version', Buffer.from('3\n'));
  const dir = Buffer.concat([central(NAME, BENIGN, a), central('archive/version', Buffer.from('3\n'), b)]);
  const at = zip.add(dir);
  const record = zip.add(zip64Record(2, dir.length, at));
  zip.add(
    zip64Locator(record),
    classic === 'same' ? endRecord(2, dir.length, at) : endRecord(0xffff, 0xffffffff, 0xffffffff),
  );
  return zip.bytes;
}

const ambiguous = expect.objectContaining({ id: 'zip.ambiguous', severity: 'high' });
const osSystem = expect.objectContaining({
  id: 'pickle.dangerous_import',
  severity: 'critical',
  message: expect.stringContaining('os.system'),
});

describe('zip central directories as their readers find them', () => {
  it('reads the ZIP64 record whenever its locator is there, and reports that the classic one disagrees', () => {
    const { entries, conflicts } = readCentralDirectory(twoRecords(), 100);
    // Both directories are read: Python's zipfile and miniz take the ZIP64 one, readers of the classic record the other.
    expect(entries.map((e) => e.localHeaderOffset)).toEqual([46 + BENIGN.length, 0]);
    expect(conflicts).toEqual([
      expect.stringMatching(
        /^the ZIP64 end record at byte \d+ \(1 entries, .*\) and the classic one .* disagree$/,
      ),
    ]);
  });

  it('reads the directory that ends at the end record, moving its entries, and reports the offset that disagrees', () => {
    const bytes = shiftedDirectory();
    const { entries, conflicts } = readCentralDirectory(bytes, 100);
    expect(entries.map((e) => e.localHeaderOffset).sort((x, y) => x - y)).toEqual([0, 46 + BENIGN.length]);
    expect(conflicts).toEqual([
      expect.stringContaining(
        `the end record puts the central directory at byte ${2 * 46 + BENIGN.length + EVIL.length}`,
      ),
    ]);
  });

  it.each(['same', 'saturated'] as const)(
    'passes ZIP64 records as torch.save writes them, with a classic record that says the %s',
    (classic) => {
      const { entries, findings } = checkZip(torchLike(classic), DEFAULT_SCAN_LIMITS);
      expect(findings).toEqual([]);
      expect(entries.map((e) => e.name)).toEqual([NAME, 'archive/version']);
    },
  );

  it('reads entries until the directory size, as Python does, whatever count the record gives', () => {
    const zip = new Archive();
    const a = zip.local('a.pkl', BENIGN);
    const b = zip.local('b.pkl', EVIL);
    const dir = Buffer.concat([central('a.pkl', BENIGN, a), central('b.pkl', EVIL, b)]);
    const at = zip.add(dir);
    zip.add(endRecord(1, dir.length, at));
    const { entries, findings } = checkZip(zip.bytes, DEFAULT_SCAN_LIMITS);
    expect(entries.map((e) => e.name)).toEqual(['a.pkl', 'b.pkl']);
    expect(findings).toEqual([
      expect.objectContaining({
        id: 'zip.ambiguous',
        severity: 'high',
        message: expect.stringContaining(
          "Python's zipfile lists 2 entries; miniz (torch.load) lists 1 entries",
        ),
      }),
    ]);
  });

  it('reports a ZIP64 locator that points to no ZIP64 record', () => {
    const zip = new Archive();
    const a = zip.local(NAME, BENIGN);
    const dir = central(NAME, BENIGN, a);
    const at = zip.add(dir);
    zip.add(zip64Locator(0), endRecord(1, dir.length, at));
    expect(checkZip(zip.bytes, DEFAULT_SCAN_LIMITS).findings).toContainEqual(
      expect.objectContaining({
        id: 'zip.ambiguous',
        message: expect.stringContaining('points to no ZIP64 end record'),
      }),
    );
  });
});

describe('scanModelFile on archives whose readers disagree', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arbiter-zipdir-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const scan = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return scanModelFile(path);
  };

  it.each([
    ['a ZIP64 record that names another directory than the classic one', 'zip64.pt', twoRecords],
    ['a directory found where the record does not put it', 'concat.pt', shiftedDirectory],
  ])('finds the pickle Python loads from %s, and reports the archive high', async (_name, file, build) => {
    const report = await scan(file, build());
    expect(report.format).toBe('zip');
    expect(report.findings).toContainEqual(ambiguous);
    expect(report.findings).toContainEqual(osSystem);
    expect(report.max_severity).toBe('critical');
  });

  it("reads the name Python's zipfile from 3.12 gives an entry from its Unicode Path field", async () => {
    // Keras 3 reads config.json by name; this entry's raw name is notes.txt, its Unicode Path config.json.
    const config = Buffer.from(kerasConfigJson('{"class_name": "Lambda", "config": {"name": "evil"}}'));
    const path = Buffer.from('config.json');
    const unicodePath = Buffer.concat([
      u16(0x7075),
      u16(5 + path.length),
      Buffer.from([1]),
      u32(crc32(Buffer.from('notes.txt'))),
      path,
    ]);
    const zip = new Archive();
    const a = zip.local('notes.txt', config);
    const directory = central('notes.txt', config, a, unicodePath);
    const at = zip.add(directory);
    zip.add(endRecord(1, directory.length, at));
    const report = await scan('model.keras', zip.bytes);
    expect(report.findings).toEqual([
      expect.objectContaining({ id: 'keras.lambda_layer', severity: 'high' }),
    ]);
  });

  it('reads a name as Python does, cut at its first NUL', async () => {
    const zip = new Archive();
    const name = 'model.pkl\0.txt';
    const a = zip.local(name, EVIL);
    const directory = central(name, EVIL, a);
    const at = zip.add(directory);
    zip.add(endRecord(1, directory.length, at));
    const report = await scan('nul.zip', zip.bytes);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        location: 'model.pkl@0',
      }),
    );
  });
});
