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
import { HDF5_SIGNATURE, scanKerasConfig, scanKerasH5 } from './h5.ts';
import { scanOnnx } from './onnx.ts';
import { scanPickle } from './pickle.ts';
import { checkZip, extractEntry } from './zip.ts';

export type ScannedFormat = 'onnx' | 'pickle' | 'keras-h5' | 'zip' | 'unknown';

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
 * A gzip or zlib stream read out to at most `cap` bytes; zlib stops at the cap rather than producing the rest.
 * Null, with a finding, when the stream runs past the cap (a bomb) or is corrupt.
 */
function decompressed(bytes: Uint8Array, cap: number, findings: Finding[]): Uint8Array | null {
  try {
    if (startsWith(bytes, [0x1f, 0x8b])) return gunzipSync(bytes, { maxOutputLength: cap });
    if (bytes[0] === 0x78 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0)
      return inflateSync(bytes, { maxOutputLength: cap });
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
  return bytes;
}

function scanZip(bytes: Uint8Array, limits: ScanLimits): Finding[] {
  const { entries, findings, bomb } = checkZip(bytes, limits);
  if (bomb) return findings;
  let budget = limits.maxUncompressedBytes;
  for (const entry of entries) {
    const lower = entry.name.toLowerCase();
    const isPickle = /\.(pkl|pickle|joblib)$/.test(lower);
    const isConfig = lower === 'config.json';
    if (!isPickle && !isConfig && !lower.endsWith('.onnx')) continue;
    const data = extractEntry(
      bytes,
      entry,
      Math.min(budget, expansionCap(entry.compressedSize, limits)),
      findings,
    );
    if (!data) continue;
    budget -= data.length;
    if (isPickle) findings.push(...scanPickle(data, entry.name));
    else if (isConfig) {
      try {
        findings.push(...scanKerasConfig(JSON.parse(new TextDecoder().decode(data)), entry.name));
      } catch {
        findings.push({
          id: 'keras.config_unreadable',
          severity: 'low',
          message: 'config.json is not JSON',
          location: entry.name,
        });
      }
    } else
      findings.push({
        id: 'zip.nested_model',
        severity: 'info',
        message: `archive holds an ONNX model ${entry.name}; scan it on its own`,
        location: entry.name,
      });
  }
  return findings;
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
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    findings.push(...scanZip(bytes, l));
    return report('zip', info.size, sha256);
  }
  if (startsWith(bytes, HDF5_SIGNATURE)) {
    findings.push(...scanKerasH5(bytes));
    return report('keras-h5', info.size, sha256);
  }
  const expanded =
    startsWith(bytes, [0x1f, 0x8b]) || (bytes[0] === 0x78 && PICKLE_EXTENSIONS.test(path))
      ? decompressed(bytes, expansionCap(bytes.length, l), findings)
      : bytes;
  if (!expanded) return report('pickle', info.size, sha256);
  if (expanded[0] === 0x80 || PICKLE_EXTENSIONS.test(path)) {
    findings.push(...scanPickle(expanded));
    return report('pickle', info.size, sha256);
  }
  findings.push(...(await scanOnnx(bytes, path, l)));
  return report('onnx', info.size, sha256);
}
