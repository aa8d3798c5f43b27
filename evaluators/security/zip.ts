import { constants, crc32, inflateRawSync } from 'node:zlib';
import type { Finding, ScanLimits } from './findings.ts';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  /** The name Python's zipfile from 3.12 gives the entry, from its Info-ZIP Unicode Path field, where that differs. */
  unicodeName?: string;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function u64(b: Uint8Array, o: number): number {
  return u32(b, o) + u32(b, o + 4) * 2 ** 32;
}

/** Where the directory is, and how a reader walks it. */
interface Directory {
  /** Which readers read it so. */
  readers: string;
  start: number;
  /** Python's zipfile reads entries until their bytes reach `size`; miniz and most others read `count` of them. */
  size: number;
  count: number;
  bySize: boolean;
  /** What Python adds to every local header offset: where the directory is found less where the record says. */
  shift: number;
}

const SATURATED_COUNT = 0xffff;
const SATURATED = 0xffffffff;

/**
 * Python's zipfile.ZipInfo._decodeExtra: the ZIP64 field (id 1) carries the sizes and offset that the 32-bit
 * fields mark as saturated, and (from Python 3.12) the Info-ZIP Unicode Path field (0x7075) renames the entry
 * where its CRC matches the raw name. A field that runs past the extra bytes makes the archive unreadable.
 */
function decodeExtra(
  extra: Uint8Array,
  rawName: Uint8Array,
  entry: {
    compressedSize: number;
    uncompressedSize: number;
    localHeaderOffset: number;
    unicodeName?: string;
  },
): void {
  let e = 0;
  while (e + 4 <= extra.length) {
    const id = u16(extra, e);
    const size = u16(extra, e + 2);
    if (e + 4 + size > extra.length) throw new Error(`corrupt extra field ${id.toString(16)}`);
    const data = extra.subarray(e + 4, e + 4 + size);
    if (id === 1) {
      let q = 0;
      const next = (field: string): number => {
        if (q + 8 > data.length) throw new Error(`corrupt zip64 extra field: ${field} not found`);
        q += 8;
        return u64(data, q - 8);
      };
      if (entry.uncompressedSize === SATURATED) entry.uncompressedSize = next('file size');
      if (entry.compressedSize === SATURATED) entry.compressedSize = next('compressed size');
      if (entry.localHeaderOffset === SATURATED) entry.localHeaderOffset = next('header offset');
    } else if (id === 0x7075 && data.length >= 5 && data[0] === 1 && u32(data, 1) === crc32(rawName)) {
      const name = new TextDecoder().decode(data.subarray(5));
      if (name) entry.unicodeName = name.split('\0')[0];
    }
    e += 4 + size;
  }
}

/** The entries of one reading of the directory; throws where that reader would fail. */
function readEntries(
  bytes: Uint8Array,
  dir: Directory,
  maxEntries: number,
): { entries: ZipEntry[]; truncatedList: boolean } {
  if (dir.start < 0) throw new Error('bad offset for central directory');
  // Python reads the directory's bytes, then its entries from them; a count-reader reads on through the file.
  const cd = bytes.subarray(dir.start, dir.bySize ? dir.start + dir.size : bytes.length);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; dir.bySize ? p < dir.size : k < dir.count; k++) {
    if (entries.length >= maxEntries) return { entries, truncatedList: true };
    if (p + 46 > cd.length) throw new Error(`central directory entry ${k} is truncated`);
    if (u32(cd, p) !== CENTRAL) throw new Error(`central directory entry ${k} is malformed`);
    const nameLength = u16(cd, p + 28);
    const extraLength = u16(cd, p + 30);
    const commentLength = u16(cd, p + 32);
    const rawName = cd.subarray(p + 46, p + 46 + nameLength);
    // ZipInfo cuts a name at its first NUL, and Python reads `config.json\0.txt` as config.json.
    const name = new TextDecoder().decode(rawName).split('\0')[0]!;
    const entry: ZipEntry = {
      name,
      method: u16(cd, p + 10),
      compressedSize: u32(cd, p + 20),
      uncompressedSize: u32(cd, p + 24),
      localHeaderOffset: u32(cd, p + 42),
    };
    const extraStart = p + 46 + nameLength;
    decodeExtra(cd.subarray(extraStart, extraStart + extraLength), rawName, entry);
    entry.localHeaderOffset += dir.shift;
    entries.push(entry);
    p = extraStart + extraLength + commentLength;
  }
  return { entries, truncatedList: false };
}

