import { createHash } from 'node:crypto';
import { lstat, open } from 'node:fs/promises';
import { gunzipSync, inflateSync } from 'node:zlib';
import {
  DEFAULT_SCAN_LIMITS,
  expansionCap,
  worstSeverity,
  type Finding,
  type ScanLimits,
  type Severity,
} from './findings.ts';
import { HDF5_SIGNATURE, parsePythonJson, scanKerasConfig, scanKerasH5 } from './h5.ts';
import { scanOnnx } from './onnx.ts';
import { MALFORMED, scanPickle } from './pickle.ts';
import { parsePyLiteral, PyLiteralError, type PyLiteral } from './python-literal.ts';
import { checkZip, entryHead, extractEntry } from './zip.ts';

export type ScannedFormat = 'onnx' | 'pickle' | 'npy' | 'keras-h5' | 'zip' | 'unknown';

export interface ScanReport {
  path: string;
  format: ScannedFormat;
  size: number | null;
  sha256: string | null;
  findings: Finding[];
  max_severity: Severity | null;
}

const startsWith = (bytes: Uint8Array, prefix: ArrayLike<number>): boolean =>
  bytes.length >= prefix.length &&
  Array.prototype.every.call(prefix, (b: number, i: number) => bytes[i] === b);

const PICKLE_EXTENSIONS = /\.(pkl|pickle|joblib|pt|pth|bin|ckpt|sav)$/i;

/**
 * The compressions joblib writes (compress=('zlib' | 'gzip' | 'bz2' | 'xz' | 'lzma' | 'lz4', n)) by their magic
 * bytes. zlib's two bytes and lzma's three (the .lzma header joblib writes: properties 0x5d, then a dictionary size
 * below 16 MiB) are common in other data, so they count only in a file or entry named as a pickle.
 */
function compressionOf(bytes: Uint8Array, pickleName: boolean): string | null {
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(bytes, [0x42, 0x5a, 0x68])) return 'bz2';
  if (startsWith(bytes, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(bytes, [0x04, 0x22, 0x4d, 0x18])) return 'lz4';
  if (!pickleName) return null;
  if (bytes[0] === 0x78 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0) return 'zlib';
  if (startsWith(bytes, [0x5d, 0x00, 0x00])) return 'lzma';
  return null;
}

/**
 * A compressed stream read out to at most `cap` bytes; zlib stops at the cap rather than producing the rest.
 * Null, with a finding, when the stream runs past the cap (a bomb), is corrupt, or is compressed as Node cannot
 * read (bz2, xz, lzma, lz4: joblib.load reads them, so what they hold cannot be shown safe). The bytes themselves
 * where they are not compressed.
 */
