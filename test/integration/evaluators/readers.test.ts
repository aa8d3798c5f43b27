import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { ByteWriter, parquetWriteBuffer, parquetWriteFile } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluatorError } from '../../../evaluators/index.ts';
import { MAX_FOOTER_VALUES, readRowBatches, readRows, type Row } from '../../../evaluators/readers/rows.ts';

let dir: string;
const collect = async (file: string, options = {}): Promise<Row[]> => {
  const rows: Row[] = [];
  for await (const row of readRows(file, options)) rows.push(row);
  return rows;
};

/** The Parquet file with its footer's row counts (file and every row group) replaced by `rows`. */
async function withClaimedRows(file: string, rows: bigint): Promise<void> {
  const bytes = await readFile(file);
  const footerLength = bytes.readUInt32LE(bytes.length - 8);
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  metadata.num_rows = rows;
  for (const group of metadata.row_groups) {
    group.num_rows = rows;
    for (const column of group.columns) column.meta_data!.num_values = rows;
  }
  const footer = new ByteWriter();
  writeMetadata(footer, metadata);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(footer.getBuffer().byteLength, 0);
  tail.write('PAR1', 4);
  await writeFile(
    file,
    Buffer.concat([
      bytes.subarray(0, bytes.length - 8 - footerLength),
      Buffer.from(footer.getBuffer()),
      tail,
    ]),
  );
}

/**
 * A Parquet file of one nullable DOUBLE column in one row group of `rows` rows, whose only page declares
 * `values` values, all null: a run of definition level 0 that six bytes spell, whatever the count. With
 * `snappyClaim`, the page is marked Snappy-compressed and claims to expand to that many bytes.
 */
