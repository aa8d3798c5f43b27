// Writes policies/capabilities.json: the builtins a Wasm-compiled policy can use in @open-policy-agent/opa-wasm,
// so that `opa build --capabilities` refuses any other builtin at build time instead of a decision failing
// with "not implemented" at run time (docs: ../shared/OPA.md §2-3).
//
//   npx tsx scripts/gen-policy-capabilities.ts [path/to/opa]
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveOpaBinary } from '../policies/index.ts';

// Natively compiled into Wasm by OPA (internal/compiler/wasm builtinsFunctions), plus rego.metadata.*, which
// the compiler rewrites into constants. Left out on purpose: sprintf (the SDK formats with sprintf-js, which
// disagrees with Go's fmt, so Wasm and OPA-server decisions would differ) and every time.*, crypto.*, http.*.
const WASM_BUILTINS = new Set([
  // operators
  'assign',
  'eq',
  'equal',
  'neq',
  'lt',
  'lte',
  'gt',
  'gte',
  'plus',
  'minus',
  'mul',
  'div',
  'rem',
  'and',
  'or',
  'internal.member_2',
  'internal.member_3',
  // numbers
  'abs',
  'round',
  'ceil',
  'floor',
  'numbers.range',
  'to_number',
  'format_int',
  'bits.and',
  'bits.or',
  'bits.xor',
  'bits.negate',
  'bits.lsh',
  'bits.rsh',
  // aggregates and collections
  'count',
  'sum',
  'product',
  'max',
  'min',
  'sort',
  'all',
  'any',
  'array.concat',
  'array.reverse',
  'array.slice',
  'intersection',
  'union',
  'object.get',
  'object.keys',
  'object.filter',
  'object.remove',
  'object.union',
  'object.union_n',
  'json.filter',
  'json.remove',
  'json.marshal',
  'json.unmarshal',
  'json.is_valid',
  'walk',
  'graph.reachable',
  // types
  'is_number',
  'is_string',
  'is_boolean',
  'is_array',
  'is_set',
  'is_object',
  'is_null',
  'type_name',
  // strings
  'concat',
  'contains',
  'endswith',
  'startswith',
  'indexof',
  'lower',
  'upper',
  'split',
  'replace',
  'strings.replace_n',
  'strings.reverse',
  'substring',
  'trim',
  'trim_left',
  'trim_right',
  'trim_prefix',
  'trim_suffix',
  'trim_space',
  'glob.match',
  'regex.is_valid',
  'regex.match',
  'regex.find_all_string_submatch_n',
  'base64.encode',
  'base64.decode',
  'base64.is_valid',
  'base64url.encode',
  'base64url.decode',
  'net.cidr_contains',
  'net.cidr_intersects',
  'net.cidr_overlap',
  // compile-time
  'rego.metadata.chain',
  'rego.metadata.rule',
]);

const run = promisify(execFile);
const opa = process.argv[2] ?? resolveOpaBinary();
const { stdout } = await run(opa, ['capabilities', '--current']);
const current = JSON.parse(stdout) as { builtins: { name: string }[]; features?: string[] };
const builtins = current.builtins.filter((b) => WASM_BUILTINS.has(b.name));
const missing = [...WASM_BUILTINS].filter((name) => !builtins.some((b) => b.name === name));
if (missing.length > 0) throw new Error(`opa ${opa} does not know: ${missing.join(', ')}`);
// "rego_v1" must stay: without it OPA v1 refuses to parse v1 Rego under these capabilities.
const capabilities = { ...current, builtins, features: current.features };
const out = path.join(import.meta.dirname, '..', 'policies', 'capabilities.json');
await writeFile(out, JSON.stringify(capabilities, null, 2) + '\n');
console.log(`wrote ${out}: ${builtins.length} builtins, features ${JSON.stringify(current.features)}`);
