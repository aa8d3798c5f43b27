import type { Finding } from './findings.ts';

export const HDF5_SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

// How much JSON is read: one config at most, and all candidates together, since a hostile file can repeat the
// attribute name at will and each candidate may run on for MAX_CONFIG_BYTES before it proves not to be JSON.
const MAX_CONFIG_BYTES = 16 * 1024 ** 2;
const MAX_CONFIG_SCAN_BYTES = 4 * MAX_CONFIG_BYTES;

/** End (exclusive) of the JSON object at start, honouring strings and escapes; -1 if not closed before limit. */
function jsonObjectEnd(bytes: Uint8Array, start: number, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < limit; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Names of the Lambda layers anywhere in a parsed config. Nested models put layers inside layers at any depth,
 * and JSON.parse accepts any depth, so this walks a work list instead of recursing: there is no depth at
 * which a Lambda could sit unseen.
 */
function findLambdas(root: unknown): string[] {
  const names: string[] = [];
  const pending: unknown[] = [root];
  for (let k = 0; k < pending.length; k++) {
    const value = pending[k];
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (const v of value) pending.push(v);
      continue;
    }
    const record = value as Record<string, unknown>;
    if (record.class_name === 'Lambda') {
      const config = record.config as Record<string, unknown> | undefined;
      names.push(String(config?.name ?? record.name ?? '?'));
    }
    for (const v of Object.values(record)) pending.push(v);
  }
  return names;
}

/** Checks a Keras model config (JSON) for Lambda layers, whose marshalled Python code runs at load. */
export function scanKerasConfig(config: unknown, location: string): Finding[] {
  return findLambdas(config).map((name) => ({
    id: 'keras.lambda_layer',
    severity: 'high' as const,
    message: `Lambda layer ${name} holds serialized Python code that runs when the model is loaded`,
    location,
  }));
}

// Keras writes the architecture as the `model_config` attribute and the compile settings as `training_config`.
const CONFIG_ATTRIBUTES = ['model_config', 'training_config'];

interface Candidate {
  readonly attribute: string;
  readonly start: number;
  /** Set when the value was read from the attribute message: its exact bytes, or why it could not be read. */
  readonly value?: Uint8Array | string;
}

