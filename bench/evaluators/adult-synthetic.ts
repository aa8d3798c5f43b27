// The evaluator benchmarks' workload: Adult-shaped synthetic rows written as CSV, adult.data as the reference,
// and two MLPs trained on adult.data by the fixture trainer.
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { ADULT_COLUMNS, adultSpec, loadMatrix } from '../../evaluators/fixtures/datasets.ts';
import { ADULT_TRAIN } from '../../evaluators/fixtures/generate.ts';
import { mlpOnnx } from '../../evaluators/fixtures/models.ts';
import { trainMlp } from '../../evaluators/fixtures/train.ts';
import { createRng } from '../../evaluators/metrics/stats.ts';
import { readRows, type Row } from '../../evaluators/readers/rows.ts';
import type { EvaluationSpec } from '../../evaluators/spec/types.ts';

export interface AdultWorkload {
  /** The synthetic rows, headerless CSV as adult.data is. */
  csv: string;
  /** adult.data as it is. */
  reference: string;
  models: { 'MLP 25→16→1': string; 'MLP 25→256→1': string };
  /** Every metric family: 3 sensitive attributes, their 4 intersections, drift on 4 features. */
  spec: EvaluationSpec;
  /** Draws one more synthetic row from the same seeded stream that wrote the CSV. */
  synthetic: () => Row;
}

export async function adultWorkload(dir: string, rows: number, batchSize: number): Promise<AdultWorkload> {
  // adult.data rows drawn with replacement (seeded), numeric columns jittered.
  const source: Row[] = [];
  for await (const row of readRows(ADULT_TRAIN, { columns: ADULT_COLUMNS, naValues: ['', '?'] }))
    source.push(row);
  const rng = createRng(2026);
  const synthetic = (): Row => {
    const r = { ...source[Math.floor(rng() * source.length)]! };
    r.age = Math.max(17, Math.round(Number(r.age) + (rng() - 0.5) * 6));
    r['hours-per-week'] = Math.max(1, Math.round(Number(r['hours-per-week']) + (rng() - 0.5) * 8));
    return r;
  };
  const csv = path.join(dir, 'adult-synthetic.csv');
  const out = createWriteStream(csv);
  const cell = (v: unknown): string => (v === null ? '?' : String(v));
  for (let i = 0; i < rows; i++) {
    // One synthetic row per line (drawing a row per cell would make the columns independent).
    const r = synthetic();
    if (!out.write(ADULT_COLUMNS.map((c) => cell(r[c] ?? null)).join(', ') + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const reference = path.join(dir, 'adult-ref.csv');
  await writeFile(reference, (await readFile(ADULT_TRAIN, 'utf8')).trimEnd() + '\n');

  const base = adultSpec();
  const matrix = await loadMatrix(ADULT_TRAIN, base);
  const small = path.join(dir, 'adult-mlp-16.onnx');
  await writeFile(small, mlpOnnx(trainMlp(matrix, { hidden: 16, epochs: 3 })));
  const large = path.join(dir, 'adult-mlp-256.onnx');
  await writeFile(large, mlpOnnx(trainMlp(matrix, { hidden: 256, epochs: 1 })));
  return {
    csv,
    reference,
    models: { 'MLP 25→16→1': small, 'MLP 25→256→1': large },
    spec: {
      ...base,
      sensitive: ['sex', 'race', 'relationship'],
      intersections: [
        ['sex', 'race'],
        ['sex', 'relationship'],
        ['race', 'relationship'],
        ['sex', 'race', 'relationship'],
      ],
      drift: { features: ['age', 'hours-per-week', 'sex', 'race'] },
      // The reference is adult.data as it is: headerless like the data, read the same way.
      reference_data: base.data,
      model: { batch_size: batchSize },
    },
    synthetic,
  };
}
