import type { Finding, Severity } from './findings.ts';

// Reads a pickle's opcode stream without unpickling it (pickletools' opcode table, protocols 0–5). Loading a
// pickle can import and call any callable; what it would import is visible in GLOBAL / INST arguments and in the
// two strings STACK_GLOBAL takes from the stack, so those are classified. To know what STACK_GLOBAL takes, the
// scan runs the stream symbolically, as pickle.py's _Unpickler would: a stack with its MARK fences and a memo,
// whose slots hold either a str constant the stream spelled out or "anything else". Every opcode pops and pushes
// per its stack effect (pickletools' stack_before / stack_after); nothing is ever imported or called. See
// https://github.com/python/cpython/blob/main/Lib/pickletools.py and Lib/pickle.py.

type Arg = 'none' | 'line' | 'twolines' | 1 | 2 | 4 | 8 | 'len1' | 'len4' | 'len8';
/**
 * Values an opcode pops: a count; 'mark', everything above the topmost MARK and the MARK; 'mark+1', that and then
 * the list, dict or set below it, which the opcode extends (and the table's push puts back).
 */
type Pops = number | 'mark' | 'mark+1';
/** How the argument of an opcode that pushes a str becomes that str (pickle.py's load_* for the opcode). */
type Text = 'utf8' | 'latin1' | 'escaped' | 'raw-unicode-escape';

interface Opcode {
  name: string;
  arg: Arg;
  pops: Pops;
  pushes: number;
  text?: Text;
}

const OPCODES: Record<number, Opcode> = {};
const def = (
  code: string | number,
  name: string,
  arg: Arg,
  pops: Pops,
  pushes: number,
  text?: Text,
): void => {
  OPCODES[typeof code === 'string' ? code.charCodeAt(0) : code] = { name, arg, pops, pushes, text };
};
// MARK, POP, DUP, the memo opcodes and STACK_GLOBAL are run by hand in scanPickle; their entries document them.
def('(', 'MARK', 'none', 0, 0);
def('.', 'STOP', 'none', 1, 0);
def('0', 'POP', 'none', 1, 0);
def('1', 'POP_MARK', 'none', 'mark', 0);
def('2', 'DUP', 'none', 1, 2);
def('F', 'FLOAT', 'line', 0, 1);
def('I', 'INT', 'line', 0, 1);
def('J', 'BININT', 4, 0, 1);
def('K', 'BININT1', 1, 0, 1);
def('L', 'LONG', 'line', 0, 1);
def('M', 'BININT2', 2, 0, 1);
def('N', 'NONE', 'none', 0, 1);
def('P', 'PERSID', 'line', 0, 1);
def('Q', 'BINPERSID', 'none', 1, 1);
def('R', 'REDUCE', 'none', 2, 1);
def('S', 'STRING', 'line', 0, 1, 'escaped');
def('T', 'BINSTRING', 'len4', 0, 1, 'latin1');
def('U', 'SHORT_BINSTRING', 'len1', 0, 1, 'latin1');
def('V', 'UNICODE', 'line', 0, 1, 'raw-unicode-escape');
def('X', 'BINUNICODE', 'len4', 0, 1, 'utf8');
def('a', 'APPEND', 'none', 2, 1);
def('b', 'BUILD', 'none', 2, 1);
def('c', 'GLOBAL', 'twolines', 0, 1);
def('d', 'DICT', 'none', 'mark', 1);
def('}', 'EMPTY_DICT', 'none', 0, 1);
def('e', 'APPENDS', 'none', 'mark+1', 1);
def('g', 'GET', 'line', 0, 1);
def('h', 'BINGET', 1, 0, 1);
def('i', 'INST', 'twolines', 'mark', 1);
def('j', 'LONG_BINGET', 4, 0, 1);
def('l', 'LIST', 'none', 'mark', 1);
def(']', 'EMPTY_LIST', 'none', 0, 1);
def('o', 'OBJ', 'none', 'mark', 1);
def('p', 'PUT', 'line', 0, 0);
def('q', 'BINPUT', 1, 0, 0);
def('r', 'LONG_BINPUT', 4, 0, 0);
def('s', 'SETITEM', 'none', 3, 1);
def('t', 'TUPLE', 'none', 'mark', 1);
def(')', 'EMPTY_TUPLE', 'none', 0, 1);
def('u', 'SETITEMS', 'none', 'mark+1', 1);
def('G', 'BINFLOAT', 8, 0, 1);
def(0x80, 'PROTO', 1, 0, 0);
def(0x81, 'NEWOBJ', 'none', 2, 1);
def(0x82, 'EXT1', 1, 0, 1);
def(0x83, 'EXT2', 2, 0, 1);
def(0x84, 'EXT4', 4, 0, 1);
def(0x85, 'TUPLE1', 'none', 1, 1);
def(0x86, 'TUPLE2', 'none', 2, 1);
def(0x87, 'TUPLE3', 'none', 3, 1);
def(0x88, 'NEWTRUE', 'none', 0, 1);
def(0x89, 'NEWFALSE', 'none', 0, 1);
def(0x8a, 'LONG1', 'len1', 0, 1);
def(0x8b, 'LONG4', 'len4', 0, 1);
def('B', 'BINBYTES', 'len4', 0, 1);
def('C', 'SHORT_BINBYTES', 'len1', 0, 1);
def(0x8c, 'SHORT_BINUNICODE', 'len1', 0, 1, 'utf8');
def(0x8d, 'BINUNICODE8', 'len8', 0, 1, 'utf8');
def(0x8e, 'BINBYTES8', 'len8', 0, 1);
def(0x8f, 'EMPTY_SET', 'none', 0, 1);
def(0x90, 'ADDITEMS', 'none', 'mark+1', 1);
def(0x91, 'FROZENSET', 'none', 'mark', 1);
def(0x92, 'NEWOBJ_EX', 'none', 3, 1);
def(0x93, 'STACK_GLOBAL', 'none', 2, 1);
def(0x94, 'MEMOIZE', 'none', 0, 0);
def(0x95, 'FRAME', 8, 0, 0);
def(0x96, 'BYTEARRAY8', 'len8', 0, 1);
def(0x97, 'NEXT_BUFFER', 'none', 0, 1);
def(0x98, 'READONLY_BUFFER', 'none', 1, 1);

