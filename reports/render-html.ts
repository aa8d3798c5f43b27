import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { barChartSpec, lineChartSpec, renderChart, type TrendRow } from './charts.ts';
import { ReportError } from './errors.ts';
import { FONT_FAMILY, fontFaceCss } from './fonts.ts';
import { parsePeriod } from './period.ts';
import { findTemplate, type TemplateInfo } from './templates.ts';
import type { ReportInput } from './types.ts';
import { buildViewModel, type ViewModel } from './view-model.ts';

const TEMPLATE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates');

type HelperOptions = Handlebars.HelperOptions;

const numberFormats = new Map<string, Intl.NumberFormat>();
function formatter(locale: string, key: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const id = `${locale}|${key}`;
  let f = numberFormats.get(id);
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    numberFormats.set(id, f);
  }
  return f;
}
const rootOf = (options: HelperOptions) => options.data.root as ViewModel;
const localeOf = (options: HelperOptions) => rootOf(options).meta.locale;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
// An undefined rate (0/0) is null in the evidence and prints as a dash, never as 0.
const DASH = '—';
const P_VALUE_FLOOR = 0.001;
const RATIO_DIGITS = 3;
/** Enough to tell a ratio's double from the next one (they are 1.1e-16 apart near 1), so from any limit. */
const MAX_FRACTION_DIGITS = 17;
/** A limit from a region's policy data (0.8, 0.25) prints as typed: 15 digits keep a decimal's double exact. */
const LIMIT_DIGITS = 15;

/**
 * What a flag says of a figure and its limit, by the name a template passes the flag under: an impact ratio
 * `below` the threshold, a p-value `below` alpha (significant), a PSI `above` psi_max, a metric `atLeast` its
 * declared level.
 */
const RELATIONS: Readonly<Record<string, (figure: number, limit: number) => boolean>> = {
  below: (figure, limit) => figure < limit,
  above: (figure, limit) => figure > limit,
  atLeast: (figure, limit) => figure >= limit,
};

/**
 * The fraction digits that print `v` on the side of its limit that its flag says (hash: `limit`, and the flag
 * under its relation's name): rounded to three digits, 0.7996 flagged below 0.8 would read "0.800 below 0.800",
 * so it prints as 0.7996. The flag decides, not the figure's digits: it may allow for floating point (0.44 / 0.55
 * is not below 0.8, and prints as 0.800).
 */
function digitsBeside(v: number, digits: number, hash: Readonly<Record<string, unknown>>): number {
  const limit = hash['limit'];
  if (!isNum(limit)) return digits;
  for (const [name, holds] of Object.entries(RELATIONS)) {
    const flag = hash[name];
    if (typeof flag !== 'boolean') continue;
    // toFixed rounds the double's exact value half up, as Intl.NumberFormat does a non-negative one.
    for (let d = digits; d <= MAX_FRACTION_DIGITS; d++)
      if (holds(Number(v.toFixed(d)), limit) === flag) return d;
  }
  return digits;
}

