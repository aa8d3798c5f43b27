import type { Finding } from './findings.ts';

export const HDF5_SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

// How much JSON is read: one config at most, and all candidates together, since a hostile file can repeat the
// attribute name at will and each candidate may run on for MAX_CONFIG_BYTES before it proves not to be JSON.
const MAX_CONFIG_BYTES = 16 * 1024 ** 2;
const MAX_CONFIG_SCAN_BYTES = 4 * MAX_CONFIG_BYTES;
/** The most findings of one kind a file reports; the last one listed counts the rest. */
const MAX_FINDINGS_PER_KIND = 100;

/**
 * A list of findings that keeps at most MAX_FINDINGS_PER_KIND of each id: a hostile file can repeat an attribute
 * name or a Lambda layer millions of times.
 */
function findingsCappedPerKind(): { add(finding: Finding): void; list(): Finding[] } {
  const findings: Finding[] = [];
  const kinds = new Map<string, { last: Finding; count: number }>();
  return {
    add(finding) {
      const kind = kinds.get(finding.id) ?? { last: finding, count: 0 };
      kinds.set(finding.id, kind);
      if (++kind.count > MAX_FINDINGS_PER_KIND) return;
      kind.last = finding;
      findings.push(finding);
    },
    list() {
      for (const { last, count } of kinds.values())
        if (count > MAX_FINDINGS_PER_KIND)
          last.message += ` (and ${count - MAX_FINDINGS_PER_KIND} more like it in the file)`;
      return findings;
    },
  };
}

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

function reportLambdas(config: unknown, location: string, add: (finding: Finding) => void): void {
  for (const name of findLambdas(config))
    add({
      id: 'keras.lambda_layer',
      severity: 'high',
      message: `Lambda layer ${name} holds serialized Python code that runs when the model is loaded`,
      location,
    });
}

/** Checks a Keras model config (JSON) for Lambda layers, whose marshalled Python code runs at load. */
export function scanKerasConfig(config: unknown, location: string): Finding[] {
  const findings = findingsCappedPerKind();
  reportLambdas(config, location, findings.add);
  return findings.list();
}

// Keras writes the architecture as the `model_config` attribute and the compile settings as `training_config`.
const CONFIG_ATTRIBUTES = ['model_config', 'training_config'];

/** A variable-length string's place in the global heap: object `index` of the collection at `address`. */
interface HeapId {
  readonly address: number;
  readonly index: number;
}

interface Candidate {
  readonly attribute: string;
  readonly start: number;
  /**
   * Set when the value was found from the attribute message: its exact bytes, where in the global heap they lie,
   * or why it could not be read.
   */
  readonly value?: Uint8Array | HeapId | string;
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

const GCOL = new TextEncoder().encode('GCOL');

/** The objects of one global heap collection by index (or why one is unreadable), or why there is no collection. */
type Collection = Map<number, Uint8Array | string> | string;

/**
 * Reads objects from the global heap collections (where HDF5 keeps variable-length strings). Each collection is
 * walked once, when an attribute first points into it, and that walk is paid from the scan's byte budget: a
 * hostile file can point any number of attributes into one large collection, or into many that overlap.
 */
function globalHeap(
  bytes: Uint8Array,
  lengths: number,
): (id: HeapId, budget: number) => { value: Uint8Array | string; scanned: number } {
  const collections = new Map<number, Collection>();
  const walk = (address: number, budget: number): { collection: Collection; scanned: number } => {
    if (indexOf(bytes.subarray(address, address + 4), GCOL, 0) !== 0)
      return { collection: `no global heap collection at byte ${address}`, scanned: 0 };
    const end = Math.min(bytes.length, address + uint(bytes, address + 8, lengths));
    if (end - address > budget) return { collection: BUDGET_SPENT, scanned: budget };
    const objects = new Map<number, Uint8Array | string>();
    let at = address + 8 + lengths;
    while (at + 8 + lengths <= end) {
      const objectIndex = uint(bytes, at, 2);
      const size = uint(bytes, at + 8, lengths);
      const data = at + 8 + lengths;
      // Index 0 is the collection's free space, which runs to its end.
      if (objectIndex === 0 || size < 0 || data + size > end) break;
      // Which of two objects with one index a reader gets is up to the reader; the scan cannot know which it saw.
      objects.set(
        objectIndex,
        objects.has(objectIndex)
          ? `object ${objectIndex} appears more than once in the global heap collection at byte ${address}`
          : bytes.subarray(data, data + size),
      );
      at = data + pad8(size);
    }
    return { collection: objects, scanned: Math.max(0, Math.min(at, end) - address) };
  };
  return ({ address, index }, budget) => {
    let collection = collections.get(address);
    let scanned = 0;
    if (collection === undefined) {
      ({ collection, scanned } = walk(address, budget));
      collections.set(address, collection);
    }
    if (typeof collection === 'string') return { value: collection, scanned };
    return {
      value:
        collection.get(index) ??
        `object ${index} of the global heap collection at byte ${address} is missing`,
      scanned,
    };
  };
}

/**
 * The value of the string attribute whose name starts at `at`, read as HDF5 does: from the attribute message
 * (versions 1 to 3) around the name, through the global heap for a variable-length string. Undefined when the
 * bytes around the name are not such a message (the name appears elsewhere, or in a form not parsed here).
 */
function attributeValue(
  bytes: Uint8Array,
  at: number,
  name: Uint8Array,
  offsets: number | undefined,
): Uint8Array | HeapId | string | undefined {
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
    if (offsets === undefined) return 'the superblock is not readable';
    const address = uint(bytes, dataAt + 4, offsets);
    const index = uint(bytes, dataAt + 4 + offsets, 4);
    if (address < 0 || index < 0) return 'the value runs past the end of the file';
    return { address, index };
  }
  return undefined;
}

