import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { EvaluatorError } from '../errors.ts';
import SPEC_SCHEMA from '../schema/spec.schema.json' with { type: 'json' };
import type { EvaluationSpec } from './types.ts';

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSpec = ajv.compile<EvaluationSpec>(SPEC_SCHEMA);

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
  const field = `spec${path}`;
  if (error.keyword === 'additionalProperties') {
    return `${field}.${(error.params as { additionalProperty: string }).additionalProperty}`;
  }
  if (error.keyword === 'required')
    return `${field}.${(error.params as { missingProperty: string }).missingProperty}`;
  return field;
}

function describe(errors: ErrorObject[]): string[] {
  // oneOf reports every branch's failure; the most specific (deepest) messages are the useful ones.
  const useful = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'not' && e.keyword !== 'anyOf');
  const chosen = useful.length > 0 ? useful : errors;
  const lines = new Set(
    chosen.map((e) => {
      if (e.keyword === 'additionalProperties') return `${fieldOf(e)} is not a known key`;
      if (e.keyword === 'required') return `${fieldOf(e)} is required`;
      if (e.keyword === 'enum') {
        return `${fieldOf(e)} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
      }
      return `${fieldOf(e)} ${e.message ?? 'is invalid'}`;
    }),
  );
  return [...lines];
}

/** Deeper than any spec the schema admits: a value nested further is refused before it is walked. */
const MAX_SPEC_DEPTH = 16;

/**
 * The first number that is NaN or infinite (YAML's .nan and .inf), which JSON cannot hold, or the first value
 * nested past MAX_SPEC_DEPTH (which would otherwise overflow the stack of every recursive walk after this).
 */
function shapeProblem(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} must be a finite number`;
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_SPEC_DEPTH) return `${path} is nested deeper than the ${MAX_SPEC_DEPTH} levels a spec has`;
  for (const [key, item] of Object.entries(value)) {
    const found = shapeProblem(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

// The three forms of spec.prediction: which keys each takes, and how to say which form a spec meant.
const PREDICTION_FORMS = {
  column: {
    keys: ['column', 'positive', 'score'],
    meant: 'with spec.prediction.column (predictions from the data)',
  },
  score: {
    keys: ['score', 'threshold'],
    meant: 'with spec.prediction.score and no column (a score at or above the threshold is positive)',
  },
  output: {
    keys: ['output', 'threshold', 'positive_class'],
    meant: "without a column or a score (predictions from the model's output)",
  },
} as const;
const PREDICTION_KEYS = new Set(Object.values(PREDICTION_FORMS).flatMap((form) => form.keys));

/**
 * spec.prediction's mistakes said in terms of the form it was meant to take: the schema's oneOf can only say
 * that no form matched, listing every form's complaints.
 */
function predictionProblems(prediction: unknown): string[] {
  if (prediction === null || typeof prediction !== 'object' || Array.isArray(prediction)) return [];
  const given = Object.keys(prediction);
  const form = given.includes('column') ? 'column' : given.includes('score') ? 'score' : 'output';
  const { keys, meant } = PREDICTION_FORMS[form];
  const problems = given
    // Keys of no form at all are the schema's to name.
    .filter((key) => PREDICTION_KEYS.has(key as never) && !(keys as readonly string[]).includes(key))
    .map((key) => `spec.prediction.${key} does not belong ${meant}, which takes ${keys.join(', ')}`);
  if (form === 'score' && !given.includes('threshold'))
    problems.push(`spec.prediction.threshold is required ${meant}`);
  return problems;
}

// Cross-field rules the JSON Schema cannot state: named columns must be consistent with each other.
function checkReferences(spec: EvaluationSpec): string[] {
  const problems: string[] = [];
  const sensitive = new Set(spec.sensitive ?? []);
  (spec.intersections ?? []).forEach((group, i) => {
    for (const attribute of group) {
      if (!sensitive.has(attribute)) {
        problems.push(`spec.intersections[${i}] names ${attribute}, which is not in spec.sensitive`);
      }
    }
  });
  // The evidence keys fairness by attribute names joined with & ("race&sex" for an intersection), and readers
  // (policies, reports) tell an intersection by it: an attribute's own name may not hold one.
  (spec.sensitive ?? []).forEach((attribute, i) => {
    if (attribute.includes('&'))
      problems.push(
        `spec.sensitive[${i}] ${JSON.stringify(attribute)} holds an &, which joins the attributes of an intersection in the evidence; rename the column`,
      );
  });
  (spec.features ?? []).forEach((feature, i) => {
    if (typeof feature !== 'string' && feature.categories && feature.type === 'numeric') {
      problems.push(`spec.features[${i}].categories is only for categorical features`);
    }
    // Cells are matched as text, so 1 and "1" are one category: one-hot would give it two slots.
    const texts = typeof feature === 'string' ? [] : (feature.categories ?? []).map(String);
    const repeated = texts.find((text, k) => texts.indexOf(text) !== k);
    if (repeated !== undefined)
      problems.push(
        `spec.features[${i}].categories lists ${repeated} twice (as text, which is how cells match)`,
      );
  });
  return problems;
}

/**
 * Parses and validates an evaluation spec given as YAML or JSON text (JSON is YAML), or as an object.
 * Throws EvaluatorError EVAL_SPEC_INVALID naming each offending field.
 *
 * @example
 * const spec = loadSpec('label: { column: two_year_recid, positive: 1 }\nsensitive: [race]');
 */
export function loadSpec(source: string | Uint8Array | object): EvaluationSpec {
  let value: unknown = source;
  if (typeof source === 'string' || source instanceof Uint8Array) {
    const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
    try {
      value = parseYaml(text, { maxAliasCount: 100 });
    } catch (cause) {
      throw new EvaluatorError('EVAL_SPEC_INVALID', `spec is neither valid YAML nor JSON: ${String(cause)}`, {
        cause,
        field: 'spec',
      });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EvaluatorError('EVAL_SPEC_INVALID', 'spec must be a mapping of keys to values', {
      field: 'spec',
    });
  }
  const shape = shapeProblem(value, 'spec');
  if (shape) throw invalid([shape]);
  const prediction = predictionProblems((value as { prediction?: unknown }).prediction);
  if (prediction.length > 0) throw invalid(prediction);
  const copy = structuredClone(value);
  if (!validateSpec(copy)) throw invalid(describe(validateSpec.errors ?? []));
  const problems = checkReferences(copy);
  if (problems.length > 0) throw invalid(problems);
  return copy;
}

/** Every problem is said starting with the field it is about; the first names the error's field. */
function invalid(problems: string[]): EvaluatorError {
  return new EvaluatorError('EVAL_SPEC_INVALID', problems.join('; '), {
    field: /^spec[^\s]*/.exec(problems[0] ?? '')?.[0],
  });
}
