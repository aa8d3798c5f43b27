import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPdfRenderer,
  generateReport,
  renderHtml,
  renderPdf,
  ReportError,
  verifyReportFile,
  type PdfRenderer,
  type ReportInput,
} from '../../../reports/index.ts';
import { makeReportInput } from '../../unit/reports/fixture.ts';
import { killableChromium } from './killable-chromium.ts';

// One Chromium for the whole file; pdftotext/pdftoppm (poppler) read the PDFs back.
let renderer: PdfRenderer;
let dir: string;

beforeAll(async () => {
  renderer = await createPdfRenderer();
  dir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-reports-pdf-'));
});
afterAll(async () => {
  await renderer?.close();
  // ARBITER_KEEP_REPORT_PNGS=<folder> keeps the rendered pages for a person to look at.
  if (process.env.ARBITER_KEEP_REPORT_PNGS)
    execFileSync('cp', ['-r', `${dir}/.`, process.env.ARBITER_KEEP_REPORT_PNGS]);
  rmSync(dir, { recursive: true, force: true });
});

async function pdfOf(
  template: string,
  change: (input: ReportInput) => ReportInput = (input) => input,
  name = template.replace('/', '__'),
): Promise<{ pdf: Uint8Array; text: string; file: string }> {
  const input = change(makeReportInput({ template }));
  const { pdf, entry } = await generateReport(input, renderer);
  verifyReportFile(pdf, entry);
  const file = path.join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
  return { pdf, text, file };
}

