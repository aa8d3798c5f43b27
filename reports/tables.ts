/** One scheduled report: claimed by one scheduler process at a time, done exactly once. */
export interface ReportRunTable {
  region: string;
  template: string;
  /** `YYYY-Qn`; with region and template, the primary key. */
  period: string;
  /** The schedule's firing that made this run due. */
  scheduled_for: Date;
  status: 'pending' | 'running' | 'done' | 'failed';
  attempts: number;
  claimed_by: string | null;
  /** A running claim older than this is taken to have died with its process and may be claimed again. */
  lease_until: Date | null;
  /** When a failed run may be retried; null once retries are exhausted. */
  next_attempt_at: Date | null;
  last_error: string | null;
  finished_at: Date | null;
}

export interface ReportTables {
  report_run: ReportRunTable;
}
