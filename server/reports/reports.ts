import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import { LedgerError, type Ledger } from '../../ledger/index.ts';
import type { DecisionStore, WaiverStore } from '../../policies/index.ts';
import type { Region } from '../../regions/index.ts';
import {
  createPdfRenderer,
  createReportScheduler,
  generateReport,
  listTemplates,
  parsePeriod,
  periodLengthOf,
  ReportError,
  SCHEDULED_REPORT_ONCE_INDEX,
  type PdfRenderer,
  type Period,
  type ReportScheduler,
  type ReportTables,
} from '../../reports/index.ts';
import type { Identity } from '../auth/index.ts';
import type { ReportTable, ServerTables } from '../db/schema.ts';
import { ServerError } from '../errors.ts';
import type { ModelInventory } from '../inventory/models.ts';
import { assembleReportInput } from './report-data.ts';

export type ReportMeta = Omit<Selectable<ReportTable>, 'pdf' | 'data_json'>;

const META = [
  'id',
  'region',
  'template',
  'period',
  'trigger',
  'pdf_sha256',
  'data_sha256',
  'ledger_seq',
  'leaf_hash',
  'generated_at',
  'created_by',
] as const;

/** PostgreSQL's SQLSTATE for a unique index that refused a row. */
const UNIQUE_VIOLATION = '23505';

/**
 * Whether an append failed only because the scheduled report it carried is stored already: the loser of two
 * scheduler processes that rendered the same run. Its ledger entry was rolled back with the row.
 */
function isScheduledReportConflict(err: unknown): boolean {
  if (!(err instanceof LedgerError) || err.code !== 'LEDGER_APPEND_FAILED') return false;
  const cause = err.cause as { code?: unknown; constraint?: unknown } | undefined;
  return cause?.code === UNIQUE_VIOLATION && cause.constraint === SCHEDULED_REPORT_ONCE_INDEX;
}
/** Who the scheduler's reports are recorded as. */
const SCHEDULER: Identity = { subject: 'report-scheduler', issuer: 'arbiter', role: 'admin' };

/**
 * Regulatory reports: rendered on demand or by each region's schedule, stored with the exact data they were
 * rendered from, and recorded in the region's ledger (`report.generated` with both hashes). A template or
 * rendering error stores nothing and records nothing.
 */
export class Reports {
  private renderer: Promise<PdfRenderer> | undefined;
  private scheduler: ReportScheduler | undefined;

  constructor(
    private readonly deps: {
      readonly db: Kysely<ServerTables>;
      readonly schedulerDb: Kysely<ReportTables>;
      readonly ledger: Ledger;
      readonly regions: ReadonlyMap<string, Region>;
      readonly inventory: ModelInventory;
      readonly decisions: DecisionStore;
      readonly waivers: WaiverStore;
      readonly clock: () => Date;
      readonly log: Logger;
    },
  ) {}

  async generate(
    request: { region: string; template: string; period: string },
    trigger: 'scheduled' | 'on_demand',
    actor: Identity,
  ): Promise<ReportMeta> {
    const region = this.deps.regions.get(request.region);
    if (!region) throw new ServerError('NOT_FOUND', `no region ${request.region}`);
    const offered = region.reports.map((r) => r.template);
    if (!offered.includes(request.template)) {
      throw new ServerError(
        'BAD_REQUEST',
        `template: ${request.template} is not a report of region ${region.id}; it has ${offered.join(', ')}`,
        { field: 'template' },
      );
    }
    // A period of the template's own length: a year for an annual report (LL144), a quarter otherwise.
    const length = periodLengthOf(request.template);
    let period: Period;
    try {
      period = parsePeriod(request.period, region.timezone, length);
    } catch (err) {
      if (!(err instanceof ReportError) || err.field !== 'period') throw err;
      throw new ReportError(
        'REPORT_PERIOD_INVALID',
        `${request.template} reports on a ${length === 'year' ? 'calendar year' : 'quarter'}: ${err.message}`,
        { field: 'period', cause: err },
      );
    }
    const now = this.deps.clock();
    // A period under way may be reported on demand, as it stands so far (the scheduler waits for its end);
    // one that has not begun has nothing to report, and its report would be recorded in the ledger.
    if (period.start > now) {
      throw new ReportError(
        'REPORT_PERIOD_INVALID',
        `period ${period.id} begins ${period.start.toISOString()}, after now (${now.toISOString()})`,
        { field: 'period' },
      );
    }
    // The scheduler retries a run whose outcome it did not see: a report already stored for it is that outcome.
    if (trigger === 'scheduled') {
      const done = await this.scheduledReport(region.id, request.template, period.id);
      if (done) return done;
    }
    const input = await assembleReportInput({ ...this.deps, ...request, region, trigger });
    const report = await generateReport(input, await this.pdfRenderer());
    const id = `rep_${randomBytes(8).toString('hex')}`;
    // The stored report commits in the same statement as its ledger entry: neither exists without the other.
    try {
      await this.deps.ledger.append(
        region.id,
        {
          ...report.entry,
          trigger,
          actor: { subject: actor.subject, issuer: actor.issuer, role: actor.role },
        },
        {
          companion: ({ leafHash }) => ({
            table: 'report',
            seqColumn: 'ledger_seq',
            values: {
              id,
              region: region.id,
              template: request.template,
              period: period.id,
              trigger,
              // The row travels as JSON (jsonb_populate_recordset): bytea in its hex text form.
              pdf: `\\x${Buffer.from(report.pdf).toString('hex')}`,
              data_json: report.data_json,
              pdf_sha256: report.entry.pdf_sha256,
              data_sha256: report.entry.data_sha256,
              leaf_hash: leafHash,
              generated_at: report.entry.generated_at,
              created_by: actor.subject,
            },
          }),
        },
      );
    } catch (err) {
      // The check above is a read before the write: another process may have stored the same scheduled report
      // meanwhile. The unique index refused this one, and its ledger entry with it; that report is the outcome.
      if (!isScheduledReportConflict(err)) throw err;
      const stored = await this.scheduledReport(region.id, request.template, period.id);
      if (!stored) throw err;
      this.deps.log.info(
        { report: stored.id, region: region.id, template: request.template, period: period.id },
        'scheduled report was stored by another process; this rendering is discarded',
      );
      return stored;
    }
    return this.get(id);
  }

