import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { logisticOnnx } from '../../../evaluators/fixtures/models.ts';
import { evaluate, type EvaluationSpec } from '../../../evaluators/index.ts';
import type { EvidenceDocument } from '../../../reports/index.ts';

// The robustness and explainability parts of the report fixture's evidence (probe-evidence.json), as the
// evaluator writes them: evaluate() run once on a résumé screener of the fixture's features, a logistic
// regression with fixed weights, over 1,130 seeded applicants. Regenerate after a change to the evaluator:
//   npx tsx test/unit/reports/probe-evidence.ts
// probe-evidence.test.ts checks that the file is what evaluate() writes now.

export const PROBE_EVIDENCE_FILE = fileURLToPath(new URL('probe-evidence.json', import.meta.url));

export type ProbeEvidence = Required<Pick<EvidenceDocument, 'robustness' | 'explainability'>>;

const EDUCATION = ['secondary', 'bachelor', 'master'];
const SEX = ['Male', 'Female'];

/** The screener's spec: rejected (a score under 0.5) is the adverse decision. */
export const PROBE_SPEC: EvaluationSpec = {
  label: { column: 'hired', positive: 1 },
  prediction: { output: 'probabilities', threshold: 0.5 },
  sensitive: ['sex'],
  features: [
    'income',
    'age',
    'tenure',
    { column: 'education', categories: EDUCATION },
    { column: 'sex', categories: SEX },
  ],
  metrics: ['robustness', 'explainability'],
  explainability: { adverse_decision: 'negative' },
};

// mulberry32, as fixture.ts seeds its data.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the evaluator on the screener and its applicants, and returns the parts the reports read. */
export async function probeEvidence(): Promise<ProbeEvidence> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-probe-evidence-'));
  try {
    // logit = 0.04 income (thousands) − 0.02 age + 0.15 tenure + education + 0.3 if male − 2.5: the model
    // scores by sex, as the fairness part of the fixture says it selects.
    const model = path.join(dir, 'screener.onnx');
    const w = Float32Array.of(0.04, -0.02, 0.15, 0, 0.5, 1, 0.3, 0);
    await writeFile(model, logisticOnnx({ in: w.length, out: 1, w, b: Float32Array.of(-2.5) }));
    const next = rng(7);
    const lines = ['income,age,tenure,education,sex,hired'];
    for (let i = 0; i < 1130; i++) {
      const income = 20 + Math.floor(next() * 100);
      const age = 21 + Math.floor(next() * 40);
      const tenure = Math.floor(next() * 15);
      const education = EDUCATION[Math.floor(next() * EDUCATION.length)]!;
      const sex = SEX[next() < 0.55 ? 0 : 1]!;
      const merit = 0.04 * income - 0.02 * age + 0.15 * tenure + EDUCATION.indexOf(education) * 0.5 - 2.2;
      lines.push(`${income},${age},${tenure},${education},${sex},${merit + next() - 0.5 > 0 ? 1 : 0}`);
    }
    const data = path.join(dir, 'applicants.csv');
    await writeFile(data, `${lines.join('\n')}\n`);
    const { evidence } = await evaluate({ model, data, spec: PROBE_SPEC, executionProvider: 'cpu' });
    return {
      robustness: evidence.robustness as ProbeEvidence['robustness'],
      explainability: evidence.explainability as ProbeEvidence['explainability'],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = await resolveConfig(PROBE_EVIDENCE_FILE);
  const json = await format(JSON.stringify(await probeEvidence()), {
    ...options,
    filepath: PROBE_EVIDENCE_FILE,
  });
  await writeFile(PROBE_EVIDENCE_FILE, json);
  console.log(`wrote ${PROBE_EVIDENCE_FILE}`);
}
