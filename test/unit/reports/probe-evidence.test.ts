import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { EVIDENCE_SCHEMA } from '../../../evaluators/index.ts';
import { renderHtml } from '../../../reports/index.ts';
import { findTemplate } from '../../../reports/templates.ts';
import { buildViewModel } from '../../../reports/view-model.ts';
import { makeReportInput } from './fixture.ts';
import PROBES from './probe-evidence.json' with { type: 'json' };
import { probeEvidence } from './probe-evidence.ts';

// The fixture's robustness and explainability once held figures no evaluator writes (a SHAP "global_importance",
// "gaussian_noise_accuracy"), and the AI Verify summary read those: these tests keep the fixture what the
// evaluator writes, and the report reading it as what it is.

const schema = EVIDENCE_SCHEMA as {
  definitions: Record<string, unknown>;
  properties: Record<string, unknown>;
};
const validateProbes = new Ajv({ allErrors: true, strict: false }).compile({
  definitions: schema.definitions,
  type: 'object',
  required: ['explainability'],
  properties: {
    robustness: schema.properties.robustness,
    explainability: schema.properties.explainability,
  },
});

const SG = 'sg/ai-verify-summary';

describe('the report fixture’s robustness and explainability', () => {
  it('are what evaluate() writes now (regenerate: npx tsx test/unit/reports/probe-evidence.ts)', async () => {
    expect(await probeEvidence()).toEqual(PROBES);
  });

  it('have the evidence schema’s shape, in every model’s evidence', () => {
    const input = makeReportInput({ template: SG, models: 3 });
    for (const { id, document } of input.evidence) {
      const { robustness, explainability } = document;
      expect(
        validateProbes({ robustness, explainability }),
        `${id}: ${JSON.stringify(validateProbes.errors)}`,
      ).toBe(true);
    }
  });
});

describe('the AI Verify summary', () => {
  const input = makeReportInput({ template: SG, models: 1 });
  const [model] = buildViewModel(input, findTemplate(SG)!).models;

  it('gives permutation importance under its own metric, not as SHAP values', () => {
    const measured = PROBES.explainability.permutation_importance;
    expect(model!.importance_method).toEqual({
      metric: 'accuracy_drop',
      label: 'Accuracy drop when shuffled',
      rows: measured.rows,
      repeats: measured.repeats,
    });
    expect(model!.importance).toEqual(
      measured.features.map((f) => ({ feature: f.feature, value: f.importance, std: f.std })),
    );
  });

  it('gives robustness as figures: rows probed as a count, flip rates with the noise or swap behind them', () => {
    const { perturbation, counterfactual } = PROBES.robustness;
    const noise = `Gaussian noise of 0.05 × each numeric feature's standard deviation (income, age, tenure), 500 rows`;
    const swap = `sex alone set to each of its other values, 500 rows`;
    expect(model!.robustness).toEqual([
      { test: 'Rows probed', detail: 'a seeded sample of the evaluation data', value: 500, format: 'count' },
      { test: 'Decisions flipped by noise', detail: noise, value: perturbation.flip_rate, format: 'rate' },
      {
        test: 'Mean |score change| under noise',
        detail: noise,
        value: perturbation.mean_abs_score_change,
        format: 'score',
      },
      {
        test: 'Largest |score change| under noise',
        detail: noise,
        value: perturbation.max_abs_score_change,
        format: 'score',
      },
      {
        test: 'Counterfactual flip rate: sex',
        detail: swap,
        value: counterfactual[0]!.flip_rate,
        format: 'rate',
      },
      {
        test: 'Mean |score change|: sex',
        detail: swap,
        value: counterfactual[0]!.mean_abs_score_change,
        format: 'score',
      },
    ]);
  });

  it('prints them so, with no SHAP heading, no raw JSON and no count as a ratio', async () => {
    const html = await renderHtml(input);
    const text = (id: string) => {
      const at = html.indexOf(`id="s-${id}"`);
      return html
        .slice(at, html.indexOf('</section>', at))
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ');
    };
    const robustness = text('robustness');
    expect(robustness).toContain('Rows probed a seeded sample of the evaluation data 500 ');
    expect(robustness).toContain('Decisions flipped by noise');
    expect(robustness).toContain('1.2%');
    expect(robustness).not.toMatch(/[{}]/);
    const explainability = text('explainability');
    expect(explainability).toContain('Accuracy drop when shuffled');
    expect(explainability).toContain('income 0.1987');
    expect(explainability).not.toContain('|SHAP|');
  });
});