function nullPageFile(opts: { values: number; rows?: number; snappyClaim?: number }): Buffer {
  const { values, rows = values, snappyClaim } = opts;
  const base = parquetWriteBuffer({ columnData: [{ name: 'p', data: [1, null, 3], type: 'DOUBLE' }] });
  const metadata = parquetMetadata(base);
  const levels = new ByteWriter();
  levels.appendVarInt(values * 2);
  levels.appendUint8(0);
  const body = new Uint8Array(levels.getBuffer());
  const chunk = new ByteWriter();
  writePageHeader(chunk, {
    type: 'DATA_PAGE_V2',
    uncompressed_page_size: snappyClaim ?? body.length,
    compressed_page_size: body.length,
    data_page_header_v2: {
      num_values: values,
      num_nulls: values,
      num_rows: values,
      encoding: 'PLAIN',
      definition_levels_byte_length: body.length,
      repetition_levels_byte_length: 0,
      is_compressed: snappyClaim !== undefined,
    },
  });
  chunk.appendBytes(body);
  const group = metadata.row_groups[0]!;
  metadata.num_rows = group.num_rows = BigInt(rows);
  const meta = group.columns[0]!.meta_data!;
  Object.assign(meta, {
    codec: snappyClaim === undefined ? 'UNCOMPRESSED' : 'SNAPPY',
    num_values: BigInt(rows),
    data_page_offset: 4n,
    dictionary_page_offset: undefined,
    total_compressed_size: BigInt(chunk.offset),
    total_uncompressed_size: BigInt(chunk.offset),
    statistics: undefined,
  });
  const footer = new ByteWriter();
  writeMetadata(footer, metadata);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(footer.offset, 0);
  tail.write('PAR1', 4);
  return Buffer.concat([
    Buffer.from('PAR1'),
    Buffer.from(chunk.getBuffer()),
    Buffer.from(footer.getBuffer()),
    tail,
  ]);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-readers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readRows', () => {
  it('reads CSV with a header, renaming repeated names as pandas does, NA markers as null', async () => {
    const file = path.join(dir, 'a.csv');
    await writeFile(file, 'id,score,group,score\n1,0.5,a,0.5\n2,,NA,0.7\n');
    expect(await collect(file)).toEqual([
      { id: '1', score: '0.5', group: 'a', 'score.1': '0.5' },
      { id: '2', score: null, group: null, 'score.1': '0.7' },
    ]);
  });

  it('reads headerless CSV with given columns, skipped lines and custom NA values (adult.test style)', async () => {
    const file = path.join(dir, 'adult.test');
    await writeFile(file, '|1x3 Cross validator\n39, State-gov, ?, >50K.\n\n');
    const rows = await collect(file, {
      columns: ['age', 'work', 'x', 'income'],
      skipLines: 1,
      naValues: ['', '?'],
    });
    expect(rows).toEqual([{ age: '39', work: 'State-gov', x: null, income: '>50K.' }]);
  });

  it('streams batches of rows, and refuses a record whose length differs from the given columns', async () => {
    const file = path.join(dir, 'many.csv');
    await writeFile(file, 'a,b\n' + Array.from({ length: 5000 }, (_, i) => `${i},x`).join('\n') + '\n');
    const sizes: number[] = [];
    for await (const rows of readRowBatches(file)) sizes.push(rows.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
    const short = path.join(dir, 'short.csv');
    await writeFile(short, '1\n2\n');
    await expect(collect(short, { columns: ['a', 'b'] })).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('columns length is 2, got 1'),
    });
  });

  it('reads JSON Lines, keeping types, and names the bad line', async () => {
    const file = path.join(dir, 'a.jsonl');
    await writeFile(file, '{"a": 1, "b": "x"}\n\n{"a": null}\n');
    expect(await collect(file)).toEqual([{ a: 1, b: 'x' }, { a: null }]);
    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(bad, '{"a": 1}\n[1, 2]\n');
    await expect(collect(bad)).rejects.toThrow(/bad\.jsonl:2: each line must be a JSON object/);
  });

  it('renames a repeated header name past a column that already has the generated name', async () => {
    const file = path.join(dir, 'collide.csv');
    await writeFile(file, 'a,a,a.1\n1,2,3\n');
    expect(await collect(file)).toEqual([{ a: '1', 'a.1': '2', 'a.1.1': '3' }]);
  });

  it('keeps columns named like Object.prototype members, and reads no prototype member as a column', async () => {
    const csv = path.join(dir, 'proto.csv');
    await writeFile(csv, '__proto__,b\n1,2\n');
    const jsonl = path.join(dir, 'proto.jsonl');
    await writeFile(jsonl, '{"__proto__": {"polluted": 1}, "b": 2}\n');
    const parquet = path.join(dir, 'proto.parquet');
    await parquetWriteFile({
      filename: parquet,
      columnData: [{ name: '__proto__', data: Float64Array.from([1]), type: 'DOUBLE' }],
    });
    for (const [file, value] of [
      [csv, '1'],
      [jsonl, '{"polluted":1}'],
      [parquet, 1],
    ] as const) {
      const [row] = await collect(file);
      expect(Object.keys(row!)).toContain('__proto__');
      expect(row!['__proto__']).toBe(value);
      expect(row!['constructor']).toBeUndefined();
    }
  });

  it('refuses a JSON Lines number beyond a double and a value nested past the stack, naming line and column', async () => {
    const huge = path.join(dir, 'huge.jsonl');
    await writeFile(huge, '{"a": 1}\n{"a": 1e999}\n');
    await expect(collect(huge)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('huge.jsonl:2: column "a" holds a number too large for a double'),
    });
    const deep = path.join(dir, 'deep.jsonl');
    await writeFile(deep, `{"a": ${'['.repeat(200_000)}${']'.repeat(200_000)}}\n`);
    await expect(collect(deep)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('deep.jsonl:1: column "a" is nested too deeply'),
    });
  });

  it('refuses a line longer than maxLineBytes before holding it whole: JSON Lines, and a CSV quoted field', async () => {
    const jsonl = path.join(dir, 'long.jsonl');
    // Short lines first, then one that spans many 64 KiB read chunks.
    await writeFile(jsonl, '{"a": 1}\n'.repeat(100) + `{"a": "${'x'.repeat(1_000_000)}"}\n`);
    await expect(collect(jsonl, { maxLineBytes: 100_000 })).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('a line is longer than 100000 bytes'),
    });
    expect(await collect(jsonl)).toHaveLength(101);
    const csv = path.join(dir, 'long.csv');
    await writeFile(csv, `a,b\n"${'x\n'.repeat(500_000)}",1\n`);
    await expect(collect(csv, { maxLineBytes: 100_000 })).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('Max Record Size'),
    });
    expect(await collect(csv)).toHaveLength(1);
  });

  it('refuses a Parquet row group that claims more rows than its pages hold, without allocating them', async () => {
    const file = path.join(dir, 'claims.parquet');
    await parquetWriteFile({
      filename: file,
      columnData: [{ name: 'p', data: Float64Array.from([1, 2, 3]), type: 'DOUBLE' }],
    });
    // hyparquet would build one object per claimed row: gigabytes and tens of seconds for 2e8.
    await withClaimedRows(file, 200_000_000n);
    await expect(collect(file)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('row group 0 claims 200000000 rows, but its column "p" holds 3'),
    });
    await withClaimedRows(file, 2n);
    await expect(collect(file)).rejects.toMatchObject({
      message: expect.stringContaining('column "p" declares 3 values or more in a row group of 2 rows'),
    });
  });

  it('refuses a Parquet page that declares more values than can be held, before decoding it', async () => {
    const file = path.join(dir, 'null-run.parquet');
    await writeFile(file, nullPageFile({ values: 1000 }));
    expect(await collect(file)).toHaveLength(1000);
    // A 150-byte file whose page declares two billion nulls: decoded, it aborts the process (V8 cannot
    // grow an array that far), which no catch would stop.
    await writeFile(file, nullPageFile({ values: 2_000_000_000 }));
    expect((await readFile(file)).length).toBeLessThan(200);
    await expect(collect(file)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('column "p": a page declares 2000000000 values; at most 16777216'),
    });
    // Within the page bound, but more values than the row group has rows.
    await writeFile(file, nullPageFile({ values: 1000, rows: 10 }));
    await expect(collect(file)).rejects.toMatchObject({
      message: expect.stringContaining('column "p" declares 1000 values or more in a row group of 10 rows'),
    });
  });

  it('refuses a Snappy page that claims to expand past what Snappy can', async () => {
    const file = path.join(dir, 'snappy-claim.parquet');
    await writeFile(file, nullPageFile({ values: 10, snappyClaim: 1_000_000_000 }));
    await expect(collect(file)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('claims 1000000000 uncompressed, more than Snappy can expand to'),
    });
  });

  it('refuses a Parquet footer larger than it reads, before decoding it', async () => {
    const file = path.join(dir, 'footer.parquet');
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(100 * 1024 ** 2, 0);
    tail.write('PAR1', 4);
    await writeFile(file, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64), tail]));
    await expect(collect(file)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('its footer is 104857600 bytes; at most 67108864 are read'),
    });
  });

  it('refuses a Parquet footer of more values than it decodes, before hyparquet builds one of them', async () => {
    // FileMetaData.key_value_metadata (field 5) as a list of empty strings, a byte each: 8 MB, well within the
    // footer's byte limit, that hyparquet would build into 8 million objects.
    const count = MAX_FOOTER_VALUES + 1;
    const head = [0x59, 0xf8];
    for (let n = count; n > 0; n = Math.floor(n / 128)) head.push((n & 0x7f) | (n > 127 ? 0x80 : 0));
    const footer = Buffer.alloc(head.length + count + 1);
    footer.set(head);
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.length, 0);
    tail.write('PAR1', 4);
    const file = path.join(dir, 'footer-values.parquet');
    await writeFile(file, Buffer.concat([Buffer.from('PAR1'), footer, tail]));
    await expect(collect(file)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining(
        `its footer holds more than ${MAX_FOOTER_VALUES} values (struct fields and list elements)`,
      ),
    });
  });

  it('refuses a Parquet row group past the row limit before decoding it', async () => {
    const file = path.join(dir, 'many-rows.parquet');
    await writeFile(file, nullPageFile({ values: 5000 }));
    expect(await collect(file, { maxRows: 5000 })).toHaveLength(5000);
    await expect(collect(file, { maxRows: 4999 })).rejects.toMatchObject({
      code: 'EVAL_LIMIT_ROWS',
      message: expect.stringContaining('row group 0 claims rows 1 to 5000'),
    });
  });

  it('reads JSON Lines that start with a byte order mark', async () => {
    const file = path.join(dir, 'bom.jsonl');
    await writeFile(file, '\uFEFF{"p": 1}\n{"p": 0}\n');
    expect(await collect(file)).toEqual([{ p: 1 }, { p: 0 }]);
  });

  it('refuses a lone UTF-16 surrogate, which no canonical JSON can hold, naming where it is', async () => {
    const file = path.join(dir, 'surrogate.jsonl');
    // A pair is text (😀); half of one is not, in a value or in a key.
    await writeFile(file, '{"g": "\\ud83d\\ude00"}\n{"g": "a\\ud800"}\n');
    await expect(collect(file)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringMatching(/surrogate\.jsonl:2: column "g" holds a lone UTF-16 surrogate/),
    });
    await writeFile(file, '{"\\udc00": 1}\n');
    await expect(collect(file)).rejects.toMatchObject({ code: 'EVAL_DATA_FORMAT' });
    // A Parquet JSON column is parsed as JSON, so it can spell one too; UTF-8 bytes (CSV, Parquet strings)
    // cannot: encoded surrogate halves are invalid UTF-8 and decode as U+FFFD.
    const parquet = path.join(dir, 'surrogate.parquet');
    await parquetWriteFile({
      filename: parquet,
      columnData: [{ name: 'g', data: ['ok', 'a\ud800'], type: 'JSON' }],
    });
    await expect(collect(parquet)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('row 2: column "g" holds a lone UTF-16 surrogate'),
    });
    const csv = path.join(dir, 'surrogate.csv');
    await writeFile(
      csv,
      Buffer.concat([Buffer.from('g\na'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')]),
    );
    expect(await collect(csv)).toEqual([{ g: 'a\ufffd\ufffd\ufffd' }]);
  });

  it('reads Parquet row group by row group, with nulls and int64 as numbers', async () => {
    const file = path.join(dir, 'a.parquet');
    await parquetWriteFile({
      filename: file,
      rowGroupSize: 2,
      columnData: [
        { name: 'id', data: BigInt64Array.from([1n, 2n, 3n]), type: 'INT64' },
        { name: 'g', data: ['a', null, 'b'], type: 'STRING', nullable: true },
        { name: 'p', data: Float64Array.from([0.25, 0.5, 0.75]), type: 'DOUBLE' },
      ],
    });
    expect(await collect(file)).toEqual([
      { id: 1, g: 'a', p: 0.25 },
      { id: 2, g: null, p: 0.5 },
      { id: 3, g: 'b', p: 0.75 },
    ]);
  });

  it('keeps a Parquet list or struct as JSON text, int64 values in it as strings of their digits', async () => {
    const file = path.join(dir, 'nested.parquet');
    await parquetWriteFile({
      filename: file,
      schema: [
        { name: 'root', num_children: 1 },
        { name: 'ids', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'INT64', repetition_type: 'OPTIONAL' },
      ],
      columnData: [{ name: 'ids', data: [[1n, 9007199254740993n], null] }],
    });
    expect(await collect(file)).toEqual([{ ids: '["1","9007199254740993"]' }, { ids: null }]);
  });

  it('raises EvaluatorError for unreadable or unknown files', async () => {
    await expect(collect(path.join(dir, 'missing.csv'))).rejects.toBeInstanceOf(EvaluatorError);
    await expect(collect(path.join(dir, 'x.bin'))).rejects.toThrow(/set spec.data.format/);
    const notParquet = path.join(dir, 'n.parquet');
    await writeFile(notParquet, 'not parquet at all');
    await expect(collect(notParquet)).rejects.toMatchObject({ code: 'EVAL_DATA_FORMAT' });
    // Intact metadata over a damaged data page: the failure comes only when the row group is read.
    const damaged = path.join(dir, 'damaged.parquet');
    await parquetWriteFile({
      filename: damaged,
      // Enough values that bytes 4–60 fall in the first page, well before the footer.
      columnData: [
        { name: 'p', data: Float64Array.from({ length: 1000 }, (_, i) => i / 1000), type: 'DOUBLE' },
      ],
    });
    const bytes = await readFile(damaged);
    bytes.fill(0xff, 4, 60);
    await writeFile(damaged, bytes);
    await expect(collect(damaged)).rejects.toMatchObject({
      code: 'EVAL_DATA_FORMAT',
      message: expect.stringContaining('row group 0 of the Parquet file cannot be read'),
    });
  });

  it('turns a failure to read the file into an EvaluatorError, not an unhandled stream error', async () => {
    // A folder passes the existence check and fails at the first read, as an I/O error would.
    for (const name of ['folder.csv', 'folder.jsonl']) {
      await mkdir(path.join(dir, name));
      await expect(collect(path.join(dir, name))).rejects.toMatchObject({
        code: 'EVAL_DATA_INVALID',
        message: expect.stringMatching(/cannot read data file .*EISDIR/),
      });
    }
  });
});
