import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../../evaluators/security/findings.ts';
import { classifyGlobal, scanPickle } from '../../../../evaluators/security/pickle.ts';
import { osSystemPickleV0 } from '../../../support/evaluators/hostile.ts';

// Pickles assembled opcode by opcode. Each hostile one below was loaded once, by hand, with Python 3.11's
// pickle.Unpickler and pickle._Unpickler (find_class overridden to record its arguments instead of importing)
// and reached os.system; none of these tests needs Python.

type Part = number | string | Uint8Array | Part[];
/** The bytes of the parts: a number is one byte, a string its latin-1 bytes (protocol-0 text such as `p0\n`). */
const pkl = (...parts: Part[]): Uint8Array => {
  const out: Uint8Array[] = [];
  const add = (p: Part): void => {
    if (typeof p === 'number') out.push(Uint8Array.of(p));
    else if (typeof p === 'string') out.push(Buffer.from(p, 'latin1'));
    else if (p instanceof Uint8Array) out.push(p);
    else p.forEach(add);
  };
  parts.forEach(add);
  return new Uint8Array(Buffer.concat(out));
};
/** SHORT_BINUNICODE: a str constant. */
const str = (s: string): Part => {
  const b = Buffer.from(s, 'utf8');
  return [0x8c, b.length, b];
};
const PROTO4 = [0x80, 4];
const MARK = 0x28;
const STOP = 0x2e;
const POP = 0x30;
const POP_MARK = 0x31;
const DUP = 0x32;
const REDUCE = 0x52;
const EMPTY_TUPLE = 0x29;
const TUPLE1 = 0x85;
const BINPUT = 0x71;
const BINGET = 0x68;
const LONG_BINPUT = 0x72;
const LONG_BINGET = 0x6a;
const MEMOIZE = 0x94;
const STACK_GLOBAL = 0x93;
const SHORT_BINBYTES = 0x43;
/** With module and name on the stack: import them, then call the result with one argument. */
const CALL = [STACK_GLOBAL, str('echo pwned'), TUPLE1, REDUCE, STOP];
const le32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];

const ids = (findings: Finding[]): string[] => findings.map((f) => f.id);
const high = (findings: Finding[]): Finding[] =>
  findings.filter((f) => f.severity === 'high' || f.severity === 'critical');

/** The severity the scanner gives a plain GLOBAL os.system. */
const plainSeverity = scanPickle(osSystemPickleV0()).find((f) => f.message.includes('os.system'))!.severity;

/** Hostile pickles whose STACK_GLOBAL imports os.system, each hiding it from a "last two strings" reading. */
const bypasses: [string, Uint8Array][] = [
  [
    "the reviewer's: text PUT, POP, decoy strings, text GET",
    pkl(PROTO4, str('os'), 'p0\n', POP, str('decoy'), str('list'), POP, POP, 'g0\n', str('system'), CALL),
  ],
  [
    'BINPUT, POP, decoy, BINGET, decoy popped',
    pkl(
      PROTO4,
      [str('os'), BINPUT, 7, POP, str('decoy'), POP],
      [BINGET, 7, str('list'), POP, str('system'), CALL],
    ),
  ],
  [
    'MEMOIZE after a memoized non-string (MEMOIZE fills slot len(memo)), BINGET',
    pkl(
      PROTO4,
      [0x5d, MEMOIZE, POP, str('os'), MEMOIZE, POP, str('collections'), MEMOIZE, POP],
      [BINGET, 1, str('system'), CALL],
    ),
  ],
  [
    'LONG_BINPUT, LONG_BINGET, decoys dropped by POP_MARK',
    pkl(
      PROTO4,
      [str('os'), LONG_BINPUT, le32(70000), POP, LONG_BINGET, le32(70000)],
      [MARK, str('decoy'), str('list'), POP_MARK, str('system'), CALL],
    ),
  ],
  [
    'text PUT read back by BINGET (text and binary indices share the memo)',
    pkl(PROTO4, str('os'), 'p3\n', POP, str('decoy'), POP, BINGET, 3, str('system'), CALL),
  ],
  [
    'a memo index written as int() reads it (sign, underscore, spaces, leading zeros)',
    pkl(PROTO4, str('os'), 'p+0_0\n', POP, str('decoy'), POP, 'g 00 \n', str('system'), CALL),
  ],
  [
    'DUP, then decoys dropped by POP_MARK, then POP of the copy',
    pkl(PROTO4, str('os'), DUP, MARK, str('decoy'), str('list'), POP_MARK, POP, str('system'), CALL),
  ],
  [
    'POP taking a MARK off the stack',
    pkl(PROTO4, str('os'), MARK, str('decoy'), POP, POP, str('system'), CALL),
  ],
  [
    'module and name spelled with STRING escapes (protocol 2)',
    pkl(0x80, 2, "S'\\x6fs'\n", "S'sys\\164em'\n", CALL),
  ],
  [
    'module and name spelled with UNICODE raw-unicode-escapes',
    pkl(PROTO4, 'V\\u006fs\n', 'Vsyst\\U00000065m\n', CALL),
  ],
];

describe('pickle STACK_GLOBAL over a modelled stack and memo', () => {
  it('gives a plain os.system import its critical severity', () => {
    expect(plainSeverity).toBe('critical');
  });

  it.each(bypasses)('finds os.system through %s', (_name, bytes) => {
    const findings = scanPickle(bytes);
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: plainSeverity,
        message: expect.stringContaining('imports os.system;'),
      }),
    );
    // Nothing else: no decoy import, no underflow or memo miss in a stream Python loads cleanly.
    expect(ids(findings).sort()).toEqual(['pickle.dangerous_import', 'pickle.stop']);
  });

  it('resolves a dotted name attribute by attribute: torch + os.system is os.system', () => {
    const findings = scanPickle(pkl(PROTO4, str('torch'), str('os.system'), CALL));
    expect(findings[0]).toMatchObject({ id: 'pickle.dangerous_import', severity: 'critical' });
    expect(classifyGlobal('torch', 'os.system')).toBe('critical');
    expect(classifyGlobal('collections', '_sys.modules')).toBe('critical');
    expect(classifyGlobal('numpy', 'core.__builtins__')).toBe('high');
    expect(classifyGlobal('mypkg', 'Outer.Inner')).toBe('high');
    expect(classifyGlobal('collections', 'OrderedDict')).toBeNull();
  });

  it('keeps the memo across concatenated streams and starts each with an empty stack', () => {
    const first = pkl(PROTO4, str('os'), BINPUT, 0, STOP);
    const second = pkl(PROTO4, BINGET, 0, str('system'), CALL);
    expect(scanPickle(pkl(first, second))[0]).toMatchObject({
      id: 'pickle.dangerous_import',
      message: expect.stringContaining('os.system'),
    });
    // The first stream's leftover value is not the second's operand: its STACK_GLOBAL underflows, where
    // Python's second load raises before importing anything. Bytes past that point are no format's data.
    const leftover = scanPickle(pkl(PROTO4, str('os'), str('x'), STOP, PROTO4, str('system'), CALL));
    expect(leftover.map((f) => [f.id, f.severity])).toEqual([
      ['pickle.stop', 'info'],
      ['pickle.trailing_data', 'high'],
    ]);
  });
});