function decompressed(
  bytes: Uint8Array,
  cap: number,
  findings: Finding[],
  pickleName: boolean,
): Uint8Array | null {
  const compression = compressionOf(bytes, pickleName);
  if (compression === null) return bytes;
  if (compression !== 'gzip' && compression !== 'zlib') {
    findings.push({
      id: 'compression.unsupported',
      severity: 'high',
      message: `compressed with ${compression}, which the scanner cannot read: cannot be shown safe`,
    });
    return null;
  }
  try {
    return compression === 'gzip'
      ? gunzipSync(bytes, { maxOutputLength: cap })
      : inflateSync(bytes, { maxOutputLength: cap });
  } catch (cause) {
    const bomb = (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    findings.push({
      id: bomb ? 'compression.bomb' : 'compression.unreadable',
      severity: 'high',
      message: bomb
        ? `compressed stream of ${bytes.length} bytes expands past ${cap} bytes (a decompression bomb); not read further`
        : `compressed stream cannot be read: ${(cause as Error).message}`,
    });
    return null;
  }
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Type strings of np.dtype whose arrays hold numbers, text or bytes, as numpy writes them in a header (dtype.str):
 * byte order, then a type code, or a kind and size (a datetime with its unit).
 */
const NPY_DATA_TYPE =
  /^[<>=|]?(?:[?bBhHiIlLqQpPefdgFDGc]|[biufc]\d+|[SUVa]\d*|[mM]8?(?:\[\d*(?:Y|M|W|D|h|m|s|ms|us|\u03bcs|ns|ps|fs|as|generic)\])?)$/;
/** Type strings of np.dtype that hold Python objects, which np.load(allow_pickle=True) unpickles. */
const NPY_OBJECT_TYPE = /^[<>=|]?(?:O\d*|object_?)$/;

/**
 * What a header's descr makes np.dtype hold, read as numpy.lib.format.descr_to_dtype reads it: a type string; a
 * tuple, the dtype of its first item with a shape; or a list of (name, descr) and (name, descr, shape) fields.
 * 'object' where any part holds Python objects, 'data' where every part is known to hold none, else why the scan
 * cannot tell.
 */
function npyDescr(descr: PyLiteral, depth = 0): 'object' | 'data' | string {
  if (depth > 32) return 'its descr nests too deep';
  if (typeof descr === 'string')
    return NPY_OBJECT_TYPE.test(descr)
      ? 'object'
      : NPY_DATA_TYPE.test(descr)
        ? 'data'
        : `its descr holds ${JSON.stringify(descr)}, a dtype the scan does not know`;
  const tuple = descr !== null && typeof descr === 'object' && 'tuple' in descr ? descr.tuple : undefined;
  if (tuple) return tuple.length > 0 ? npyDescr(tuple[0]!, depth + 1) : 'its descr is an empty tuple';
  if (!Array.isArray(descr)) return 'its descr is no str, tuple or list';
  let verdict: 'object' | 'data' | string = 'data';
  for (const field of descr) {
    const parts = Array.isArray(field)
      ? field
      : field !== null && typeof field === 'object' && 'tuple' in field
        ? field.tuple
        : null;
    if (!parts || (parts.length !== 2 && parts.length !== 3))
      return 'a field of its descr is no (name, descr) pair';
    const part = npyDescr(parts[1]!, depth + 1);
    if (part === 'object') return 'object';
    if (part !== 'data') verdict = part;
  }
  return verdict;
}

/**
 * A .npy file (numpy.lib.format): magic, version, header length (2 bytes in version 1, 4 in 2 and 3), and a
 * header that is a Python dict literal, which numpy reads with ast.literal_eval and so does the scan (duplicate
 * keys, the last winning; adjacent strings joined; escapes; Python 2's 1L in versions 1 and 2). Its keys must be
 * exactly descr, fortran_order and shape, as numpy requires. An array whose dtype holds Python objects is a
 * pickle after the header, which np.load(allow_pickle=True) unpickles; numbers after the header are data.
 */
function scanNpy(bytes: Uint8Array, location: string): Finding[] {
  const unreadable = (why: string): Finding[] => [
    {
      id: 'npy.unreadable',
      severity: 'high',
      message: `.npy header cannot be read (${why}); whether np.load unpickles it cannot be shown`,
      location,
    },
  ];
  const major = bytes[6];
  if (major !== 1 && major !== 2 && major !== 3) return unreadable(`version ${major ?? 'missing'}`);
  const wide = major !== 1;
  const start = wide ? 12 : 10;
  if (bytes.length < start) return unreadable('it is cut short');
  const length = wide
    ? (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24)) >>> 0
    : bytes[8]! | (bytes[9]! << 8);
  if (start + length > bytes.length) return unreadable('it runs past the end');
  const raw = bytes.subarray(start, start + length);
  let header: PyLiteral;
  try {
    const text =
      major === 3
        ? new TextDecoder('utf-8', { fatal: true }).decode(raw)
        : Buffer.from(raw).toString('latin1');
    header = parsePyLiteral(text, { longSuffix: major !== 3 });
  } catch (cause) {
    return unreadable(cause instanceof PyLiteralError ? `no Python literal: ${cause.message}` : 'no UTF-8');
  }
  if (header === null || typeof header !== 'object' || !('dict' in header))
    return unreadable('it is no dict');
  const fields = new Map<string, PyLiteral>();
  for (const [key, value] of header.dict) {
    if (typeof key !== 'string') return unreadable('a key is no str');
    fields.set(key, value);
  }
  const keys = [...fields.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape')
    return unreadable(`its keys are ${JSON.stringify(keys)}, not numpy's descr, fortran_order and shape`);
  const shape = fields.get('shape')!;
  if (
    shape === null ||
    typeof shape !== 'object' ||
    !('tuple' in shape) ||
    !shape.tuple.every((n) => typeof n === 'bigint' || typeof n === 'boolean')
  )
    return unreadable('its shape is no tuple of ints');
  if (typeof fields.get('fortran_order') !== 'boolean') return unreadable('its fortran_order is no bool');
  const descr = npyDescr(fields.get('descr')!);
  if (descr === 'data') return [];
  if (descr !== 'object') return unreadable(descr);
  return scanPickle(bytes.subarray(start + length), `${location}@${start + length}`);
}

/** Archives inside an archive are opened this deep; a model needs none, so one deeper is itself a finding. */
const MAX_NESTED_ARCHIVES = 3;
/** Names under which an archive holds another: plain zips, NumPy's .npz, PyTorch's, Keras 3's, TorchServe's. */
const ARCHIVE_NAME = /\.(zip|npz|pt|pth|ckpt|keras|mar)$/i;
const isZip = (bytes: Uint8Array) =>
  startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]);