// Modules whose every callable can run commands, reach the network or load code (ModelScan's unsafe list).
const DANGEROUS_MODULES: Record<string, Severity> = {
  os: 'critical',
  posix: 'critical',
  nt: 'critical',
  subprocess: 'critical',
  sys: 'critical',
  socket: 'critical',
  shutil: 'critical',
  runpy: 'critical',
  pty: 'critical',
  commands: 'critical',
  ctypes: 'critical',
  importlib: 'high',
  marshal: 'high',
  pickle: 'high',
  _pickle: 'high',
  code: 'high',
  webbrowser: 'high',
  requests: 'high',
  urllib: 'high',
  'urllib.request': 'high',
  http: 'high',
  'http.client': 'high',
  asyncio: 'high',
  bdb: 'high',
  pdb: 'high',
  // Unpicklers of their own: what they load is a pickle this scan never sees.
  dill: 'high',
  cloudpickle: 'high',
  pip: 'critical',
  types: 'medium',
};

/**
 * Callables inside the ML packages SAFE_PREFIXES allows that run code, fetch it, or load a further pickle (or
 * a file that holds one) that this scan never sees: picklescan's and ModelScan's unsafe globals. Each entry is
 * a dotted prefix of `module.name`, and is judged before SAFE_PREFIXES, so that an allow-listed package never
 * vouches for one.
 */
const DANGEROUS_IN_SAFE_PACKAGES: [prefix: string, severity: Severity][] = [
  // runstring(astr, dict) is exec(astr, dict); numpy.testing re-exports it.
  ['numpy.testing', 'critical'],
  // Downloads a repository and runs its hubconf.py.
  ['torch.hub', 'critical'],
  // Run Python source they are handed: a pickled fx GraphModule is rebuilt by reduce_graph_module, which
  // exec()s the code string the pickle carries; dynamo, inductor and export generate code and load it the same way.
  ['torch.fx', 'critical'],
  ['torch._dynamo', 'critical'],
  ['torch._inductor', 'critical'],
  ['torch.export', 'critical'],
  ['torch._export', 'critical'],
  ['torch.compiler', 'critical'],
  // TorchScript: compiles source text and loads archives whose code runs at load (__setstate__); torch._C holds
  // its native half (_jit_script_compile, _import_ir_module) among names too many to list one by one.
  ['torch.jit', 'critical'],
  ['torch._C', 'critical'],
  // load_library dlopen()s a shared object; import_module imports any module.
  ['torch.ops', 'critical'],
  ['torch._ops', 'critical'],
  ['torch.classes', 'critical'],
  ['torch._classes', 'critical'],
  // Resolves any dotted name, so _import_dotted_name('os.system') is os.system, as builtins.getattr would be.
  ['torch._utils._import_dotted_name', 'critical'],
  // Test helpers that run shell commands (common_utils.shell), as numpy.testing's do.
  ['torch.testing', 'critical'],
  // Starts worker processes from a command line (SubprocessHandler, the launchers).
  ['torch.distributed.elastic', 'critical'],
  ['torch.distributed.run', 'critical'],
  ['torch.distributed.launch', 'critical'],
  // Compile or load native code.
  ['torch.utils.cpp_extension', 'critical'],
  ['numpy.f2py', 'critical'],
  ['numpy.distutils', 'critical'],
  ['numpy.ctypeslib', 'critical'],
  // Unpicklers: load, _load, _legacy_load, and torch.package's importer.
  ['torch.load', 'high'],
  ['torch.serialization', 'high'],
  ['torch.storage._load_from_bytes', 'high'],
  ['torch.package', 'high'],
  ['numpy.load', 'high'],
  ['numpy.lib.npyio.load', 'high'],
  ['numpy.lib._npyio_impl.load', 'high'],
  ['numpy.lib.format.read_array', 'high'],
  ['pandas.read_pickle', 'high'],
  ['pandas.io.pickle', 'high'],
  ['joblib.load', 'high'],
  ['joblib.numpy_pickle.load', 'high'],
  // The copies of cloudpickle and loky that joblib vendors.
  ['joblib.externals', 'high'],
];

