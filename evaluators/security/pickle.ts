import type { Finding, Severity } from './findings.ts';

// Reads a pickle's opcode stream without unpickling it (pickletools' opcode table, protocols 0–5). Loading a
// pickle can import and call any callable; what it would import is visible in GLOBAL / STACK_GLOBAL / INST
// arguments, so those are classified. See https://github.com/python/cpython/blob/main/Lib/pickletools.py.

type Arg = 'none' | 'line' | 'twolines' | 1 | 2 | 4 | 8 | 'len1' | 'len4' | 'len8';

const OPCODES: Record<number, { name: string; arg: Arg; pushesString?: boolean }> = {};
const def = (code: string | number, name: string, arg: Arg, pushesString = false): void => {
  OPCODES[typeof code === 'string' ? code.charCodeAt(0) : code] = { name, arg, pushesString };
};
def('(', 'MARK', 'none');
def('.', 'STOP', 'none');
def('0', 'POP', 'none');
def('1', 'POP_MARK', 'none');
def('2', 'DUP', 'none');
def('F', 'FLOAT', 'line');
def('I', 'INT', 'line');
def('J', 'BININT', 4);
def('K', 'BININT1', 1);
def('L', 'LONG', 'line');
def('M', 'BININT2', 2);
def('N', 'NONE', 'none');
def('P', 'PERSID', 'line');
def('Q', 'BINPERSID', 'none');
def('R', 'REDUCE', 'none');
def('S', 'STRING', 'line', true);
def('T', 'BINSTRING', 'len4', true);
def('U', 'SHORT_BINSTRING', 'len1', true);
def('V', 'UNICODE', 'line', true);
def('X', 'BINUNICODE', 'len4', true);
def('a', 'APPEND', 'none');
def('b', 'BUILD', 'none');
def('c', 'GLOBAL', 'twolines');
def('d', 'DICT', 'none');
def('}', 'EMPTY_DICT', 'none');
def('e', 'APPENDS', 'none');
def('g', 'GET', 'line');
def('h', 'BINGET', 1);
def('i', 'INST', 'twolines');
def('j', 'LONG_BINGET', 4);
def('l', 'LIST', 'none');
def(']', 'EMPTY_LIST', 'none');
def('o', 'OBJ', 'none');
def('p', 'PUT', 'line');
def('q', 'BINPUT', 1);
def('r', 'LONG_BINPUT', 4);
def('s', 'SETITEM', 'none');
def('t', 'TUPLE', 'none');
def(')', 'EMPTY_TUPLE', 'none');
def('u', 'SETITEMS', 'none');
def('G', 'BINFLOAT', 8);
def(0x80, 'PROTO', 1);
def(0x81, 'NEWOBJ', 'none');
def(0x82, 'EXT1', 1);
def(0x83, 'EXT2', 2);
def(0x84, 'EXT4', 4);
def(0x85, 'TUPLE1', 'none');
def(0x86, 'TUPLE2', 'none');
def(0x87, 'TUPLE3', 'none');
def(0x88, 'NEWTRUE', 'none');
def(0x89, 'NEWFALSE', 'none');
def(0x8a, 'LONG1', 'len1');
def(0x8b, 'LONG4', 'len4');
def('B', 'BINBYTES', 'len4');
def('C', 'SHORT_BINBYTES', 'len1');
def(0x8c, 'SHORT_BINUNICODE', 'len1', true);
def(0x8d, 'BINUNICODE8', 'len8', true);
def(0x8e, 'BINBYTES8', 'len8');
def(0x8f, 'EMPTY_SET', 'none');
def(0x90, 'ADDITEMS', 'none');
def(0x91, 'FROZENSET', 'none');
def(0x92, 'NEWOBJ_EX', 'none');
def(0x93, 'STACK_GLOBAL', 'none');
def(0x94, 'MEMOIZE', 'none');
def(0x95, 'FRAME', 8);
def(0x96, 'BYTEARRAY8', 'len8');
def(0x97, 'NEXT_BUFFER', 'none');
def(0x98, 'READONLY_BUFFER', 'none');

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
  types: 'medium',
};

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
  'torch.',
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