  /**
   * One browser for the process, started on first use: most API calls never render. One that failed to start or
   * whose Chromium died is dropped, so that the next report starts another rather than failing as this one did.
   */
  private pdfRenderer(): Promise<PdfRenderer> {
    if (this.renderer) return this.renderer;
    const drop = () => {
      if (this.renderer === renderer) this.renderer = undefined;
    };
    const renderer = createPdfRenderer({
      onDisconnected: () => {
        drop();
        this.deps.log.warn('Chromium exited; the next report starts another');
        // Closing removes the temporary profile that a dead Chromium leaves behind.
        void renderer
          .then((r) => r.close())
          .catch((err: unknown) => this.deps.log.warn({ err }, 'cannot clean up after Chromium'));
      },
    });
    void renderer.catch(drop);
    this.renderer = renderer;
    return renderer;
  }

  private scheduledReport(region: string, template: string, period: string): Promise<ReportMeta | undefined> {
    return this.deps.db
      .selectFrom('report')
      .select(META)
      .where('region', '=', region)
      .where('template', '=', template)
      .where('period', '=', period)
      .where('trigger', '=', 'scheduled')
      .executeTakeFirst();
  }

  list(region?: string): Promise<ReportMeta[]> {
    let query = this.deps.db.selectFrom('report').select(META).orderBy('generated_at', 'desc');
    if (region) query = query.where('region', '=', region);
    return query.execute();
  }

  async get(id: string): Promise<ReportMeta> {
    const row = await this.deps.db.selectFrom('report').select(META).where('id', '=', id).executeTakeFirst();
    if (!row) throw new ServerError('NOT_FOUND', `no report ${id}`);
    return row;
  }

  async pdf(id: string): Promise<Buffer> {
    const row = await this.deps.db.selectFrom('report').select('pdf').where('id', '=', id).executeTakeFirst();
    if (!row) throw new ServerError('NOT_FOUND', `no report ${id}`);
    return row.pdf;
  }

  templates() {
    return listTemplates();
  }

  /** Runs every region's report schedule (exactly once per region, template and period across processes). */
  startScheduler(pollIntervalMs: number): void {
    this.scheduler = createReportScheduler({
      db: this.deps.schedulerDb,
      regions: [...this.deps.regions.values()],
      clock: this.deps.clock,
      pollIntervalMs,
      onError: (err, run) => this.deps.log.warn({ err, run }, 'scheduled report failed; it will be retried'),
      generate: async (run) => {
        const meta = await this.generate(run, 'scheduled', SCHEDULER);
        this.deps.log.info(
          { report: meta.id, region: run.region, template: run.template, period: run.period },
          'scheduled report generated',
        );
      },
    });
    this.scheduler.start();
  }

  async close(): Promise<void> {
    await this.scheduler?.stop();
    const renderer = this.renderer;
    this.renderer = undefined;
    if (renderer) await (await renderer).close();
  }
}