describe('pickle STACK_GLOBAL operands that are not str constants', () => {
  const unresolved = expect.objectContaining({ id: 'pickle.unresolved_global', severity: 'high' });

  it('reports a module built by a REDUCE', () => {
    // builtins.str(('os',)) is a str at load time, but not one the stream spells out.
    const findings = scanPickle(
      pkl(PROTO4, 'cbuiltins\nstr\n', str('os'), TUPLE1, REDUCE, str('system'), CALL),
    );
    expect(findings).toContainEqual(unresolved);
    expect(findings.find((f) => f.id === 'pickle.unresolved_global')!.message).toContain('REDUCE');
  });

  it('reports a name built by a REDUCE, naming the module it did resolve', () => {
    const findings = scanPickle(
      pkl(PROTO4, str('os'), 'cbuiltins\nstr\n', str('system'), TUPLE1, REDUCE, CALL),
    );
    expect(findings).toContainEqual(unresolved);
    expect(findings.find((f) => f.id === 'pickle.unresolved_global')!.message).toContain("module 'os'");
  });

  it('reports an operand fetched from a memo slot never set', () => {
    const findings = scanPickle(pkl(PROTO4, str('os'), BINGET, 9, CALL));
    expect(findings).toContainEqual(unresolved);
    expect(ids(findings)).toContain('pickle.memo_unset');
  });

  it('reports bytes (not str) operands', () => {
    // Python refuses them ('STACK_GLOBAL requires str'); the scan still calls nothing resolved that is not a str.
    const findings = scanPickle(pkl(PROTO4, SHORT_BINBYTES, 2, 'os', str('system'), CALL));
    expect(findings).toContainEqual(unresolved);
  });

  it('reports operands that lie below a MARK, out of its reach', () => {
    const findings = scanPickle(pkl(PROTO4, str('os'), str('system'), MARK, STACK_GLOBAL, STOP));
    expect(findings).toContainEqual(unresolved);
    expect(ids(findings)).toContain('pickle.stack_underflow');
    expect(ids(findings)).not.toContain('pickle.dangerous_import');
  });

  it('reports a stack underflow', () => {
    const findings = scanPickle(pkl(PROTO4, str('system'), CALL));
    expect(findings).toContainEqual(unresolved);
    expect(ids(findings)).toContain('pickle.stack_underflow');
  });
});

describe('benign pickles', () => {
  it('passes a dict of numbers', () => {
    // pickle.dumps({1: 2.5, 'x': [1, 2]}, 2)
    const bytes = pkl(
      0x80,
      2,
      '}q\x00(K\x01G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x01]q\x02(K\x01K\x02eu.',
    );
    expect(scanPickle(bytes).map((f) => f.severity)).toEqual(['info']);
  });

  it('passes protocol 4 collections globals whose module string the pickler reuses through the memo', () => {
    // pickle.dumps([OrderedDict(a=1), Counter('ab')], 4): the second STACK_GLOBAL takes 'collections' by BINGET.
    const body = pkl(
      [0x5d, MEMOIZE, MARK],
      [
        str('collections'),
        MEMOIZE,
        str('OrderedDict'),
        MEMOIZE,
        STACK_GLOBAL,
        MEMOIZE,
        EMPTY_TUPLE,
        REDUCE,
        MEMOIZE,
      ],
      [str('a'), MEMOIZE, 'K\x01s'],
      [BINGET, 1, str('Counter'), MEMOIZE, STACK_GLOBAL, MEMOIZE],
      [
        '}',
        MEMOIZE,
        MARK,
        str('a'),
        MEMOIZE,
        'K\x01',
        str('b'),
        MEMOIZE,
        'K\x01u',
        TUPLE1,
        MEMOIZE,
        REDUCE,
        MEMOIZE,
      ],
      ['e', STOP],
    );
    const bytes = pkl(PROTO4, 0x95, le32(body.length), 0, 0, 0, 0, body);
    const findings = scanPickle(bytes);
    expect(high(findings)).toEqual([]);
    expect(ids(findings)).toEqual(['pickle.stop']);
  });

  it('passes a GLOBAL of collections.OrderedDict (protocol 2)', () => {
    expect(ids(scanPickle(pkl(0x80, 2, 'ccollections\nOrderedDict\nq\x00)Rq\x01.')))).toEqual([
      'pickle.stop',
    ]);
  });
});