const DANGEROUS_BUILTINS = new Set([
  'eval',
  'exec',
  'execfile',
  'compile',
  'open',
  'getattr',
  'setattr',
  'delattr',
  '__import__',
  'breakpoint',
  'input',
  'apply',
  'globals',
  'locals',
  'vars',
]);

const SAFE_PREFIXES = [
  'numpy.',
  'numpy',
  'sklearn.',
  'scipy.',
  'collections.',
  // Of PyTorch, only what torch.save writes for tensors and modules: the reconstructors torch's weights-only
  // unpickler allows (torch/_weights_only_unpickler.py), the classes of a pickled nn.Module, and (TORCH_DATA_TYPE)
  // the storage and tensor classes, dtypes and layouts named in `torch` itself. The rest of torch is no data:
  // torch.save writes files, torch.fx runs code; what is not listed here is an unknown import.
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch._tensor._rebuild_from_type',
  'torch._tensor._rebuild_from_type_v2',
  'torch.storage.TypedStorage',
  'torch.storage.UntypedStorage',
  'torch.nn.parameter.',
  'torch.nn.modules.',
  'joblib.',
  'copyreg._reconstructor',
  'pandas.',
  'xgboost.',
  'lightgbm.',
  'datetime.',
  '_codecs.encode',
  'builtins.set',
  'builtins.frozenset',
  'builtins.bytearray',
  'builtins.dict',
  'builtins.list',
  'builtins.slice',
  'builtins.complex',
  'builtins.range',
  'builtins.object',
  '__builtin__.set',
  '__builtin__.object',
];

/**
 * Names in module `torch` that a checkpoint's tensors are made of: storage and tensor classes (FloatStorage,
 * LongTensor), Size, device, dtypes (float32, bfloat16, quint8, float8_e4m3fn), layouts, memory formats and
 * quantization schemes, each pickled by name.
 */
const TORCH_DATA_TYPE =
  /^(?:\w*Storage|\w*Tensor|Size|device|bool|b?float\d+\w*|complex\d+|q?u?int\d+\w*|bits\w+|strided|sparse_\w+|jagged|contiguous_format|preserve_format|channels_last(?:_3d)?|per_(?:tensor|channel)_\w+)$/;

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function classifyGlobal(module: string, name: string): Severity | null {
  const top = module.split('.')[0]!;
  if (module === 'builtins' || module === '__builtin__') {
    if (DANGEROUS_BUILTINS.has(name)) return 'critical';
  }
  const bySubmodule = DANGEROUS_MODULES[module] ?? DANGEROUS_MODULES[top];
  if (bySubmodule) return bySubmodule;
  if (module === 'operator' && (name === 'attrgetter' || name === 'methodcaller')) return 'medium';
  const full = `${module}.${name}`;
  // A dotted name is resolved from the module down (protocol 4), so it may spell a loader out in full:
  // `torch.serialization` with `torch.load`.
  const loaderOf = (path: string) =>
    DANGEROUS_IN_SAFE_PACKAGES.find(([p]) => path === p || path.startsWith(`${p}.`))?.[1];
  const loader = loaderOf(full) ?? (name.includes('.') ? loaderOf(name) : undefined);
  if (name.includes('.')) {
    const path = classifyAttributePath(name);
    return loader && RANK[loader] > RANK[path] ? loader : path;
  }
  if (loader) return loader;
  if (module === 'torch' && TORCH_DATA_TYPE.test(name)) return null;
  if (SAFE_PREFIXES.some((p) => full === p || full.startsWith(p.endsWith('.') ? p : `${p}.`) || full === p))
    return null;
  return 'low';
}

/**
 * From protocol 4 on, find_class resolves a dotted name attribute by attribute, so module `torch` with name
 * `os.system` is os.system (torch imports os). No allow-listed module vouches for where such a path leads: each
 * step is judged (a module alias like `_os` as the module), and a path that names nothing known is still 'low'.
 */
function classifyAttributePath(name: string): Severity {
  let worst: Severity = 'low';
  for (const part of name.split('.')) {
    const severity: Severity | undefined = DANGEROUS_BUILTINS.has(part)
      ? 'critical'
      : (DANGEROUS_MODULES[part] ??
        DANGEROUS_MODULES[part.replace(/^_+/, '')] ??
        (/^__\w+__$/.test(part) ? 'high' : undefined));
    if (severity && RANK[severity] > RANK[worst]) worst = severity;
  }
  return worst;
}