/** An inner scanner's findings about entry `entry` (`inner.zip!/model.onnx: node n`). */
const inside = (entry: string, findings: Finding[]): Finding[] =>
  findings.map((f) => ({ ...f, location: f.location ? `${entry}: ${f.location}` : entry }));

/** The findings about an archive's entries, named from the scanned file (`inner.zip!/data.pkl`). */
const within = (path: string, findings: Finding[]): Finding[] =>
  path
    ? findings.map((f) => ({ ...f, location: f.location ? path + f.location : path.slice(0, -2) }))
    : findings;

/** Whether an entry's first bytes are something a loader reads by what it holds, whatever its name. */
function sniff(head: Uint8Array): boolean {
  return (
    startsWith(head, NPY_MAGIC) ||
    isZip(head) ||
    // PROTO 2 to 5, as pickle.dumps and joblib start a pickle.
    (head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) ||
    // gzip (deflate), bz2 (a block or the end of the stream after the level), xz and lz4, by their whole magic.
    startsWith(head, [0x1f, 0x8b, 0x08]) ||
    (startsWith(head, [0x42, 0x5a, 0x68]) &&
      head[3]! >= 0x31 &&
      head[3]! <= 0x39 &&
      (startsWith(head.subarray(4), [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) ||
        startsWith(head.subarray(4), [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]))) ||
    startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) ||
    startsWith(head, [0x04, 0x22, 0x4d, 0x18])
  );
}
/** Bytes an entry's head is sniffed from: the longest magic above (bz2's level and block magic). */
const SNIFF_BYTES = 10;

/**
 * Scans a zip archive's structure and then what it holds: pickles (PyTorch's data.pkl, joblib files, and a
 * .pt, .bin or .ckpt entry that opens as a pickle does), a Keras config.json, ONNX models (statically: an
 * archive has no folder to check their external data in), and archives inside it, opened up to
 * MAX_NESTED_ARCHIVES deep. An entry whose name says none of these is read when its first bytes are what a loader
 * reads by content (NumPy reads any .npz member that starts as a .npy does, whatever its name): an array, an
 * archive, a pickle, or a compressed stream. Every entry read comes out of one budget of uncompressed bytes,
 * shared with the archives inside, so nesting multiplies nothing. `path` names the archive inside the scanned
 * file (`inner.zip!/`), empty for the file itself.
 */
