/**
 * One chart per suite, as a Vega-Lite spec rendered to SVG in Node by vega
 * (no browser needed). Each panel is one sub-chart with its own scales; the
 * suite's series share one legend and a palette where no two look alike
 * (colour and shape both differ). A series measured at one point only (a
 * single-thread baseline) is a dashed reference line labelled in the margin
 * right of its panel, labels nudged apart when their values are close, so a
 * label never lies on data or on another label.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { formatValue, xHeader } from './report-text.js';
import { referenceSeries, type Panel, type SuiteView } from './report-views.js';

/** Tableau 10: ten hues far enough apart to tell apart in one chart. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-right', 'triangle-left', 'wedge', 'arrow'];
const PANEL_W = 230;
const PANEL_H = 160;
/** Room right of each panel for reference labels. */
const MARGIN_FOR_LABELS = 92;

/** The text every drawn mark of `series` carries as its aria-label: what the browser test looks for. */
export const MARK_PREFIX = 'series=';
export const markLabel = (series: string): string => `${MARK_PREFIX}${series};`;

export function suiteSeries(view: SuiteView): string[] {
  return [...new Set(view.panels.flatMap((p) => p.series.filter((s) => p.cells.some((c) => c.series === s && c.value !== null))))];
}

/** Log scale where values span more than a factor of 20, else linear from 0. */
function useLog(values: number[]): boolean {
  const pos = values.filter((v) => v > 0);
  return pos.length > 0 && Math.max(...pos) / Math.min(...pos) > 20;
}

/** The y domain, fixed here (not niced by vega) so that reference labels can be placed in pixels. */
function yDomain(values: number[], log: boolean): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (log) return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi) + 1e-9)];
  const step = 10 ** Math.floor(Math.log10(hi || 1));
  return [0, Math.ceil((hi * 1.12) / step) * step || 1];
}

function logTicks([lo, hi]: [number, number]): number[] {
  const out: number[] = [];
  for (let d = lo; d <= hi * 1.0001; d *= 10) out.push(d, d * 3);
  return out.filter((v) => v <= hi * 1.0001);
}

/** Pixel rows for reference labels: at their line, pushed apart so that no two are closer than 11 px. */
function labelRows(refs: { series: string; value: number }[], log: boolean, domain: [number, number]): Map<string, number> {
  const [lo, hi] = log ? [Math.log10(domain[0]), Math.log10(domain[1])] : domain;
  const toPx = (v: number): number => PANEL_H * (1 - ((log ? Math.log10(v) : v) - lo) / (hi - lo || 1));
  const placed = refs.map((r) => ({ series: r.series, at: toPx(r.value) })).sort((a, b) => a.at - b.at);
  for (let i = 1; i < placed.length; i++) placed[i]!.at = Math.max(placed[i]!.at, placed[i - 1]!.at + 11);
  return new Map(placed.map((p) => [p.series, p.at]));
}

