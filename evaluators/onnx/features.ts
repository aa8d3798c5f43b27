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
  /** Code of String(cell) in `values` per row, -1 where the cell is missing or has no code (see `coded`). */
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
        // The tensor holds float32: a finite double past its range (1e39) would reach the model as ±Infinity,
        // and be scored as confidently as any other value. Such a row is unscorable, as one holding Infinity is.
        const x = Math.fround(typeof value === 'number' ? value : numericValue(value));
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
   * leaves in it: its score is discarded. Feature by feature rather than row by row, and with the numbers
   * parsed once by the data pass. Returns false, writing nothing, when a one-hot feature's column is not coded
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
    ok.fill(1, 0, count);
    for (let f = 0; f < this.columns.length; f++) {
      const column = columns[f]!;
      if (this.indexes[f]) {
        this.unknownCategories += encodeOneHot(
          column.codes,
          this.slotsOf(f, column.values),
          start,
          count,
          out,
          this.offsets[f]!,
          this.width,
          ok,
        );
      } else {
        encodeNumeric(column.nums, start, count, out, this.offsets[f]!, this.width, ok);
      }
    }
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

// The column passes of encodeColumns, as functions of their own so that each stays monomorphic. Every row is
// written, whether or not an earlier feature already ruled it out: a branch per row costs more than the store.
function encodeNumeric(
  nums: Float64Array,
  start: number,
  count: number,
  out: Float32Array,
  offset: number,
  width: number,
  ok: Uint8Array,
): void {
  for (let i = 0, at = offset; i < count; i++, at += width) {
    out[at] = nums[start + i]!;
    // Read back as stored: a double past float32's range (1e39) is Infinity there (see encode).
    if (!Number.isFinite(out[at]!)) ok[i] = 0;
  }
}

/** Returns how many unseen categories it met in rows still ok. */
function encodeOneHot(
  codes: Int32Array,
  slots: Int32Array,
  start: number,
  count: number,
  out: Float32Array,
  offset: number,
  width: number,
  ok: Uint8Array,
): number {
  let unseen = 0;
  for (let i = 0, at = offset; i < count; i++, at += width) {
    const code = codes[start + i]!;
    if (code < 0) ok[i] = 0;
    else if (slots[code]! >= 0) out[at + slots[code]!] = 1;
    else if (ok[i]) unseen++;
  }
  return unseen;
}