async function scanZip(
  bytes: Uint8Array,
  limits: ScanLimits,
  budget: { bytes: number },
  path = '',
  depth = 0,
): Promise<Finding[]> {
  const { entries, findings: structural, bomb } = checkZip(bytes, limits);
  const findings = within(path, structural);
  if (bomb) return findings;
  for (const entry of entries) {
    const name = path + entry.name;
    // Python's zipfile from 3.12 names an entry by its Unicode Path field: either name may be the one looked up.
    const names = [entry.name, entry.unicodeName ?? entry.name].map((n) => n.toLowerCase());
    const named = (test: (lower: string) => boolean): boolean => names.some(test);
    const isConfig = named((n) => n === 'config.json');
    const isOnnx = named((n) => n.endsWith('.onnx'));
    const mayBePickle = named((n) => PICKLE_EXTENSIONS.test(n));
    const byName =
      isConfig || isOnnx || mayBePickle || named((n) => n.endsWith('.npy') || ARCHIVE_NAME.test(n));
    if (!byName) {
      const unread: Finding[] = [];
      const head = entryHead(bytes, entry, SNIFF_BYTES, unread);
      findings.push(...within(path, unread));
      if (head === null || (head !== 'full' && !sniff(head))) continue;
    }
    const read: Finding[] = [];
    const data = extractEntry(
      bytes,
      entry,
      Math.min(budget.bytes, expansionCap(entry.compressedSize, limits)),
      read,
    );
    findings.push(...within(path, read));
    if (!data) {
      // Keras reads its architecture from config.json: unread, a Lambda layer in it goes unseen.
      if (isConfig && read.length > 0)
        findings.push({
          id: 'keras.config_unreadable',
          severity: 'high',
          message: 'config.json cannot be read: whether it holds a Lambda layer cannot be shown',
          location: name,
        });
      continue;
    }
    budget.bytes -= data.length;
    if (isZip(data)) {
      if (depth + 1 >= MAX_NESTED_ARCHIVES) {
        findings.push({
          id: 'zip.nested_too_deep',
          severity: 'high',
          message: `archive ${name} lies ${depth + 2} archives deep; more than ${MAX_NESTED_ARCHIVES} are not opened, and no model needs them`,
          location: name,
        });
      } else findings.push(...(await scanZip(data, limits, budget, `${name}!/`, depth + 1)));
    } else if (isOnnx) findings.push(...inside(name, await scanOnnx(data, null, limits)));
    // NumPy reads any member that starts as a .npy does as an array, whatever its name.
    else if (startsWith(data, NPY_MAGIC)) findings.push(...scanNpy(data, name));
    else if (isConfig) {
      try {
        findings.push(...scanKerasConfig(parsePythonJson(new TextDecoder().decode(data)), name));
      } catch {
        findings.push({
          id: 'keras.config_unreadable',
          severity: 'high',
          message: 'config.json is not JSON: whether it holds a Lambda layer cannot be shown',
          location: name,
        });
      }
    } else if (named((n) => /\.(pkl|pickle|joblib)$/.test(n)) || (mayBePickle && data[0] === 0x80)) {
      // A joblib entry may itself be zlib- or gzip-compressed, as a joblib file on its own may.
      const compressed: Finding[] = [];
      const pickle = decompressed(
        data,
        Math.min(budget.bytes, expansionCap(data.length, limits)),
        compressed,
        true,
      );
      findings.push(...inside(name, compressed));
      if (pickle) for (const finding of scanPickle(pickle, name)) findings.push(finding);
    } else if (!byName) findings.push(...scanSniffed(data, name, limits, budget));
  }
  return findings;
}

/**
 * An entry read for its first bytes alone: a pickle, or a compressed stream of a pickle or an array. Such bytes
 * may be tensor data that begins so by chance (80 02 is an int16 of 640), and no loader reads a member of that
 * name as a pickle: bytes that do not read as pickles to their end count only for what they import that is known
 * to run code, and a compressed stream that cannot be read is no finding, except one the scan cannot read at all
 * (bz2, xz, lz4, known by their whole magic).
 */
