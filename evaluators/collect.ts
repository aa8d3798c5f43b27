import { EvaluatorError } from './errors.ts';
import { numericValue, type CollectedColumn } from './onnx/features.ts';
import type { Cell, Row } from './readers/rows.ts';
import type { ColumnData } from './metrics/data-quality.ts';
import { createRng } from './metrics/stats.ts';

// Row-streaming accumulators. Everything the metrics need is kept as typed columns, so a million rows cost
// a few bytes per tracked column each, never a million row objects.

export class Growable<T extends Float64Array | Int32Array | Int8Array> {
  private data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }
  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }
  set(i: number, x: number): void {
    this.data[i] = x;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

// A categorical column with more distinct values than this (an ID column, say) stops taking new values into
// its dictionary: the values already there keep their codes, later ones get none (highCardinality).
export const MAX_CATEGORIES = 5000;

export type ColumnKind = 'numeric' | 'categorical';

export class ColumnCollector {
  readonly nums = new Growable((n) => new Float64Array(n));
  readonly codes = new Growable((n) => new Int32Array(n));
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  missing = 0;
  /** Present values that are not finite numbers (text, or an overflow such as 1e999). */
  nonNumeric = 0;
  /** Present values that are no number at all, not even an infinite one. */
  text = 0;
  /** Whether some present value got no code: the column holds more than MAX_CATEGORIES distinct values. */
  highCardinality = false;

  /**
   * `declared`: the kind the spec gives the column, or null to judge it from all of its values (kind()); such
   * a column is dictionary-coded too, in case it turns out categorical.
   */
  constructor(
    readonly name: string,
    readonly declared: ColumnKind | null,
  ) {}

  add(value: Cell | undefined): void {
    if (value === null || value === undefined) {
      this.missing++;
      this.nums.push(Number.NaN);
      this.codes.push(-1);
      return;
    }
    const x = numericValue(value);
    // An infinite number has no place in a mean, a quantile or canonical JSON: it is left out of the numbers,
    // as the JSON Lines and Parquet readers leave it out of the data, but it does not make the column text.
    if (Number.isFinite(x)) this.nums.push(x);
    else {
      this.nonNumeric++;
      if (Number.isNaN(x)) this.text++;
      this.nums.push(Number.NaN);
    }
    if (this.declared === 'numeric') {
      this.codes.push(-1);
      return;
    }
    const key = String(value);
    let code = this.index.get(key);
    if (code === undefined) {
      if (this.values.length >= MAX_CATEGORIES) {
        this.highCardinality = true;
        this.codes.push(-1);
        return;
      }
      code = this.values.push(key) - 1;
      this.index.set(key, code);
    }
    this.codes.push(code);
  }

  /**
   * As declared; otherwise numeric when every present value reads as a number and one is finite, and
   * categorical when not. Decided from all the values, not the first: adult's `?` may come first.
   */
  kind(): ColumnKind {
    return sharedKind(this, this);
  }

  data(): ColumnData {
    return {
      name: this.name,
      nums: this.nums.view(),
      codes: this.codes.view(),
      values: this.values,
      missing: this.missing,
      nonNumeric: this.nonNumeric,
    };
  }

  /** The column so far, as the model runner encodes it. */
  collected(): CollectedColumn {
    return {
      nums: this.nums.view(),
      codes: this.codes.view(),
      values: this.values,
      coded: this.declared !== 'numeric' && !this.highCardinality,
    };
  }

  /** Category counts (for chi-square drift). */
  counts(): Map<string, number> {
    const byCode = new Float64Array(this.values.length);
    const codes = this.codes.view();
    for (let i = 0; i < codes.length; i++) if (codes[i]! >= 0) byCode[codes[i]!]!++;
    return new Map(this.values.map((v, c) => [v, byCode[c]!]));
  }
}

/**
 * The kind a column takes in both datasets that drift compares: as declared, or numeric when neither holds
 * text and one holds a finite number (as pandas reads a column). Judged apart, a reference whose only text is
 * a `?` would be categorical against a numeric current sample, and the two would share no category to count.
 */
export function sharedKind(a: ColumnCollector, b: ColumnCollector): ColumnKind {
  if (a.declared) return a.declared;
  const finite = (c: ColumnCollector): number => c.nums.length - c.missing - c.nonNumeric;
  return a.text + b.text === 0 && finite(a) + finite(b) > 0 ? 'numeric' : 'categorical';
}

/** Missing cells per column, over every column seen in the data (absent keys count as missing). */
/** The most distinct column names the data may have. */
const MAX_COLUMNS = 100_000;

export class MissingCounter {
  private readonly present = new Map<string, number>();
  rows = 0;
  add(row: Row): void {
    this.rows++;
    for (const key in row) {
      if (row[key] !== null) this.present.set(key, (this.present.get(key) ?? 0) + 1);
      else if (!this.present.has(key)) this.present.set(key, 0);
    }
    // JSON Lines rows may each bring new keys; past this many the data is not a table (and a Map stops at 2^24).
    if (this.present.size > MAX_COLUMNS) {
      throw new EvaluatorError(
        'EVAL_DATA_FORMAT',
        `data names more than ${MAX_COLUMNS} distinct columns by row ${this.rows}`,
      );
    }
  }
  columns(): string[] {
    return [...this.present.keys()].sort();
  }
  missing(column: string): number {
    return this.rows - (this.present.get(column) ?? 0);
  }
}

/**
 * A seeded uniform sample of up to `size` scorable rows (reservoir sampling, Algorithm R), for the model probes.
 * Each family that probes the model draws its own, at its own size and seed.
 */
export class RowSample {
  readonly rows: Row[] = [];
  /** Each row's label: 1, 0, or -1 when it has none. */
  private readonly labelsOf: number[] = [];
  /** Each row's position in the data (0 = the first data row). */
  readonly positions: number[] = [];
  /** Each row's score, as the data pass gave it. */
  private readonly scoresOf: number[] = [];
  private readonly rng: () => number;
  private seen = 0;

  constructor(
    readonly size: number,
    readonly seed: number,
  ) {
    this.rng = createRng(seed);
  }

  add(row: Row, position: number, label: number, score: number): void {
    if (this.size === 0) return;
    this.seen++;
    let at = this.rows.length;
    if (at === this.size) {
      at = Math.floor(this.rng() * this.seen);
      if (at >= this.size) return;
    }
    this.rows[at] = row;
    this.labelsOf[at] = label;
    this.positions[at] = position;
    this.scoresOf[at] = score;
  }

  labels(): Int8Array {
    return Int8Array.from(this.labelsOf);
  }

  scores(): Float64Array {
    return Float64Array.from(this.scoresOf);
  }
}
