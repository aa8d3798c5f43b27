import { EvaluatorError } from '../errors.ts';
import type { Row } from '../readers/rows.ts';
import type { FeatureSpec } from '../spec/types.ts';

export interface Feature {
  column: string;
  kind: 'numeric' | 'categorical';
  /** One-hot order (single-tensor models). */
  categories: string[] | null;
  input: string;
}

export function normalizeFeatures(features: FeatureSpec[]): Feature[] {
  return features.map((f) => {
    if (typeof f === 'string') return { column: f, kind: 'numeric', categories: null, input: f };
    const kind = f.type ?? (f.categories ? 'categorical' : 'numeric');
    return {
      column: f.column,
      kind,
      categories: f.categories ? f.categories.map(String) : null,
      input: f.input ?? f.column,
    };
  });
}

export function numericValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/** A feature's column as the data pass collected it (ColumnCollector), for encoding without row objects. */
export interface CollectedColumn {
  /** numericValue of each row's cell: NaN where it is missing or not a number. */
  nums: Float64Array;
  /** Code of String(cell) in `values` per row, -1 where the cell is missing. */
  codes: Int32Array;
  values: readonly string[];
  /** Whether every present cell has a code so far (a categorical column under the cardinality cap). */
  coded: boolean;
}

/**
 * Lays features out in one float vector in spec order: a numeric column takes one slot, a categorical column
 * one slot per category (one-hot; an unseen category is all zeros and counted).
 */
export class TensorLayout {
  readonly width: number;
  unknownCategories = 0;
  // Per feature, in spec order: its column, where its slots start, and the one-hot index of each category
  // (null for a numeric slot). Flat arrays keep the per-row loop free of object lookups.
  private readonly columns: string[];
  private readonly offsets: number[];
  private readonly indexes: (Map<string, number> | null)[];
  // Per feature, the one-hot index of each code of the collected column last encoded (-1: unseen category).
  private readonly codeSlots: { values: readonly string[] | null; slots: Int32Array }[];
  private columnEncoder: ColumnEncoder | undefined;

  constructor(readonly features: Feature[]) {
    let offset = 0;
    this.columns = [];
    this.offsets = [];
    this.indexes = [];
    for (const feature of features) {
      if (feature.kind === 'categorical' && !feature.categories) {
        throw new EvaluatorError(
          'EVAL_SPEC_INVALID',
          `spec.features: categorical feature ${feature.column} needs categories for its one-hot encoding`,
        );
      }
      this.columns.push(feature.column);
      this.offsets.push(offset);
      this.indexes.push(feature.categories ? new Map(feature.categories.map((c, i) => [c, i])) : null);
      offset += feature.categories ? feature.categories.length : 1;
    }
    this.width = offset;
    this.codeSlots = features.map(() => ({ values: null, slots: new Int32Array(0) }));
  }

  /** Writes one row at out[at..at+width); false when a value is missing (the row cannot be scored). */
  encode(row: Row, out: Float32Array, at: number): boolean {
    for (let f = 0; f < this.columns.length; f++) {
      const value = row[this.columns[f]!];
      if (value === null || value === undefined) return false;
      const index = this.indexes[f];
      const offset = at + this.offsets[f]!;
      if (index) {
        for (let k = 0; k < index.size; k++) out[offset + k] = 0;
        const hit = index.get(typeof value === 'string' ? value : String(value));
        if (hit === undefined) this.unknownCategories++;
        else out[offset + hit] = 1;
      } else {
        const x = typeof value === 'number' ? value : numericValue(value);
        if (!Number.isFinite(x)) return false;
        out[offset] = x;
      }
    }
    return true;
  }

