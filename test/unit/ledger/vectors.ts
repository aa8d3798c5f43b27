import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import path from 'node:path';

// The shared RFC 6962 / C2SP vectors (see their README for provenance and licences), read as plain data from
// ../shared beside the repository, where CI's fresh clone has them too.
export const VECTORS_DIR =
  process.env.ARBITER_VECTORS_DIR ??
  fileURLToPath(new URL('../../../../shared/vectors/rfc6962', import.meta.url));

export function loadVectors<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(VECTORS_DIR, file), 'utf8')) as T;
}

export const hex = (s: string): Uint8Array => Buffer.from(s, 'hex');
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
