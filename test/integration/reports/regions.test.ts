import { describe, expect, it } from 'vitest';
import { loadRegions } from '../../../regions/index.ts';
import {
  listTemplates,
  renderHtml,
  type ReportRegion,
  type SchedulerRegion,
} from '../../../reports/index.ts';
import { makeReportInput } from '../../unit/reports/fixture.ts';

// The regions' configs (regions/<id>/region.yaml) against the reports module: every scheduled template exists,
// and every region renders each of its reports.
describe('reports for the configured regions', async () => {
  const regions = [...(await loadRegions()).values()];

  it('finds regions, each scheduling only templates that exist, typed as the scheduler reads them', () => {
    expect(regions.length).toBeGreaterThanOrEqual(6);
    const ids = new Set(listTemplates().map((t) => t.id));
    for (const region of regions) {
      for (const r of region.reports) expect(ids, `${region.id}: ${r.template}`).toContain(r.template);
    }
    // A Region is all the scheduler needs.
    const asScheduler: readonly SchedulerRegion[] = regions;
    expect(asScheduler.every((r) => r.timezone.length > 0)).toBe(true);
  });

  it.each(regions.flatMap((region) => region.reports.map((r) => [region.id, r.template, region] as const)))(
    '%s renders %s',
    async (_id, template, region) => {
      const asReport: ReportRegion = region;
      const html = await renderHtml({ ...makeReportInput({ template, region: asReport }), region: asReport });
      expect(html).toContain(`<html lang="${region.locale}">`);
      expect(html).toContain(region.ledger.origin);
    },
  );
});
