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

function describe(errors: ErrorObject[]): string {
  // oneOf reports every branch's failure; the most specific (deepest) messages are the useful ones.
  const useful = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'not' && e.keyword !== 'anyOf');
  const predictionBoth = errors.some((e) => e.keyword === 'not' && e.instancePath === '/prediction');
  const chosen = useful.length > 0 || predictionBoth ? useful : errors;
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
  if (predictionBoth) {
    lines.add(
      'spec.prediction takes either column (with positive, score) or output (with threshold), not both',
    );
  }
  return [...lines].join('; ');
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
  (spec.features ?? []).forEach((feature, i) => {
    if (typeof feature !== 'string' && feature.categories && feature.type === 'numeric') {
      problems.push(`spec.features[${i}].categories is only for categorical features`);
    }
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
      });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EvaluatorError('EVAL_SPEC_INVALID', 'spec must be a mapping of keys to values');
  }
  const copy = structuredClone(value);
  if (!validateSpec(copy)) throw new EvaluatorError('EVAL_SPEC_INVALID', describe(validateSpec.errors ?? []));
  const problems = checkReferences(copy);
  if (problems.length > 0) throw new EvaluatorError('EVAL_SPEC_INVALID', problems.join('; '));
  return copy;
}
