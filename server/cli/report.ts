import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { EvidenceDocument, ReportInput } from '../../reports/index.ts';
import {
  callApi,
  DEFAULT_REQUEST_TIMEOUT_S,
  describeRequestTimeout,
  downloadBytes,
  serverTarget,
} from './client.ts';
import { configFrom, withDatabaseOptions } from './options.ts';
import { assertWritable, CliFailure, fileErrorReason } from './output.ts';

/** How long the service may take to render and record a report before --server's request fails. */
const GENERATE_TIMEOUT_S = 300;

interface GenerateFlags {
  region: string;
  template: string;
  period: string;
  out: string;
  server?: string;
  token?: string;
  dataDir?: string;
  databaseUrl?: string;
}

interface RenderFlags {
  template: string;
  evidence: string[];
  out: string;
  region?: string;
  period?: string;
}

/** `arbiter report templates | generate | render`. */
export function registerReportCommands(program: Command): void {
  const report = program
    .command('report')
    .description('regulatory reports: list templates, generate, render offline');

  report
    .command('templates')
    .description('list the report templates')
    .action(async () => {
      const { listTemplates } = await import('../../reports/index.ts');
      for (const t of listTemplates()) console.log(`${t.id.padEnd(28)} ${t.title}`);
    });

  const generate = withDatabaseOptions(
    report
      .command('generate')
      .description("render a region's report for a period, record it in the ledger, and save the PDF")
      .requiredOption('--region <region>', 'region (eu, us, us-nyc, uk, ca, sg)')
      .requiredOption('--template <id>', 'template id (arbiter report templates)')
      .requiredOption(
        '--period <period>',
        "the template's period: a quarter (2026-Q3), or a year (2026) for an annual report",
      )
      .requiredOption('--out <file>', 'where to write the PDF')
      .option(
        '--server <url>',
        'a running Arbiter (ARBITER_SERVER); without it, the database is used directly',
      )
      .option('--token <token>', 'API token for --server (ARBITER_TOKEN)'),
  );
  describeRequestTimeout(
    generate,
    `With --server, the request that generates the report fails (exit 2) when the service has not answered ` +
      `within ${GENERATE_TIMEOUT_S} s; the others, within ${DEFAULT_REQUEST_TIMEOUT_S} s.`,
  ).action(async (flags: GenerateFlags) => {
    const request = { region: flags.region, template: flags.template, period: flags.period };
    // Before the report is generated: it is recorded in the append-only ledger, for good.
    await assertWritable('--out', flags.out);
    const target = serverTarget(flags);
    let pdf: Buffer;
    let meta: { id: string; pdf_sha256: string; ledger_seq: number };
    if (target) {
      meta = await callApi(target, 'POST', '/v1/reports', request, { timeoutMs: GENERATE_TIMEOUT_S * 1000 });
      pdf = await downloadBytes(target, `/v1/reports/${meta.id}/pdf`);
    } else {
      const { createService } = await import('../service.ts');
      const service = await createService({
        ...configFrom(flags),
        reports: { scheduler: false, pollIntervalMs: 60_000 },
      });
      try {
        // Working on the database directly is an operator's act, recorded as such.
        const operator = {
          subject: `cli:${process.env.USER ?? 'unknown'}`,
          issuer: 'arbiter-cli',
          role: 'admin',
        } as const;
        meta = await service.reports.generate(request, 'on_demand', operator);
        pdf = await service.reports.pdf(meta.id);
      } finally {
        await service.close();
      }
    }
    try {
      await writeFile(path.resolve(flags.out), pdf);
    } catch (err) {
      // The report stands in the ledger whatever happens here: say which, so that it is downloaded, not
      // generated (and recorded) again.
      throw new CliFailure(
        `report ${meta.id} was generated and recorded (ledger ${flags.region} seq ${meta.ledger_seq}, ` +
          `sha256 ${meta.pdf_sha256}), but --out ${flags.out} could not be written: ${fileErrorReason(err)}; ` +
          `download it (GET /v1/reports/${meta.id}/pdf) rather than generate it again`,
      );
    }
    console.log(
      `wrote ${flags.out}: report ${meta.id}, sha256 ${meta.pdf_sha256}, ledger ${flags.region} seq ${meta.ledger_seq}`,
    );
  });

  report
    .command('render')
    .description('render a report from evidence files alone, offline: no server, no database, no ledger')
    .requiredOption('--template <id>', 'template id (arbiter report templates)')
    .requiredOption(
      '--evidence <file...>',
      'evidence documents (arbiter.evidence/v1), one per model; name.json → model "name"',
    )
    .requiredOption('--out <file>', 'where to write the PDF')
    .option('--region <region>', "region whose regulations and thresholds apply (default: the template's)")
    .option(
      '--period <period>',
      "the template's period: a quarter (2026-Q3), or a year (2026) for an annual report (default: the current one)",
    )
    .action(async (flags: RenderFlags) => {
      const [{ loadRegions, requireRegion }, reports] = await Promise.all([
        import('../../regions/index.ts'),
        import('../../reports/index.ts'),
      ]);
      await assertWritable('--out', flags.out);
      const regionId =
        flags.region ?? (flags.template.includes('/') ? flags.template.split('/')[0] : undefined);
      if (!regionId) throw new CliFailure(`--region is needed for template ${flags.template}`);
      const region = requireRegion(await loadRegions(), regionId);
      const now = new Date();
      const period =
        flags.period ??
        reports.periodContaining(now, region.timezone, reports.periodLengthOf(flags.template)).id;
      const evidence = await Promise.all(
        flags.evidence.map(async (file) => {
          let document: EvidenceDocument;
          try {
            document = JSON.parse(await readFile(file, 'utf8')) as EvidenceDocument;
          } catch (err) {
            throw new CliFailure(`evidence ${file}: ${(err as Error).message}`);
          }
          const model = path.basename(file).replace(/(\.evidence)?\.json$/, '');
          return { file, model, document };
        }),
      );
      const input: ReportInput = {
        region,
        template: flags.template,
        period,
        generated_at: now.toISOString(),
        trigger: 'on_demand',
        models: evidence.map((e) => ({
          id: e.model,
          name: e.model,
          version: 'unrecorded',
          owner: 'not recorded (rendered offline)',
          intended_purpose: 'not recorded (rendered offline)',
          risk_tier: 'unknown',
          lifecycle_status: 'unknown',
        })),
        decisions: [],
        waivers: [],
        evidence: evidence.map((e) => ({
          id: path.basename(e.file),
          model_id: e.model,
          collected_at: (e.document as { generated_at?: string }).generated_at ?? now.toISOString(),
          document: e.document,
        })),
        trends: [],
        verification: {
          checkpoint:
            'none: this report was rendered offline from evidence files and is recorded in no ledger',
          tree_size: 0,
          entries: [],
        },
      };
      const html = await reports.renderHtml(input);
      const pdf = await reports.renderPdf(html);
      await writeFile(path.resolve(flags.out), pdf);
      const { pdf_sha256 } = reports.hashReport(pdf, input);
      console.log(
        `wrote ${flags.out}: ${flags.template} for ${region.id} ${period}, sha256 ${pdf_sha256} (not recorded in a ledger)`,
      );
    });
}
