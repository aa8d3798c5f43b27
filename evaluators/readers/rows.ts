import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import {
  asyncBufferFromFile,
  parquetMetadata,
  parquetRead,
  parquetSchema,
  type AsyncBuffer,
  type DecodedArray,
  type FileMetaData,
  type RowGroup,
} from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { EvaluatorError } from '../errors.ts';

/**
 * One data row: missing values (empty cells, configured NA markers, JSON null) are null. A row has no
 * prototype, so that every column name is an own key: `__proto__` is a column like any other, and a column
 * the data lacks reads as undefined even when it is named `constructor` or `toString`.
 */
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

const emptyRow = (): Row => Object.create(null) as Row;
export type DataFormat = 'csv' | 'jsonl' | 'parquet';

export interface ReadOptions {
  format?: DataFormat;
  /** Column names for a CSV file without a header line. */
  columns?: string[];
  delimiter?: string;
  /** Lines to skip before the header (or the first row): adult.test's `|1x3 Cross validator`. */
  skipLines?: number;
  /**
   * Further spellings of a missing value, besides DEFAULT_NA_VALUES (which always count): a spec names the
   * one its data adds (`?`, `Prefer not to say`), and an empty cell stays missing whatever it lists.
   */
  naValues?: string[];
  /** Longest line (a JSON Lines line, a CSV record with its quoted newlines) read; DEFAULT_MAX_LINE_BYTES. */
  maxLineBytes?: number;
  /**
   * Rows past which the data is refused (EVAL_LIMIT_ROWS). A Parquet row group that claims more is refused
   * before it is decoded: its columns are decoded whole.
   */
  maxRows?: number;
  signal?: AbortSignal;
}

/** The spellings of a missing value in every file; ReadOptions.naValues adds to them. */
export const DEFAULT_NA_VALUES: readonly string[] = ['', 'NA', 'N/A', 'NaN', 'null'];

/** The data format a file's name tells by its extension, if it tells one. */
export function dataFormatOf(name: string): DataFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv') || lower.endsWith('.data') || lower.endsWith('.test') || lower.endsWith('.txt'))
    return 'csv';
  return undefined;
}

function formatOf(path: string, explicit?: DataFormat): DataFormat {
  const format = explicit ?? dataFormatOf(path);
  if (!format)
    throw new EvaluatorError('EVAL_DATA_FORMAT', `cannot tell the format of ${path}; set spec.data.format`);
  return format;
}

function normalize(value: unknown, na: ReadonlySet<string>): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return na.has(value) ? null : value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  // A Parquet list or struct is kept as JSON text; int64 values inside it come as bigint, which JSON has no
  // form for: they are written as strings, with every digit.
  return JSON.stringify(value, (_, item: unknown) => (typeof item === 'bigint' ? String(item) : item));
}

/**
 * A JSON Lines value or a Parquet record's field as a cell. JSON.stringify recurses, so a value nested deeper
 * than the stack allows (a line of 100,000 `[`) is refused as bad data rather than escaping as a RangeError.
 */
function cellOf(value: unknown, na: ReadonlySet<string>, column: string, where: () => string): Cell {
  try {
    return normalize(value, na);
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new EvaluatorError(
      'EVAL_DATA_FORMAT',
      `${where()}: column ${JSON.stringify(column)} is nested too deeply to keep as JSON text`,
      { cause },
    );
  }
}

// JSON's \ud800 escapes can spell a lone UTF-16 surrogate, which is no Unicode text: canonical JSON (RFC 8785)
// refuses it, so no evidence could name it as a group or a category. Bytes decoded as UTF-8 (CSV, Parquet
// strings) never hold one; a JSON value does (JSON Lines, a Parquet JSON column).
function loneSurrogateIn(record: Record<string, unknown>): string | null {
  for (const key in record) {
    const value = record[key];
    if (!key.isWellFormed()) return `column name ${JSON.stringify(key)}`;
    if (typeof value === 'string' && !value.isWellFormed()) return `column ${JSON.stringify(key)}`;
  }
  return null;
}

