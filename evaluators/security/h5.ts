import type { Finding } from './findings.ts';

export const HDF5_SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

const MAX_CONFIG_BYTES = 16 * 1024 ** 2;

/** End (exclusive) of the JSON object starting at start, honouring strings and escapes; -1 if unbalanced. */
function jsonObjectEnd(bytes: Uint8Array, start: number): number {
  let depth = 0;
  let inString = false;
  const limit = Math.min(bytes.length, start + MAX_CONFIG_BYTES);
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

function findLambdas(value: unknown, out: string[], depth = 0): void {
  if (depth > 64 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) findLambdas(v, out, depth + 1);
    return;
  }
  const record = value as Record<string, unknown>;
  if (record.class_name === 'Lambda') {
    const config = record.config as Record<string, unknown> | undefined;
    out.push(String(config?.name ?? record.name ?? '?'));
  }
  for (const v of Object.values(record)) findLambdas(v, out, depth + 1);
}

/** Checks a Keras model config (JSON) for Lambda layers, whose marshalled Python code runs at load. */
export function scanKerasConfig(config: unknown, location: string): Finding[] {
  const lambdas: string[] = [];
  findLambdas(config, lambdas);
  return lambdas.map((name) => ({
    id: 'keras.lambda_layer',
    severity: 'high' as const,
    message: `Lambda layer ${name} holds serialized Python code that runs when the model is loaded`,
    location,
  }));
}

/**
 * Keras H5 files keep the architecture as JSON in the `model_config` attribute of the root group. Rather
 * than walk HDF5 structures, this finds the attribute name and the JSON object that follows it.
 */
export function scanKerasH5(bytes: Uint8Array): Finding[] {
  const name = new TextEncoder().encode('model_config');
  const findings: Finding[] = [];
  let found = false;
  for (let at = indexOf(bytes, name, 0); at >= 0; at = indexOf(bytes, name, at + 1)) {
    const start = bytes.indexOf(0x7b, at + name.length);
    if (start < 0 || start - at > 4096) continue;
    const end = jsonObjectEnd(bytes, start);
    if (end < 0) continue;
    let config: unknown;
    try {
      config = JSON.parse(new TextDecoder().decode(bytes.subarray(start, end)));
    } catch {
      continue;
    }
    found = true;
    findings.push(...scanKerasConfig(config, `model_config@${start}`));
    break;
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