  /**
   * Writes rows start..start+count of collected columns (one per feature, in spec order) into `out`, which
   * must be zero, and sets ok[i] as encode would for the same rows, counting the same unseen categories
   * (those met before a row's first missing value). A row that is not ok may hold other values than encode
   * leaves in it: its score is discarded. From the numbers the data pass parsed once and its dictionary codes,
   * rather than the row objects. Returns false, writing nothing, when a one-hot feature's column is not coded
   * throughout; the caller then encodes the rows.
   */
  encodeColumns(
    columns: CollectedColumn[],
    start: number,
    count: number,
    out: Float32Array,
    ok: Uint8Array,
  ): boolean {
    if (this.indexes.some((index, f) => index && !columns[f]!.coded)) return false;
    this.columnEncoder ??= compileColumnEncoder(
      this.offsets,
      this.indexes.map((index) => index !== null),
      this.width,
    );
    this.unknownCategories += this.columnEncoder(
      columns.map((c) => c.nums),
      columns.map((c) => c.codes),
      columns.map((c, f) => (this.indexes[f] ? this.slotsOf(f, c.values) : NO_SLOTS)),
      start,
      count,
      out,
      ok,
    );
    return true;
  }

  // A collected column's dictionary only grows, so its codes are looked up once each, as they appear.
  private slotsOf(f: number, values: readonly string[]): Int32Array {
    let cache = this.codeSlots[f]!;
    if (cache.values !== values) cache = this.codeSlots[f] = { values, slots: new Int32Array(0) };
    if (cache.slots.length < values.length) {
      const slots = new Int32Array(values.length);
      slots.set(cache.slots);
      for (let c = cache.slots.length; c < values.length; c++)
        slots[c] = this.indexes[f]!.get(values[c]!) ?? -1;
      cache.slots = slots;
    }
    return cache.slots;
  }
}

/** Encodes a batch from collected columns (see encodeColumns); returns the unseen categories it counted. */
type ColumnEncoder = (
  nums: readonly Float64Array[],
  codes: readonly Int32Array[],
  slots: readonly Int32Array[],
  start: number,
  count: number,
  out: Float32Array,
  ok: Uint8Array,
) => number;

const NO_SLOTS = new Int32Array(0);

/**
 * The row loop of encodeColumns written out for one layout: a single pass over the batch, each row's features
 * in spec order at constant offsets, so that a one-hot slot is a store and a row's fate one flag. A pass per
 * feature walks the whole batch buffer once each: on the benchmark's Adult layout (9 features, 25 floats) they
 * took 39–46 ns a row in its loop and this takes 26–39, beside a 16-unit MLP's whole forward pass at about
 * 100. The source is built from our own integers only (offsets, the width, feature positions), never from
 * data or the spec's names, and compiled once per layout.
 */
function compileColumnEncoder(
  offsets: readonly number[],
  oneHot: readonly boolean[],
  width: number,
): ColumnEncoder {
  const int = (n: number): string => {
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`not a layout integer: ${n}`);
    return String(n);
  };
  const locals = offsets.map((_, f) =>
    oneHot[f] ? `const c${f} = codes[${f}], s${f} = slots[${f}];` : `const n${f} = nums[${f}];`,
  );
  const features = offsets.map((offset, f) =>
    oneHot[f]
      ? `{ const code = c${f}[r]; if (code < 0) good = 0; else { const slot = s${f}[code]; if (slot >= 0) out[at + ${int(offset)} + slot] = 1; else unseen += good; } }`
      : // x - x is 0 for a finite number only (NaN for NaN and ±Infinity), as Number.isFinite judges it.
        `{ const x = n${f}[r]; out[at + ${int(offset)}] = x; if (x - x !== 0) good = 0; }`,
  );
  const source = [
    'let unseen = 0;',
    ...locals,
    `for (let i = 0, at = 0; i < count; i++, at += ${int(width)}) {`,
    'const r = start + i;',
    'let good = 1;',
    ...features,
    'ok[i] = good;',
    '}',
    'return unseen;',
  ].join('\n');
  return new Function('nums', 'codes', 'slots', 'start', 'count', 'out', 'ok', source) as ColumnEncoder;
}
