import { describe, expect, it } from 'vitest';
import { EvaluatorError, loadSpec } from '../../../../evaluators/index.ts';

const expectSpecError = (source: string | object, message: string | RegExp): void => {
  try {
    loadSpec(source);
    expect.unreachable('loadSpec accepted an invalid spec');
  } catch (e) {
    expect(e).toBeInstanceOf(EvaluatorError);
    expect((e as EvaluatorError).code).toBe('EVAL_SPEC_INVALID');
    expect((e as Error).message).toMatch(message);
    // The field the message starts with, for an API to name.
    expect((e as Error).message.startsWith((e as EvaluatorError).field ?? '(none)')).toBe(true);
  }
};

describe('loadSpec', () => {
  it('accepts the portable keys of the issue, in YAML and in JSON', () => {
    const yaml = `
label: { column: two_year_recid, positive: 1 }
prediction: { column: y_pred, positive: 1 }
sensitive: [race, sex]
intersections: [[race, sex]]
min_group_size: 30
drift: { features: [decile_score, age] }
bootstrap: { resamples: 1000, seed: 42 }
`;
    const spec = loadSpec(yaml);
    expect(spec.intersections).toEqual([['race', 'sex']]);
    expect(loadSpec(JSON.stringify(spec))).toEqual(spec);
    expect(
      loadSpec({
        prediction: { output: 'probabilities', threshold: 0.5 },
        features: ['age', { column: 'sex', categories: ['M', 'F'] }],
      }).features,
    ).toHaveLength(2);
  });

  it('reads the data and the reference each as its own part says', () => {
    const spec = loadSpec(`
data: &read { format: csv, columns: [age, sex], na_values: ['?'] }
reference_data: *read
`);
    expect(spec.reference_data).toEqual({ format: 'csv', columns: ['age', 'sex'], na_values: ['?'] });
    expect(loadSpec({ data: { skip_lines: 1 } }).reference_data).toBeUndefined();
  });

  describe('when the spec is invalid', () => {
    it('names the offending field', () => {
      expectSpecError('label: { column: 3, positive: 1 }', 'spec.label.column must be string');
      expectSpecError('label: { column: y }', 'spec.label.positive is required');
      expectSpecError('metrics: [performance, speed]', /spec\.metrics\[1\] must be one of/);
      expectSpecError('min_group_size: 0', 'spec.min_group_size must be >= 1');
      expectSpecError('colour: red', 'spec.colour is not a known key');
      expectSpecError('bootstrap: { resamples: 10 }', 'spec.bootstrap.seed is required');
      expectSpecError('features: [{ column: sex, type: sometimes }]', /spec\.features\[0\]/);
    });
    it('says what is wrong with a prediction in terms of the form it was meant to take', () => {
      expectSpecError(
        { prediction: { column: 'y', threshold: 0.5 } },
        'spec.prediction.threshold does not belong with spec.prediction.column (predictions from the data), which takes column, positive, score',
      );
      expectSpecError(
        { prediction: { score: 's' } },
        /^spec\.prediction\.threshold is required with spec\.prediction\.score and no column/,
      );
      expectSpecError(
        { prediction: { output: 'probabilities', positive: 1 } },
        /^spec\.prediction\.positive does not belong without a column or a score .*which takes output, threshold, positive_class$/,
      );
    });
    it('rejects numbers JSON cannot hold, duplicate categories, and empty lists', () => {
      expectSpecError(
        'prediction: { score: s, threshold: .nan }',
        'spec.prediction.threshold must be a finite number',
      );
      expectSpecError('drift: { features: [a], bins: .inf }', 'spec.drift.bins must be a finite number');
      // Every probe row becomes a row per category of each sensitive attribute: the sample is bounded.
      expectSpecError({ robustness: { sample: 10_001 } }, /^spec\.robustness\.sample must be <= 10000/);
      // A body nested 10,000 deep: refused as a spec, not a stack overflow.
      let deep: object = {};
      for (let i = 0; i < 10_000; i++) deep = { x: deep };
      expectSpecError(
        { context: deep },
        /^spec\.context(\.x)+ is nested deeper than the 16 levels a spec has$/,
      );
      expectSpecError(
        { features: [{ column: 'c', categories: [1, '1'] }] },
        'spec.features[0].categories lists 1 twice',
      );
      expectSpecError(
        { features: [{ column: 'c', categories: ['x', 'x'] }] },
        /spec\.features\[0\]\.categories/,
      );
      expectSpecError({ metrics: [] }, 'spec.metrics must NOT have fewer than 1 items');
      expectSpecError({ data: { columns: ['a', 'a'] } }, /spec\.data\.columns must NOT have duplicate items/);
      expectSpecError({ reference_data: { skip: 1 } }, 'spec.reference_data.skip is not a known key');
      expectSpecError({ reference_data: { skip_lines: -1 } }, 'spec.reference_data.skip_lines must be >= 0');
    });
    it('rejects intersections of attributes that are not sensitive', () => {
      expectSpecError(
        { sensitive: ['race'], intersections: [['race', 'sex']] },
        'spec.intersections[0] names sex',
      );
    });
    it('rejects an attribute whose name holds the & that joins an intersection', () => {
      expectSpecError(
        { sensitive: ['race', 'sex', 'race&sex'], intersections: [['race', 'sex']] },
        /^spec\.sensitive\[2\] "race&sex" holds an &/,
      );
      // Even without an intersection: policies and reports read a key with an & as one.
      expectSpecError({ sensitive: ['race&sex'] }, /^spec\.sensitive\[0\] "race&sex" holds an &/);
    });
    it('rejects text that is not a mapping', () => {
      expectSpecError('- a\n- b', 'mapping');
      expectSpecError('{ unclosed', 'neither valid YAML nor JSON');
    });
  });
});