/**
 * A stack or memo slot: a str constant the stream spelled out, or (a number) anything else, as the byte offset of
 * the opcode that produced it or one of the negative codes below.
 */
type Value = string | number;
/** Popped from an empty stack, or from below a MARK. */
const UNDERFLOW = -1;
/** Fetched from a memo slot nothing stored. */
const UNSET = -2;
/** Beyond what the scan keeps (a stack or memo past its limit below). */
const UNTRACKED = -3;

/** Longer str constants are never decoded: no module or attribute name is this long. */
const MAX_CONSTANT_BYTES = 4096;
/** Stack values plus MARKs kept; past this the stack is dropped and what lay below it is unknown. */
const MAX_STACK = 1 << 22;
/** Memo slots kept (a JavaScript Map holds at most 2^24). */
const MAX_MEMO = 1 << 22;

const decoder = new TextDecoder('utf-8', { fatal: false });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const latin1 = (raw: Uint8Array): string =>
  Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');

/** Python's escapes in a STRING argument after its quotes; `\n` and the like become one byte each. */
const BYTE_ESCAPES: Record<number, number> = {
  0x0a: -1, // backslash-newline: nothing
  0x5c: 0x5c,
  0x27: 0x27,
  0x22: 0x22,
  0x62: 0x08,
  0x66: 0x0c,
  0x74: 0x09,
  0x6e: 0x0a,
  0x72: 0x0d,
  0x76: 0x0b,
  0x61: 0x07,
};
const isOctal = (b: number | undefined): b is number => b !== undefined && b >= 0x30 && b <= 0x37;
const isHex = (b: number | undefined): b is number =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));

/** codecs.escape_decode, as pickle.py applies it to a STRING argument (bytes out, here as latin-1 text). */
function escapeDecode(raw: Uint8Array): string | null {
  let out = '';
  for (let i = 0; i < raw.length;) {
    const c = raw[i++]!;
    if (c !== 0x5c) {
      out += String.fromCharCode(c);
      continue;
    }
    if (i >= raw.length) return null; // "Trailing \ in string"
    const e = raw[i++]!;
    const simple = BYTE_ESCAPES[e];
    if (simple !== undefined) {
      if (simple >= 0) out += String.fromCharCode(simple);
    } else if (isOctal(e)) {
      let v = e - 0x30;
      for (let k = 0; k < 2 && isOctal(raw[i]); k++) v = v * 8 + raw[i++]! - 0x30;
      out += String.fromCharCode(v & 0xff);
    } else if (e === 0x78) {
      if (!isHex(raw[i]) || !isHex(raw[i + 1])) return null; // "invalid \x escape"
      out += String.fromCharCode(parseInt(latin1(raw.subarray(i, i + 2)), 16));
      i += 2;
    } else out += '\\' + String.fromCharCode(e); // an unknown escape stays as written
  }
  return out;
}

/**
 * Whether a string opcode's argument starts as a pickle of protocol 2 to 5 does when each of its bytes is
 * written as one character: U+0080 is C2 80 in UTF-8, the byte 80 in latin-1 and raw-unicode-escape, and `\x80`
 * in a quoted STRING.
 */
function rendersPickle(text: Text, raw: Uint8Array): boolean {
  switch (text) {
    case 'utf8':
      return raw[0] === 0xc2 && startsPickle(raw, 1);
    case 'latin1':
    case 'raw-unicode-escape':
      return startsPickle(raw);
    case 'escaped':
      return /^['"]\\x80\\x0[2-5]/.test(latin1(raw.subarray(0, 10)));
  }
}

/** The bytes `text.encode('latin1')` gives, or null when a character is outside latin-1. */
function latin1Bytes(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return null;
    out[i] = c;
  }
  return out;
}

/** The raw-unicode-escape codec, as pickle.py applies it to a UNICODE argument: only \uXXXX and \UXXXXXXXX. */
function rawUnicodeEscape(raw: Uint8Array): string | null {
  let out = '';
  for (let i = 0; i < raw.length;) {
    const c = raw[i++]!;
    if (c !== 0x5c || i >= raw.length) {
      out += String.fromCharCode(c);
      continue;
    }
    const e = raw[i++]!;
    const count = e === 0x75 ? 4 : e === 0x55 ? 8 : 0;
    if (count === 0) {
      out += '\\' + String.fromCharCode(e);
      continue;
    }
    for (let k = 0; k < count; k++) if (!isHex(raw[i + k])) return null;
    const codePoint = parseInt(latin1(raw.subarray(i, i + count)), 16);
    if (codePoint > 0x10ffff) return null;
    out += String.fromCodePoint(codePoint);
    i += count;
  }
  return out;
}

