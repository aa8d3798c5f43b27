import { parse } from 'csv-parse/sync';

/**
 * The same CSV with every value of `column` moved by `delta`: live data whose population has drifted from
 * the training data (the people scored are older), for a monitoring evaluation against a reference.
 */
export function shiftColumn(csv: string, column: string, delta: number): string {
  const rows = parse(csv, { relaxQuotes: true }) as string[][];
  const index = rows[0]!.indexOf(column);
  if (index < 0) throw new TypeError(`the CSV has no column ${column}`);
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return (
    rows
      .map((row, i) =>
        row
          .map((v, j) => (i > 0 && j === index && v !== '' ? String(Number(v) + delta) : v))
          .map(quote)
          .join(','),
      )
      .join('\n') + '\n'
  );
}
