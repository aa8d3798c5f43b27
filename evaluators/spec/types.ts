// The evaluation spec (evaluators/schema/spec.schema.json). Keys are snake_case so that specs written in YAML
// for other tools read naturally.

export type Scalar = string | number | boolean;

export type MetricFamily =
  'performance' | 'fairness' | 'drift' | 'robustness' | 'explainability' | 'data_quality' | 'security';

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  'performance',
  'fairness',
  'drift',
  'robustness',
  'explainability',
  'data_quality',
  'security',
];

export interface FeatureObjectSpec {
  column: string;
  type?: 'numeric' | 'categorical';
  /** One-hot order for a categorical feature fed through a single float tensor. */
  categories?: Scalar[];
  /** Model input name for one-input-per-column models (defaults to the column name). */
  input?: string;
}
export type FeatureSpec = string | FeatureObjectSpec;

/** How to read one data file (spec.data, spec.reference_data). */
export interface ReadSpec {
  format?: 'csv' | 'jsonl' | 'parquet';
  /** Column names for a CSV file without a header line. */
  columns?: string[];
  delimiter?: string;
  /** Lines to skip before the header (or the first row). */
  skip_lines?: number;
  /** Further spellings of a missing value, added to DEFAULT_NA_VALUES ('', NA, N/A, NaN, null). */
  na_values?: string[];
}

export interface EvaluationSpec {
  label?: { column: string; positive: Scalar | Scalar[] };
  prediction?: {
    column?: string;
    positive?: Scalar | Scalar[];
    score?: string;
    output?: string;
    threshold?: number;
    positive_class?: Scalar;
  };
  sensitive?: string[];
  intersections?: string[][];
  min_group_size?: number;
  features?: FeatureSpec[];
  model?: { input?: string; batch_size?: number };
  /** How to read the data file. */
  data?: ReadSpec;
  /** How to read the reference file: spec.data does not apply to it. */
  reference_data?: ReadSpec;
  drift?: { features?: string[]; bins?: number };
  metrics?: MetricFamily[];
  bootstrap?: { resamples: number; seed: number; confidence?: number };
  robustness?: { sample?: number; perturbation?: number; seed?: number };
  explainability?: {
    sample?: number;
    repeats?: number;
    top_reasons?: number;
    seed?: number;
    adverse_decision?: 'positive' | 'negative';
  };
  data_quality?: { proxy_threshold?: number; columns?: Record<string, 'numeric' | 'categorical'> };
}