/** The str Python would push for a string opcode's argument, or null where it pushes none (or it is too long). */
function constant(text: Text, raw: Uint8Array): string | null {
  return raw.length > MAX_CONSTANT_BYTES ? null : decodeText(text, raw);
}

/** The str Python would push for a string opcode's argument, or null where it pushes none. */
function decodeText(text: Text, raw: Uint8Array): string | null {
  switch (text) {
    case 'utf8':
      try {
        return strictUtf8.decode(raw);
      } catch {
        return null;
      }
    case 'latin1':
      return latin1(raw);
    case 'escaped': {
      // STRING's argument must be quoted, the same quote at both ends.
      const q = raw[0];
      if (raw.length < 2 || (q !== 0x27 && q !== 0x22) || raw[raw.length - 1] !== q) return null;
      return escapeDecode(raw.subarray(1, raw.length - 1));
    }
    case 'raw-unicode-escape':
      return rawUnicodeEscape(raw);
  }
}

/**
 * A memo index as pickle.py reads a PUT or GET line, int() of the text: surrounding whitespace, a sign, underscores
 * between digits, leading zeros. Returns a number where it is exact (so that text and binary opcodes share slots),
 * else its canonical decimal text; 'negative' for an index below zero, null for text int() rejects.
 */
function memoIndex(line: string): number | string | null {
  const m = /^[ \t\n\r\v\f]*([+-]?)(\d+(?:_\d+)*)[ \t\n\r\v\f]*$/.exec(line);
  if (!m) return null;
  const digits = m[2]!.replaceAll('_', '').replace(/^0+(?=\d)/, '');
  if (m[1] === '-' && digits !== '0') return 'negative';
  return digits.length <= 15 ? Number(digits) : digits;
}

/**
 * Pickles held in bytes constants are scanned this many levels down. torch.storage._load_from_bytes and
 * pickle.loads unpickle such a constant (both are flagged themselves); a file whose pickles nest deeper than
 * this is refused unread. Each level rescans only bytes the level above holds, so the work stays within
 * (MAX_NESTING + 1) times the file's size.
 */
const MAX_NESTING = 3;
/** Where Python's unpickler raises, and so stops running the stream. */
const UNPICKLER_ERRORS = new Set([
  'pickle.truncated',
  'pickle.invalid_opcode',
  'pickle.stack_underflow',
  'pickle.memo_unset',
]);
/** What a stream reports only when it is no well-formed pickle: the marks of data read as opcodes. */
const MALFORMED = new Set([...UNPICKLER_ERRORS, 'pickle.too_complex', 'pickle.scan_error']);
/** The most findings one file reports: the most severe first, and a count of the rest. */
const MAX_FINDINGS = 1000;
/** The opcodes that push a bytes (or bytearray) constant: where a nested pickle travels. */
const BYTES_OPCODES = new Set(['BINBYTES', 'SHORT_BINBYTES', 'BINBYTES8', 'BYTEARRAY8']);

/** Whether bytes start as pickle.dumps writes them from protocol 2 on: PROTO and a protocol it knows. */
const startsPickle = (bytes: Uint8Array, at = 0): boolean =>
  bytes[at] === 0x80 && bytes[at + 1] !== undefined && bytes[at + 1]! >= 2 && bytes[at + 1]! <= 5;

/**
 * Scans one pickle stream (or several concatenated, as joblib and torch write them), and the pickles inside
 * its bytes constants. Never throws on bad input: a malformed stream (truncated, an unknown opcode, a stack
 * underflow, a memo slot never set) is a finding.
 */
export function scanPickle(bytes: Uint8Array, location = 'pickle'): Finding[] {
  const findings: Finding[] = [];
  scanStream(bytes, location, findings, 0);
  if (findings.length <= MAX_FINDINGS) return findings;
  const kept = findings
    .map((finding, i) => ({ finding, i }))
    .sort((a, b) => RANK[b.finding.severity] - RANK[a.finding.severity] || a.i - b.i)
    .slice(0, MAX_FINDINGS - 1)
    .map(({ finding }) => finding);
  const worst = findings.length - kept.length;
  kept.push({
    id: 'pickle.too_many_findings',
    severity: 'medium',
    message: `${worst} further findings, none more severe than those listed, are left out`,
    location,
  });
  return kept;
}

function scanStream(bytes: Uint8Array, location: string, findings: Finding[], depth: number): void {
  try {
    scan(bytes, location, findings, depth);
  } catch (cause) {
    findings.push({
      id: 'pickle.scan_error',
      severity: 'high',
      message: `the pickle scan could not finish: ${(cause as Error).message}`,
      location,
    });
  }
}

