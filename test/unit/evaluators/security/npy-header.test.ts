import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanModelFile } from '../../../../evaluators/security/scan.ts';
import { parsePyLiteral } from '../../../../evaluators/security/python-literal.ts';
import { osSystemPickleV0 } from '../../../support/evaluators/hostile.ts';

// Each value below is what Python 3.11's ast.literal_eval gives for the source (checked by hand, and against
// 120,000 mutations of numpy headers while the parser was written); numpy reads .npy headers with it.

describe('Python literals, as ast.literal_eval reads them', () => {
  it.each([
    [
      "{'a': 1, 'a': 2}",
      {
        dict: [
          ['a', 1n],
          ['a', 2n],
        ],
      },
    ],
    ["'|' 'O'", '|O'],
    ['(\'|\'\n # a comment\n u"O")', '|O'],
    ["'\\x7cO'", '|O'],
    ["'\\174\\u004f'", '|O'],
    ["'\\U0000007cO'", '|O'],
    ["'''|\\\nO'''", '|O'],
    ["r'\\x7cO'", '\\x7cO'],
    ["'\\q\\8'", '\\q\\8'],
    ['(1,)', { tuple: [1n] }],
    ['(1)', 1n],
    ['()', { tuple: [] }],
    ['[0x10, 0o7, 0b11, 1_000, -5, + 2]', [16n, 7n, 3n, 1000n, -5n, 2n]],
    ['(True, False, None)', { tuple: [true, false, null] }],
    ["\n{'a': [], } # trailing comment\r\n", { dict: [['a', []]] }],
  ] as const)('reads %j', (source, value) => {
    expect(parsePyLiteral(source)).toEqual(value);
  });

  it('reads Python 2 longs only where asked, as numpy does for format versions 1 and 2', () => {
    expect(() => parsePyLiteral('(1L, 2)')).toThrow();
    expect(parsePyLiteral('(1L, 2 L)', { longSuffix: true })).toEqual({ tuple: [1n, 2n] });
    expect(() => parsePyLiteral('(1l,)', { longSuffix: true })).toThrow();
  });

  // What the scan does not read is an error, whether Python reads it (a float, bytes, a set) or not: a header
  // holding it is unreadable, high.
  it.each([
    ['a float', '1.5'],
    ['a leading zero', '0777'],
    ['bytes', "b'|O'"],
    ['str and bytes joined', "'|' b'O'"],
    ['an f-string', "f'|O'"],
    ['a set', "{'|O'}"],
    ['a name', 'descr'],
    ['a call', 'set()'],
    ['two signs', '--1'],
    ['an unterminated string', "'|O"],
    ['a newline in a string', "'|\nO'"],
    ['a bad \\x escape', "'\\x7'"],
    ['\\N{…}, which the scan does not read', "'\\N{VERTICAL LINE}O'"],
    ['a NUL', "'|O'\0"],
    ['more after the literal', '{} {}'],
    ['nesting past 100', `${'['.repeat(200)}${']'.repeat(200)}`],
  ])('refuses %s', (_what, source) => {
    expect(() => parsePyLiteral(source)).toThrow();
  });
});

describe('.npy headers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arbiter-npy-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A .npy file of format `version` whose header is `header`, padded as numpy pads it, then `body`. */
  const npy = (header: string, body: Uint8Array, version = 1): Buffer => {
    const prefix = version === 1 ? 10 : 12;
    const text = header + ' '.repeat(63 - ((prefix + Buffer.byteLength(header)) % 64)) + '\n';
    const bytes = Buffer.from(text, version === 3 ? 'utf8' : 'latin1');
    const length = Buffer.alloc(version === 1 ? 2 : 4);
    if (version === 1) length.writeUInt16LE(bytes.length);
    else length.writeUInt32LE(bytes.length);
    return Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]),
      length,
      bytes,
      body,
    ]);
  };
  const scan = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return scanModelFile(path);
  };
  const payload = osSystemPickleV0('touch /tmp/pwned');

  // npy.py's three headers: numpy reads each as an object array, and np.load(allow_pickle=True) unpickles the body.
  it.each([
    [
      'a duplicate descr, the last winning',
      "{'descr': '<f8', 'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
    ],
    ['adjacent strings', "{'descr': '|' 'O', 'fortran_order': False, 'shape': (1,), }"],
    ['an escape', "{'descr': '\\x7cO', 'fortran_order': False, 'shape': (1,), }"],
    ['an object subarray', "{'descr': ('|O', (2,)), 'fortran_order': False, 'shape': (1,), }"],
    ['a nested object field', "{'descr': [('a', [('b', '|O')])], 'fortran_order': False, 'shape': (1,), }"],
    ['a Python 2 long in a version 2 header', "{'descr': '|O', 'fortran_order': False, 'shape': (1L,), }"],
  ])('scans the pickle of an object array whose header has %s', async (_name, header) => {
    const report = await scan('object.npy', npy(header, payload, 2));
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        message: expect.stringContaining('os.system'),
      }),
    );
  });

  it.each([
    ['no Python literal', "{'descr': '|O', 'fortran_order': False, 'shape': (1,)"],
    [
      'an escape the scan does not read',
      "{'descr': '\\N{VERTICAL LINE}O', 'fortran_order': False, 'shape': (1,), }",
    ],
    ['a key numpy does not know', "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"],
    ['a key missing', "{'descr': '<f8', 'shape': (1,), }"],
    ['a dtype the scan does not know', "{'descr': 'f8,O', 'fortran_order': False, 'shape': (1,), }"],
    ['a shape of no ints', "{'descr': '<f8', 'fortran_order': False, 'shape': [1], }"],
    ['a list, not a dict', "[('descr', '|O')]"],
  ])('reports a header with %s as unreadable, high', async (_name, header) => {
    const report = await scan('odd.npy', npy(header, payload));
    expect(report.findings).toEqual([expect.objectContaining({ id: 'npy.unreadable', severity: 'high' })]);
  });

  it('passes numbers under headers numpy writes, in every format version', async () => {
    const floats = Buffer.from(new Float64Array([1, 2, 3]).buffer);
    for (const [version, header] of [
      [1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"],
      [2, "{'descr': [('x', '<i4'), ('', '|V4')], 'fortran_order': True, 'shape': (1, 1), }"],
      [3, "{'descr': [('größe', '<f4', (2,))], 'fortran_order': False, 'shape': (1,), }"],
      [1, "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (3,), }"],
    ] as const)
      expect(await scan(`v${version}.npy`, npy(header, floats, version))).toMatchObject({
        format: 'npy',
        findings: [],
      });
  });
});
