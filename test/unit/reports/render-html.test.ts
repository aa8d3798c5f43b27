import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { listTemplates, renderHtml, ReportError, type ReportInput } from '../../../reports/index.ts';
import { renderTemplate } from '../../../reports/render-html.ts';
import { makeReportInput } from './fixture.ts';

// The inlined fonts are 250 kB of base64 that never change with the data: keep them out of the snapshots.
const withoutFonts = (html: string) => html.replace(/base64,[A-Za-z0-9+/=]+/g, 'base64,<font>');

async function errorOf(p: Promise<unknown>): Promise<ReportError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ReportError) return err;
    throw err;
  }
  throw new Error('expected a ReportError');
}

describe('renderHtml', () => {
  it.each(listTemplates().map((t) => [t.id, t] as const))(
    '%s: every section, in table-of-contents order',
    async (id, t) => {
      const html = await renderHtml(makeReportInput({ template: id }));
      let at = 0;
      for (const [i, section] of t.sections.entries()) {
        const heading = html.indexOf(
          `<section class="section" id="s-${section.id}"><h2><span class="num">${i + 1}.</span>`,
        );
        expect(heading, section.id).toBeGreaterThan(at);
        at = heading;
        expect(html).toContain(`<a href="#s-${section.id}">`);
      }
      await expect(withoutFonts(html)).toMatchFileSnapshot(`__snapshots__/${id.replace('/', '__')}.html`);
    },
  );

  it('is a pure function of its input: same input and clock, same HTML', async () => {
    const input = makeReportInput({ template: 'eu/ai-act-pmm-quarterly' });
    const [a, b] = [await renderHtml(input), await renderHtml(structuredClone(input))];
    expect(a).toBe(b);
    const later = await renderHtml({ ...input, generated_at: '2026-10-02T10:00:00.000Z' });
    expect(later).not.toBe(a);
  });

  it.each(['uk/atrs-record', 'us-nyc/ll144-bias-audit', 'sg/ai-verify-summary'])(
    '%s escapes user text: a <script> in a model name is printed, never run',
    async (template) => {
      const input = makeReportInput({ template });
      const hostile: ReportInput = {
        ...input,
        models: [
          { ...input.models[0]!, name: '<script>alert("x")</script>', owner: '<img src=x onerror=alert(1)>' },
          ...input.models.slice(1),
        ],
      };
      const html = await renderHtml(hostile);
      expect(html).not.toContain('<script');
      expect(html).not.toContain('<img src=x');
      expect(html).toMatch(/&lt;script&gt;alert\((&quot;|&#34;)x(&quot;|&#34;)\)&lt;\/script&gt;/);
    },
  );

  it('prints the LL144 figures computed from the evidence', async () => {
    const html = await renderHtml(makeReportInput({ template: 'us-nyc/ll144-bias-audit' }));
    expect(html).toContain(
      '<td>Female</td><td class="n">500</td><td class="n">44.2%</td><td class="n">35.0%</td><td class="n">0.700</td>',
    );
    expect(html).toContain('unknown category: 30.');
    expect(html).toContain('Excluded under the 2% rule: Native Hawaiian or Pacific Islander.');
    // Charts come from Vega as SVG.
    expect(html).toMatch(/<svg[^>]+class="marks"/);
  });

  it('formats numbers in the region locale', async () => {
    const input = makeReportInput({ template: 'us-nyc/ll144-bias-audit' });
    const html = await renderHtml({ ...input, region: { ...input.region, locale: 'de-DE' } });
    expect(html).toContain('<td class="n">0,700</td>');
    expect(html).toContain('<td class="n">1.130</td>');
  });

  it('rejects an unknown template, a bad period and evidence for a model not in the inventory', async () => {
    const input = makeReportInput({ template: 'governance-quarterly' });
    expect((await errorOf(renderHtml({ ...input, template: 'xx/nope' }))).code).toBe(
      'REPORT_TEMPLATE_UNKNOWN',
    );
    expect((await errorOf(renderHtml({ ...input, period: '2026-09' }))).code).toBe('REPORT_PERIOD_INVALID');
    const stray = { ...input, evidence: [{ ...input.evidence[0]!, model_id: 'ghost' }] };
    const err = await errorOf(renderHtml(stray));
    expect(err.code).toBe('REPORT_INPUT_INVALID');
    expect(err.message).toMatch(/ghost/);
  });
});

describe('renderTemplate', () => {
  const hbs = Handlebars.create();

  it('turns a template syntax error into a ReportError naming the template', () => {
    expect(() => renderTemplate(hbs, 'broken.hbs', '{{#each models}}<p>', {})).toThrow(ReportError);
    expect(() => renderTemplate(hbs, 'broken.hbs', '{{#each models}}<p>', {})).toThrow(
      /template broken\.hbs failed/,
    );
  });

  it('is strict: a field missing from the view model is an error, not an empty cell', () => {
    try {
      renderTemplate(hbs, 'typo.hbs', '{{meta.titel}}', { meta: { title: 'x' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ReportError);
      expect((err as ReportError).code).toBe('REPORT_TEMPLATE_FAILED');
      expect((err as ReportError).message).toMatch(/titel/);
    }
  });
});
