import type { Generated } from 'kysely';
import type { LedgerTables } from '../../ledger/index.ts';
import type { ReportTables } from '../../reports/index.ts';
import type { PolicyTables } from '../../policies/index.ts';

/** The model inventory: what Arbiter governs. Versions are content-addressed by the model file's sha256. */
export interface ModelTable {
  name: string;
  owner: string;
  intended_purpose: string;
  risk_tier: 'minimal' | 'limited' | 'high' | 'unacceptable';
  description: string | null;
  created_at: Generated<Date>;
  created_by: string;
}

export type Role = 'admin' | 'ci' | 'compliance_officer' | 'auditor';

/** Local API tokens (the embedded default's credentials). Only the secret's sha256 is stored. */
export interface ApiTokenTable {
  id: string;
  secret_sha256: string;
  role: Role;
  name: string;
  created_at: Generated<Date>;
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** Content-addressed files: models, datasets, specs. */
export interface ArtifactTable {
  sha256: string;
  size: number;
  media_type: string;
  filename: string | null;
  created_at: Generated<Date>;
  created_by: string;
}

/** An artifact's bytes, in chunks numbered from 0 in file order. */
export interface ArtifactChunkTable {
  sha256: string;
  idx: number;
  bytes: Buffer;
}

/** Who uploaded an artifact, under which name: one row per uploader (a subject at an issuer). */
export interface ArtifactUploadTable {
  sha256: string;
  uploaded_by: string;
  /** Null on an identity provider's upload from before this table: no reader matches it. */
  uploaded_by_issuer: string | null;
  filename: string | null;
  uploaded_at: Generated<Date>;
}

export type EvaluationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Evaluation jobs: a model run on data, producing an evidence document. The job itself sits in pg-boss. */
export interface EvaluationTable {
  id: string;
  status: EvaluationStatus;
  model_sha256: string | null;
  data_sha256: string;
  reference_sha256: string | null;
  /** The spec as submitted (JSON text). */
  spec: string;
  execution_provider: 'auto' | 'cuda' | 'cpu';
  phase: string | null;
  rows_done: Generated<number>;
  cancel_requested: Generated<boolean>;
  error_code: string | null;
  error_message: string | null;
  /** The evidence as RFC 8785 JSON: exactly the bytes its sha256 covers. */
  evidence_json: string | null;
  evidence_sha256: string | null;
  created_by: string;
  /** The issuer of created_by's identity; null on rows from before it was recorded. */
  created_by_issuer: string | null;
  created_at: Generated<Date>;
  started_at: Date | null;
  finished_at: Date | null;
  /** Refreshed while a process runs the evaluation; a running row whose heartbeat stopped is orphaned. */
  heartbeat_at: Date | null;
  /** Runs a process took up and did not hand back; past MAX_EVALUATION_ATTEMPTS it is failed as EVAL_ABANDONED. */
  attempts: Generated<number>;
  /** The artifact holding the adverse-action reasons, when the spec asked for them. */
  adverse_reasons_sha256: Generated<string | null>;
}

/** Generated reports: the PDF, the exact data it was rendered from, and the ledger entry that records both. */
export interface ReportTable {
  id: string;
  region: string;
  template: string;
  period: string;
  trigger: 'scheduled' | 'on_demand';
  pdf: Buffer;
  data_json: string;
  pdf_sha256: string;
  data_sha256: string;
  ledger_seq: number;
  leaf_hash: string;
  generated_at: Date;
  created_by: string;
}

export interface ServerTables {
  model: ModelTable;
  api_token: ApiTokenTable;
  artifact: ArtifactTable;
  artifact_chunk: ArtifactChunkTable;
  artifact_upload: ArtifactUploadTable;
  evaluation: EvaluationTable;
  report: ReportTable;
}

/**
 * Every table Arbiter stores: the server's own and each module's. The service hands each module's store the
 * one kysely instance typed with that module's tables only.
 */
export type Database = ServerTables & LedgerTables & ReportTables & PolicyTables;