describe('malformed pickles', () => {
  it('reports a stack underflow as a finding', () => {
    for (const bytes of [
      pkl(PROTO4, REDUCE, STOP),
      pkl(PROTO4, POP_MARK, STOP),
      pkl(PROTO4, MARK, DUP, STOP),
      pkl(PROTO4, MARK, MEMOIZE, POP, STOP),
      pkl(PROTO4, MARK, 'o', STOP),
      pkl(PROTO4, 'e', STOP),
      pkl(PROTO4, STOP),
    ]) {
      const findings = scanPickle(bytes);
      expect(findings).toContainEqual(
        expect.objectContaining({ id: 'pickle.stack_underflow', severity: 'medium' }),
      );
    }
  });

  it('reports a bad memo index as a finding', () => {
    for (const bytes of [pkl(PROTO4, 'N', 'px\n', STOP), pkl(PROTO4, 'g-1\n', POP, 'N', STOP)])
      expect(ids(scanPickle(bytes))).toContain('pickle.memo_unset');
  });

  it('reports one finding per kind of malformation, with a count', () => {
    const findings = scanPickle(pkl(PROTO4, new Array<number>(10_000).fill(REDUCE), 'N', STOP));
    const underflows = findings.filter((f) => f.id === 'pickle.stack_underflow');
    expect(underflows).toHaveLength(1);
    expect(underflows[0]!.message).toMatch(/\(and \d+ more like it in the stream\)$/);
  });

  it('reports every truncation of a hostile pickle instead of throwing', () => {
    const whole = bypasses[0]![1];
    for (let n = 0; n < whole.length; n++) {
      const findings = scanPickle(whole.subarray(0, n));
      expect(ids(findings)).toContain('pickle.truncated');
      expect(ids(findings)).not.toContain('pickle.scan_error');
    }
  });

  it('never throws on random or mutated bytes', () => {
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    for (let round = 0; round < 2000; round++) {
      const base = bypasses[round % bypasses.length]![1];
      const bytes =
        round % 2 === 0
          ? Uint8Array.from({ length: next() % 200 }, () => next() & 0xff)
          : base.map((b) => (next() % 10 === 0 ? next() & 0xff : b));
      const findings = scanPickle(bytes);
      expect(findings.length).toBeGreaterThan(0);
      expect(ids(findings)).not.toContain('pickle.scan_error');
    }
  });

  it('keeps scanning past a stack too deep to track, treating what it dropped as unknown', () => {
    const deep = new Uint8Array((1 << 22) + 10).fill(0x4e); // NONE, NONE, …
    const bytes = pkl(PROTO4, str('os'), deep, str('os'), str('system'), CALL);
    const findings = scanPickle(bytes);
    expect(findings).toContainEqual(expect.objectContaining({ id: 'pickle.too_complex', severity: 'low' }));
    expect(findings).toContainEqual(
      expect.objectContaining({ id: 'pickle.dangerous_import', severity: 'critical' }),
    );
    // Past the drop, what lies below is unknown, not missing: unresolved, but no underflow.
    const below = scanPickle(pkl(PROTO4, str('os'), deep, POP_MARK, str('system'), STACK_GLOBAL, STOP));
    expect(ids(below)).toContain('pickle.unresolved_global');
    expect(ids(below)).not.toContain('pickle.stack_underflow');
  });
});

describe('pickle imports from allow-listed ML packages', () => {
  /** protocol 2: GLOBAL module.name, called with one str argument. */
  const globalCall = (module: string, name: string): Uint8Array =>
    pkl(0x80, 2, `c${module}\n${name}\n`, str('x'), TUPLE1, REDUCE, STOP);

  it('counts every import in the summary, the benign ones too', () => {
    const findings = scanPickle(pkl(0x80, 2, 'ccollections\nOrderedDict\nq\x00)Rq\x01.'));
    expect(findings).toEqual([
      expect.objectContaining({
        id: 'pickle.stop',
        message: 'pickle ends at byte 34 with 1 call opcode(s) and 1 import(s)',
      }),
    ]);
  });

  it.each([
    ['numpy.testing._private.utils', 'runstring', 'critical'],
    ['torch.hub', 'load', 'critical'],
    ['torch.hub', '_load_local', 'critical'],
    ['torch', 'load', 'high'],
    ['torch.serialization', 'load', 'high'],
    ['torch.storage', '_load_from_bytes', 'high'],
    ['torch.jit', 'load', 'critical'],
    ['numpy', 'load', 'high'],
    ['numpy.lib.npyio', 'load', 'high'],
    ['pandas', 'read_pickle', 'high'],
    ['pandas.io.pickle', 'read_pickle', 'high'],
    ['joblib', 'load', 'high'],
    ['joblib.numpy_pickle', 'load', 'high'],
    ['dill', 'loads', 'high'],
    ['cloudpickle', 'loads', 'high'],
    ['numpy.testing', 'runstring', 'critical'],
    ['numpy.ctypeslib', 'load_library', 'critical'],
    ['torch.serialization', '_legacy_load', 'high'],
    ['torch.jit._serialization', 'load', 'critical'],
    ['numpy.lib.format', 'read_array', 'high'],
    ['joblib.externals.cloudpickle', 'loads', 'high'],
    // Each of these runs code it is handed, or loads a library, a module or TorchScript.
    ['torch.fx.graph_module', 'reduce_graph_module', 'critical'],
    ['torch.fx.graph_module', '_forward_from_src', 'critical'],
    ['torch.fx.graph_module', '_exec_with_source', 'critical'],
    ['torch._dynamo.eval_frame', 'optimize', 'critical'],
    ['torch._inductor.codecache', 'PyCodeCache', 'critical'],
    ['torch.ops', 'load_library', 'critical'],
    ['torch._C', '_import_ir_module', 'critical'],
    ['torch._utils', '_import_dotted_name', 'critical'],
    ['torch.testing._internal.common_utils', 'shell', 'critical'],
    ['torch.distributed.elastic.multiprocessing.subprocess_handler', 'SubprocessHandler', 'critical'],
  ])('flags %s.%s as %s, by GLOBAL and by STACK_GLOBAL', (module, name, severity) => {
    const expected = expect.objectContaining({
      id: 'pickle.dangerous_import',
      severity,
      message: expect.stringContaining(`imports ${module}.${name};`),
    });
    expect(scanPickle(globalCall(module, name))).toContainEqual(expected);
    expect(scanPickle(pkl(PROTO4, str(module), str(name), CALL))).toContainEqual(expected);
    expect(classifyGlobal(module, name)).toBe(severity);
  });

  it('judges the whole dotted path, however the module and name split it', () => {
    expect(classifyGlobal('torch', 'hub.load')).toBe('critical');
    expect(classifyGlobal('numpy.testing', '_private.utils.runstring')).toBe('critical');
    expect(classifyGlobal('torch', 'storage._load_from_bytes')).toBe('high');
    // Or spell a loader out in full from another module.
    expect(classifyGlobal('torch.serialization', 'torch.load')).toBe('high');
    // A prefix only matches whole names: numpy.loadtxt is no numpy.load, only an import not known to be data.
    expect(ids(scanPickle(globalCall('numpy', 'loadtxt')))).toEqual(['pickle.unknown_import', 'pickle.stop']);
  });

  it('keeps the data constructors that models are made of benign', () => {
    for (const [module, name] of [
      ['numpy.core.multiarray', '_reconstruct'],
      ['numpy', 'dtype'],
      ['torch._utils', '_rebuild_tensor_v2'],
      ['torch._utils', '_rebuild_parameter'],
      ['torch._tensor', '_rebuild_from_type_v2'],
      ['torch', 'FloatStorage'],
      ['torch', 'BFloat16Storage'],
      ['torch.storage', 'UntypedStorage'],
      ['torch', 'bfloat16'],
      ['torch', 'float8_e4m3fn'],
      ['torch', 'quint8'],
      ['torch', 'Size'],
      ['torch', 'device'],
      ['torch', 'Tensor'],
      ['torch', 'channels_last'],
      ['torch', 'per_tensor_affine'],
      ['torch.nn.parameter', 'Parameter'],
      ['torch.nn.modules.linear', 'Linear'],
      ['sklearn.linear_model._logistic', 'LogisticRegression'],
      ['joblib.numpy_pickle', 'NumpyArrayWrapper'],
      ['pandas.core.frame', 'DataFrame'],
    ] as const)
      expect(classifyGlobal(module, name)).toBeNull();
  });
});