// pandas renames repeated header names to name.1, name.2 (COMPAS repeats decile_score and priors_count).
// A generated name that the header already holds is suffixed again (a, a, a.1 → a, a.1, a.1.1), as pandas'
// dedup_names does, so that no column overwrites another.
function dedupeHeader(header: string[]): string[] {
  const taken = new Map<string, number>();
  return header.map((raw) => {
    let name = raw.trim();
    let count = taken.get(name) ?? 0;
    while (count > 0) {
      taken.set(name, count + 1);
      name = `${name}.${count}`;
      count = taken.get(name) ?? 0;
    }
    taken.set(name, count + 1);
    return name;
  });
}

// No row of tabular data comes near this; a file that is one endless line (or one endless quoted field) is
// refused, before the whole of it sits in memory as one string.
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 ** 2;

/** UTF-8 text of the file, failing as soon as a line runs past maxLineBytes (readline sets no bound). */
function boundedLines(path: string, maxLineBytes: number): Transform {
  const tooLong = () =>
    new EvaluatorError('EVAL_DATA_FORMAT', `${path}: a line is longer than ${maxLineBytes} bytes`);
  let sinceNewline = 0;
  return new Transform({
    encoding: 'utf8',
    transform(chunk: Buffer, _encoding, done) {
      const first = chunk.indexOf(0x0a);
      if (first === -1) sinceNewline += chunk.length;
      else {
        // A line that lies wholly inside one chunk is shorter than the chunk: only the line carried over from
        // earlier chunks can grow past the bound.
        if (sinceNewline + first > maxLineBytes) return done(tooLong());
        sinceNewline = chunk.length - chunk.lastIndexOf(0x0a) - 1;
      }
      if (sinceNewline > maxLineBytes) return done(tooLong());
      done(null, chunk);
    },
  });
}

// Rows travel in batches: one await per batch rather than per row, which on a million rows is a
// noticeable share of the data pass.
const MAX_BATCH = 4096;

// The stream's async iterator waits once; the records it has buffered already are then taken synchronously.
async function* batchesOf<T>(stream: AsyncIterable<T> & { read(): T | null }): AsyncGenerator<T[]> {
  for await (const first of stream) {
    const batch = [first];
    let next: T | null;
    while (batch.length < MAX_BATCH && (next = stream.read()) !== null) batch.push(next);
    yield batch;
  }
}

/**
 * The file's bytes through `into`. A read error (a directory, no permission, an I/O error) reaches `into`'s
 * consumer as `failed()`, instead of escaping as an unhandled 'error' event that ends the process: `pipe`
 * does not forward errors.
 */
function readThrough<T extends Transform>(path: string, into: T): { stream: T; failed(): Error | undefined } {
  const source = createReadStream(path);
  let failure: Error | undefined;
  source.on('error', (err) => {
    failure = err;
    into.destroy(err);
  });
  return { stream: source.pipe(into), failed: () => failure };
}

const readFailure = (path: string, cause: Error) =>
  new EvaluatorError('EVAL_DATA_INVALID', `cannot read data file ${path}: ${cause.message}`, { cause });

async function* readCsv(path: string, options: ReadOptions, na: ReadonlySet<string>): AsyncGenerator<Row[]> {
  // Records come as arrays and become row objects here, once: csv-parse's own `columns` would build an
  // object per record that normalizing then copies.
  const { stream: parser, failed } = readThrough(
    path,
    parseCsv({
      delimiter: options.delimiter ?? ',',
      from_line: (options.skipLines ?? 0) + 1,
      trim: true,
      skip_empty_lines: true,
      relax_quotes: false,
      max_record_size: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    }),
  );
  let header = options.columns ?? null;
  let records = 0;
  try {
    for await (const batch of batchesOf<string[]>(parser)) {
      const rows: Row[] = [];
      for (const record of batch) {
        if (header === null) {
          header = dedupeHeader(record);
          continue;
        }
        records++;
        if (record.length !== header.length) {
          throw new EvaluatorError(
            'EVAL_DATA_FORMAT',
            `${path}: not valid CSV: columns length is ${header.length}, got ${record.length} in data row ${records}`,
          );
        }
        const row = emptyRow();
        for (let k = 0; k < header.length; k++) row[header[k]!] = normalize(record[k], na);
        rows.push(row);
      }
      yield rows;
    }
  } catch (cause) {
    if (cause instanceof EvaluatorError) throw cause;
    const failure = failed();
    if (failure) throw readFailure(path, failure);
    throw new EvaluatorError('EVAL_DATA_FORMAT', `${path}: not valid CSV: ${(cause as Error).message}`, {
      cause,
    });
  }
}

