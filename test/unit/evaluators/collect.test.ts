import { describe, expect, it } from 'vitest';
import { ColumnCollector, MAX_CATEGORIES } from '../../../evaluators/collect.ts';

describe('ColumnCollector past the category cap', () => {
  // MAX_CATEGORIES + 1 distinct values, then 10,000 rows of the first, then one of the last.
  const column = new ColumnCollector('city', 'categorical');
  for (let i = 0; i <= MAX_CATEGORIES; i++) column.add(`c${i}`);
  for (let i = 0; i < 10_000; i++) column.add('c0');
  column.add(`c${MAX_CATEGORIES}`);
  column.add(null);

  it('keeps counting the values already in its dictionary', () => {
    const counts = column.counts();
    expect(counts.size).toBe(MAX_CATEGORIES);
    expect(counts.get('c0')).toBe(10_001);
    expect(counts.get(`c${MAX_CATEGORIES - 1}`)).toBe(1);
    let counted = 0;
    for (const n of counts.values()) counted += n;
    // Every present row but the two holding the one value past the cap.
    expect(counted).toBe(MAX_CATEGORIES + 1 + 10_000 + 1 - 2);
  });
  it('says it is past the cap, and tells the rows without a code from missing ones', () => {
    expect(column.highCardinality).toBe(true);
    expect(column.missing).toBe(1);
    const codes = column.codes.view();
    expect(codes[MAX_CATEGORIES]).toBe(-1);
    expect(codes[MAX_CATEGORIES + 1]).toBe(0);
    expect(codes.at(-2)).toBe(-1);
    // The model runner must not read the codes as the whole column.
    expect(column.collected().coded).toBe(false);
  });
  it('stays under the cap with MAX_CATEGORIES distinct values', () => {
    const full = new ColumnCollector('city', 'categorical');
    for (let i = 0; i < MAX_CATEGORIES; i++) full.add(`c${i}`);
    full.add('c0');
    expect(full.highCardinality).toBe(false);
    expect(full.counts().get('c0')).toBe(2);
  });
});