describe('PyTorch beyond what checkpoints are made of', () => {
  it('finds the fx GraphModule gadget: reduce_graph_module exec()s the code string the pickle carries', () => {
    // reduce_graph_module({'code': "import os; os.system('id')\ndef forward(self): pass"}, ''), protocol 2.
    const code = Buffer.from("import os; os.system('id')\ndef forward(self):\n    pass\n");
    const findings = scanPickle(
      pkl(
        0x80,
        2,
        'ctorch.fx.graph_module\nreduce_graph_module\n',
        '}',
        [0x58, le32(4), 'code'],
        [0x58, le32(code.length), code],
        's',
        [0x58, le32(0)],
        0x86, // TUPLE2
        REDUCE,
        STOP,
      ),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        message: expect.stringContaining('imports torch.fx.graph_module.reduce_graph_module;'),
      }),
      expect.objectContaining({ id: 'pickle.stop', severity: 'info' }),
    ]);
  });

  it('calls the rest of torch an unknown import, vouching for none of it', () => {
    for (const [module, name] of [
      ['torch', 'save'],
      ['torch', 'compile'],
      ['torch.utils.data.dataloader', 'DataLoader'],
      ['torch.distributed.checkpoint.metadata', 'Metadata'],
    ] as const)
      expect(classifyGlobal(module, name)).toBe('high');
  });
});

describe('pickles after the first STOP', () => {
  /** PROTO 2, LONG1 0x1950a86a20f9469cfc6c, STOP: what torch's legacy format writes first. */
  const first = pkl(0x80, 2, 0x8a, 10, [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], STOP);
  const critical = (what: string) =>
    expect.objectContaining({
      id: 'pickle.dangerous_import',
      severity: 'critical',
      message: expect.stringContaining(`imports ${what};`),
    });

  it.each([
    ['protocol 0', osSystemPickleV0(), 'os.system'],
    ['protocol 1 (binary opcodes, no PROTO)', pkl('cposix\nsystem\n(X', le32(2), 'idtR.'), 'posix.system'],
  ])('finds a %s pickle a second load would run', (_name, payload, what) => {
    const findings = scanPickle(pkl(first, payload));
    expect(findings).toContainEqual(critical(what));
    expect(findings.at(-1)).toMatchObject({
      id: 'pickle.stop',
      message: expect.stringContaining(`byte ${first.length + payload.length}`),
    });
  });

  it('scans on through any number of streams', () => {
    const findings = scanPickle(pkl(first, new Array<string>(50_000).fill('N.'), osSystemPickleV0()));
    expect(findings).toContainEqual(critical('os.system'));
  });

  it('reports what a following stream imports before the point where its load would fail', () => {
    // os.system is called by the REDUCE; Python raises only at the byte after it, too late.
    const payload = osSystemPickleV0().subarray(0, -1);
    const findings = scanPickle(pkl(first, payload, 0xff));
    expect(findings).toContainEqual(critical('os.system'));
    expect(ids(findings)).not.toContain('pickle.invalid_opcode');
    expect(findings.at(-1)).toMatchObject({
      id: 'pickle.trailing_data',
      severity: 'info',
      location: `pickle@${first.length}`,
    });
  });

  it.each([
    // torch's legacy format: after its pickles, each storage's element count (int64) and raw bytes.
    ['a count that reads as STACK_GLOBAL (147 elements)', [0x93, ...new Uint8Array(71)]],
    ['a count that reads as PROTO 2 (640 elements)', [0x80, 2, ...new Uint8Array(70)]],
    [
      'a count (99 elements) and float32 data that read as GLOBAL of names no module has',
      [0x63, ...new Uint8Array(7), 0x0a, ...Buffer.from(new Float32Array([1.5, 2]).buffer), 0x0a, 0x00],
    ],
    ['a count that reads as an opcode whose argument runs past the end', [0x4a, 1]],
    ['bytes that read as opcodes to the end, without STOP', [...Buffer.from('NNN')]],
  ])('reports trailing data that is no pickle as info: %s', (_name, data) => {
    const findings = scanPickle(pkl(first, data));
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ['pickle.stop', 'info'],
      ['pickle.trailing_data', 'info'],
    ]);
    expect(findings[0]!.message).toBe('pickle ends at byte 15 with 0 call opcode(s) and 0 import(s)');
  });

  it.each([
    ['ends', []],
    ['fails on an invalid opcode', [0xff]],
  ])(
    'keeps what a following stream imports and calls before it %s, in the legacy format too',
    (_name, tail) => {
      // imaplib.IMAP4_stream(cmd) runs cmd in a shell: torch's _legacy_load calls it in its second pickle.load,
      // which then fails at the end of the file.
      const payload = pkl("cimaplib\nIMAP4_stream\n(S'touch /tmp/pwned'\ntR", tail);
      const findings = scanPickle(pkl(first, payload));
      expect(findings.map((f) => [f.id, f.severity])).toEqual([
        ['pickle.unknown_import', 'high'],
        ['pickle.stop', 'info'],
        ['pickle.trailing_data', 'info'],
      ]);
      expect(findings[0]).toMatchObject({
        message: expect.stringContaining('imports imaplib.IMAP4_stream,'),
        location: `pickle@${first.length}`,
      });
    },
  );

  it('keeps an unknown import of names a module could have, though the stream then fails', () => {
    // Python imports ab (running its code, were there such a module) before the NULs stop the load.
    const findings = scanPickle(pkl(first, 'cab\ncd\n', new Uint8Array(8)));
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ['pickle.unknown_import', 'high'],
      ['pickle.stop', 'info'],
      ['pickle.trailing_data', 'info'],
    ]);
  });

  it('reports bytes after the last pickle of any other file as high: they may hide what a further load runs', () => {
    // joblib's array bytes `N.` read as NONE STOP, then POP fails; os.system lies past the failure.
    const findings = scanPickle(pkl(0x80, 2, 'K', 1, STOP, 'N', STOP, POP, osSystemPickleV0()));
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ['pickle.stop', 'info'],
      ['pickle.trailing_data', 'high'],
    ]);
  });
});

