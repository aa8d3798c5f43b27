import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { ServerError } from '../errors.ts';
import * as serverModels from './migrations/2026_11_23_0000_server_models.ts';
import * as serverTokens from './migrations/2026_11_23_0001_server_tokens.ts';
import { ledgerMigrations } from '../../ledger/index.ts';
import { reportMigrations } from '../../reports/index.ts';
import { policyMigrations } from '../../policies/index.ts';
import * as serverArtifacts from './migrations/2026_11_23_0002_server_artifacts.ts';
import * as serverEvaluations from './migrations/2026_11_23_0003_server_evaluations.ts';
import * as serverReports from './migrations/2026_11_23_0004_server_reports.ts';
import * as serverEvaluationHeartbeat from './migrations/2026_12_02_0000_server_evaluation_heartbeat.ts';
import * as serverEvaluationIssuer from './migrations/2026_12_04_0000_server_evaluation_issuer.ts';
import * as serverArtifactUploads from './migrations/2026_12_04_0001_server_artifact_uploads.ts';
import * as serverArtifactChunks from './migrations/2026_12_04_0002_server_artifact_chunks.ts';
import * as serverEvaluationAttempts from './migrations/2026_12_06_0100_server_evaluation_attempts.ts';
import * as serverEvaluationAdverseReasons from './migrations/2026_12_06_0200_server_evaluation_adverse_reasons.ts';
import * as serverWaiverTokenLineage from './migrations/2026_12_05_0003_server_waiver_token_lineage.ts';

/**
 * The one migration set: the server's own migrations and every module's, by name. Names start with a
 * timestamp so that the set sorts into the order they were written, whichever module they come from.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '2026_11_23_0000_server_models': serverModels,
  '2026_11_23_0001_server_tokens': serverTokens,
  ...ledgerMigrations,
  ...reportMigrations,
  ...policyMigrations,
  '2026_11_23_0002_server_artifacts': serverArtifacts,
  '2026_11_23_0003_server_evaluations': serverEvaluations,
  '2026_11_23_0004_server_reports': serverReports,
  '2026_12_02_0000_server_evaluation_heartbeat': serverEvaluationHeartbeat,
  '2026_12_04_0000_server_evaluation_issuer': serverEvaluationIssuer,
  '2026_12_04_0001_server_artifact_uploads': serverArtifactUploads,
  '2026_12_04_0002_server_artifact_chunks': serverArtifactChunks,
  '2026_12_06_0100_server_evaluation_attempts': serverEvaluationAttempts,
  '2026_12_06_0200_server_evaluation_adverse_reasons': serverEvaluationAdverseReasons,
  '2026_12_05_0003_server_waiver_token_lineage': serverWaiverTokenLineage,
});

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) };

/**
 * Brings the schema to the latest version. Safe to run twice, and from several processes at once: kysely's
 * migrator holds a PostgreSQL advisory lock while it runs, so a second runner waits and then finds nothing to do.
 * Returns the names of the migrations this call applied.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  // Modules add migrations independently; one written later may carry an earlier timestamp.
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error');
    throw new ServerError(
      'DATABASE_UNAVAILABLE',
      `migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