async function* readJsonLines(
  path: string,
  options: ReadOptions,
  na: ReadonlySet<string>,
): AsyncGenerator<Row[]> {
  const { stream: text, failed } = readThrough(
    path,
    boundedLines(path, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES),
  );
  const lines = createInterface({ input: text, crlfDelay: Infinity });
  let n = 0;
  let rows: Row[] = [];
  try {
    for await (const text of lines) {
      n += 1;
      // A byte order mark, as some Windows tools write before the first line, is no part of the JSON.
      const line = n === 1 && text.startsWith('\uFEFF') ? text.slice(1) : text;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (cause) {
        throw new EvaluatorError('EVAL_DATA_FORMAT', `${path}:${n}: not valid JSON`, { cause });
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new EvaluatorError('EVAL_DATA_FORMAT', `${path}:${n}: each line must be a JSON object`);
      }
      const surrogate = loneSurrogateIn(value as Record<string, unknown>);
      if (surrogate) {
        throw new EvaluatorError(
          'EVAL_DATA_FORMAT',
          `${path}:${n}: ${surrogate} holds a lone UTF-16 surrogate (a \\uD800–\\uDFFF escape without its pair), which is not Unicode text`,
        );
      }
      const row = emptyRow();
      for (const [key, cell] of Object.entries(value)) {
        // JSON cannot spell infinity: a number beyond a double's range (1e999) parses as one, and would
        // otherwise read as a missing value.
        if (typeof cell === 'number' && !Number.isFinite(cell)) {
          throw new EvaluatorError(
            'EVAL_DATA_FORMAT',
            `${path}:${n}: column ${JSON.stringify(key)} holds a number too large for a double`,
          );
        }
        row[key] = cellOf(cell, na, key, () => `${path}:${n}`);
      }
      rows.push(row);
      if (rows.length === MAX_BATCH) {
        yield rows;
        rows = [];
      }
    }
  } catch (cause) {
    const failure = failed();
    if (failure && !(cause instanceof EvaluatorError)) throw readFailure(path, failure);
    throw cause;
  }
  if (rows.length > 0) yield rows;
}

/**
 * Most values one Parquet page may declare. hyparquet sizes a page's arrays by the count its header declares
 * before it reads a value, and a run-length encoded page declares billions in a few bytes; past V8's largest
 * array that aborts the whole process, which no catch stops. Writers cut pages far smaller: parquet-mr and
 * Arrow at 20,000 rows or about 1 MB.
 */
const MAX_PAGE_VALUES = 1 << 24;
/** Most values one column chunk of a list or struct column may declare: its pages are decoded together. */
const MAX_NESTED_CHUNK_VALUES = 1 << 26;
/** The largest Parquet footer (file metadata) read: thousands of columns in hundreds of row groups fit. */
const MAX_FOOTER_BYTES = 64 * 1024 * 1024;
/**
 * Most values (struct fields and list elements) a Parquet footer may hold: decoded, a footer at the bound takes
 * under 1 GB. A column chunk's metadata is 25 to 50 values (offsets, sizes, encodings, statistics), so 160,000
 * column chunks fit: 1,600 columns in 100 row groups.
 */
