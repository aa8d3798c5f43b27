import { describe, expect, it } from 'vitest';
import { ColumnCollector } from '../../../../evaluators/collect.ts';
import { normalizeFeatures, TensorLayout } from '../../../../evaluators/onnx/features.ts';
import type { Row } from '../../../../evaluators/readers/rows.ts';

const features = normalizeFeatures([
  'age',
  { column: 'sex', categories: ['Male', 'Female'] },
  'hours',
  { column: 'race', categories: ['White', 'Black', 'Other'] },
]);
// Missing and non-numeric values, unseen categories (before and after a missing value), numbers as strings.
const rows: Row[] = [
  { age: '39', sex: 'Male', hours: 40, race: 'White' },
  { age: 50, sex: 'Female', hours: '13', race: 'Asian' },
  { age: null, sex: 'Male', hours: 40, race: 'Black' },
  { age: '31', sex: 'Martian', hours: null, race: 'Other' },
  { age: 'n/a', sex: 'Female', hours: 20, race: 'White' },
  { age: 28, sex: 'Female', hours: 35, race: null },
  { age: 44, sex: 'Male', hours: 60 },
  { age: true, sex: 'Female', hours: ' 7 ', race: 'Other' },
];

function collect(kinds: ('numeric' | 'categorical' | null)[]): ColumnCollector[] {
  const collectors = features.map((f, i) => new ColumnCollector(f.column, kinds[i]!));
  for (const row of rows) for (const c of collectors) c.add(row[c.name]);
  return collectors;
}

describe('TensorLayout', () => {
  it('encodes collected columns as it encodes the row objects', () => {
    const byRows = new TensorLayout(features);
    const byColumns = new TensorLayout(features);
    const width = byRows.width;
    const a = new Float32Array(rows.length * width);
    const okA = Uint8Array.from(rows, (row, i) => (byRows.encode(row, a, i * width) ? 1 : 0));
    const collected = collect([null, 'categorical', null, 'categorical']).map((c) => c.collected());
    // Rows 2.. of the data, as a batch that starts inside the collected columns.
    const b = new Float32Array((rows.length - 2) * width);
    const okB = new Uint8Array(rows.length - 2);
    expect(byColumns.encodeColumns(collected, 2, rows.length - 2, b, okB)).toBe(true);
    expect([...okB]).toEqual([...okA.subarray(2)]);
    // The rows that are scored hold the same floats; the others' are never read.
    okB.forEach(
      (ok, i) =>
        ok &&
        expect([...b.subarray(i * width, (i + 1) * width)]).toEqual([
          ...a.subarray((i + 2) * width, (i + 3) * width),
        ]),
    );
    const byRowsFromTwo = new TensorLayout(features);
    rows.slice(2).forEach((row, i) => byRowsFromTwo.encode(row, new Float32Array(width * 8), i * width));
    expect(byColumns.unknownCategories).toBe(byRowsFromTwo.unknownCategories);
    expect([...okA]).toEqual([1, 1, 0, 0, 0, 0, 0, 1]);
  });

  it('declines columns that are not dictionary-coded throughout, writing nothing', () => {
    const layout = new TensorLayout(features);
    const collected = collect([null, 'numeric', null, 'categorical']).map((c) => c.collected());
    const out = new Float32Array(rows.length * layout.width);
    expect(layout.encodeColumns(collected, 0, rows.length, out, new Uint8Array(rows.length))).toBe(false);
    expect(out.every((x) => x === 0)).toBe(true);
    expect(layout.unknownCategories).toBe(0);
  });

  it('leaves a value past float32 range unscorable, by rows and by columns, instead of feeding ±Infinity', () => {
    const numeric = normalizeFeatures(['x']);
    // 3.4028234663852886e38 is float32's largest; 3.5e38 and 1e39 round to Infinity there, 1e-50 to 0.
    const values = [1e39, '-1e39', 3.5e38, 3.4028234663852886e38, '1e30', 1e-50, 2];
    const byRows = new TensorLayout(numeric);
    const a = new Float32Array(values.length);
    const okA = values.map((x, i) => (byRows.encode({ x }, a, i) ? 1 : 0));
    expect(okA).toEqual([0, 0, 0, 1, 1, 1, 1]);
    expect([...a.subarray(3)]).toEqual([3.4028234663852886e38, Math.fround(1e30), 0, 2]);
    const collector = new ColumnCollector('x', null);
    for (const x of values) collector.add(x);
    const b = new Float32Array(values.length);
    const okB = new Uint8Array(values.length);
    expect(new TensorLayout(numeric).encodeColumns([collector.collected()], 0, values.length, b, okB)).toBe(
      true,
    );
    expect([...okB]).toEqual(okA);
    expect([...b.subarray(3)]).toEqual([...a.subarray(3)]);
  });
});
