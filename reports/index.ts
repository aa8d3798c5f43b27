export { listTemplates, periodLengthOf } from './templates.ts';
export type { TemplateInfo, TemplateSection } from './templates.ts';
export { renderHtml } from './render-html.ts';
export { renderPdf, createPdfRenderer, DEFAULT_CHROMIUM_PATH } from './pdf.ts';
export type { PdfOptions, PdfRenderer } from './pdf.ts';
export { generateReport } from './generate.ts';
export type { GeneratedReport } from './generate.ts';
export { hashReport, reportGeneratedEntry, verifyReportFile } from './integrity.ts';
export type { ReportGeneratedEntry, ReportHashes } from './integrity.ts';
export { canonicalJson } from './canonical.ts';
export { parsePeriod, periodContaining, previousPeriod } from './period.ts';
export type { Period, PeriodLength } from './period.ts';
export { createReportScheduler } from './scheduler.ts';
export type {
  ReportRun,
  ReportScheduler,
  ReportSchedulerOptions,
  SchedulerRegion,
  TickResult,
} from './scheduler.ts';
export { reportMigrations } from './migrations.ts';
export { SCHEDULED_REPORT_ONCE_INDEX } from './migrations/2026_12_02_1800_reports_scheduled_once.ts';
export type { ReportTables, ReportRunTable } from './tables.ts';
export { DOC_FIELDS, groupsLeftOut } from './view-model.ts';
export { ReportError } from './errors.ts';
export type { ReportErrorCode } from './errors.ts';
export type {
  CitedEntry,
  DecisionRecord,
  EvidenceDocument,
  EvidenceRecord,
  FairnessAttribute,
  FairnessGroup,
  ImpactAssessment,
  Incident,
  ModelDocumentation,
  ModelRecord,
  PolicyChangeRecord,
  ReportInput,
  ReportRegion,
  TrendPoint,
  VerificationData,
  WaiverRecord,
} from './types.ts';
