// Python literals as ast.literal_eval reads them, for the headers numpy writes with repr() and reads back with
// literal_eval (numpy/lib/format.py). A reader of such a header must see what numpy sees: the last of duplicate
// keys, adjacent string literals joined, every escape decoded. So this reads the literal grammar itself, not a
// pattern over the text: str (with the r and u prefixes, single and triple quotes, and every escape but \N{…}),
// int (decimal, hex, octal and binary, underscores, one sign), True, False, None, tuples, lists and dicts, with
// comments, line joining and whitespace between tokens. What it does not read (a float, bytes, a set, an
// f-string, \N{…}, nesting past MAX_DEPTH) is an error, never a guess: its caller treats the header as unreadable.
// See https://docs.python.org/3/reference/lexical_analysis.html and Lib/ast.py's literal_eval.

export type PyLiteral =
  | string
  | bigint
  | boolean
  | null
  | PyLiteral[]
  | { tuple: PyLiteral[] }
  | { dict: [PyLiteral, PyLiteral][] };

export class PyLiteralError extends Error {}

/** Deeper nesting is refused (CPython's parser stops near 200 too). */
const MAX_DEPTH = 100;

/** The simple escapes of a str literal: `\n` and the like, and backslash-newline, which joins lines. */
const ESCAPES: Record<string, string> = {
  '\n': '',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

const INT = /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*/y;
const NAME = /[\p{ID_Start}_][\p{ID_Continue}]*/uy;

export interface PyLiteralOptions {
  /**
   * Python 2's long suffix: `1L`, which numpy drops before reading a header of format version 1 or 2 (its
   * _filter_header removes a NAME token `L` that follows a NUMBER token).
   */
  longSuffix?: boolean;
}

/** Parses `source` as ast.literal_eval does (within the grammar above); throws PyLiteralError otherwise. */
export function parsePyLiteral(source: string, options: PyLiteralOptions = {}): PyLiteral {
  // Python reads \r\n and \r as \n, and refuses a NUL anywhere.
  if (source.includes('\0')) throw new PyLiteralError('a NUL character');
  const s = source.replace(/\r\n?/g, '\n');
  let i = 0;
  const fail = (why: string): never => {
    throw new PyLiteralError(`${why} at character ${i}`);
  };
  /** Skips what lies between tokens: spaces, tabs, form feeds, newlines, comments and backslash-newline. */
  const skip = (): void => {
    for (;;) {
      const c = s[i];
      if (c === ' ' || c === '\t' || c === '\f' || c === '\n') i++;
      else if (c === '#') {
        const end = s.indexOf('\n', i);
        i = end < 0 ? s.length : end;
      } else if (c === '\\' && s[i + 1] === '\n') i += 2;
      else return;
    }
  };
  const hex = (n: number): number => {
    const digits = s.slice(i, i + n);
    if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) fail('a truncated escape');
    i += n;
    return parseInt(digits, 16);
  };
  /** One string literal, from its prefix to its closing quote. */
  const stringLiteral = (): string => {
    let raw = false;
    if (/[rRuU]/.test(s[i]!)) raw = /[rR]/.test(s[i++]!);
    const quote = s.startsWith("'''", i) || s.startsWith('"""', i) ? s.slice(i, i + 3) : s[i]!;
    i += quote.length;
    let out = '';
    for (;;) {
      if (i >= s.length) fail('an unterminated string');
      if (s.startsWith(quote, i)) {
        i += quote.length;
        return out;
      }
      const c = s[i++]!;
      if (c === '\n' && quote.length === 1) fail('a newline in a string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      if (i >= s.length) fail('an unterminated string');
      const e = s[i++]!;
      if (raw) {
        // A backslash escapes nothing in a raw string, but keeps the quote after it from closing it.
        out += c + e;
        continue;
      }
      const simple = ESCAPES[e];
      if (simple !== undefined) out += simple;
      else if (e >= '0' && e <= '7') {
        let v = Number(e);
        for (let k = 0; k < 2 && s[i]! >= '0' && s[i]! <= '7'; k++) v = v * 8 + Number(s[i++]);
        out += String.fromCodePoint(v);
      } else if (e === 'x') out += String.fromCodePoint(hex(2));
      else if (e === 'u') out += String.fromCodePoint(hex(4));
      else if (e === 'U') {
        const v = hex(8);
        if (v > 0x10ffff) fail('an escape past U+10FFFF');
        out += String.fromCodePoint(v);
      } else if (e === 'N') fail('a \\N{…} escape, which the scan does not read');
      else out += c + e; // an unknown escape stays as written
    }
  };
  const isStringStart = (): boolean =>
    s[i] === "'" || s[i] === '"' || (/[rRuU]/.test(s[i] ?? '') && (s[i + 1] === "'" || s[i + 1] === '"'));
  /** Items up to `close`, separated by commas, a trailing comma allowed; whether any comma was seen. */
  const items = (close: string, depth: number): { values: PyLiteral[]; comma: boolean } => {
    const values: PyLiteral[] = [];
    let comma = false;
    for (;;) {
      skip();
      if (s[i] === close) {
        i++;
        return { values, comma };
      }
      values.push(value(depth + 1));
      skip();
      if (s[i] === ',') {
        comma = true;
        i++;
      } else if (s[i] !== close) fail(`no ',' or '${close}'`);
    }
  };
  const value = (depth: number): PyLiteral => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skip();
    const c = s[i];
    if (c === undefined) return fail('no value');
    if (isStringStart()) {
      // Adjacent string literals are one.
      let out = stringLiteral();
      for (skip(); isStringStart(); skip()) out += stringLiteral();
      return out;
    }
    if (c === '{') {
      i++;
      const entries: [PyLiteral, PyLiteral][] = [];
      for (;;) {
        skip();
        if (s[i] === '}') {
          i++;
          return { dict: entries };
        }
        const key = value(depth + 1);
        skip();
        if (s[i] !== ':') fail("no ':' after a key (a set, which the scan does not read?)");
        i++;
        entries.push([key, value(depth + 1)]);
        skip();
        if (s[i] === ',') i++;
        else if (s[i] !== '}') fail("no ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      return items(']', depth).values;
    }
    if (c === '(') {
      i++;
      const { values, comma } = items(')', depth);
      // (x) is x; (x,) and () are tuples.
      return values.length === 1 && !comma ? values[0]! : { tuple: values };
    }
    if (c === '-' || c === '+') {
      i++;
      skip();
      const n = int();
      return c === '-' ? -n : n;
    }
    if (c >= '0' && c <= '9') return int();
    NAME.lastIndex = i;
    const name = NAME.exec(s)?.[0];
    if (name === 'True' || name === 'False' || name === 'None') {
      i += name.length;
      return name === 'None' ? null : name === 'True';
    }
    return fail(`'${c}', which starts no literal the scan reads`);
  };
  const int = (): bigint => {
    INT.lastIndex = i;
    const digits = INT.exec(s)?.[0];
    if (digits === undefined) return fail('no integer');
    i += digits.length;
    // A float, an imaginary number, 0777 or 1x is no int.
    if (!(options.longSuffix && longSuffix()) && /[\w.]/.test(s[i] ?? ''))
      fail('a number the scan does not read');
    const text = digits.replaceAll('_', '');
    return /^0[oO]/.test(text) ? BigInt(`0o${text.slice(2)}`) : BigInt(text);
  };
  /** Steps over Python 2's `L` after an int: the NAME token `L` next, past spaces and line joins but no newline. */
  const longSuffix = (): boolean => {
    let j = i;
    for (;;) {
      if (s[j] === ' ' || s[j] === '\t' || s[j] === '\f') j++;
      else if (s[j] === '\\' && s[j + 1] === '\n') j += 2;
      else break;
    }
    NAME.lastIndex = j;
    if (NAME.exec(s)?.[0] !== 'L') return false;
    i = j + 1;
    return true;
  };
  const result = value(0);
  skip();
  if (i < s.length) fail('more after the literal');
  return result;
}
