import type { FairnessAttribute } from './metrics/fairness.ts';
import type { Performance } from './metrics/performance.ts';
import type { Finding } from './security/findings.ts';

export interface SkippedMetric {
  metric: string;
  reason: string;
}

/** The evidence document (DESIGN.md, evaluators/schema/evidence.schema.json). */
export interface Evidence {
  schema: 'arbiter.evidence/v1';
  /** RFC 3339; when the evidence was gathered (given by the caller). */
  generated_at?: string;
  subject: { model_sha256?: string; dataset_sha256: string; reference_sha256?: string; spec_sha256: string };
  runtime: { engine: string; version?: string; execution_provider?: 'cuda' | 'cpu'; device?: string };
  model?: Record<string, unknown>;
  rows: number;
  rows_missing: Record<string, number>;
  seeds: Record<string, number>;
  libraries: Record<string, string>;
  skipped: SkippedMetric[];
  /** What looks like a mistake in the spec but is no error (a positive value no row holds); absent when none. */
  warnings?: string[];
  performance?: Performance & { calibration?: Record<string, unknown> };
  fairness?: Record<string, FairnessAttribute>;
  drift?: { features: Record<string, unknown>; prediction: unknown };
  robustness?: Record<string, unknown>;
  explainability?: Record<string, unknown>;
  data_quality?: Record<string, unknown>;
  security?: { format?: string; max_severity?: string | null; findings: Finding[] };
}