export function classifyGlobal(module: string, name: string): Severity | null {
  const top = module.split('.')[0]!;
  if (module === 'builtins' || module === '__builtin__') {
    if (DANGEROUS_BUILTINS.has(name)) return 'critical';
  }
  const bySubmodule = DANGEROUS_MODULES[module] ?? DANGEROUS_MODULES[top];
  if (bySubmodule) return bySubmodule;
  if (module === 'operator' && (name === 'attrgetter' || name === 'methodcaller')) return 'medium';
  const full = `${module}.${name}`;
  if (SAFE_PREFIXES.some((p) => full === p || full.startsWith(p.endsWith('.') ? p : `${p}.`) || full === p))
    return null;
  return 'low';
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Scans one pickle stream (or several concatenated, as joblib writes them). Never throws on bad input. */
export function scanPickle(bytes: Uint8Array, location = 'pickle'): Finding[] {
  const findings: Finding[] = [];
  const imports = new Map<string, Severity>();
  const memo = new Map<number, string>();
  const recent: string[] = [];
  let pos = 0;
  let calls = 0;
  const readLine = (): string | null => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) return null;
    const text = decoder.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const readUint = (n: number): number | null => {
    if (pos + n > bytes.length) return null;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + bytes[pos + k]!;
    pos += n;
    return v;
  };
  const note = (module: string, name: string, opcode: string, offset: number): void => {
    const severity = classifyGlobal(module.trim(), name.trim());
    const key = `${module.trim()}.${name.trim()}`;
    if (severity && !imports.has(key)) {
      imports.set(key, severity);
      findings.push({
        id: severity === 'low' ? 'pickle.unknown_import' : 'pickle.dangerous_import',
        severity,
        message: `${opcode} imports ${key}; unpickling this file would ${severity === 'low' ? 'import' : 'import and can call'} it`,
        location: `${location}@${offset}`,
      });
    }
  };
  let sawOpcode = false;
  for (;;) {
    if (pos >= bytes.length) {
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
      findings.push({
        id: 'pickle.invalid_opcode',
        severity: 'medium',
        message: `byte 0x${code.toString(16)} is not a pickle opcode`,
        location: `${location}@${offset}`,
      });
      break;
    }
    sawOpcode = true;
    let text: string | null = null;
    let truncated = false;
    switch (op.arg) {
      case 'none':
        break;
      case 'line':
        text = readLine();
        truncated = text === null;
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
      case 8: {
        const v = readUint(op.arg);
        truncated = v === null;
        if (!truncated && (op.name === 'BINPUT' || op.name === 'LONG_BINPUT') && recent.length > 0)
          memo.set(v!, recent[recent.length - 1]!);
        if (!truncated && (op.name === 'BINGET' || op.name === 'LONG_BINGET') && memo.has(v!))
          recent.push(memo.get(v!)!);
        break;
      }
      case 'len1':
      case 'len4':
      case 'len8': {
        const n = readUint(op.arg === 'len1' ? 1 : op.arg === 'len4' ? 4 : 8);
        if (n === null || pos + n > bytes.length) truncated = true;
        else {
          if (op.pushesString) text = decoder.decode(bytes.subarray(pos, pos + n));
          pos += n;
        }
        break;
      }
    }
    if (truncated) {
      findings.push({
        id: 'pickle.truncated',
        severity: 'medium',
        message: `${op.name} argument runs past the end of the file`,
        location: `${location}@${offset}`,
      });
      break;
    }
    if (op.pushesString && text !== null)
      recent.push(op.arg === 'line' ? text.replace(/^['"]|['"]$/g, '') : text);
    if (op.name === 'MEMOIZE' && recent.length > 0) memo.set(memo.size, recent[recent.length - 1]!);
    if (op.name === 'STACK_GLOBAL') {
      // The module and name are the two most recent strings pushed (possibly through the memo).
      if (recent.length >= 2)
        note(recent[recent.length - 2]!, recent[recent.length - 1]!, 'STACK_GLOBAL', offset);
      else
        findings.push({
          id: 'pickle.unresolved_global',
          severity: 'high',
          message: 'STACK_GLOBAL with a module or name that could not be resolved statically',
          location: `${location}@${offset}`,
        });
    }
    if (
      op.name === 'REDUCE' ||
      op.name === 'NEWOBJ' ||
      op.name === 'NEWOBJ_EX' ||
      op.name === 'OBJ' ||
      op.name === 'INST'
    )
      calls++;
    if (op.name === 'STOP') {
      // joblib and torch may append further pickles; keep reading only if another stream starts here.
      if (pos < bytes.length && bytes[pos] === 0x80 && (bytes[pos + 1] ?? 99) <= 5) continue;
      findings.push({
        id: 'pickle.stop',
        severity: 'info',
        message: `pickle ends at byte ${pos} with ${calls} call opcode(s) and ${imports.size} import(s)`,
        location,
      });
      break;
    }
  }
  return findings;
}