/**
 * Python's zipfile._EndRecData: the end record that ends the file with no comment, else the last signature in
 * the last 64 KiB, which must have its 22 bytes.
 */
function endRecord(bytes: Uint8Array): number {
  const last = bytes.length - 22;
  if (last >= 0 && u32(bytes, last) === EOCD && u16(bytes, last + 20) === 0) return last;
  const from = Math.max(0, bytes.length - 65536 - 22);
  const found = Buffer.from(bytes.buffer, bytes.byteOffset + from, bytes.byteLength - from).lastIndexOf(
    Buffer.from([0x50, 0x4b, 0x05, 0x06]),
  );
  if (found < 0) throw new Error('no end-of-central-directory record');
  const at = from + found;
  if (at > last) throw new Error('the end-of-central-directory record is cut short');
  return at;
}

/**
 * Reads the central directory as the readers of model archives do, which differ where a file is built to make
 * them differ:
 * - Python's zipfile (np.load of an .npz, Keras 3's .keras, joblib) honours a ZIP64 locator whenever it is there,
 *   and never the directory offset the record gives: it reads the directory that ends where the ZIP64 record (or
 *   the classic one) starts, and moves every entry by the difference ("concat", for data prepended to the
 *   archive). Releases before the fix for CVE-2025-8291 (gh-139700) take the ZIP64 record that sits just before
 *   the locator; releases with it the one at the locator's offset, and refuse the file where that record and the
 *   directory do not meet.
 * - miniz (torch.load) takes the ZIP64 record at its locator's offset, and the directory at the offset it gives.
 * - Readers that know only the classic record read the directory at its offset.
 * Where the classic and ZIP64 records, or the offset a record gives and where the directory lies, or the entries
 * the readers find, disagree, `conflicts` says so; the entries are those of every reading that can be read.
 * Throws where none can.
 */
