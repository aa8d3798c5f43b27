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
    // Category | # applicants | # selected | share | selection rate | impact ratio (§5-301(b)).
    expect(html).toContain(
      '<td>Female</td><td class="n">500</td><td class="n">175</td><td class="n">44.2%</td><td class="n">35.0%</td><td class="n">0.700</td>',
    );
    expect(html).toContain('unknown category: 30.');
    expect(html).toContain('Left out of the impact ratios: Native Hawaiian or Pacific Islander.');
    expect(html).toContain('under 2% of the data: left out of the impact ratios (§5-301(d))');
    // Charts come from Vega as SVG.
    expect(html).toMatch(/<svg[^>]+class="marks"/);
  });

  it('prints a scoring tool’s median score of the full sample, which only a scoring audit has', async () => {
    const input = makeReportInput({ template: 'us-nyc/ll144-bias-audit', models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    // The evaluator's ll144 block of a scoring tool: 8 scored, median 0.375; M 3 of 4 above it, F 1 of 4.
    const scoring = {
      total: 8,
      unknown_count: 0,
      median_score: 0.375,
      selection: {
        M: { count: 4, selection_rate: null, impact_ratio: null, excluded_under_2pct: false },
        F: { count: 4, selection_rate: null, impact_ratio: null, excluded_under_2pct: false },
      },
      scoring: {
        M: { count: 4, scoring_rate: 0.75, impact_ratio: 1, excluded_under_2pct: false },
        F: { count: 4, scoring_rate: 0.25, impact_ratio: 1 / 3, excluded_under_2pct: false },
      },
      excluded_under_2pct: [],
    };
    const sex = { groups: {}, ll144: scoring };
    const html = await renderHtml({
      ...input,
      evidence: [{ ...ev, document: { ...ev.document, fairness: { sex } } }],
    });
    expect(html).toContain('<th class="n">Scoring rate</th>');
    // A scoring tool selects no one: its table has no number selected (§5-301(c)).
    expect(html).not.toContain('<th class="n">Selected</th>');
    expect(html).toContain(
      '<td>F</td><td class="n">4</td><td class="n">50.0%</td><td class="n">25.0%</td><td class="n">0.333</td>',
    );
    expect(html).toContain(
      'Median score of the full sample, which the scoring rates count above (§5-301(c)(1)): 0.375.',
    );
    // Recorded before the evaluator gave it: the gap is shown, not a number.
    const { median_score: _, ...withoutMedian } = scoring;
    const older = await renderHtml({
      ...input,
      evidence: [
        { ...ev, document: { ...ev.document, fairness: { sex: { groups: {}, ll144: withoutMedian } } } },
      ],
    });
    expect(older).toMatch(/\(§5-301\(c\)\(1\)\): <span class="gap">not recorded in the evidence<\/span>/);
    // A selection tool's audit has no median line.
    expect(await renderHtml(input)).not.toContain('Median score of the full sample');

    // A tool that both selects and scores (COMPAS: a high-risk label and a decile) gets both tables.
    const both = {
      ...scoring,
      selection: {
        M: { count: 4, selection_rate: 0.5, impact_ratio: 1, excluded_under_2pct: false },
        F: { count: 4, selection_rate: 0.25, impact_ratio: 0.5, excluded_under_2pct: false },
      },
    };
    const twoTables = await renderHtml({
      ...input,
      evidence: [{ ...ev, document: { ...ev.document, fairness: { sex: { groups: {}, ll144: both } } } }],
    });
    const selectionAt = twoTables.indexOf('<th class="n">Selection rate</th>');
    const scoringAt = twoTables.indexOf('<th class="n">Scoring rate</th>');
    expect(selectionAt).toBeGreaterThan(-1);
    expect(scoringAt).toBeGreaterThan(selectionAt);
    expect(twoTables).toContain(
      '<td>F</td><td class="n">4</td><td class="n">1</td><td class="n">50.0%</td><td class="n">25.0%</td><td class="n">0.500</td>',
    );
    expect(twoTables).toContain(
      '<td>F</td><td class="n">4</td><td class="n">50.0%</td><td class="n">25.0%</td><td class="n">0.333</td>',
    );
    expect(twoTables.match(/Median score of the full sample/g)).toHaveLength(1);
  });

  it('prints race × sex as the LL144 intersectional table, and says so when the evidence has none', async () => {
    const input = makeReportInput({ template: 'us-nyc/ll144-bias-audit', models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const ageBySex = {
      groups: {
        'Under 40&Male': { count: 500, selection_rate: 0.5 },
        'Under 40&Female': { count: 600, selection_rate: 0.45 },
      },
    };
    const sectionOf = (html: string) =>
      html.slice(html.indexOf('id="s-intersectional"'), html.indexOf('id="s-method"'));
    const withBoth = sectionOf(
      await renderHtml({
        ...input,
        evidence: [
          {
            ...ev,
            document: { ...ev.document, fairness: { ...ev.document.fairness, 'age_band&sex': ageBySex } },
          },
        ],
      }),
    );
    expect(withBoth).toContain('<td>White Male</td>');
    expect(withBoth).not.toContain('Under 40');
    const { 'race&sex': _, ...withoutRaceBySex } = ev.document.fairness!;
    const withAgeOnly = sectionOf(
      await renderHtml({
        ...input,
        evidence: [
          {
            ...ev,
            document: { ...ev.document, fairness: { ...withoutRaceBySex, 'age_band&sex': ageBySex } },
          },
        ],
      }),
    );
    expect(withAgeOnly).not.toContain('Under 40');
    expect(withAgeOnly).toContain(
      `<p class="gap">No race/ethnicity × sex categories in the evidence: the intersectional table §5-301 asks for cannot be given. The evidence's other intersections (age_band&amp;sex) are not that table and are not shown in its place.</p>`,
    );
  });

  it('prints race and ethnicity, each, where the evidence has them apart: neither is §5-301’s race/ethnicity', async () => {
    const input = makeReportInput({ template: 'us-nyc/ll144-bias-audit', models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const g = (count: number, selection_rate: number) => ({ count, selection_rate });
    const fairness = {
      sex: { groups: { Male: g(500, 0.5), Female: g(500, 0.4) } },
      ethnicity: { groups: { 'Hispanic or Latino': g(200, 0.45), 'Not Hispanic or Latino': g(800, 0.45) } },
      race: { groups: { White: g(500, 0.5), 'Black or African American': g(300, 0.3), Asian: g(200, 0.45) } },
      'race&sex': { groups: { 'White&Male': g(500, 0.55), 'Black or African American&Male': g(500, 0.3) } },
      'ethnicity&sex': {
        groups: { 'Hispanic or Latino&Male': g(500, 0.5), 'Not Hispanic or Latino&Male': g(500, 0.4) },
      },
    };
    const html = await renderHtml({
      ...input,
      evidence: [{ ...ev, document: { ...ev.document, fairness } }],
    });
    const sectionOf = (from: string, to: string) => html.slice(html.indexOf(from), html.indexOf(to));
    const race = sectionOf('id="s-race"', 'id="s-intersectional"');
    expect(race).toContain('The evidence reports race and ethnicity as separate attributes');
    expect(race.indexOf('<h4>race</h4>')).toBeLessThan(race.indexOf('<h4>ethnicity</h4>'));
    expect(race).toContain('<td>Black or African American</td><td class="n">300</td><td class="n">90</td>');
    expect(race).toContain('<td>Hispanic or Latino</td><td class="n">200</td><td class="n">90</td>');
    const intersectional = sectionOf('id="s-intersectional"', 'id="s-method"');
    expect(intersectional).toContain('<td>White&amp;Male</td>');
    expect(intersectional).toContain('<td>Hispanic or Latino&amp;Male</td>');
  });

  it('US adverse impact: the evidence’s ratios and z-test, the shortfall, and a small group never the reference', async () => {
    const html = await renderHtml(makeReportInput({ template: 'us/adverse-impact-quarterly', models: 1 }));
    const flagged = html.slice(html.indexOf('id="s-flagged"'), html.indexOf('id="s-adverse-impact"'));
    // Black: 114 of 300 selected; 0.8 · 50% (White's rate) · 300 = 120 needed. The evidence's z and p.
    expect(flagged).toContain(
      '<td>race</td><td>Black or African American</td><td class="n">38.0%</td><td class="n flag">0.760</td><td class="n">-3.300</td><td class="n">&lt; 0.001<span class="flag"> significant</span></td><td class="n">6</td><td>White</td>',
    );
    expect(flagged).toContain(
      '<td>sex</td><td>Female</td><td class="n">35.0%</td><td class="n flag">0.700</td><td class="n">-5.001</td>',
    );
    // The 15-person group (60%) is under min_group_size: shown, left out, not the reference; Asian passes at 0.9.
    expect(flagged).not.toContain('Native Hawaiian');
    expect(flagged).not.toContain('<td>Asian</td>');
    const tables = html.slice(html.indexOf('id="s-adverse-impact"'), html.indexOf('id="s-waivers"'));
    expect(tables).toContain(
      '<td>Native Hawaiian or Pacific Islander</td><td class="n">15</td><td class="n">9</td><td class="n">1.3%</td><td class="n">60.0%</td><td class="n"><span class="muted">excluded</span></td><td class="n">—</td><td class="n">—</td><td class="n">—</td><td>count 15 is below min_group_size 30: left out of the impact ratios</td>',
    );
    expect(tables).toContain(
      '<td>Asian</td><td class="n">285</td><td class="n">128</td><td class="n">25.2%</td><td class="n">45.0%</td><td class="n">0.900</td><td class="n">-1.348</td><td class="n">0.178</td><td class="n">0</td><td></td>',
    );
    expect(tables).toContain('<td>White</td><td class="n">500</td><td class="n">250</td>');
    expect(tables).toMatch(/<td>White<\/td>(<td[^>]*>[^<]*<\/td>){8}<td>highest rate \(reference\)<\/td>/);
    expect(tables).toContain("Significant: p &lt; 0.05, the evidence's level.");
  });

  it('prints dates on the region’s calendar, not UTC’s', async () => {
    const input = makeReportInput({ template: 'governance-quarterly', models: 1, decisions: 0 });
    const waiver = {
      ...input.waivers[0]!,
      // 22:00 on 30 June and 23:00 on 30 September in New York (EDT, UTC-4).
      granted_at: '2026-07-01T02:00:00.000Z',
      expires_at: '2026-10-01T03:00:00.000Z',
    };
    const incident = { ...input.incidents![0]!, detected_at: '2026-08-02T03:30:00Z' };
    const html = await renderHtml({ ...input, waivers: [waiver], incidents: [incident] });
    expect(html).toContain('<td class="id">Jun 30, 2026</td><td class="id">Sep 30, 2026</td>');
    expect(html).toContain(
      '<td class="id">INC-7</td><td class="id">model-001</td><td class="id">Aug 1, 2026</td>',
    );
    // The same instants in Brussels (CEST, UTC+2), in its locale.
    const brussels = await renderHtml({
      ...input,
      region: { ...input.region, timezone: 'Europe/Brussels', locale: 'en-GB' },
      waivers: [waiver],
    });
    expect(brussels).toContain('<td class="id">1 Jul 2026</td><td class="id">1 Oct 2026</td>');
  });

  it('EU post-market monitoring: complaints, incidents and risk register never read as "none" without a source', async () => {
    const input = makeReportInput({ template: 'eu/ai-act-pmm-quarterly', models: 1, decisions: 0 });
    const sectionOf = (html: string, id: string) => {
      const at = html.indexOf(`id="s-${id}"`);
      return html.slice(at, html.indexOf('</section>', at));
    };
    const html = await renderHtml(input);
    expect(sectionOf(html, 'complaints')).toContain(
      'Arbiter holds no record of complaints or deployer feedback for 2026-Q3',
    );
    expect(sectionOf(html, 'risk-register')).toContain('Arbiter holds no risk register (Art. 9)');
    expect(sectionOf(html, 'incidents')).toContain('<td class="id">INC-7</td>');

    const { incidents: _, ...withoutSource } = input;
    const unsourced = sectionOf(await renderHtml(withoutSource), 'incidents');
    expect(unsourced).toContain('Arbiter holds no incident records for this period');
    expect(unsourced).not.toContain('No incidents were recorded');
    const none = sectionOf(await renderHtml({ ...input, incidents: [] }), 'incidents');
    expect(none).toContain('No incidents were recorded in the period.');
  });

  it('drift: a feature without a PSI, and one the evidence skipped, are alerts, as DRIFT-PSI denies them', async () => {
    const input = makeReportInput({ template: 'eu/ai-act-pmm-quarterly', models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const document = {
      ...ev.document,
      drift: {
        features: {
          age: { test: 'ks', statistic: 0.04, p_value: 0.3, psi: 0.03 },
          income: { test: 'ks', statistic: null, p_value: null, psi: null },
        },
      },
      skipped: [{ metric: 'drift.features.postcode', reason: 'more than 1000 distinct values' }],
    };
    const render = (region = input.region) =>
      renderHtml({ ...input, region, evidence: [{ ...ev, document }] }).then((html) => {
        const at = html.indexOf('id="s-drift"');
        return html.slice(at, html.indexOf('</section>', at));
      });
    const drift = await render();
    expect(drift).toContain('<td>age</td><td>ks</td><td class="n">0.040</td>');
    expect(drift).toMatch(/<td>age<\/td>.*?<span class="ok">no<\/span><\/td><\/tr>/);
    expect(drift).toContain(
      '<td>income</td><td>ks</td><td class="n">—</td><td class="n">—</td><td class="n">—</td><td><span class="flag">not measured: no PSI in the evidence</span></td>',
    );
    expect(drift).toContain(
      '<td>postcode</td><td>—</td><td class="n">—</td><td class="n">—</td><td class="n">—</td><td><span class="flag">not measured: more than 1000 distinct values</span></td>',
    );
    // Without a psi_max nothing is judged, but what was not measured still says so.
    const { drift: _, ...policyData } = input.region.policy_data!;
    const unjudged = await render({ ...input.region, policy_data: policyData });
    expect(unjudged).toContain(
      '<td><span class="muted">no threshold; not measured: more than 1000 distinct values</span></td>',
    );
  });

  it('Annex IV T-A2: per-group accuracy from the fairness evidence where it has no performance_by_group', async () => {
    const input = makeReportInput({ template: 'eu/ai-act-annex-iv', models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const { performance_by_group: _, ...document } = {
      ...ev.document,
      performance: { accuracy: 0.85 },
      fairness: { sex: { groups: { Female: { count: 120, labelled: 100, accuracy: 0.8 } } } },
    };
    const html = await renderHtml({ ...input, evidence: [{ ...ev, document }] });
    const at = html.indexOf('id="s-monitoring"');
    const monitoring = html.slice(at, html.indexOf('</section>', at));
    expect(monitoring).not.toContain('No performance by group in the evidence.');
    expect(monitoring).toContain(
      '<tr><td>accuracy</td><td>sex: Female</td><td class="n">100</td><td class="n">0.800</td><td class="n">0.711 to 0.867</td><td class="n">-0.050</td></tr>',
    );
    expect(monitoring).toContain('with the 95% Wilson score interval of that count');
  });

  it('never prints a rounded figure on the other side of the limit its flag judged it against', async () => {
    const input = makeReportInput({ template: 'eu/ai-act-pmm-quarterly', models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const document = {
      ...ev.document,
      performance: { accuracy: 0.6996, f1: 0.7 },
      drift: {
        features: {
          age: { test: 'ks', statistic: 0.04, p_value: 0.3, psi: 0.2004 },
          income: { test: 'ks', statistic: 0.04, p_value: 0.3, psi: 0.2 },
        },
      },
      fairness: {
        sex: {
          groups: {
            Male: { count: 5000, selection_rate: 0.5, impact_ratio: 1 },
            Female: { count: 5000, selection_rate: 0.3998, impact_ratio: 0.7996 },
            // 0.44 / 0.55 is 0.7999999999999999: at the threshold but for floating point, and not flagged.
            Other: { count: 5000, selection_rate: 0.44, impact_ratio: 0.44 / 0.55 },
          },
          four_fifths: { reference_group: 'Male' },
        },
      },
    };
    const region = {
      ...input.region,
      policy_data: { ...input.region.policy_data, performance: { accuracy_min: 0.7, f1_min: 0.7 } },
    };
    const html = await renderHtml({ ...input, region, evidence: [{ ...ev, document }] });
    expect(html).toContain(
      '<td class="n">0.6996</td><td class="n">at least 0.700</td><td><span class="flag">no</span></td>',
    );
    expect(html).toContain(
      '<td class="n">0.700</td><td class="n">at least 0.700</td><td><span class="ok">yes</span></td>',
    );
    expect(html).toContain('<td class="n">0.2004</td><td><span class="flag">PSI above 0.200</span></td>');
    expect(html).toContain('<td class="n">0.200</td><td><span class="ok">no</span></td>');
    expect(html).toMatch(
      /<td>Female<\/td>(<td[^>]*>[^<]*<\/td>){4}<td class="n">0\.7996<\/td><td><span class="flag">below 0\.800</,
    );
    expect(html).toMatch(/<td>Other<\/td>(<td[^>]*>[^<]*<\/td>){4}<td class="n">0\.800<\/td><td><\/td>/);

    // A limit with more digits than a ratio prints in full, and the figure beside it as far as it must.
    const strict = await renderHtml({
      ...input,
      region: { ...region, policy_data: { ...region.policy_data, fairness: { impact_ratio_min: 0.7998 } } },
      evidence: [{ ...ev, document }],
    });
    expect(strict).toMatch(
      /<td>Female<\/td>(<td[^>]*>[^<]*<\/td>){4}<td class="n">0\.7996<\/td><td><span class="flag">below 0\.7998</,
    );
  });

  it('prints a significant p-value under the evidence’s alpha, however close to it', async () => {
    const input = makeReportInput({ template: 'us/adverse-impact-quarterly', models: 1, decisions: 0 });
    const ev = input.evidence[0]!;
    const sex = ev.document.fairness!['sex']!;
    const document = {
      ...ev.document,
      fairness: {
        sex: {
          ...sex,
          four_fifths: {
            ...sex.four_fifths,
            groups: { ...sex.four_fifths!.groups, Female: { z: -1.96, p_value: 0.04996, significant: true } },
          },
        },
      },
    };
    const html = await renderHtml({ ...input, evidence: [{ ...ev, document }] });
    const flagged = html.slice(html.indexOf('id="s-flagged"'), html.indexOf('id="s-adverse-impact"'));
    expect(flagged).toContain('<td class="n">0.04996<span class="flag"> significant</span></td>');
    const tables = html.slice(html.indexOf('id="s-adverse-impact"'), html.indexOf('id="s-waivers"'));
    expect(tables).toContain('<td class="n">-1.960</td><td class="n">0.04996</td>');
  });

  it('renders the annual LL144 audit for its calendar year, and refuses it a quarter', async () => {
    const input = makeReportInput({ template: 'us-nyc/ll144-bias-audit', models: 1, decisions: 0 });
    const html = await renderHtml({ ...input, period: '2025' });
    expect(html).toContain('<div class="period">New York City (us-nyc) · calendar year 2025</div>');
    // The whole year on New York's wall clock, 1 January to 1 January.
    expect(html).toContain('<tr><th>Period</th><td>Jan 1, 2025, 12:00 AM to Jan 1, 2026, 12:00 AM');
    expect(html).toContain('for calendar year 2025 (the audit is annual)');
    const err = await errorOf(renderHtml({ ...input, period: '2025-Q4' }));
    expect(err).toMatchObject({ code: 'REPORT_PERIOD_INVALID', field: 'period' });
  });

  it('says when a waiver was revoked before its expiry', async () => {
    const input = makeReportInput({ template: 'governance-quarterly' });
    const [granted] = input.waivers;
    const rowOf = (html: string) =>
      html.slice(html.indexOf('<td class="id">waiver-1</td>')).split('</tr>')[0]!;
    const inForce = rowOf(await renderHtml(input));
    expect(inForce).not.toContain('revoked');
    const revoked = rowOf(
      await renderHtml({ ...input, waivers: [{ ...granted!, revoked_at: '2026-09-15T08:00:00Z' }] }),
    );
    // The same row, with the revocation's date after the expiry's.
    expect(revoked.replace(/, revoked [^<]+/, '')).toBe(inForce);
    expect(revoked).toMatch(/, revoked [^<]*2026[^<]*<\/td>/);
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
