import type { Migration } from 'kysely';
import * as reportRuns from './migrations/2026_11_23_0600_reports_runs.ts';

/** The reports module's migrations, by name; the server adds them to its one migration set. */
export const reportMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '2026_11_23_0600_reports_runs': reportRuns,
});