describe('pickles inside bytes constants', () => {
  const SHORT_BINBYTES_OF = (inner: Uint8Array): Part => [SHORT_BINBYTES, inner.length, inner];
  const BINBYTES_OF = (inner: Uint8Array): Part => [0x42, le32(inner.length), inner];
  const BINBYTES8_OF = (inner: Uint8Array): Part => [0x8e, le32(inner.length), 0, 0, 0, 0, inner];
  /** torch.storage._load_from_bytes(<inner>), as a protocol 2 pickle: the constant is at byte 34. */
  const loadFromBytes = (constant: Part): Uint8Array =>
    pkl(0x80, 2, 'ctorch.storage\n_load_from_bytes\n', constant, TUPLE1, REDUCE, STOP);
  const osSystem = pkl(PROTO4, str('os'), str('system'), CALL);

  it.each([
    ['SHORT_BINBYTES', SHORT_BINBYTES_OF],
    ['BINBYTES', BINBYTES_OF],
    ['BINBYTES8', BINBYTES8_OF],
  ])('scans a pickle held in a %s constant, saying where it is nested', (_name, constant) => {
    const findings = scanPickle(loadFromBytes(constant(osSystem)));
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'high',
        message: expect.stringContaining('torch.storage._load_from_bytes'),
        location: 'pickle@2',
      }),
    );
    // The inner stream's STACK_GLOBAL is its byte 14.
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        message: expect.stringContaining('imports os.system;'),
        location: 'pickle@34>nested@14',
      }),
    );
  });

  const MALFORMED_IDS = [
    'pickle.truncated',
    'pickle.invalid_opcode',
    'pickle.stack_underflow',
    'pickle.memo_unset',
  ];
  // pickle.loads(<the same inner pickle>), the constant carried as each protocol without bytes opcodes does.
  const latin1Text = (inner: Uint8Array): string => Buffer.from(inner).toString('latin1');
  const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
  /** Python's raw-unicode-escape as pickle's protocol 0 applies it: these five characters as \uXXXX. */
  const rawUnicodeEscape = (text: string): string =>
    [...text]
      .map((c) => ('\\\0\n\r\x1a'.includes(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c))
      .join('');
  const hexEscaped = (inner: Uint8Array): string =>
    [...inner].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  const innerText = latin1Text(osSystem);
  it.each([
    [
      "protocol 2's _codecs.encode(str, 'latin1') with a BINUNICODE",
      pkl(
        0x80,
        2,
        'cpickle\nloads\n',
        'c_codecs\nencode\n',
        0x58,
        le32(utf8(innerText).length),
        utf8(innerText),
        str('latin1'),
        0x86,
        REDUCE,
        TUPLE1,
        REDUCE,
        STOP,
      ),
    ],
    [
      "protocol 0's _codecs.encode(str, 'latin1') with a UNICODE line",
      pkl('cpickle\nloads\n(c_codecs\nencode\n(V', rawUnicodeEscape(innerText), '\nVlatin1\ntRtR.'),
    ],
    [
      'a Python 2 str in a SHORT_BINSTRING',
      pkl(0x80, 2, 'cpickle\nloads\n', 0x55, osSystem.length, osSystem, TUPLE1, REDUCE, STOP),
    ],
    ['a Python 2 str in a quoted STRING line', pkl("cpickle\nloads\n(S'", hexEscaped(osSystem), "'\ntR.")],
  ])('scans a pickle held in a str constant: %s', (_name, outer) => {
    const findings = scanPickle(outer);
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        message: expect.stringContaining('imports os.system;'),
        location: expect.stringMatching(/^pickle@\d+>nested@14$/),
      }),
    );
    expect(findings.filter((f) => MALFORMED_IDS.includes(f.id))).toEqual([]);
  });

  it('reads as plain text a str that starts as a pickle but is none, or holds characters beyond latin-1', () => {
    for (const text of [latin1Text(pkl(PROTO4, str('os'))), `${innerText}\u0100`]) {
      const findings = scanPickle(pkl(PROTO4, 0x8d, le32(utf8(text).length), 0, 0, 0, 0, utf8(text), STOP));
      expect(findings.filter((f) => f.location?.includes('>nested'))).toEqual([]);
    }
  });

  it(`scans pickles nested three deep and refuses one nested deeper`, () => {
    const wrap = (inner: Uint8Array): Uint8Array =>
      pkl(PROTO4, str('pickle'), str('loads'), STACK_GLOBAL, BINBYTES_OF(inner), TUPLE1, REDUCE, STOP);
    const three = wrap(wrap(wrap(osSystem)));
    expect(scanPickle(three)).toContainEqual(
      expect.objectContaining({
        message: expect.stringContaining('imports os.system;'),
        location: expect.stringMatching(/^pickle@\d+>nested@\d+>nested@\d+>nested@14$/),
      }),
    );
    const four = scanPickle(wrap(three));
    expect(four).toContainEqual(
      expect.objectContaining({
        id: 'pickle.nested_too_deep',
        severity: 'high',
        location: expect.stringMatching(/^(pickle@\d+)(>nested@\d+){3}>nested$/),
      }),
    );
    expect(four.map((f) => f.message).join('\n')).not.toContain('os.system');
  });

  it('leaves bytes alone that do not start as a pickle of protocol 2 to 5', () => {
    for (const inner of [pkl(0x80, 9, osSystem.subarray(2)), pkl(0x80, 1, 'N.'), pkl('cos\nsystem\n')]) {
      const findings = scanPickle(loadFromBytes(SHORT_BINBYTES_OF(inner)));
      expect(findings.filter((f) => f.location?.includes('>nested'))).toEqual([]);
    }
  });

  it('reads as data a constant that starts as a pickle but is none, and scans on', () => {
    const findings = scanPickle(
      pkl(PROTO4, SHORT_BINBYTES_OF(pkl(PROTO4, str('os'))), POP, str('posix'), str('system'), CALL),
    );
    expect(findings.filter((f) => f.location?.includes('>nested'))).toEqual([]);
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        message: expect.stringContaining('posix.system'),
      }),
    );
  });

  it('finds nothing in array data that begins as a pickle would', () => {
    // numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') then BUILD with the raw data of an int64 array
    // [640, 1000], whose first bytes, 80 02 00 …, are PROTO 2; and of a float32 array whose first weight,
    // 1.1485137939453125, is 80 02 93 3f: PROTO 2 and STACK_GLOBAL.
    const int64s = Buffer.alloc(16);
    int64s.writeBigInt64LE(640n, 0);
    int64s.writeBigInt64LE(1000n, 8);
    const floats = Buffer.alloc(8);
    floats.writeFloatLE(1.1485137939453125, 0);
    floats.writeFloatLE(-0.25, 4);
    for (const data of [int64s, floats]) {
      const array = pkl(
        PROTO4,
        str('numpy.core.multiarray'),
        str('_reconstruct'),
        STACK_GLOBAL,
        str('numpy'),
        str('ndarray'),
        STACK_GLOBAL,
        EMPTY_TUPLE,
        SHORT_BINBYTES_OF(pkl('b')),
        0x87, // TUPLE3
        REDUCE,
        MARK,
        SHORT_BINBYTES_OF(new Uint8Array(data)),
        0x74, // TUPLE
        0x62, // BUILD
        STOP,
      );
      expect(data.subarray(0, 2)).toEqual(Buffer.of(0x80, 0x02));
      const findings = scanPickle(array);
      expect(findings.map((f) => [f.id, f.severity])).toEqual([['pickle.stop', 'info']]);
    }
  });

  it('reports what nested pickles repeat once, with a count', () => {
    const inner = pkl(PROTO4, str('somepackage'), str('helper'), STACK_GLOBAL, 0x4e, STOP);
    const many = pkl(
      PROTO4,
      Array.from({ length: 5000 }, () => [SHORT_BINBYTES_OF(inner), POP]),
      0x4e,
      STOP,
    );
    const findings = scanPickle(many);
    const unknown = findings.filter((f) => f.id === 'pickle.unknown_import');
    expect(unknown).toHaveLength(1);
    expect(unknown[0]!.message).toMatch(
      /somepackage\.helper.*\(and 4999 more like it in other nested pickles\)$/,
    );
  });

  it('lists at most 1,000 findings, the most severe first, and counts the rest', () => {
    const imports = Array.from({ length: 3000 }, (_, i) => [str(`pkg${i}`), str('f'), STACK_GLOBAL, POP]);
    const findings = scanPickle(pkl(PROTO4, imports, str('os'), str('system'), CALL));
    expect(findings).toHaveLength(1000);
    expect(findings[0]).toMatchObject({
      severity: 'critical',
      message: expect.stringContaining('os.system'),
    });
    expect(findings.at(-1)).toMatchObject({
      id: 'pickle.too_many_findings',
      message: expect.stringMatching(/^2003 further findings/), // 3,000 imports, os.system and the STOP, less 999
    });
  });
});