/** `v` with `digits` fraction digits, in the region's locale. */
function fixed(v: number, digits: number, options: HelperOptions): string {
  return formatter(localeOf(options), `fixed${digits}`, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(v);
}

/** An instant on the region's wall clock, in its locale. */
function wallClock(iso: string, options: HelperOptions, style: Intl.DateTimeFormatOptions): string {
  const { locale, timezone } = rootOf(options).meta;
  return new Intl.DateTimeFormat(locale, { timeZone: timezone, ...style }).format(new Date(iso));
}

/** Renders `template` text with `context`, turning any handlebars failure into a ReportError naming the template. */
export function renderTemplate(
  hbs: typeof Handlebars,
  name: string,
  source: string,
  context: unknown,
): string {
  try {
    return hbs.compile(source, { strict: true, noEscape: false })(context);
  } catch (err) {
    throw new ReportError('REPORT_TEMPLATE_FAILED', `template ${name} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function createEnvironment(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerHelper({
    section(this: unknown, id: string, options: HelperOptions) {
      const entry = rootOf(options).toc.find((t) => t.id === id);
      if (!entry)
        throw new Error(`section ${JSON.stringify(id)} is not in this template's table of contents`);
      const title = hbs.escapeExpression(entry.title);
      return new hbs.SafeString(
        `<section class="section" id="s-${hbs.escapeExpression(id)}"><h2><span class="num">${entry.number}.</span> ${title}</h2>\n` +
          `${options.fn(this)}</section>\n`,
      );
    },
    chart(key: string, options: HelperOptions) {
      const svg = rootOf(options).charts[key];
      if (svg === undefined) throw new Error(`chart ${JSON.stringify(key)} was not rendered`);
      return new hbs.SafeString(svg);
    },
    int(v: unknown, options: HelperOptions) {
      return isNum(v) ? formatter(localeOf(options), 'int', { maximumFractionDigits: 0 }).format(v) : DASH;
    },
    pct(v: unknown, options: HelperOptions) {
      return isNum(v)
        ? formatter(localeOf(options), 'pct', {
            style: 'percent',
            minimumFractionDigits: 1,
            maximumFractionDigits: 1,
          }).format(v)
        : DASH;
    },
    // `{{ratio v}}`, or `{{ratio v below=flag limit=t}}` (or above=, atLeast=) beside a flag: see digitsBeside.
    ratio(v: unknown, options: HelperOptions) {
      return isNum(v) ? fixed(v, digitsBeside(v, RATIO_DIGITS, options.hash), options) : DASH;
    },
    // A threshold, declared level or maximum, which the figures beside it are flagged against.
    limit(v: unknown, options: HelperOptions) {
      return isNum(v)
        ? formatter(localeOf(options), 'limit', {
            minimumFractionDigits: RATIO_DIGITS,
            maximumFractionDigits: LIMIT_DIGITS,
          }).format(v)
        : DASH;
    },
    // A score is on the tool's own scale (a probability, a decile): printed as it is, to a useful precision.
    decimal(v: unknown, options: HelperOptions) {
      return isNum(v)
        ? // A float's noise around 0 (-3.7e-17) prints as 0, not -0.
          formatter(localeOf(options), 'decimal', {
            maximumFractionDigits: 4,
            signDisplay: 'negative',
          }).format(v)
        : DASH;
    },
    signed(v: unknown, options: HelperOptions) {
      return isNum(v)
        ? formatter(localeOf(options), 'signed', {
            minimumFractionDigits: 3,
            maximumFractionDigits: 3,
            signDisplay: 'exceptZero',
          }).format(v)
        : DASH;
    },
    // A p-value that small says only that it is small: its digits would be noise of the normal approximation.
    pvalue(v: unknown, options: HelperOptions) {
      if (!isNum(v)) return DASH;
      return v < P_VALUE_FLOOR
        ? `< ${fixed(P_VALUE_FLOOR, RATIO_DIGITS, options)}`
        : fixed(v, digitsBeside(v, RATIO_DIGITS, options.hash), options);
    },
    // Dates are the region's, as periods are: 2026-07-01T02:00Z is still 30 June in New York.
    date(v: unknown, options: HelperOptions) {
      return typeof v === 'string' ? wallClock(v, options, { dateStyle: 'medium' }) : DASH;
    },
    datetime(v: unknown, options: HelperOptions) {
      return typeof v === 'string'
        ? wallClock(v, options, { dateStyle: 'medium', timeStyle: 'short' })
        : DASH;
    },
    show(v: unknown) {
      return v === null || v === undefined || v === '' ? DASH : String(v);
    },
    passfail(v: unknown) {
      return v === true
        ? new hbs.SafeString('<span class="ok">yes</span>')
        : v === false
          ? new hbs.SafeString('<span class="flag">no</span>')
          : DASH;
    },
    join(v: unknown) {
      return Array.isArray(v) ? v.join(', ') : '';
    },
    eq(a: unknown, b: unknown) {
      return a === b;
    },
    concat(...args: unknown[]) {
      return args.slice(0, -1).join('');
    },
  });
  for (const file of readdirSync(path.join(TEMPLATE_DIR, 'partials'))) {
    if (file.endsWith('.hbs')) {
      hbs.registerPartial(file.slice(0, -4), readFileSync(path.join(TEMPLATE_DIR, 'partials', file), 'utf8'));
    }
  }
  return hbs;
}

let environment: typeof Handlebars | undefined;
const sources = new Map<string, string>();
function source(name: string): string {
  let text = sources.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(TEMPLATE_DIR, name), 'utf8');
    sources.set(name, text);
  }
  return text;
}

const TREND_TEMPLATES = new Set([
  'eu/ai-act-pmm-quarterly',
  'us/adverse-impact-quarterly',
  'ca/aia-summary',
  'governance-quarterly',
]);