export function readCentralDirectory(
  bytes: Uint8Array,
  maxEntries: number,
): { entries: ZipEntry[]; truncatedList: boolean; conflicts: string[] } {
  const eocd = endRecord(bytes);
  const classic = {
    count: u16(bytes, eocd + 10),
    size: u32(bytes, eocd + 12),
    offset: u32(bytes, eocd + 16),
  };
  const conflicts = new Set<string>();
  const directories: Directory[] = [];
  const pythonDirectory = (
    readers: string,
    end: number,
    record: { size: number; offset: number; count: number },
  ) =>
    directories.push({
      readers,
      start: end - record.size,
      size: record.size,
      count: record.count,
      bySize: true,
      shift: end - record.size - record.offset,
    });
  const countDirectory = (readers: string, record: { size: number; offset: number; count: number }) =>
    directories.push({
      readers,
      start: record.offset,
      size: record.size,
      count: record.count,
      bySize: false,
      shift: 0,
    });

  const locator = eocd >= 20 && u32(bytes, eocd - 20) === ZIP64_LOCATOR ? eocd - 20 : -1;
  if (locator < 0) {
    pythonDirectory("Python's zipfile", eocd, classic);
    countDirectory('miniz (torch.load)', classic);
  } else {
    if (u32(bytes, locator + 4) !== 0 || u32(bytes, locator + 16) > 1)
      throw new Error('the archive spans multiple disks');
    const pointed = u64(bytes, locator + 8);
    const zip64 = (at: number) =>
      at >= 0 && at + 56 <= bytes.length && u32(bytes, at) === ZIP64_EOCD
        ? {
            at,
            length: u64(bytes, at + 4),
            count: u64(bytes, at + 32),
            size: u64(bytes, at + 40),
            offset: u64(bytes, at + 48),
          }
        : null;
    const before = zip64(locator - 56);
    const atPointer = zip64(pointed);
    // Python before the fix: the record just before the locator, else the classic record.
    if (before) pythonDirectory("Python's zipfile (before the CVE-2025-8291 fix)", eocd - 76, before);
    else pythonDirectory("Python's zipfile (before the CVE-2025-8291 fix)", eocd, classic);
    // Python with the fix: the record at the locator's offset (else just before the locator), which must end the
    // directory and reach the locator.
    const limit = locator - 56;
    const record = pointed <= limit ? (atPointer ?? (pointed !== limit ? before : null)) : null;
    const extra = record === atPointer ? limit - pointed : 0;
    if (record && record.offset + record.size === pointed && record.length + 12 === 56 + extra)
      pythonDirectory("Python's zipfile (with the CVE-2025-8291 fix)", record.at, record);
    else
      conflicts.add(
        "Python's zipfile with the CVE-2025-8291 fix refuses the ZIP64 end record or its locator, which earlier releases read",
      );
    countDirectory('miniz (torch.load)', atPointer ?? classic);
    if (!before && !atPointer) conflicts.add('a ZIP64 locator points to no ZIP64 end record');
    if (before && atPointer && before.at !== atPointer.at)
      conflicts.add(
        `two ZIP64 end records, at byte ${before.at} (just before the locator) and ${atPointer.at} (where the locator points)`,
      );
    for (const z of [before, atPointer]) {
      if (!z) continue;
      // A saturated classic field says "see the ZIP64 record", whatever that holds.
      const agree = (classicValue: number, value: number, saturated: number) =>
        classicValue === value || classicValue === saturated;
      if (
        !agree(classic.count, z.count, SATURATED_COUNT) ||
        !agree(classic.size, z.size, SATURATED) ||
        !agree(classic.offset, z.offset, SATURATED)
      )
        conflicts.add(
          `the ZIP64 end record at byte ${z.at} (${z.count} entries, a directory of ${z.size} bytes at byte ${z.offset}) and the classic one (${classic.count}, ${classic.size}, ${classic.offset}) disagree`,
        );
    }
  }
  // A classic record with no saturated field is read by readers that know no ZIP64.
  if (classic.count !== SATURATED_COUNT && classic.size !== SATURATED && classic.offset !== SATURATED)
    countDirectory('readers of the classic end record', classic);
  for (const dir of directories)
    if (dir.bySize && dir.shift !== 0)
      conflicts.add(
        `the end record puts the central directory at byte ${dir.start - dir.shift}, but ${dir.readers} reads it at byte ${dir.start}, where it ends at that record, and moves every entry by ${dir.shift} bytes`,
      );

  // Each distinct reading, its entries, and what could not be read.
  const seen = new Map<string, { entries: ZipEntry[]; truncatedList: boolean } | Error>();
  const listings: { readers: string; listing: { entries: ZipEntry[]; truncatedList: boolean } | Error }[] =
    [];
  for (const dir of directories) {
    const key = dir.bySize ? `size ${dir.start} ${dir.size} ${dir.shift}` : `count ${dir.start} ${dir.count}`;
    let listing = seen.get(key);
    if (!listing) {
      try {
        listing = readEntries(bytes, dir, maxEntries);
      } catch (cause) {
        listing = cause as Error;
      }
      seen.set(key, listing);
    }
    listings.push({ readers: dir.readers, listing });
  }
  const read = listings.filter((l) => !(l.listing instanceof Error));
  if (read.length === 0) throw listings[0]!.listing as Error;
  const entryKey = (e: ZipEntry) =>
    `${e.name}\0${e.unicodeName ?? ''}\0${e.localHeaderOffset}\0${e.compressedSize}\0${e.uncompressedSize}\0${e.method}`;
  const described = listings.map(({ readers, listing }) =>
    listing instanceof Error
      ? `${readers} cannot read it (${listing.message})`
      : `${readers} lists ${listing.entries.length} entries`,
  );
  const lists = new Set(
    listings.map(({ listing }) =>
      listing instanceof Error ? 'error' : listing.entries.map(entryKey).join('\n'),
    ),
  );
  if (lists.size > 1 && conflicts.size === 0)
    conflicts.add(
      `the readers of zip archives see different directories: ${[...new Set(described)].join('; ')}`,
    );
  const entries = new Map<string, ZipEntry>();
  let truncatedList = false;
  for (const { listing } of read) {
    const { entries: list, truncatedList: truncated } = listing as {
      entries: ZipEntry[];
      truncatedList: boolean;
    };
    truncatedList ||= truncated;
    for (const entry of list) entries.set(entryKey(entry), entry);
  }
  return {
    entries: [...entries.values()].slice(0, maxEntries),
    truncatedList: truncatedList || entries.size > maxEntries,
    conflicts: [...conflicts],
  };
}