function scanSniffed(
  data: Uint8Array,
  name: string,
  limits: ScanLimits,
  budget: { bytes: number },
): Finding[] {
  const compressed: Finding[] = [];
  const expanded = decompressed(
    data,
    Math.min(budget.bytes, expansionCap(data.length, limits)),
    compressed,
    false,
  );
  const findings = inside(
    name,
    compressed.filter((f) => f.id === 'compression.unsupported' && sniff(data)),
  );
  if (!expanded) return findings;
  if (expanded !== data) {
    budget.bytes -= expanded.length;
    if (startsWith(expanded, NPY_MAGIC)) return [...findings, ...scanNpy(expanded, name)];
  }
  if (expanded[0] !== 0x80) return findings;
  const found = scanPickle(expanded, name);
  // Read as pickles to its last byte, or not a pickle: random bytes after 80 02 reach a STOP one time in a few
  // thousand, but seldom read as opcodes to the end.
  const wellFormed =
    found.some((f) => f.id === 'pickle.stop') &&
    !found.some((f) => MALFORMED.has(f.id) || f.id === 'pickle.trailing_data');
  return [...findings, ...found.filter((f) => wellFormed || f.id === 'pickle.dangerous_import')];
}

/**
 * Scans a model file for hostile content without loading or executing it: ONNX (external-data paths,
 * custom operator domains, absurd dimensions), pickle/joblib (dangerous imports in the opcode stream), Keras
 * H5 (Lambda layers) and zip containers (bombs, traversal, pickles inside). An unreadable or hostile file
 * yields findings; this never throws for file content.
 */
export async function scanModelFile(path: string, limits: Partial<ScanLimits> = {}): Promise<ScanReport> {
  const l: ScanLimits = { ...DEFAULT_SCAN_LIMITS, ...limits };
  const findings: Finding[] = [];
  const report = (format: ScannedFormat, size: number | null, sha256: string | null): ScanReport => ({
    path,
    format,
    size,
    sha256,
    findings,
    max_severity: worstSeverity(findings),
  });
  let info;
  try {
    info = await lstat(path);
  } catch (cause) {
    findings.push({
      id: 'file.unreadable',
      severity: 'high',
      message: `cannot read ${path}: ${(cause as Error).message}`,
    });
    return report('unknown', null, null);
  }
  if (info.isSymbolicLink()) {
    findings.push({
      id: 'file.symlink',
      severity: 'high',
      message: `${path} is a symbolic link; scan and load the target itself`,
    });
    return report('unknown', null, null);
  }
  if (!info.isFile()) {
    findings.push({ id: 'file.not_regular', severity: 'high', message: `${path} is not a regular file` });
    return report('unknown', null, null);
  }
  if (info.size > l.maxBytes) {
    findings.push({
      id: 'file.too_large',
      severity: 'high',
      message: `${path} is ${info.size} bytes, over the ${l.maxBytes}-byte scan limit`,
    });
    return report('unknown', info.size, null);
  }
  const handle = await open(path, 'r');
  let bytes: Uint8Array;
  try {
    bytes = await handle.readFile();
  } finally {
    await handle.close();
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (isZip(bytes)) {
    findings.push(...(await scanZip(bytes, l, { bytes: l.maxUncompressedBytes })));
    return report('zip', info.size, sha256);
  }
  if (startsWith(bytes, HDF5_SIGNATURE)) {
    findings.push(...scanKerasH5(bytes));
    return report('keras-h5', info.size, sha256);
  }
  if (startsWith(bytes, NPY_MAGIC)) {
    findings.push(...scanNpy(bytes, 'npy'));
    return report('npy', info.size, sha256);
  }
  const expanded = decompressed(bytes, expansionCap(bytes.length, l), findings, PICKLE_EXTENSIONS.test(path));
  if (!expanded) return report('pickle', info.size, sha256);
  if (expanded[0] === 0x80 || PICKLE_EXTENSIONS.test(path)) {
    for (const finding of scanPickle(expanded)) findings.push(finding);
    return report('pickle', info.size, sha256);
  }
  findings.push(...(await scanOnnx(bytes, path, l)));
  return report('onnx', info.size, sha256);
}
