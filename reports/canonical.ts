import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ReportError } from './errors.ts';

/** RFC 8785 canonical JSON of `value`: the bytes every hash in a report is taken over. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined)
    throw new ReportError('REPORT_INPUT_INVALID', 'value has no JSON form (undefined or a function)');
  return text;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of the RFC 8785 form of `value`, hex. */
export function hashCanonical(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