/**
 * pdftotext -raw keeps Chromium's content order (the DOM order: a table row's cells one after another); runs
 * of whitespace, line breaks inside a wrapped cell included, collapse to one space.
 */
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('report PDFs (Chromium + poppler)', () => {
  it('LL144 bias audit: the three §5-301 tables with rates, ratios, unknowns and the 2% rule', async () => {
    const { text, file } = await pdfOf('us-nyc/ll144-bias-audit', (input) => {
      const ev = input.evidence[0]!;
      const ageBySex = {
        groups: {
          'Under 40&Female': { count: 600, selection_rate: 0.45 },
          'Under 40&Male': { count: 500, selection_rate: 0.5 },
        },
      };
      const fairness = { ...ev.document.fairness, 'age_band&sex': ageBySex };
      return {
        ...input,
        evidence: [{ ...ev, document: { ...ev.document, fairness } }, ...input.evidence.slice(1)],
      };
    });
    const t = flat(text);
    for (const heading of [
      'Audit summary',
      'Sex categories',
      'Race/ethnicity categories',
      'Intersectional categories',
      'Method',
      'Appendix: verifying this report',
    ]) {
      expect(t).toContain(heading);
    }
    // §5-301(b): # applicants, # selected, (share,) selection rate, impact ratio.
    expect(t).toContain('Category Number Selected Share Selection rate Impact ratio Note');
    expect(t).toContain('Female 500 175 44.2% 35.0% 0.700 below 0.800');
    expect(t).toContain('Male 600 300 53.1% 50.0% 1.000 highest rate (reference)');
    expect(t).toContain('unknown category: 30.');
    expect(t).toContain('15 9 1.3% 60.0% excluded under 2% of the data');
    expect(t).toContain('Left out of the impact ratios: Native Hawaiian or Pacific Islander.');
    expect(t).toContain('Black or African American 300 114 26.5% 38.0% 0.760 below 0.800');
    // Table 3 is race × sex, though the evidence's age × sex intersection sorts first.
    expect(t).toContain('Black or African American Female 140 42 12.4% 30.0% 0.545 below 0.800');
    expect(t).not.toContain('Under 40');
    expect(t).toContain('--report report.pdf --server https://arbiter.example');
    expect(t).toContain('--report report.pdf us-nyc-2026.bundle.json');
    // The audit is annual: the cover names the calendar year, counted on New York's wall clock.
    expect(t).toContain('New York City (us-nyc) · calendar year 2026');
    expect(t).toContain('Jan 1, 2026, 12:00 AM to Jan 1, 2027, 12:00 AM');
    // Page numbers from Chromium's footer.
    expect(t).toMatch(/Page 1 of \d+/);
    // Every glyph comes from the embedded Noto Sans, none from a system font.
    const fonts = execFileSync('pdffonts', [file], { encoding: 'utf8' }).trim().split('\n').slice(2);
    expect(fonts.length).toBeGreaterThan(0);
    for (const line of fonts)
      expect(line).toMatch(/^[A-Z]{6}\+NotoSans-(Regular|Bold)\s.*\syes\s+yes\s+yes\s/);
    execFileSync('pdftoppm', ['-r', '60', '-png', file, path.join(dir, 'll144')]);
    expect(readdirSync(dir).filter((f) => f.startsWith('ll144')).length).toBeGreaterThan(3);
  });

  it('adverse impact: the four-fifths flags, z-test and shortfall, and decision counts', async () => {
    const { text } = await pdfOf('us/adverse-impact-quarterly');
    const t = flat(text);
    expect(t).toContain('Groups below the threshold');
    expect(t).toContain('model-001 sex Female 35.0% 0.700 -5.001 < 0.001 significant 25 Male');
    expect(t).toContain(
      'Category Number Selected Share Selection rate Impact ratio z p-value Shortfall Note',
    );
    expect(t).toContain('Female 500 175 44.2% 35.0% 0.700 -5.001 < 0.001 25 below 0.800, significant');
    // The 15-person group is under min_group_size: left out, as the gate leaves it out, and White is the reference.
    expect(t).toContain(
      'Native Hawaiian or Pacific Islander 15 9 1.3% 60.0% excluded — — — count 15 is below',
    );
    expect(t).toContain('Asian 285 128 25.2% 45.0% 0.900 -1.348 0.178 0');
    expect(t).toContain('White 500 250 44.2% 50.0% 1.000 — — 0 highest rate (reference)');
    // Waiver dates on New York's calendar: 2026-12-31T00:00Z is still 30 December there.
    expect(t).toContain('Jul 10, 2026 Dec 30, 2026');
    expect(t).toMatch(/Decisions recorded 40/);
    expect(t).toContain('Trends over quarters');
    expect(t).toContain('Lowest impact ratio per quarter');
  });

  it('every other template prints each of its sections', async () => {
    const expected: Record<string, readonly string[]> = {
      'eu/ai-act-pmm-quarterly': [
        'Performance against declared levels',
        'accuracy share of predictions that are correct 0.812 at least 0.700 yes',
        'income ks 0.120 0.001 0.270 PSI above 0.200',
        'INC-7',
        'Complaints and deployer feedback',
        'Arbiter holds no record of complaints or deployer feedback for 2026-Q3',
        'Updates to the risk register',
        'Arbiter holds no risk register (Art. 9)',
        'waiver-1 model-001 fairness.impact_ratio Remediation',
      ],
      'eu/ai-act-annex-iv': [
        'T-A1 Metric specification',
        'T-A2 Performance by group',
        'accuracy Female 500 0.790 0.754 to 0.826 -0.022',
        'T-A3 Test log',
        'T-A4 Change log',
        'Retrained on 2025 data',
      ],
      'uk/atrs-record': [
        'Tier 1: summary',
        'Senior responsible owner',
        'Appeals Candidates may ask for a human review',
        'DPIA 2026',
      ],
      'ca/aia-summary': [
        'Impact level (AIA score breakdown)',
        '40 / 100 40.0% 85.7% (−15%) 34.0% Level II',
        'Requirements by impact level',
        'Outcome monitoring',
      ],
      'sg/ai-verify-summary': [
        'Process checks by principle',
        'Inclusive growth',
        'Female 500 35.0% 0.700 0.660 0.150 0.340 0.850 0.720 0.790',
        'Rows probed a seeded sample of the evaluation data 500',
        'Counterfactual flip rate: sex sex alone set to each of its other values, 500 rows 7.4%',
        'Feature Accuracy drop when shuffled Std. dev. over shuffles income 0.1987 0.017',
      ],
      'governance-quarterly': [
        'GOVERN: policies, inventory and oversight',
        'MAP: context and impacts',
        'MEASURE: performance, fairness and drift',
        'MANAGE: treatment of risks',
      ],
    };
    for (const [template, phrases] of Object.entries(expected)) {
      const t = flat((await pdfOf(template)).text);
      for (const phrase of [
        ...phrases,
        'Contents',
        'Appendix: verifying this report',
        'Hashes of this report',
      ]) {
        expect(t, `${template}: ${phrase}`).toContain(phrase);
      }
    }
  });

  it('EU post-market monitoring without an incident source says Arbiter holds no incident records', async () => {
    const { text } = await pdfOf(
      'eu/ai-act-pmm-quarterly',
      ({ incidents: _, ...input }) => input,
      'eu__ai-act-pmm-quarterly-no-incident-source',
    );
    const t = flat(text);
    expect(t).toContain(
      'Serious incidents (Art. 73) and the corrective actions taken (Art. 20). Arbiter holds no incident records for this period',
    );
    expect(t).not.toContain('No incidents were recorded');
  });

  it('makes no network request from the page', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits += 1;
      res.end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const pdf = await renderer.render(
        `<html><body><img src="http://127.0.0.1:${port}/img.png"><link rel="stylesheet" href="http://127.0.0.1:${port}/s.css"><p>offline</p></body></html>`,
      );
      expect(Buffer.from(pdf.subarray(0, 5)).toString()).toBe('%PDF-');
    } finally {
      server.close();
    }
    expect(hits).toBe(0);
  });

  it('a render in flight when Chromium dies fails with a ReportError, once its owner has been told', async () => {
    const chromium = killableChromium();
    let told = 0;
    const onDisconnected = () => void (told += 1);
    const html = '<!doctype html><html><body><p>hello</p></body></html>';
    try {
      // Closing a renderer is no death to tell of.
      await (await createPdfRenderer({ chromiumPath: chromium.path, onDisconnected })).close();
      const own = await createPdfRenderer({ chromiumPath: chromium.path, onDisconnected });
      try {
        expect(Buffer.from((await own.render(html)).subarray(0, 5)).toString()).toBe('%PDF-');
        const rendering = own.render(html);
        const killed = chromium.kill();
        await expect(rendering).rejects.toMatchObject({
          name: 'ReportError',
          code: 'REPORT_PDF_FAILED',
          message: expect.stringMatching(/^Chromium failed to print the report: /),
        });
        // Told before the render failed: an owner that starts another Chromium has done so for its next render.
        expect(told).toBe(1);
        await killed;
        // The dead renderer renders nothing more, and fails alike.
        await expect(own.render(html)).rejects.toMatchObject({
          name: 'ReportError',
          code: 'REPORT_PDF_FAILED',
        });
      } finally {
        await own.close();
      }
      expect(told).toBe(1);
      expect(chromium.launches()).toHaveLength(2);
    } finally {
      chromium.remove();
    }
  });

  it('fails with a clear ReportError, and no PDF, when Chromium is not where it is said to be', async () => {
    const html = await renderHtml(makeReportInput({ template: 'governance-quarterly' }));
    await expect(renderPdf(html, { chromiumPath: '/nonexistent/chromium' })).rejects.toThrow(ReportError);
    await expect(renderPdf(html, { chromiumPath: '/nonexistent/chromium' })).rejects.toThrow(
      /cannot start Chromium at \/nonexistent/,
    );
  });
});
