import { inflateRawSync } from 'node:zlib';
import type { Finding, ScanLimits } from './findings.ts';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
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

/** Reads the central directory (APPNOTE 4.3.16, with ZIP64). Throws on malformed structure. */
export function readCentralDirectory(
  bytes: Uint8Array,
  maxEntries: number,
): { entries: ZipEntry[]; truncatedList: boolean } {
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (u32(bytes, i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end-of-central-directory record');
  let count = u16(bytes, eocd + 10);
  let offset = u32(bytes, eocd + 16);
  if ((count === 0xffff || offset === 0xffffffff) && eocd >= 20 && u32(bytes, eocd - 20) === ZIP64_LOCATOR) {
    const z = u64(bytes, eocd - 20 + 8);
    if (z + 56 > bytes.length || u32(bytes, z) !== ZIP64_EOCD) throw new Error('bad ZIP64 end record');
    count = u64(bytes, z + 32);
    offset = u64(bytes, z + 48);
  }
  const entries: ZipEntry[] = [];
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (entries.length >= maxEntries) return { entries, truncatedList: true };
    if (p + 46 > bytes.length || u32(bytes, p) !== CENTRAL)
      throw new Error(`central directory entry ${k} is malformed`);
    const nameLength = u16(bytes, p + 28);
    const extraLength = u16(bytes, p + 30);
    const commentLength = u16(bytes, p + 32);
    let compressedSize = u32(bytes, p + 20);
    let uncompressedSize = u32(bytes, p + 24);
    let localHeaderOffset = u32(bytes, p + 42);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    // ZIP64 extra field (id 1) carries the sizes that the 32-bit fields mark as 0xffffffff.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = u16(bytes, e);
      const size = u16(bytes, e + 2);
      if (id === 1) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff) {
          uncompressedSize = u64(bytes, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(bytes, q);
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(bytes, q);
      }
      e += 4 + size;
    }
    entries.push({ name, method: u16(bytes, p + 10), compressedSize, uncompressedSize, localHeaderOffset });
    p = extraEnd + commentLength;
  }
  return { entries, truncatedList: false };
}

/** Where an entry's data starts, from its local header. */
export function dataOffset(bytes: Uint8Array, entry: ZipEntry): number {
  const o = entry.localHeaderOffset;
  if (o + 30 > bytes.length || u32(bytes, o) !== LOCAL)
    throw new Error(`local header of ${entry.name} is missing`);
  return o + 30 + u16(bytes, o + 26) + u16(bytes, o + 28);
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
