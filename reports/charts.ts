import { parse, View } from 'vega';
import { compile, type Config, type TopLevelSpec } from 'vega-lite';
import { ReportError } from './errors.ts';
import { FONT_FAMILY } from './fonts.ts';

// Charts are Vega-Lite specs rendered server-side to SVG by Vega's headless renderer: no canvas, no DOM, no
// network. Vega measures text by estimate when no canvas is present, which keeps the SVG byte-identical from
// run to run.

const CONFIG: Config = {
  font: FONT_FAMILY,
  background: 'white',
  view: { stroke: '#d0d4da' },
  axis: { labelFontSize: 10, titleFontSize: 10, gridColor: '#e6e8eb' },
  legend: { labelFontSize: 10, titleFontSize: 10, orient: 'bottom' },
  range: { category: ['#1f5f99', '#c2562b', '#3c8d5a', '#8a5fb4', '#b28a1e', '#5f6b7a'] },
};

export interface TrendRow {
  readonly period: string;
  readonly series: string;
  readonly value: number | null;
}

/** A line per series over periods, with an optional dashed threshold rule. */
export function lineChartSpec(options: {
  title: string;
  rows: readonly TrendRow[];
  yTitle: string;
  yFormat?: string;
  threshold?: number;
  aggregate?: 'sum' | 'min' | 'mean';
}): TopLevelSpec {
  const line = {
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'period', type: 'ordinal', title: 'Period', axis: { labelAngle: 0 } },
      y: {
        field: 'value',
        type: 'quantitative',
        title: options.yTitle,
        ...(options.aggregate ? { aggregate: options.aggregate } : {}),
        ...(options.yFormat ? { axis: { format: options.yFormat } } : {}),
      },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as const;
  const layers: unknown[] = [line];
  if (options.threshold !== undefined) {
    layers.push({
      data: { values: [{ threshold: options.threshold }] },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#b00020' },
      encoding: { y: { field: 'threshold', type: 'quantitative' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: 520,
    height: 160,
    config: CONFIG,
    data: { values: options.rows.map((r) => ({ ...r })) },
    layer: layers,
  } as TopLevelSpec;
}

/** Horizontal bars, one per category, with an optional dashed threshold rule. */
export function barChartSpec(options: {
  title: string;
  rows: readonly { readonly category: string; readonly value: number | null }[];
  xTitle: string;
  xFormat?: string;
  threshold?: number;
}): TopLevelSpec {
  const layers: unknown[] = [
    {
      mark: { type: 'bar', color: '#1f5f99' },
      encoding: {
        y: { field: 'category', type: 'nominal', title: null, sort: null, axis: { labelLimit: 300 } },
        x: {
          field: 'value',
          type: 'quantitative',
          title: options.xTitle,
          ...(options.xFormat ? { axis: { format: options.xFormat } } : {}),
        },
      },
    },
  ];
  if (options.threshold !== undefined) {
    layers.push({
      data: { values: [{ threshold: options.threshold }] },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#b00020' },
      encoding: { x: { field: 'threshold', type: 'quantitative' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: 420,
    height: { step: 14 },
    config: CONFIG,
    data: { values: options.rows.map((r) => ({ ...r })) },
    layer: layers,
  } as TopLevelSpec;
}

/** Compiles a Vega-Lite spec and renders it to an SVG string. */
export async function renderChart(spec: TopLevelSpec): Promise<string> {
  try {
    const view = new View(parse(compile(spec).spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    return svg;
  } catch (err) {
    throw new ReportError(
      'REPORT_CHART_FAILED',
      `chart ${JSON.stringify(spec.title)} failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