describe("joblib's array wrappers", () => {
  const NEWOBJ = 0x81;
  const BUILD = 0x62;
  /** numpy.dtype(descr, False, True), then BUILD with `state` where given. */
  const dtype = (descr: string, state: Part = []): Part => [
    'cnumpy\ndtype\n',
    str(descr),
    0x89,
    0x88,
    0x87,
    REDUCE,
    state,
  ];
  /** The state dict joblib pickles for a wrapper (numpy_pickle.NumpyArrayWrapper.__init__). */
  const state = (shape: number[], dtypePart: Part, aligned: boolean): Part => [
    [str('subclass'), 'cnumpy\nndarray\n'],
    [str('shape'), MARK, shape.map((n) => ['M', n & 0xff, n >> 8]), 't'],
    [str('order'), str('C'), str('dtype'), dtypePart, str('allow_mmap'), 0x89],
    [str('numpy_array_alignment_bytes'), aligned ? ['K', 16] : 'N'],
  ];
  /** What joblib.dump writes: the wrapper, its BUILD, the array's bytes, then the rest of the pickle. */
  const joblibFile = (fields: Part, data: Part, rest: Part = []): Uint8Array =>
    pkl(
      0x80,
      2,
      'cjoblib.numpy_pickle\nNumpyArrayWrapper\n',
      EMPTY_TUPLE,
      NEWOBJ,
      '}',
      MARK,
      fields,
      'u',
      BUILD,
      data,
      rest,
      STOP,
    );
  const critical = expect.objectContaining({
    id: 'pickle.dangerous_import',
    severity: 'critical',
    message: expect.stringContaining('os.system'),
  });
  const osSystemCall = "cos\nsystem\n(S'id'\ntR";

  it('steps over the bytes joblib reads, to the GLOBAL after them (array bytes that read as NONE STOP)', () => {
    const findings = scanPickle(joblibFile(state([2], dtype('u1'), false), 'N.', [POP, osSystemCall]));
    expect(findings).toContainEqual(critical);
    expect(ids(findings)).not.toContain('pickle.trailing_data');
  });

  it("sizes an array from its shape, its dtype's itemsize and joblib's alignment padding, and passes it", () => {
    const floats = Buffer.from(new Float64Array([1.5, -2, 3.25]).buffer);
    const padded = [3, 0, 0, 0, floats];
    expect(ids(scanPickle(joblibFile(state([3], dtype('<f8'), true), padded)))).toEqual(['pickle.stop']);
    // A flexible dtype's size is its state's: a U2 (8 bytes) said to be 24 in BUILD's state is read as 24.
    const u2State = [MARK, 'K', 3, str('<'), 'N', 'N', 'N', 'K', 24, 'K', 4, 'K', 8, 't', BUILD];
    const strings = joblibFile(state([1], dtype('U2', u2State), false), new Uint8Array(24), [
      POP,
      osSystemCall,
    ]);
    expect(scanPickle(strings)).toContainEqual(critical);
  });

  it('scans the pickle joblib writes for an object array, and goes on after it', () => {
    const findings = scanPickle(joblibFile(state([1], dtype('O8'), false), osSystemPickleV0()));
    expect(findings.filter((f) => f.severity === 'critical')).toEqual([critical]);
    expect(findings.filter((f) => MALFORMED_IDS.includes(f.id))).toEqual([]);
  });

  it('reads the array bytes as pickle.load would too, as opcodes', () => {
    const code = Buffer.from(`${osSystemCall}.`, 'latin1');
    expect(scanPickle(joblibFile(state([code.length], dtype('u1'), false), code))).toContainEqual(critical);
  });

  it('reports a wrapper whose array length it cannot work out as high', () => {
    const findings = scanPickle(joblibFile(state([2], dtype('x9'), false), 'N.', [POP, osSystemCall]));
    expect(findings).toContainEqual(expect.objectContaining({ id: 'pickle.joblib_array', severity: 'high' }));
  });
});

