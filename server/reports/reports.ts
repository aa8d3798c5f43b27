import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { Ledger } from '../../ledger/index.ts';
import type { DecisionStore, WaiverStore } from '../../policies/index.ts';
import type { Region } from '../../regions/index.ts';
import {
  createPdfRenderer,
  createReportScheduler,
  generateReport,
  listTemplates,
  parsePeriod,
  type PdfRenderer,
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
      );
    }
    parsePeriod(request.period, region.timezone);
    const input = await assembleReportInput({ ...this.deps, ...request, region, trigger });
    // One browser for the process, started on first use: most API calls never render.
    this.renderer ??= createPdfRenderer();
    const report = await generateReport(input, await this.renderer);
    const receipt = await this.deps.ledger.append(region.id, {
      ...report.entry,
      trigger,
      actor: { subject: actor.subject, issuer: actor.issuer, role: actor.role },
    });
    return this.deps.db
      .insertInto('report')
      .values({
        id: `rep_${randomBytes(8).toString('hex')}`,
        region: region.id,
        template: request.template,
        period: request.period,
        trigger,
        pdf: Buffer.from(report.pdf),
        data_json: report.data_json,
        pdf_sha256: report.entry.pdf_sha256,
        data_sha256: report.entry.data_sha256,
        ledger_seq: receipt.seq,
        leaf_hash: receipt.leafHash,
        generated_at: new Date(report.entry.generated_at),
        created_by: actor.subject,
      })
      .returning(META)
      .executeTakeFirstOrThrow();
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