export const MAX_FOOTER_VALUES = 8_000_000;
/** Deepest nesting of structs and lists in a footer; the Parquet format's own nests under ten deep. */
const MAX_FOOTER_DEPTH = 64;
/** Snappy's largest expansion: a copy element of three bytes writes at most 64. */
const SNAPPY_MAX_EXPANSION = 22;

/**
 * Walks a footer's Thrift compact protocol (field headers, list headers, lengths; no value is decoded) and throws
 * if it holds more than maxValues values or nests deeper than MAX_FOOTER_DEPTH. hyparquet decodes the whole
 * footer at once, an object for every value: an empty string or struct takes one byte here and 60 to 110 bytes
 * of heap, so a footer well within MAX_FOOTER_BYTES would exhaust it before any check could see it.
 */
export function checkFooterValues(footer: Uint8Array, maxValues = MAX_FOOTER_VALUES): void {
  let at = 0;
  let values = 0;
  const fail = (why: string) => new Error(`its footer ${why}`);
  const byte = (): number => {
    if (at >= footer.length) throw fail('ends inside a value');
    return footer[at++]!;
  };
  const skipVarint = () => {
    while (byte() & 0x80);
  };
  const count = (more: number) => {
    values += more;
    if (values > maxValues)
      throw fail(
        `holds more than ${maxValues} values (struct fields and list elements); at most that many are read`,
      );
  };
  // A list size or a binary length, as Thrift writes an i32: a varint of at most five bytes.
  const size = (): number => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = byte();
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw fail(`holds a malformed size at byte ${at}`);
  };
  const skip = (type: number, depth: number): void => {
    switch (type) {
      case 1: // true and false are in the field header
      case 2:
        return;
      case 3:
        byte();
        return;
      case 4: // i16, i32, i64: zigzag varints
      case 5:
      case 6:
        skipVarint();
        return;
      case 7:
        if ((at += 8) > footer.length) throw fail('ends inside a value');
        return;
      case 8: {
        const length = size();
        if (length > footer.length - at)
          throw fail(`holds a string of ${length} bytes that runs past its end`);
        at += length;
        return;
      }
      case 9: {
        if (depth >= MAX_FOOTER_DEPTH) throw fail(`nests more than ${MAX_FOOTER_DEPTH} deep`);
        const header = byte();
        const elementType = header & 0x0f;
        const elements = header >> 4 === 15 ? size() : header >> 4;
        // Every element takes a byte at least (a boolean in a list is a byte), so no more can follow.
        if (elements > footer.length - at)
          throw fail(`declares a list of ${elements} elements in the ${footer.length - at} bytes left`);
        count(elements);
        const element = elementType === 1 || elementType === 2 ? 3 : elementType;
        for (let k = 0; k < elements; k++) skip(element, depth + 1);
        return;
      }
      case 12:
        if (depth >= MAX_FOOTER_DEPTH) throw fail(`nests more than ${MAX_FOOTER_DEPTH} deep`);
        for (let header = byte(); (header & 0x0f) !== 0; header = byte()) {
          if (header >> 4 === 0) skipVarint(); // a field id that is no small step from the last
          count(1);
          skip(header & 0x0f, depth + 1);
        }
        return;
      default: // map, set and UUID are not in the Parquet format, and hyparquet refuses them
        throw fail(`holds a value of Thrift type ${type}, which Parquet does not use`);
    }
  };
  skip(12, 0);
}

/**
 * The file's footer (file metadata) and the eight bytes after it, once its size and its values are checked;
 * bytes that are no footer (no PAR1 at the end, a length past the start) are left for hyparquet to refuse.
 */
async function footerOf(file: AsyncBuffer): Promise<ArrayBuffer> {
  const length =
    file.byteLength >= 8 ? new DataView(await file.slice(file.byteLength - 8)).getUint32(0, true) : 0;
  if (length > MAX_FOOTER_BYTES)
    throw new Error(`its footer is ${length} bytes; at most ${MAX_FOOTER_BYTES} are read`);
  const tail = await file.slice(Math.max(0, file.byteLength - 8 - length));
  const magic =
    tail.byteLength >= 8 && new DataView(tail).getUint32(tail.byteLength - 4, true) === 0x31524150;
  if (magic && length + 8 <= tail.byteLength) checkFooterValues(new Uint8Array(tail, 0, length));
  return tail;
}

