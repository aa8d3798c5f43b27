// Public API of the evaluators module (DESIGN.md): run a model or read predictions, compute the evidence.
export { checkSpecFor, evaluate, DEFAULT_MIN_GROUP_SIZE } from './evaluate.ts';
export type { EvaluateInput, EvaluateLimits, EvaluationProgress, EvaluationResult } from './evaluate.ts';
export { readModelMetadata } from './onnx/metadata.ts';
export type { ModelMetadata, ModelIo } from './onnx/metadata.ts';
export type { ExecutionProvider, Runtime } from './onnx/runner.ts';
export { scanModelFile } from './security/scan.ts';
export type { ScanReport, ScannedFormat } from './security/scan.ts';
export type { Finding, Severity, ScanLimits } from './security/findings.ts';
export { loadSpec } from './spec/load-spec.ts';
export { UNKNOWN_CATEGORY } from './categories.ts';
export { dataFormatOf } from './readers/rows.ts';
export type { EvaluationSpec, FeatureSpec, MetricFamily, Scalar } from './spec/types.ts';
export { EvaluatorError } from './errors.ts';
export type { EvaluatorErrorCode } from './errors.ts';
export type { Evidence, SkippedMetric } from './evidence.ts';
export { EVIDENCE_SCHEMA, SPEC_SCHEMA } from './schemas.ts';