function panelSpec(panel: Panel): Record<string, unknown> {
  const refs = new Set(referenceSeries(panel));
  const measured = panel.cells.filter((c): c is typeof c & { value: number } => c.value !== null && c.value > 0);
  const unit = panel.metric.unit;
  const points = measured.map((c) => ({
    series: c.series,
    x: panel.kind === 'bars' ? c.series : xHeader(panel, c.x),
    value: c.value,
    text: formatValue(c.value, unit),
    desc: `${markLabel(c.series)} ${panel.xLabel}=${String(c.x)}; ${panel.metric.label}=${formatValue(c.value, unit)} ${unit}`,
  }));
  const log = useLog(points.map((p) => p.value));
  const values = points.map((p) => p.value);
  const domain = yDomain(values.length > 0 ? values : [1], log);
  const yTitle = `${panel.metric.label} (${unit}${log ? ', log' : ''})`;
  const y = {
    field: 'value',
    type: 'quantitative',
    title: yTitle,
    scale: { type: log ? 'log' : 'linear', domain, nice: false },
    // Log axes: ticks and gridlines at 1, 3, 10, 30… only (vega's default draws every minor one).
    axis: { labelExpr: "datum.value === 0 ? '0' : format(datum.value, '~s')", grid: true, gridColor: '#eee', ...(log ? { values: logTicks(domain) } : { tickCount: 5 }) },
  };
  const color = { field: 'series', type: 'nominal', title: null };
  const description = { field: 'desc' };
  const title = { text: panel.title, subtitle: panel.subtitle, anchor: 'start', fontSize: 13, subtitleColor: '#666', subtitlePadding: 3, offset: 8 };
  if (panel.kind === 'bars') {
    return {
      title,
      width: PANEL_W,
      height: PANEL_H,
      data: { values: points },
      encoding: { x: { field: 'x', type: 'nominal', title: panel.xLabel, sort: panel.series, axis: { labelAngle: -20 } }, y },
      layer: [
        // On a log scale a bar needs an explicit base: the bottom of the domain.
        { mark: { type: 'bar', width: { band: 0.6 } }, encoding: { color, description, ...(log ? { y2: { datum: domain[0] } } : {}) } },
        { mark: { type: 'text', dy: -6, fontSize: 10, color: '#333' }, encoding: { text: { field: 'text' } } },
      ],
    };
  }
  const lines = points.filter((p) => !refs.has(p.series));
  const rowsPx = labelRows(
    [...refs].map((s) => ({ series: s, value: points.find((p) => p.series === s)!.value })),
    log,
    domain,
  );
  const refData = [...refs].map((s) => {
    const p = points.find((q) => q.series === s)!;
    return { ...p, label: `${s} ${p.text}`, px: rowsPx.get(s) ?? 0 };
  });
  const x = { field: 'x', type: 'ordinal', title: panel.xLabel, sort: panel.xValues.map((v) => xHeader(panel, v)), axis: { labelAngle: 0 } };
  const layer: Record<string, unknown>[] = [
    { data: { values: lines }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color, description, detail: { field: 'series' } } },
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 55, opacity: 1 },
      encoding: { x, y, color, shape: { field: 'series', type: 'nominal', title: null }, description },
    },
  ];
  if (refData.length > 0) {
    layer.push(
      { data: { values: refData }, mark: { type: 'rule', strokeDash: [5, 4], strokeWidth: 1.3 }, encoding: { y, color, description } },
      {
        data: { values: refData },
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 6, fontSize: 10 },
        encoding: { x: { value: PANEL_W }, y: { field: 'px', type: 'quantitative', scale: null }, text: { field: 'label' }, color },
      },
    );
  }
  return { title, width: PANEL_W, height: PANEL_H, layer };
}

/** The Vega-Lite spec of a suite's chart. */
export function suiteChartSpec(view: SuiteView): TopLevelSpec {
  const series = suiteSeries(view);
  const palette = series.length <= PALETTE.length ? PALETTE : [...PALETTE, '#17becf', '#8c564b', '#bcbd22', '#7f7f7f'];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${view.suite}`, anchor: 'start', fontSize: 17, offset: 6 },
    background: '#ffffff',
    padding: 12,
    columns: 3,
    spacing: { row: 28, column: MARGIN_FOR_LABELS },
    concat: view.panels.map(panelSpec),
    resolve: { scale: { color: 'shared', shape: 'shared' } },
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      legend: { orient: 'top', direction: 'horizontal', columns: 6, labelFontSize: 12, symbolSize: 90, symbolStrokeWidth: 2, labelLimit: 200 },
      range: { category: palette },
      scale: { bandPaddingInner: 0.2 },
      view: { stroke: '#ddd' },
      axis: { labelFontSize: 10, titleFontSize: 11, titleColor: '#444' },
    },
    usermeta: { series },
  } as unknown as TopLevelSpec;
}

/** The suite's chart as a standalone SVG document. */
export async function renderSuiteSvg(view: SuiteView): Promise<string> {
  const spec = suiteChartSpec(view);
  const series = suiteSeries(view);
  const compiled = compile(spec).spec;
  // Pin the domains of the shared colour and shape scales to the suite's series order.
  for (const s of compiled.scales ?? []) {
    if (s.name === 'color' || s.name === 'shape') {
      (s as { domain: unknown }).domain = series;
      if (s.name === 'shape') (s as { range: unknown }).range = SHAPES.slice(0, series.length);
    }
  }
  const view2 = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view2.toSVG();
  view2.finalize();
  return svg;
}
