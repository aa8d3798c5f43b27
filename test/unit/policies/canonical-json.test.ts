import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../policies/engine/canonical-json.ts';

describe('canonicalJson', () => {
  it('gives the bytes of the RFC 8785 reference implementation for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        let expected: string | undefined;
        try {
          expected = canonicalize(value);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) expect(() => canonicalJson(value)).toThrow();
        else expect(canonicalJson(value)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('orders keys by UTF-16 code units and writes numbers as ECMAScript does (RFC 8785 §3.2.3 and §3.2.2.3)', () => {
    expect(
      canonicalJson({
        '\u20ac': 1,
        '\r': 2,
        '\ud83d\ude00': 3,
        '1': 4,
        '10': 5,
        '2': 6,
        a: [1e21, 1e-7, -0, 0.1],
      }),
    ).toBe('{"\\r":2,"1":4,"10":5,"2":6,"a":[1e+21,1e-7,0,0.1],"€":1,"😀":3}');
  });

  it('refuses what RFC 8785 cannot express: a lone surrogate, NaN, Infinity', () => {
    expect(() => canonicalJson({ s: 'a\ud800b' })).toThrow(/surrogate/i);
    expect(() => canonicalJson([Number.NaN])).toThrow();
    expect(() => canonicalJson({ x: Number.POSITIVE_INFINITY })).toThrow();
  });

  it('keeps text that only looks like an escaped surrogate', () => {
    expect(canonicalJson({ path: 'C:\\ud800' })).toBe('{"path":"C:\\\\ud800"}');
  });
});
