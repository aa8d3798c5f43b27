import type { Reports } from '../reports/reports.ts';
import { callerOf, type Handlers } from './types.ts';

export function reportHandlers(reports: Reports): Handlers {
  const idOf = (params: unknown) => (params as { id: string }).id;
  return {
    listReportTemplates: async () => ({ templates: reports.templates() }),
    createReport: async (request, reply) =>
      reply
        .status(201)
        .send(
          await reports.generate(
            request.body as { region: string; template: string; period: string },
            'on_demand',
            callerOf(request),
          ),
        ),
    listReports: async (request) => ({
      reports: await reports.list((request.query as { region?: string }).region),
    }),
    getReport: async (request) => reports.get(idOf(request.params)),
    getReportPdf: async (request, reply) => {
      const meta = await reports.get(idOf(request.params));
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