// Only the charts the template prints are drawn: rendering SVG is the costly part of a report.
async function renderCharts(
  input: ReportInput,
  template: TemplateInfo,
  vm: ViewModel,
): Promise<Record<string, string>> {
  const charts: Record<string, string> = {};
  if (TREND_TEMPLATES.has(template.id)) {
    const periods = [...new Set(input.trends.map((t) => t.period))].sort();
    const sum = (p: string, f: (t: ReportInput['trends'][number]) => number) =>
      input.trends.filter((t) => t.period === p).reduce((n, t) => n + f(t), 0);
    const decisions: TrendRow[] = periods.flatMap((p) => [
      { period: p, series: 'decisions', value: sum(p, (t) => t.decisions) },
      { period: p, series: 'denials', value: sum(p, (t) => t.denials) },
    ]);
    const perModel = (
      f: (t: ReportInput['trends'][number]) => number | null | undefined,
      series: string,
    ): TrendRow[] =>
      [...input.trends]
        .sort((a, b) => (a.period + a.model_id < b.period + b.model_id ? -1 : 1))
        .flatMap((t) => {
          const v = f(t);
          return typeof v === 'number' ? [{ period: t.period, series, value: v }] : [];
        });
    charts['decisions'] = await renderChart(
      lineChartSpec({ title: 'Decisions and denials per quarter', rows: decisions, yTitle: 'count' }),
    );
    charts['impact'] = await renderChart(
      lineChartSpec({
        title: 'Lowest impact ratio per quarter',
        rows: perModel((t) => t.min_impact_ratio, 'lowest impact ratio'),
        yTitle: 'impact ratio',
        yFormat: '.2f',
        aggregate: 'min',
        threshold: vm.meta.threshold,
      }),
    );
    charts['accuracy'] = await renderChart(
      lineChartSpec({
        title: 'Mean accuracy per quarter',
        rows: perModel((t) => t.accuracy, 'mean accuracy'),
        yTitle: 'accuracy',
        yFormat: '.2f',
        aggregate: 'mean',
      }),
    );
  }
  for (const m of vm.models) {
    if (template.id === 'us-nyc/ll144-bias-audit') {
      for (const t of [m.ll144.sex, ...m.ll144.race, ...m.ll144.intersectional]) {
        if (!t) continue;
        charts[`selection:${m.id}:${t.attribute}`] = await renderChart(
          barChartSpec({
            title: `${m.name}: ${t.rate_kind} rate by ${t.attribute}`,
            rows: t.rows.map((r) => ({ category: r.group, value: r.rate })),
            xTitle: `${t.rate_kind} rate`,
            xFormat: '.0%',
          }),
        );
      }
    }
    if (template.id === 'sg/ai-verify-summary' && m.importance.length > 0) {
      charts[`importance:${m.id}`] = await renderChart(
        barChartSpec({
          title: `${m.name}: global feature importance`,
          rows: m.importance.map((i) => ({ category: i.feature, value: i.value })),
          xTitle: m.importance_method?.label ?? 'permutation importance',
        }),
      );
    }
  }
  return charts;
}

/**
 * Renders a report to a self-contained HTML document (fonts inlined, charts as inline SVG). Pure: the same
 * input, including `generated_at`, always gives the same string. Async only because the chart library's SVG
 * renderer is.
 *
 * @throws ReportError `REPORT_TEMPLATE_UNKNOWN`, `REPORT_INPUT_INVALID`, `REPORT_PERIOD_INVALID`,
 *   `REPORT_CHART_FAILED` or `REPORT_TEMPLATE_FAILED`; nothing is returned on failure.
 */
export async function renderHtml(input: ReportInput): Promise<string> {
  const template = findTemplate(input.template);
  if (!template)
    throw new ReportError('REPORT_TEMPLATE_UNKNOWN', `no report template ${JSON.stringify(input.template)}`);
  const period = parsePeriod(input.period, input.region.timezone, template.period);
  const vm = buildViewModel(input, template, period);
  vm.charts = await renderCharts(input, template, vm);
  environment ??= createEnvironment();
  const body = renderTemplate(environment, `${template.id}.hbs`, source(`${template.id}.hbs`), vm);
  return renderTemplate(environment, 'layout.hbs', source('layout.hbs'), {
    ...vm,
    body,
    fontCss: fontFaceCss(),
    fontFamily: FONT_FAMILY,
    printCss: source('print.css'),
  });
}
