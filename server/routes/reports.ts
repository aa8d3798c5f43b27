import { assertCoversRegion, coversRegion } from '../auth/index.ts';
import type { Reports } from '../reports/reports.ts';
import { callerOf, type Handler, type Handlers } from './types.ts';

export function reportHandlers(reports: Reports): Handlers {
  const idOf = (params: unknown) => (params as { id: string }).id;
  // A report covers every model of its region: only an identity that may see all of the region reads it.
  const reportFor = async (request: Parameters<Handler>[0]) => {
    const meta = await reports.get(idOf(request.params));
    assertCoversRegion(callerOf(request), meta.region);
    return meta;
  };
  return {
    listReportTemplates: async () => ({ templates: reports.templates() }),
    createReport: async (request, reply) => {
      const body = request.body as { region: string; template: string; period: string };
      assertCoversRegion(callerOf(request), body.region);
      return reply.status(201).send(await reports.generate(body, 'on_demand', callerOf(request)));
    },
    listReports: async (request) => {
      const caller = callerOf(request);
      const all = await reports.list((request.query as { region?: string }).region);
      return { reports: all.filter((report) => coversRegion(caller, report.region)) };
    },
    getReport: async (request) => reportFor(request),
    getReportPdf: async (request, reply) => {
      const meta = await reportFor(request);
      return reply
        .type('application/pdf')
        .header(
          'content-disposition',
          `attachment; filename="${meta.region}-${meta.template.replaceAll('/', '_')}-${meta.period}.pdf"`,
        )
        .send(await reports.pdf(meta.id));
    },
  };
}