/** Where an entry's data starts, from its local header. */
export function dataOffset(bytes: Uint8Array, entry: ZipEntry): number {
  const o = entry.localHeaderOffset;
  if (o + 30 > bytes.length || u32(bytes, o) !== LOCAL)
    throw new Error(`local header of ${entry.name} is missing`);
  return o + 30 + u16(bytes, o + 26) + u16(bytes, o + 28);
}

/** The compressed bytes a stored or deflated entry's head is read from: enough for any deflate block header. */
const HEAD_INPUT = 4096;
/** What Python's zipfile reads besides stored and deflated entries: bzip2, LZMA, and (from 3.14) Zstandard. */
const PYTHON_METHODS = new Set([12, 14, 93]);

/**
 * The first `n` bytes an entry expands to, read cheaply: a stored entry's, or what the first 4 KiB of a deflated
 * one inflate to (flushed, not finished). 'full' where that is not enough to tell (a deflate stream can open with
 * blocks that hold nothing), so that the caller reads the whole entry; null, with a finding where Python's
 * zipfile would read what the scan cannot, where the entry cannot be read.
 */
export function entryHead(
  bytes: Uint8Array,
  entry: ZipEntry,
  n: number,
  findings: Finding[],
): Uint8Array | 'full' | null {
  try {
    const start = dataOffset(bytes, entry);
    const data = bytes.subarray(start, start + entry.compressedSize);
    if (entry.method === 0) return data.subarray(0, n);
    if (entry.method === 8) {
      const input = data.subarray(0, HEAD_INPUT);
      const head = inflateRawSync(input, {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: 1032 * HEAD_INPUT,
      });
      return head.length >= n || input.length === data.length ? head.subarray(0, n) : 'full';
    }
    if (PYTHON_METHODS.has(entry.method))
      findings.push({
        id: 'zip.unsupported_method',
        severity: 'high',
        message: `entry ${entry.name} uses compression method ${entry.method}, which Python's zipfile reads and the scanner cannot: what it holds (an array numpy loads, whatever its name) cannot be shown safe`,
        location: entry.name,
      });
  } catch {
    // No local header, or a deflate stream that breaks in its first 4 KiB: no reader gets this entry's bytes.
  }
  return null;
}

/**
 * Extracts one entry with a hard output cap, so a lying size field cannot exhaust memory. Returns null
 * (with a finding) when the entry cannot be read within the cap.
 */