const MALFORMED_IDS = [
  'pickle.truncated',
  'pickle.invalid_opcode',
  'pickle.stack_underflow',
  'pickle.memo_unset',
];

describe('imports inside allow-listed packages, and what gives code execution', () => {
  it.each([
    // What a prefix of sklearn., numpy. or collections. vouched for.
    ['sklearn.utils._testing', 'check_output', 'critical'],
    ['sklearn.utils._testing', 'assert_run_python_script_without_output', 'critical'],
    ['numpy', 'savetxt', 'high'],
    ['collections', '_sys', 'critical'],
    // attrgetter('modules')(sys) is sys.modules; methodcaller('system', cmd)(os) runs it.
    ['operator', 'attrgetter', 'high'],
    ['operator', 'methodcaller', 'high'],
    ['operator', 'itemgetter', 'high'],
    ['_operator', 'attrgetter', 'high'],
    ['types', 'FunctionType', 'high'],
    ['types', 'CodeType', 'high'],
    // Code runners of the standard library.
    ['timeit', 'timeit', 'critical'],
    ['pydoc', 'pipepager', 'critical'],
    ['profile', 'run', 'critical'],
    ['cProfile', 'run', 'critical'],
    ['doctest', 'debug_script', 'critical'],
    ['pkgutil', 'resolve_name', 'high'],
    ['_posixsubprocess', 'fork_exec', 'critical'],
    ['codeop', 'compile_command', 'high'],
    ['numpy.core', '_ufunc_reconstruct', 'critical'],
    ['joblib.numpy_pickle_compat', 'NDArrayWrapper', 'high'],
  ] as const)('flags %s.%s as a dangerous import (%s)', (module, name, severity) => {
    expect(scanPickle(pkl(0x80, 2, `c${module}\n${name}\n`, str('x'), TUPLE1, REDUCE, STOP))).toContainEqual(
      expect.objectContaining({ id: 'pickle.dangerous_import', severity }),
    );
  });

  it('calls any import not known to be data an unknown import, high', () => {
    for (const [module, name] of [
      ['mypkg', 'Thing'],
      ['sklearn.datasets', 'fetch_openml'],
      ['pandas', 'ExcelWriter'],
      ['scipy', 'LowLevelCallable'],
      ['constructor', 'x'],
    ] as const)
      expect(scanPickle(pkl(0x80, 2, `c${module}\n${name}\n`, STOP))).toContainEqual(
        expect.objectContaining({ id: 'pickle.unknown_import', severity: 'high' }),
      );
  });

  it('keeps the classes and functions real models are pickled with benign', () => {
    for (const [module, name] of [
      ['sklearn.pipeline', 'Pipeline'],
      ['sklearn.tree._tree', 'Tree'],
      ['sklearn._loss.loss', 'HalfBinomialLoss'],
      ['sklearn.feature_selection._univariate_selection', 'f_classif'],
      ['sklearn.neighbors._kd_tree', 'newObj'],
      ['numpy', 'float64'],
      ['numpy', 'log1p'],
      ['numpy._core.multiarray', '_reconstruct'],
      ['scipy.sparse._csr', 'csr_matrix'],
      ['xgboost.sklearn', 'XGBClassifier'],
      ['xgboost.core', 'Booster'],
      ['lightgbm.sklearn', 'LGBMClassifier'],
      ['collections', 'OrderedDict'],
    ] as const)
      expect(classifyGlobal(module, name)).toBeNull();
  });
});

describe("Python 2's names", () => {
  it("maps cPickle to pickle, and scans a protocol 0 pickle that _codecs.encode's str carries", () => {
    const inner = osSystemPickleV0();
    const findings = scanPickle(
      pkl('ccPickle\nloads\n(c_codecs\nencode\n(X', le32(inner.length), inner, "S'latin1'\ntRtR."),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'high',
        message: expect.stringContaining('cPickle.loads (Python 3 reads it as pickle.loads)'),
      }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'pickle.dangerous_import',
        severity: 'critical',
        message: expect.stringContaining('imports os.system;'),
        location: 'pickle@33>nested@0',
      }),
    );
  });

  it('maps names below protocol 3 only, as find_class does', () => {
    const judged = (proto: number, module: string, name: string) =>
      scanPickle(pkl(0x80, proto, `c${module}\n${name}\n`, STOP)).filter((f) => f.id !== 'pickle.stop');
    expect(judged(2, 'httplib', 'HTTPConnection')).toEqual([
      expect.objectContaining({ id: 'pickle.dangerous_import', severity: 'high' }),
    ]);
    expect(judged(2, 'copy_reg', '_reconstructor')).toEqual([]);
    expect(judged(2, '__builtin__', 'unicode')).toEqual([
      expect.objectContaining({
        id: 'pickle.unknown_import',
        message: expect.stringContaining('builtins.str'),
      }),
    ]);
    expect(judged(3, 'copy_reg', '_reconstructor')).toEqual([
      expect.objectContaining({ id: 'pickle.unknown_import', severity: 'high' }),
    ]);
  });

  it('scans a bytes constant that holds a protocol 0 pickle, but not one that reads so by chance', () => {
    const inner = osSystemPickleV0();
    const findings = scanPickle(
      pkl(PROTO4, str('pickle'), str('loads'), STACK_GLOBAL, 0x43, inner.length, inner, TUPLE1, REDUCE, STOP),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({ severity: 'critical', location: 'pickle@18>nested@0' }),
    );
    // int8 data [99, 10, 10, 46]: GLOBAL of '' and '', then STOP. An unknown import there is no finding.
    const chance = scanPickle(pkl(PROTO4, 0x43, 4, [99, 10, 10, 46], STOP));
    expect(ids(chance)).toEqual(['pickle.stop']);
  });
});

