import type { Migration } from 'kysely';
import * as reportRuns from './migrations/2026_11_23_0600_reports_runs.ts';
import * as scheduledOnce from './migrations/2026_12_02_1800_reports_scheduled_once.ts';

/** The reports module's migrations, by name; the server adds them to its one migration set. */
export const reportMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '2026_11_23_0600_reports_runs': reportRuns,
  // Sorts after the server's `report` table (2026_11_23_0004_server_reports), which it indexes.
  '2026_12_02_1800_reports_scheduled_once': scheduledOnce,
});