/**
 * Each place a config may start: the value of each attribute message with a config's name, and, where the
 * bytes around a name are not a message parsed here, the first `{` within 4 KiB after it (past the header).
 */
function* configCandidates(bytes: Uint8Array, offsets: number | undefined): Generator<Candidate> {
  for (const attribute of CONFIG_ATTRIBUTES) {
    const name = new TextEncoder().encode(attribute);
    for (let at = indexOf(bytes, name, 0); at >= 0; at = indexOf(bytes, name, at + 1)) {
      const value = attributeValue(bytes, at, name, offsets);
      if (value !== undefined) {
        yield { attribute, start: at, value };
        continue;
      }
      const start = bytes.indexOf(0x7b, at + name.length);
      if (start >= 0 && start - at <= 4096) yield { attribute, start };
    }
  }
}

/** JSON.parse of the bytes, or undefined where they are not JSON. */
function parsedJson(json: Uint8Array): unknown {
  try {
    return parsePythonJson(new TextDecoder().decode(json));
  } catch {
    return undefined;
  }
}

/**
 * JSON as Python's json module reads it, which Keras writes its configs with: NaN, Infinity and -Infinity are
 * numbers there (json.dumps writes a NaN dropout so), and JSON.parse refuses them. They are read as null, their
 * value being nothing the scan looks at. Throws where the text is no JSON.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // Outside strings only: a string "NaN" stays a string.
    const replaced = text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g, (token) =>
      token.startsWith('"') ? token : 'null',
    );
    if (replaced === text) throw cause;
    return JSON.parse(replaced) as unknown;
  }
}

const BUDGET_SPENT = `the file repeats ${CONFIG_ATTRIBUTES.join(' and ')} beyond the ${MAX_CONFIG_SCAN_BYTES} bytes the scan reads`;

/**
 * A candidate's JSON, or why it was not read (`unread`), and how many bytes that took of the budget. Neither
 * when it is not JSON: a `{` not closed by the end of the file.
 */
function readCandidate(
  bytes: Uint8Array,
  { attribute, start, value: found }: Candidate,
  budget: number,
  heap: ReturnType<typeof globalHeap> | undefined,
): { json?: Uint8Array; unread?: string; scanned: number } {
  let value = found;
  let scanned = 0;
  if (value !== undefined && typeof value !== 'string' && !(value instanceof Uint8Array)) {
    // A heap ID is only read where the superblock is (attributeValue says why not otherwise).
    ({ value, scanned } = heap!(value, budget));
  }
  if (typeof value === 'string') return { unread: value, scanned };
  if (value)
    return value.length > Math.min(MAX_CONFIG_BYTES, budget - scanned)
      ? { unread: `${attribute} is longer than the ${MAX_CONFIG_BYTES} bytes the scan reads`, scanned }
      : { json: value, scanned: scanned + value.length };
  const limit = Math.min(bytes.length, start + MAX_CONFIG_BYTES, start + budget);
  const end = jsonObjectEnd(bytes, start, limit);
  if (end >= 0) return { json: bytes.subarray(start, end), scanned: end - start };
  // Not closed by the end of the file: not JSON. Not closed by a read limit: possibly a config, unread.
  if (limit === bytes.length) return { scanned: limit - start };
  return {
    unread:
      limit - start < budget
        ? `${attribute} at byte ${start} does not close within ${MAX_CONFIG_BYTES} bytes`
        : BUDGET_SPENT,
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
  const findings = findingsCappedPerKind();
  let found = false;
  let budget = MAX_CONFIG_SCAN_BYTES;
  const sizes = superblockSizes(bytes);
  const heap = sizes && globalHeap(bytes, sizes.lengths);
  // High, as the zip path's keras.config_unreadable is: a config the scan does not read may hold a Lambda layer
  // (padding one past MAX_CONFIG_BYTES, or spending the budget in front of it, would otherwise pass it).
  const notInspected = (why: string, { attribute, start }: Candidate): void => {
    const finding: Finding = {
      id: 'keras.config_not_inspected',
      severity: 'high',
      message: `${why}; it is not inspected`,
      location: `${attribute}@${start}`,
    };
    if (why === BUDGET_SPENT) spent = finding;
    else findings.add(finding);
  };
  // Where the budget ran out: said once, after the findings before it, whatever their number.
  let spent: Finding | undefined;
  const candidates = configCandidates(bytes, sizes?.offsets);
  for (const candidate of candidates) {
    const { json, unread, scanned } = readCandidate(bytes, candidate, budget, heap);
    budget -= scanned;
    if (unread !== undefined) notInspected(unread, candidate);
    const config = json && parsedJson(json);
    if (config !== undefined) {
      found ||= candidate.attribute === 'model_config';
      reportLambdas(config, `${candidate.attribute}@${candidate.start}`, findings.add);
    }
    if (budget > 0) continue;
    // A candidate read to the very end of the budget leaves the next one unread.
    const next = unread === BUDGET_SPENT ? undefined : candidates.next();
    if (next && !next.done) notInspected(BUDGET_SPENT, next.value);
    break;
  }
  const list = findings.list();
  if (spent) list.push(spent);
  if (!found)
    list.push({
      id: 'keras.no_model_config',
      severity: 'info',
      message: 'HDF5 file without a readable Keras model_config attribute',
    });
  return list;
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
