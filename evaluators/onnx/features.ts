import { EvaluatorError } from '../errors.ts';
import type { Row } from '../readers/rows.ts';
import type { FeatureSpec } from '../spec/types.ts';

export interface Feature {
  column: string;
  kind: 'numeric' | 'categorical';
  /** One-hot order (single-tensor models). */
  categories: string[] | null;
  input: string;
}

export function normalizeFeatures(features: FeatureSpec[]): Feature[] {
  return features.map((f) => {
    if (typeof f === 'string') return { column: f, kind: 'numeric', categories: null, input: f };
    const kind = f.type ?? (f.categories ? 'categorical' : 'numeric');
    return {
      column: f.column,
      kind,
      categories: f.categories ? f.categories.map(String) : null,
      input: f.input ?? f.column,
    };
  });
}

export function numericValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/**
 * Lays features out in one float vector in spec order: a numeric column takes one slot, a categorical column
 * one slot per category (one-hot; an unseen category is all zeros and counted).
 */
export class TensorLayout {
  readonly width: number;
  unknownCategories = 0;
  private readonly slots: { feature: Feature; offset: number; index: Map<string, number> | null }[];

  constructor(readonly features: Feature[]) {
    let offset = 0;
    this.slots = features.map((feature) => {
      if (feature.kind === 'categorical' && !feature.categories) {
        throw new EvaluatorError(
          'EVAL_SPEC_INVALID',
          `spec.features: categorical feature ${feature.column} needs categories for its one-hot encoding`,
        );
      }
      const slot = {
        feature,
        offset,
        index: feature.categories ? new Map(feature.categories.map((c, i) => [c, i])) : null,
      };
      offset += feature.categories ? feature.categories.length : 1;
      return slot;
    });
    this.width = offset;
  }

  /** Writes one row at out[at..at+width); false when a value is missing (the row cannot be scored). */
  encode(row: Row, out: Float32Array, at: number): boolean {
    for (const slot of this.slots) {
      const value = row[slot.feature.column];
      if (value === null || value === undefined) return false;
      if (slot.index) {
        for (let k = 0; k < slot.index.size; k++) out[at + slot.offset + k] = 0;
        const hit = slot.index.get(String(value));
        if (hit === undefined) this.unknownCategories++;
        else out[at + slot.offset + hit] = 1;
      } else {
        const x = numericValue(value);
        if (!Number.isFinite(x)) return false;
        out[at + slot.offset] = x;
      }
    }
    return true;
  }
}