function scan(bytes: Uint8Array, location: string, findings: Finding[], depth: number): void {
  // Every global the stream imports, benign or not: each is judged once, and all are counted in the summary.
  const imports = new Set<string>();
  let pos = 0;
  let calls = 0;
  // pickle.load reads one stream and leaves the file after its STOP; a second load runs whatever follows, with
  // or without PROTO (torch's legacy format loads five in a row, a loop of load() any number). So the bytes after
  // a STOP are scanned as a further stream. But they may be no pickle at all (torch's legacy format appends raw
  // tensor data), so in such a stream an error Python's unpickler raises is no finding: it ends the scan where
  // that load would end, and what the stream imported or called before it counts.
  let following: { start: number; findings: number } | null = null;
  /** Where Python's unpickler raises in the following stream: nothing from there on runs. */
  let failsAt: number | null = null;
  /** Where the last stream to reach its STOP ended, with the calls and imports up to there. */
  let ended: { at: number; calls: number; imports: number } | null = null;
  const readLineBytes = (): Uint8Array | null => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) return null;
    const line = bytes.subarray(pos, end);
    pos = end + 1;
    return line;
  };
  const readLine = (): string | null => {
    const line = readLineBytes();
    return line === null ? null : decoder.decode(line);
  };
  const readUint = (n: number): number | null => {
    if (pos + n > bytes.length) return null;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + bytes[pos + k]!;
    pos += n;
    return v;
  };
  const note = (module: string, name: string, opcode: string, offset: number): void => {
    if (failsAt !== null) return;
    const key = `${module.trim()}.${name.trim()}`;
    if (imports.has(key)) return;
    imports.add(key);
    const severity = classifyGlobal(module.trim(), name.trim());
    if (severity) {
      findings.push({
        id: severity === 'low' ? 'pickle.unknown_import' : 'pickle.dangerous_import',
        severity,
        message: `${opcode} imports ${key}; unpickling this file would ${severity === 'low' ? 'import' : 'import and can call'} it`,
        location: `${location}@${offset}`,
      });
    }
  };
  // Reported once per id, with a count at the end: a hostile stream can repeat one malformation millions of times.
  const repeated = new Map<string, { finding: Finding; count: number }>();
  const report = (id: string, severity: Severity, message: string, offset: number): void => {
    if (failsAt !== null) return;
    if (following && UNPICKLER_ERRORS.has(id)) {
      failsAt = offset;
      return;
    }
    const seen = repeated.get(id);
    if (seen) {
      seen.count++;
      return;
    }
    const finding: Finding = { id, severity, message, location: `${location}@${offset}` };
    findings.push(finding);
    repeated.set(id, { finding, count: 1 });
  };
  const tooComplex = (offset: number): void =>
    report(
      'pickle.too_complex',
      'low',
      `the stream holds more than ${MAX_STACK} stack values or memo slots; the scan treats the excess as unknown`,
      offset,
    );
  const describe = (v: Value): string =>
    typeof v === 'string'
      ? `'${v.length > 80 ? `${v.slice(0, 80)}…` : v}'`
      : v === UNDERFLOW
        ? 'missing (stack underflow)'
        : v === UNSET
          ? 'a memo slot nothing stored'
          : v === UNTRACKED
            ? 'a value the scan no longer tracks'
            : OPCODES[bytes[v]!]?.text
              ? `a string at byte ${v} that the scan does not decode (malformed or over ${MAX_CONSTANT_BYTES} bytes)`
              : `the ${OPCODES[bytes[v]!]?.name ?? 'opcode'} result at byte ${v}, not a str constant`;

  // The unpickler's state. `marks` holds the stack height at each MARK (as _pickle.c does); a pop never reaches
  // below the topmost one. `lost`: the stack outgrew MAX_STACK and was dropped, so below it lies the unknown.
  let stack: Value[] = [];
  let marks: number[] = [];
  let lost = false;
  const memo = new Map<number | string, Value>();
  let memoLen = 0; // len(memo) in pickle.py: the slot MEMOIZE fills
  let memoLost = false;
  const fence = (): number => (marks.length > 0 ? marks[marks.length - 1]! : 0);
  const underflow = (op: string, offset: number): number => {
    if (lost && marks.length === 0) return UNTRACKED;
    report(
      'pickle.stack_underflow',
      'medium',
      `${op} needs a value the stack does not hold; Python's unpickler would stop here`,
      offset,
    );
    return UNDERFLOW;
  };
  const pop = (op: string, offset: number): Value =>
    stack.length > fence() ? stack.pop()! : underflow(op, offset);
  const peek = (op: string, offset: number): Value =>
    stack.length > fence() ? stack[stack.length - 1]! : underflow(op, offset);
  const popMark = (op: string, offset: number): void => {
    const mark = marks.pop();
    if (mark !== undefined) stack.length = mark;
    else {
      if (!lost)
        report(
          'pickle.stack_underflow',
          'medium',
          `${op} needs a MARK the stack does not hold; Python's unpickler would stop here`,
          offset,
        );
      stack = [];
    }
  };
  const room = (offset: number): void => {
    if (stack.length + marks.length < MAX_STACK) return;
    tooComplex(offset);
    stack = [];
    marks = [];
    lost = true;
  };
  const push = (v: Value, offset: number): void => {
    room(offset);
    stack.push(v);
  };
  const store = (key: number | string, v: Value, offset: number): void => {
    if (!memo.has(key)) {
      memoLen++;
      if (memo.size >= MAX_MEMO) {
        memoLost = true;
        tooComplex(offset);
        return;
      }
    }
    memo.set(key, v);
  };
  const fetch = (key: number | string, op: string, offset: number): Value => {
    const v = memo.get(key);
    if (v !== undefined) return v;
    if (memoLost) return UNTRACKED;
    report(
      'pickle.memo_unset',
      'medium',
      `${op} fetches memo slot ${key}, which nothing stored; Python's unpickler would stop here`,
      offset,
    );
    return UNSET;
  };
  const badIndex = (op: string, offset: number): void =>
    report(
      'pickle.memo_unset',
      'medium',
      `${op} names a memo slot that is not a non-negative integer; Python's unpickler would stop here`,
      offset,
    );

  // A bytes constant that is itself a pickle stream is what torch.storage._load_from_bytes (or a REDUCE of
  // pickle.loads) unpickles: its imports are as much the file's as the outer stream's. Array data can begin as
  // a pickle does (an int64 640 is 80 02 00 …), so only a constant that reads as a pickle, opcode by opcode to
  // its STOP, counts as one; a finding it repeats is counted on the first, so nesting adds no more findings
  // than the distinct things it holds.
  const nestedSeen = new Map<string, { finding: Finding; count: number }>();
  const nested = (inner: Uint8Array, offset: number): void => {
    const where = `${location}@${offset}>nested`;
    if (depth >= MAX_NESTING) {
      findings.push({
        id: 'pickle.nested_too_deep',
        severity: 'high',
        message: `a bytes constant holds a pickle nested more than ${MAX_NESTING} levels deep; it is not scanned`,
        location: where,
      });
      return;
    }
    const found: Finding[] = [];
    scanStream(inner, where, found, depth + 1);
    if (!found.some((f) => f.id === 'pickle.stop') || found.some((f) => MALFORMED.has(f.id))) return;
    for (const finding of found) {
      if (finding.severity === 'info') continue;
      const key = `${finding.id}\u0000${finding.message}`;
      const seen = nestedSeen.get(key);
      if (seen) seen.count++;
      else {
        const copy = { ...finding };
        nestedSeen.set(key, { finding: copy, count: 1 });
        findings.push(copy);
      }
    }
  };

  // A str constant can hold a nested pickle too. Protocols 0 to 2 have no bytes opcode: pickle.dumps writes
  // bytes as _codecs.encode(str, 'latin1'), one character a byte; and a Python 2 str, which Python 3 loads as
  // bytes with encoding='bytes', is a STRING, BINSTRING or SHORT_BINSTRING. Such a constant is scanned as the
  // bytes it stands for.
  const nestedInText = (text: Text, raw: Uint8Array, offset: number): void => {
    if (!rendersPickle(text, raw)) return;
    const value = decodeText(text, raw);
    const inner = value === null ? null : latin1Bytes(value);
    if (inner) nested(inner, offset);
  };

  let sawOpcode = false;
  for (;;) {
    if (pos >= bytes.length) {
      if (following) failsAt = pos;
      else
        findings.push({
          id: 'pickle.truncated',
          severity: 'medium',
          message: sawOpcode ? 'pickle stream ends without STOP' : 'empty pickle stream',
          location,
        });
      break;
    }
    const offset = pos;
    const code = bytes[pos++]!;
    const op = OPCODES[code];
    if (!op) {
      if (following) failsAt = offset;
      else
        findings.push({
          id: 'pickle.invalid_opcode',
          severity: 'medium',
          message: `byte 0x${code.toString(16)} is not a pickle opcode`,
          location: `${location}@${offset}`,
        });
      break;
    }
    sawOpcode = true;
    let raw: Uint8Array | null = null; // a line argument (without its newline), or a counted string's bytes
    let int: number | null = null; // a fixed-width integer argument
    let truncated = false;
    switch (op.arg) {
      case 'none':
        break;
      case 'line':
        raw = readLineBytes();
        truncated = raw === null;
        if (raw && op.text) nestedInText(op.text, raw, offset);
        break;
      case 'twolines': {
        const module = readLine();
        const name = module === null ? null : readLine();
        if (module === null || name === null) truncated = true;
        else note(module, name, op.name, offset);
        break;
      }
      case 1:
      case 2:
      case 4:
      case 8:
        int = readUint(op.arg);
        truncated = int === null;
        break;
      case 'len1':
      case 'len4':
      case 'len8': {
        const n = readUint(op.arg === 'len1' ? 1 : op.arg === 'len4' ? 4 : 8);
        if (n === null || pos + n > bytes.length) truncated = true;
        else {
          if (op.text) {
            raw = bytes.subarray(pos, pos + n);
            nestedInText(op.text, raw, offset);
          } else if (BYTES_OPCODES.has(op.name) && startsPickle(bytes, pos))
            nested(bytes.subarray(pos, pos + n), offset);
          pos += n;
        }
        break;
      }
    }
    if (truncated) {
      if (following) failsAt = offset;
      else
        findings.push({
          id: 'pickle.truncated',
          severity: 'medium',
          message: `${op.name} argument runs past the end of the file`,
          location: `${location}@${offset}`,
        });
      break;
    }
    switch (op.name) {
      case 'MARK':
        room(offset);
        marks.push(stack.length);
        break;
      case 'POP':
        // A MARK on top is popped like a value (pickle.py pops the mark stack when the stack above it is empty).
        if (marks.length > 0 && marks[marks.length - 1] === stack.length) marks.pop();
        else pop(op.name, offset);
        break;
      case 'DUP':
        push(peek(op.name, offset), offset);
        break;
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT':
      case 'MEMOIZE': {
        const key =
          op.name === 'MEMOIZE' ? memoLen : op.name === 'PUT' ? memoIndex(decoder.decode(raw!)) : int!;
        // Python stores nothing when the stack holds nothing above the topmost MARK.
        const top =
          stack.length > fence() ? stack[stack.length - 1]! : lost && marks.length === 0 ? UNTRACKED : null;
        if (key === null || key === 'negative') badIndex(op.name, offset);
        else if (top === null) underflow(op.name, offset);
        else store(key, top, offset);
        break;
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        const key = op.name === 'GET' ? memoIndex(decoder.decode(raw!)) : int!;
        if (key === null || key === 'negative') badIndex(op.name, offset);
        push(key === null || key === 'negative' ? UNSET : fetch(key, op.name, offset), offset);
        break;
      }
      case 'STACK_GLOBAL': {
        const name = pop(op.name, offset);
        const module = pop(op.name, offset);
        if (typeof module === 'string' && typeof name === 'string') note(module, name, op.name, offset);
        else
          report(
            'pickle.unresolved_global',
            'high',
            `STACK_GLOBAL with a module or name that could not be resolved statically: module ${describe(module)}, name ${describe(name)}`,
            offset,
          );
        push(offset, offset);
        break;
      }
      default: {
        if (typeof op.pops === 'number') for (let k = 0; k < op.pops; k++) pop(op.name, offset);
        else {
          // OBJ takes the class from just above the MARK, so it needs one value there.
          if (op.name === 'OBJ' && marks.length > 0 && stack.length === fence()) underflow(op.name, offset);
          popMark(op.name, offset);
          if (op.pops === 'mark+1') pop(op.name, offset);
        }
        const value = op.text && raw !== null ? (constant(op.text, raw) ?? offset) : offset;
        for (let k = 0; k < op.pushes; k++) push(value, offset);
      }
    }
    if (
      op.name === 'REDUCE' ||
      op.name === 'NEWOBJ' ||
      op.name === 'NEWOBJ_EX' ||
      op.name === 'OBJ' ||
      op.name === 'INST'
    )
      calls++;
    if (failsAt !== null) break;
    if (op.name === 'STOP') {
      ended = { at: pos, calls, imports: imports.size };
      if (pos >= bytes.length) break;
      // Each load() starts with an empty stack; the memo is kept, as one Unpickler reused for several loads keeps it.
      stack = [];
      marks = [];
      lost = false;
      following = { start: pos, findings: findings.length };
    }
  }
  if (following && failsAt !== null) {
    // What read as an unknown import or a malformation in these bytes may be tensor data that happens to spell
    // opcodes; a dangerous import or an unresolved STACK_GLOBAL there is no accident, and Python would reach it.
    const found = findings.splice(following.findings);
    for (const finding of found) if (RANK[finding.severity] >= RANK.medium) findings.push(finding);
  }
  if (ended)
    findings.push({
      id: 'pickle.stop',
      severity: 'info',
      message: `pickle ends at byte ${ended.at} with ${ended.calls} call opcode(s) and ${ended.imports} import(s)`,
      location,
    });
  if (following && failsAt !== null)
    findings.push({
      id: 'pickle.trailing_data',
      severity: 'info',
      message: `bytes ${following.start} to ${bytes.length} follow the last pickle but are none (a further load would fail at byte ${failsAt}); PyTorch's legacy format keeps tensor data there`,
      location: `${location}@${following.start}`,
    });
  for (const { finding, count } of repeated.values())
    if (count > 1) finding.message += ` (and ${count - 1} more like it in the stream)`;
  for (const { finding, count } of nestedSeen.values())
    if (count > 1) finding.message += ` (and ${count - 1} more like it in other nested pickles)`;
}