/**
 * Reads a row group's page headers, before any page is decoded, and throws if what they declare could not
 * be true or could not be held: more values in a page than MAX_PAGE_VALUES, more values in a flat column
 * than the group has rows, a Snappy page that claims to expand past what Snappy can, or a page that runs
 * past its column chunk. A flat column holds one value (or null) a row; a list or struct column may hold
 * more, up to MAX_NESTED_CHUNK_VALUES.
 */
async function checkPageHeaders(
  file: AsyncBuffer,
  group: RowGroup,
  flat: ReadonlySet<string>,
): Promise<void> {
  const rows = Number(group.num_rows);
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta) continue; // hyparquet refuses it by name
    const column = meta.path_in_schema.join('.');
    const isFlat = meta.path_in_schema.length === 1 && flat.has(column);
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const bytes = await file.slice(start, start + Number(meta.total_compressed_size));
    const reader = { view: new DataView(bytes), offset: 0 };
    let values = 0;
    while (reader.offset < bytes.byteLength - 1) {
      const header = parquetHeader(reader);
      const declared =
        header.data_page_header?.num_values ??
        header.data_page_header_v2?.num_values ??
        header.dictionary_page_header?.num_values ??
        0;
      const where = `column ${JSON.stringify(column)}: a page`;
      if (!(declared >= 0 && declared <= MAX_PAGE_VALUES))
        throw new Error(`${where} declares ${declared} values; at most ${MAX_PAGE_VALUES} are read`);
      const stored = header.compressed_page_size;
      if (!(stored >= 0 && reader.offset + stored <= bytes.byteLength))
        throw new Error(`${where} of ${stored} bytes runs past its column chunk`);
      if (meta.codec === 'SNAPPY' && header.uncompressed_page_size > stored * SNAPPY_MAX_EXPANSION + 64)
        throw new Error(
          `${where} of ${stored} Snappy bytes claims ${header.uncompressed_page_size} uncompressed, more than Snappy can expand to`,
        );
      reader.offset += stored;
      if (header.type === 'DICTIONARY_PAGE') continue;
      values += declared;
      if (isFlat ? values > rows : values > MAX_NESTED_CHUNK_VALUES)
        throw new Error(
          isFlat
            ? `column ${JSON.stringify(column)} declares ${values} values or more in a row group of ${rows} rows`
            : `column ${JSON.stringify(column)} declares ${values} values or more; at most ${MAX_NESTED_CHUNK_VALUES} are read in one row group`,
        );
    }
  }
}

/**
 * One row group's columns as decoded, each a list of value chunks in row order. hyparquet's own row objects
 * are allocated for the row count the metadata claims, which a few footer bytes can set to billions; decoded
 * columns are only as long as the pages that hold them.
 */
async function columnsOfGroup(
  file: AsyncBuffer,
  metadata: FileMetaData,
  rowStart: number,
  rowEnd: number,
): Promise<Map<string, DecodedArray[]>> {
  const columns = new Map<string, DecodedArray[]>();
  await parquetRead({
    file,
    metadata,
    rowStart,
    rowEnd,
    onChunk: ({ columnName, columnData }) => {
      const chunks = columns.get(columnName);
      if (chunks) chunks.push(columnData);
      else columns.set(columnName, [columnData]);
    },
  });
  return columns;
}