export function extractEntry(
  bytes: Uint8Array,
  entry: ZipEntry,
  cap: number,
  findings: Finding[],
): Uint8Array | null {
  try {
    const start = dataOffset(bytes, entry);
    const data = bytes.subarray(start, start + entry.compressedSize);
    if (entry.method === 0) return data;
    if (entry.method === 8) return inflateRawSync(data, { maxOutputLength: cap });
    // The scan reads only entries a loader reads (a pickle, a Keras config, an archive), and Python's zipfile
    // reads bzip2 and LZMA (methods 12 and 14): what such an entry holds cannot be shown safe.
    findings.push({
      id: 'zip.unsupported_method',
      severity: 'high',
      message: `entry ${entry.name} uses compression method ${entry.method}, which the scanner cannot read: cannot be shown safe`,
      location: entry.name,
    });
  } catch (cause) {
    const tooBig = cause instanceof RangeError || /maxOutputLength|larger than/i.test(String(cause));
    findings.push({
      id: tooBig ? 'zip.bomb_expansion' : 'zip.entry_unreadable',
      severity: 'high',
      message: tooBig
        ? `entry ${entry.name} expands beyond ${cap} bytes`
        : `entry ${entry.name} cannot be read: ${(cause as Error).message}`,
      location: entry.name,
    });
  }
  return null;
}

/** Structural checks of a zip archive: bombs (ratio, total, overlapping entries) and path traversal. */
export function checkZip(
  bytes: Uint8Array,
  limits: ScanLimits,
): { entries: ZipEntry[]; findings: Finding[]; bomb: boolean } {
  const findings: Finding[] = [];
  let listing;
  try {
    listing = readCentralDirectory(bytes, limits.maxZipEntries);
  } catch (cause) {
    return {
      entries: [],
      findings: [
        {
          id: 'zip.unreadable',
          severity: 'high',
          message: `zip archive cannot be read: ${(cause as Error).message}`,
        },
      ],
      bomb: false,
    };
  }
  const { entries } = listing;
  // A file built so that readers see different archives is one whose scan says nothing of what a reader loads.
  for (const conflict of listing.conflicts)
    findings.push({
      id: 'zip.ambiguous',
      severity: 'high',
      message: `readers of this archive disagree: ${conflict}; the entries of every reading are scanned`,
    });
  let bomb = false;
  if (listing.truncatedList) {
    findings.push({
      id: 'zip.too_many_entries',
      severity: 'high',
      message: `archive lists more than ${limits.maxZipEntries} entries`,
    });
    bomb = true;
  }
  let total = 0;
  for (const entry of entries) {
    total += entry.uncompressedSize;
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (ratio > limits.maxCompressionRatio && entry.uncompressedSize > 1024 ** 2) {
      bomb = true;
      findings.push({
        id: 'zip.bomb_ratio',
        severity: 'high',
        message: `entry ${entry.name} expands ${Math.round(ratio)}× (${entry.uncompressedSize} bytes from ${entry.compressedSize}); limit ${limits.maxCompressionRatio}×`,
        location: entry.name,
      });
    }
    const normalized = entry.name.replaceAll('\\', '/');
    if (normalized.startsWith('/') || /^[a-zA-Z]:/.test(normalized) || normalized.split('/').includes('..')) {
      findings.push({
        id: 'zip.path_traversal',
        severity: 'high',
        message: `entry name ${entry.name} escapes the extraction folder`,
        location: entry.name,
      });
    }
  }
  if (total > limits.maxUncompressedBytes) {
    bomb = true;
    findings.push({
      id: 'zip.bomb_total',
      severity: 'high',
      message: `archive expands to ${total} bytes, over the ${limits.maxUncompressedBytes}-byte limit`,
    });
  }
  // Overlapping entries are the non-recursive zip bomb (Fifield, 2019): many headers share one deflate stream.
  const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let k = 1; k < sorted.length; k++) {
    const previous = sorted[k - 1]!;
    if (previous.localHeaderOffset + 30 + previous.compressedSize > sorted[k]!.localHeaderOffset) {
      bomb = true;
      findings.push({
        id: 'zip.overlapping_entries',
        severity: 'high',
        message: `entries ${previous.name} and ${sorted[k]!.name} overlap`,
        location: sorted[k]!.name,
      });
      break;
    }
  }
  return { entries, findings, bomb };
}