/** Little-endian unsigned integer of 1 to 8 bytes; -1 past the end of the file. */
function uint(bytes: Uint8Array, at: number, size: number): number {
  if (at < 0 || at + size > bytes.length) return -1;
  let n = 0;
  for (let k = size - 1; k >= 0; k--) n = n * 256 + bytes[at + k]!;
  return n;
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/** Sizes of addresses and lengths, from a superblock at the start of the file (versions 0 to 3). */
function superblockSizes(bytes: Uint8Array): { offsets: number; lengths: number } | undefined {
  const version = bytes[8];
  const [offsets, lengths] =
    version === 0 || version === 1
      ? [bytes[13], bytes[14]]
      : version === 2 || version === 3
        ? [bytes[9], bytes[10]]
        : [];
  const valid = (n: number | undefined): n is number => n === 2 || n === 4 || n === 8;
  return valid(offsets) && valid(lengths) ? { offsets, lengths } : undefined;
}

/** Object `index` of the global heap collection at `address` (HDF5 keeps variable-length strings there). */
function globalHeapObject(
  bytes: Uint8Array,
  address: number,
  index: number,
  lengths: number,
): Uint8Array | string {
  if (indexOf(bytes.subarray(address, address + 4), new TextEncoder().encode('GCOL'), 0) !== 0)
    return `no global heap collection at byte ${address}`;
  const end = Math.min(bytes.length, address + uint(bytes, address + 8, lengths));
  for (let at = address + 8 + lengths; at + 8 + lengths <= end;) {
    const objectIndex = uint(bytes, at, 2);
    const size = uint(bytes, at + 8, lengths);
    const data = at + 8 + lengths;
    // Index 0 is the collection's free space, which runs to its end.
    if (objectIndex === 0 || size < 0 || data + size > end) break;
    if (objectIndex === index) return bytes.subarray(data, data + size);
    at = data + pad8(size);
  }
  return `object ${index} of the global heap collection at byte ${address} is missing`;
}

/**
 * The value of the string attribute whose name starts at `at`, read as HDF5 does: from the attribute message
 * (versions 1 to 3) around the name, through the global heap for a variable-length string. Undefined when the
 * bytes around the name are not such a message (the name appears elsewhere, or in a form not parsed here).
 */
function attributeValue(bytes: Uint8Array, at: number, name: Uint8Array): Uint8Array | string | undefined {
  if (bytes[at + name.length] !== 0) return undefined;
  const header = [
    { version: 1, at: at - 8, dataAt: (n: number, t: number, s: number) => at + pad8(n) + pad8(t) + pad8(s) },
    { version: 2, at: at - 8, dataAt: (n: number, t: number, s: number) => at + n + t + s },
    { version: 3, at: at - 9, dataAt: (n: number, t: number, s: number) => at + n + t + s },
  ].find((h) => h.at >= 0 && bytes[h.at] === h.version && uint(bytes, h.at + 2, 2) === name.length + 1);
  if (!header) return undefined;
  const typeSize = uint(bytes, header.at + 4, 2);
  const typeAt = header.dataAt(name.length + 1, 0, 0);
  const dataAt = header.dataAt(name.length + 1, typeSize, uint(bytes, header.at + 6, 2));
  const typeClass = (bytes[typeAt] ?? 0) & 0x0f;
  const size = uint(bytes, typeAt + 4, 4);
  if (typeClass === 3) {
    if (dataAt + size > bytes.length) return `the value runs past the end of the file`;
    const value = bytes.subarray(dataAt, dataAt + size);
    const nul = value.indexOf(0);
    return nul < 0 ? value : value.subarray(0, nul);
  }
  // A variable-length string: its length, then the global heap ID (collection address, object index).
  if (typeClass === 9 && ((bytes[typeAt + 1] ?? 0) & 0x0f) === 1) {
    const sizes = superblockSizes(bytes);
    if (!sizes) return 'the superblock is not readable';
    const address = uint(bytes, dataAt + 4, sizes.offsets);
    const index = uint(bytes, dataAt + 4 + sizes.offsets, 4);
    if (address < 0 || index < 0) return 'the value runs past the end of the file';
    return globalHeapObject(bytes, address, index, sizes.lengths);
  }
  return undefined;
}

/**
 * Each place a config may start: the value of each attribute message with a config's name, and, where the
 * bytes around a name are not a message parsed here, the first `{` within 4 KiB after it (past the header).
 */
function* configCandidates(bytes: Uint8Array): Generator<Candidate> {
  for (const attribute of CONFIG_ATTRIBUTES) {
    const name = new TextEncoder().encode(attribute);
    for (let at = indexOf(bytes, name, 0); at >= 0; at = indexOf(bytes, name, at + 1)) {
      const value = attributeValue(bytes, at, name);
      if (value !== undefined) {
        yield { attribute, start: at, value };
        continue;
      }
      const start = bytes.indexOf(0x7b, at + name.length);
      if (start >= 0 && start - at <= 4096) yield { attribute, start };
    }
  }
}

/**
 * A candidate's JSON, or why it was not read (`unread`), and how many bytes that took of the budget. Neither
 * when it is not JSON: a `{` not closed by the end of the file.
 */
function readCandidate(
  bytes: Uint8Array,
  { attribute, start, value }: Candidate,
  budget: number,
): { json?: Uint8Array; unread?: string; scanned: number } {
  if (typeof value === 'string') return { unread: value, scanned: 0 };
  if (value)
    return value.length > Math.min(MAX_CONFIG_BYTES, budget)
      ? { unread: `${attribute} is longer than the ${MAX_CONFIG_BYTES} bytes the scan reads`, scanned: 0 }
      : { json: value, scanned: value.length };
  const limit = Math.min(bytes.length, start + MAX_CONFIG_BYTES, start + budget);
  const end = jsonObjectEnd(bytes, start, limit);
  if (end >= 0) return { json: bytes.subarray(start, end), scanned: end - start };
  // Not closed by the end of the file: not JSON. Not closed by a read limit: possibly a config, unread.
  if (limit === bytes.length) return { scanned: limit - start };
  return {
    unread:
      limit - start < budget
        ? `${attribute} at byte ${start} does not close within ${MAX_CONFIG_BYTES} bytes`
        : `the file repeats ${CONFIG_ATTRIBUTES.join(' and ')} beyond the ${MAX_CONFIG_SCAN_BYTES} bytes the scan reads`,
    scanned: limit - start,
  };
}

/**
 * Keras H5 files keep their configs as JSON in attributes of the root group. Rather than walk HDF5 structures
 * from the superblock, this finds the attribute names and reads the value of each. Every occurrence is read,
 * not only the first that parses: the name can also appear earlier in the file (in a dataset, another
 * attribute's value) as a decoy in front of the config Keras would load.
 */
export function scanKerasH5(bytes: Uint8Array): Finding[] {
  const findings: Finding[] = [];
  let found = false;
  let budget = MAX_CONFIG_SCAN_BYTES;
  for (const candidate of configCandidates(bytes)) {
    const location = `${candidate.attribute}@${candidate.start}`;
    const { json, unread, scanned } = readCandidate(bytes, candidate, budget);
    budget -= scanned;
    if (unread !== undefined)
      findings.push({
        id: 'keras.config_not_inspected',
        severity: 'medium',
        message: `${unread}; it is not inspected`,
        location,
      });
    if (budget <= 0) break;
    if (!json) continue;
    let config: unknown;
    try {
      config = JSON.parse(new TextDecoder().decode(json));
    } catch {
      continue;
    }
    found ||= candidate.attribute === 'model_config';
    findings.push(...scanKerasConfig(config, location));
  }
  if (!found)
    findings.push({
      id: 'keras.no_model_config',
      severity: 'info',
      message: 'HDF5 file without a readable Keras model_config attribute',
    });
  return findings;
}

export function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (
    let i = haystack.indexOf(first, from);
    i >= 0 && i + needle.length <= haystack.length;
    i = haystack.indexOf(first, i + 1)
  ) {
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}