// Row group by row group, so memory holds one group's columns at a time, never the whole file.
async function* readParquet(
  path: string,
  na: ReadonlySet<string>,
  maxRows: number | undefined,
): AsyncGenerator<Row[]> {
  let file;
  let metadata;
  let names;
  let flat;
  try {
    file = await asyncBufferFromFile(path);
    metadata = parquetMetadata(await footerOf(file));
    const columns = parquetSchema(metadata).children;
    names = columns.map((column) => column.element.name);
    flat = new Set(
      columns
        .filter((c) => c.children.length === 0 && c.element.repetition_type !== 'REPEATED')
        .map((c) => c.element.name),
    );
  } catch (cause) {
    throw new EvaluatorError(
      'EVAL_DATA_FORMAT',
      `${path}: not a readable Parquet file: ${(cause as Error).message}`,
      { cause },
    );
  }
  let start = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const claimed = Number(group.num_rows);
    if (maxRows !== undefined && start + claimed > maxRows) {
      throw new EvaluatorError(
        'EVAL_LIMIT_ROWS',
        `data has more than the limit of ${maxRows} rows: ${path}: row group ${g} claims rows ${start + 1} to ${start + claimed}`,
      );
    }
    let columns;
    try {
      await checkPageHeaders(file, group, flat);
      columns = await columnsOfGroup(file, metadata, start, start + claimed);
    } catch (cause) {
      // A damaged page surfaces here, past the metadata: hyparquet's thrift and decompression errors.
      throw new EvaluatorError(
        'EVAL_DATA_FORMAT',
        `${path}: row group ${g} of the Parquet file cannot be read: ${(cause as Error).message}`,
        { cause },
      );
    }
    const values = names.map((name) => {
      const chunks = columns.get(name) ?? [];
      const column = chunks.length === 1 ? chunks[0]! : chunks.flatMap((chunk) => Array.from(chunk));
      // The footer's row count and the pages' value counts are written separately; a file in which they
      // disagree has lost rows, or claims rows that are not there.
      if (column.length !== claimed) {
        throw new EvaluatorError(
          'EVAL_DATA_FORMAT',
          `${path}: row group ${g} claims ${claimed} rows, but its column ${JSON.stringify(name)} holds ${column.length}`,
        );
      }
      return column;
    });
    for (let at = 0; at < claimed; at += MAX_BATCH) {
      const rows: Row[] = [];
      for (let r = at; r < Math.min(at + MAX_BATCH, claimed); r++) {
        const where = () => `${path}: row ${start + r + 1}`;
        const row = emptyRow();
        for (let c = 0; c < names.length; c++) row[names[c]!] = cellOf(values[c]![r], na, names[c]!, where);
        const surrogate = loneSurrogateIn(row);
        if (surrogate) {
          throw new EvaluatorError(
            'EVAL_DATA_FORMAT',
            `${where()}: ${surrogate} holds a lone UTF-16 surrogate, which is not Unicode text`,
          );
        }
        rows.push(row);
      }
      yield rows;
    }
    start += claimed;
  }
}

/** Streams the rows of a CSV, JSON Lines or Parquet file, in batches of up to 4,096 rows. */
export async function* readRowBatches(path: string, options: ReadOptions = {}): AsyncGenerator<Row[]> {
  // Added to the defaults, never in place of them: a list that named only `?` would otherwise turn every
  // empty label into class 0 and every empty attribute into a group of its own.
  const na = new Set([...DEFAULT_NA_VALUES, ...(options.naValues ?? [])]);
  const format = formatOf(path, options.format);
  try {
    await stat(path);
  } catch (cause) {
    throw new EvaluatorError('EVAL_DATA_INVALID', `cannot read data file ${path}`, { cause });
  }
  const source =
    format === 'csv'
      ? readCsv(path, options, na)
      : format === 'jsonl'
        ? readJsonLines(path, options, na)
        : readParquet(path, na, options.maxRows);
  for await (const rows of source) {
    if (options.signal?.aborted) throw new EvaluatorError('EVAL_ABORTED', 'evaluation was cancelled');
    if (rows.length > 0) yield rows;
  }
}

/** Streams the rows of a CSV, JSON Lines or Parquet file. */
export async function* readRows(path: string, options: ReadOptions = {}): AsyncGenerator<Row> {
  for await (const rows of readRowBatches(path, options)) yield* rows;
}
