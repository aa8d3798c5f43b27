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

/** Each place an attribute name is followed (within 4 KiB, past HDF5's attribute header) by a `{`. */
function* configCandidates(bytes: Uint8Array): Generator<{ attribute: string; start: number }> {
  for (const attribute of CONFIG_ATTRIBUTES) {
    const name = new TextEncoder().encode(attribute);
    for (let at = indexOf(bytes, name, 0); at >= 0; at = indexOf(bytes, name, at + 1)) {
      const start = bytes.indexOf(0x7b, at + name.length);
      if (start >= 0 && start - at <= 4096) yield { attribute, start };
    }
  }
}

/**
 * Keras H5 files keep their configs as JSON in attributes of the root group. Rather than walk HDF5 structures,
 * this finds the attribute names and the JSON object after each. Every occurrence is read, not only the first
 * that parses: the name can also appear earlier in the file (in a dataset, another attribute's value) as a
 * decoy in front of the config Keras would load.
 */
export function scanKerasH5(bytes: Uint8Array): Finding[] {
  const findings: Finding[] = [];
  let found = false;
  let budget = MAX_CONFIG_SCAN_BYTES;
  for (const { attribute, start } of configCandidates(bytes)) {
    const limit = Math.min(bytes.length, start + MAX_CONFIG_BYTES, start + budget);
    const end = jsonObjectEnd(bytes, start, limit);
    budget -= (end < 0 ? limit : end) - start;
    if (end < 0) {
      // Not closed by the end of the file: not JSON. Not closed by a read limit: possibly a config, unread.
      if (limit === bytes.length) continue;
      findings.push({
        id: 'keras.config_not_inspected',
        severity: 'medium',
        message:
          budget > 0
            ? `${attribute} at byte ${start} does not close within ${MAX_CONFIG_BYTES} bytes; it is not inspected`
            : `the file repeats ${CONFIG_ATTRIBUTES.join(' and ')} beyond the ${MAX_CONFIG_SCAN_BYTES} bytes the scan reads; the rest is not inspected`,
        location: `${attribute}@${start}`,
      });
      if (budget > 0) continue;
      break;
    }
    let config: unknown;
    try {
      config = JSON.parse(new TextDecoder().decode(bytes.subarray(start, end)));
    } catch {
      continue;
    }
    found ||= attribute === 'model_config';
    findings.push(...scanKerasConfig(config, `${attribute}@${start}`));
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