describe('sklearn functions, and calls of what a call returned', () => {
  /** BINUNICODE: a str constant in protocol 2. */
  const text = (s: string): Part => [0x58, le32(Buffer.byteLength(s)), Buffer.from(s)];
  /** `callee` called with one str argument: MARK, the str, TUPLE, REDUCE. */
  const callWith = (s: string): Part => [MARK, text(s), 't', REDUCE];

  it("finds the reviewer's chain: attrgetter taken from an sklearn module, and each call of what it returned", () => {
    // attrgetter('__builtins__.get')(accuracy_score) is the builtins dict's get; get('eval') is eval, then called.
    const chain = pkl(
      0x80,
      2,
      'csklearn.feature_selection._base\nattrgetter\n',
      callWith('__builtins__.get'),
      MARK,
      'csklearn.metrics\naccuracy_score\n',
      't',
      REDUCE,
      callWith('eval'),
      callWith("__import__('os').system('touch /tmp/pwned')"),
      STOP,
    );
    const findings = scanPickle(chain);
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ['pickle.unknown_import', 'high'],
      ['pickle.call_of_call', 'high'],
      ['pickle.stop', 'info'],
    ]);
    expect(findings[0]!.message).toContain('imports sklearn.feature_selection._base.attrgetter,');
    expect(findings[1]!.message).toMatch(
      /^REDUCE calls what the REDUCE at byte \d+ returned.*\(and 2 more like it/,
    );
  });

  it('allows only the exact names of sklearn scorers and score functions, not what their modules import', () => {
    for (const [module, name] of [
      ['sklearn.metrics', 'accuracy_score'],
      ['sklearn.metrics._classification', 'f1_score'],
      ['sklearn.metrics._regression', 'r2_score'],
      ['sklearn.metrics._ranking', 'roc_auc_score'],
      ['sklearn.metrics.cluster._supervised', 'adjusted_rand_score'],
      ['sklearn.metrics.cluster', 'adjusted_rand_score'],
      ['sklearn.metrics.pairwise', 'rbf_kernel'],
      ['sklearn.feature_selection', 'chi2'],
      ['sklearn.feature_selection._univariate_selection', 'f_classif'],
      ['sklearn.feature_selection._mutual_info', 'mutual_info_classif'],
      ['sklearn.metrics._dist_metrics', 'newObj'],
      ['sklearn.neighbors._ball_tree', 'newObj'],
    ] as const)
      expect(classifyGlobal(module, name)).toBeNull();
    for (const [module, name] of [
      ['sklearn.feature_selection._base', 'attrgetter'],
      ['sklearn.metrics._scorer', 'partial'],
      ['sklearn.metrics', 'check_scoring'],
      ['sklearn.metrics.pairwise', 'pairwise_distances'],
      ['sklearn.metrics._classification', 'accuracy_scores'],
      ['sklearn.feature_selection._univariate_selection', 'f_classif_'],
    ] as const)
      expect(classifyGlobal(module, name)).toBe('high');
  });

  it('flags a call of what a call returned, even where every import is data', () => {
    // OrderedDict()() fails in Python, but the scan cannot know what a call returns: only that no import names it.
    const findings = scanPickle(
      pkl(
        0x80,
        2,
        'ccollections\nOrderedDict\n',
        EMPTY_TUPLE,
        REDUCE,
        BINPUT,
        1,
        POP,
        BINGET,
        1,
        EMPTY_TUPLE,
        REDUCE,
        STOP,
      ),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        id: 'pickle.call_of_call',
        severity: 'high',
        message: expect.stringContaining('calls what the REDUCE at byte 28 returned'),
        location: 'pickle@35',
      }),
      expect.objectContaining({ id: 'pickle.stop' }),
    ]);
    // NEWOBJ and OBJ call too.
    const newobj = pkl(0x80, 2, 'ccollections\nOrderedDict\n', EMPTY_TUPLE, REDUCE, EMPTY_TUPLE, 0x81, STOP);
    expect(ids(scanPickle(newobj))).toEqual(['pickle.call_of_call', 'pickle.stop']);
    const obj = pkl(0x80, 2, MARK, 'ccollections\nOrderedDict\n', EMPTY_TUPLE, REDUCE, 'N', 'o', STOP);
    expect(ids(scanPickle(obj))).toEqual(['pickle.call_of_call', 'pickle.stop']);
  });

  it('passes what numpy, torch and sklearn pickles do with a call result: hand it to another call, or BUILD it', () => {
    // numpy.core.multiarray.scalar(numpy.dtype('f8', False, True) with its state, 8 bytes): a float64 scalar.
    const scalar = pkl(
      0x80,
      2,
      'cnumpy.core.multiarray\nscalar\n',
      'cnumpy\ndtype\n',
      text('f8'),
      0x89,
      0x88,
      0x87,
      REDUCE,
      [MARK, 'K', 3, text('<'), 'N', 'N', 'N', 'J', le32(-1 >>> 0), 'J', le32(-1 >>> 0), 'K', 0, 't', 'b'],
      [0x43, 8, new Uint8Array(8)],
      0x86,
      REDUCE,
      STOP,
    );
    expect(ids(scanPickle(scalar))).toEqual(['pickle.stop']);
    // torch.save's state_dict entry: _rebuild_tensor_v2(storage, 0, (2,), (1,), False, OrderedDict()).
    const tensor = pkl(
      0x80,
      2,
      'ccollections\nOrderedDict\n',
      EMPTY_TUPLE,
      REDUCE,
      BINPUT,
      0,
      MARK,
      text('w'),
      'ctorch._utils\n_rebuild_tensor_v2\n',
      MARK,
      [MARK, text('storage'), 'ctorch\nFloatStorage\n', text('0'), text('cpu'), 'K', 2, 't', 'Q'],
      ['K', 0, 'K', 2, TUPLE1, 'K', 1, TUPLE1, 0x89, 'ccollections\nOrderedDict\n', EMPTY_TUPLE, REDUCE],
      't',
      REDUCE,
      'u',
      STOP,
    );
    expect(ids(scanPickle(tensor))).toEqual(['pickle.stop']);
    // An estimator: NEWOBJ of its class, BUILD with a dict holding a scorer's score function.
    const estimator = pkl(
      0x80,
      2,
      'csklearn.feature_selection._univariate_selection\nSelectKBest\n',
      EMPTY_TUPLE,
      0x81,
      '}',
      [text('score_func'), 'csklearn.feature_selection._univariate_selection\nf_classif\n', 's'],
      'b',
      STOP,
    );
    expect(ids(scanPickle(estimator))).toEqual(['pickle.stop']);
  });
});
