/**
 * The HTML report: one self-contained file (no script, no external
 * resource) with, for every suite, its chart (inline SVG), every panel's
 * tables, the reasons for cells that did not run, and the ratios of each
 * NR system against each baseline of the same run.
 */
import type { BenchResult } from './report.js';
import { MARK_PREFIX, suiteSeries } from './report-charts.js';
import { LEGEND, metricCaption, panelGrids, xHeader, type Grid } from './report-text.js';
import { baselineRatios, type Panel, type SuiteView } from './report-views.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const STYLE = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1500px; padding: 0 16px; color: #222; }
h1 { margin-bottom: 4px; } h2 { margin-top: 40px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { margin: 22px 0 4px; font-size: 15px; } h3 small { color: #666; font-weight: normal; }
.machine { color: #555; font-size: 13px; } .legend { color: #555; font-size: 12px; }
figure.chart { margin: 12px 0; overflow-x: auto; } figure.chart svg { max-width: none; }
.panel { display: inline-block; vertical-align: top; margin: 0 28px 12px 0; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
caption { text-align: left; font-size: 12px; color: #444; padding-bottom: 2px; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; } td { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child, th:first-child { text-align: left; } td.missing { color: #999; }
.notes { font-size: 11px; color: #666; max-width: 640px; margin: 2px 0 0; }
nav a { margin-right: 12px; }
`;

function gridHtml(g: Grid): string {
  const head = `<tr>${g.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = g.body
    .map((r) => `<tr>${r.map((c, j) => (j === 0 ? `<td>${escapeHtml(c)}</td>` : `<td${c.startsWith('-') ? ' class="missing"' : ''}>${escapeHtml(c)}</td>`)).join('')}</tr>`)
    .join('\n');
  const notes = g.notes.length > 0 ? `<p class="notes">${g.notes.map(escapeHtml).join('<br>')}</p>` : '';
  return `<table>${g.caption ? `<caption>${escapeHtml(g.caption)}</caption>` : ''}<thead>${head}</thead><tbody>\n${body}\n</tbody></table>${notes}`;
}

/** subject / baseline, one row per pair, one column per x (bars panels: one column). */
export function ratioGrid(panel: Panel): Grid | undefined {
  const ratios = baselineRatios(panel);
  if (ratios.length === 0) return undefined;
  const pairs = [...new Set(ratios.map((r) => `${r.subject}\u0000${r.baseline}`))].map((k) => k.split('\u0000') as [string, string]);
  const xs = panel.kind === 'bars' ? ['ratio'] : panel.xValues;
  const anyRef = ratios.some((r) => r.againstReference);
  const body = pairs.map(([s, b]) => [
    `${s} / ${b}`,
    ...xs.map((x) => {
      const r = ratios.find((q) => q.subject === s && q.baseline === b && (panel.kind === 'bars' || q.x === x));
      return r ? `${r.ratio.toFixed(2)}×${r.againstReference ? '*' : ''}` : '-';
    }),
  ]);
  return {
    caption: `ratios against each baseline, ${metricCaption(panel.metric)}`,
    header: ['pair', ...xs.map((x) => (panel.kind === 'bars' ? String(x) : xHeader(panel, x)))],
    body,
    notes: anyRef ? ['* against the baseline’s only measured point (a one-thread reference)'] : [],
  };
}

function machineText(machine: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(machine)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) parts.push(`${k}: {${machineText(v as Record<string, unknown>)}}`);
    else parts.push(`${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  }
  return parts.join(' · ');
}

function panelHtml(panel: Panel): string {
  const grids = panelGrids(panel);
  const ratio = ratioGrid(panel);
  const unmeasured = panel.cells.filter((c) => c.value === null).length;
  return [
    `<div class="panel" data-panel="${escapeHtml(panel.id)}">`,
    `<h3>${escapeHtml(panel.title)} <small>${escapeHtml(panel.subtitle)}</small></h3>`,
    ...grids.map(gridHtml),
    ratio ? gridHtml(ratio) : '',
    unmeasured > 0 ? `<p class="notes">${unmeasured} cell(s) of this panel did not run; the chart leaves them out.</p>` : '',
    `</div>`,
  ].join('\n');
}

/** The whole report; `svgs` holds each suite's chart. */
export function renderHtml(result: BenchResult, views: SuiteView[], svgs: ReadonlyMap<string, string>): string {
  const date = typeof result.machine.date === 'string' ? result.machine.date : '';
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>node-replication benchmarks ${escapeHtml(date)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>node-replication benchmarks</h1>`,
    `<p class="machine">${escapeHtml(machineText(result.machine))}</p>`,
    `<p class="legend">${escapeHtml(LEGEND)}. Ratios compare systems of this same run. ${result.rows.length} rows.</p>`,
    `<nav>${views.map((v) => `<a href="#${escapeHtml(v.suite)}">${escapeHtml(v.suite)}</a>`).join('')}</nav>`,
  ];
  for (const view of views) {
    const series = suiteSeries(view);
    out.push(
      `<section id="${escapeHtml(view.suite)}"><h2>${escapeHtml(view.suite)}</h2>`,
      `<figure class="chart" data-suite="${escapeHtml(view.suite)}" data-series="${escapeHtml(JSON.stringify(series))}" data-mark-prefix="${escapeHtml(MARK_PREFIX)}">`,
      svgs.get(view.suite) ?? '<p>(no chart)</p>',
      `</figure>`,
      ...view.panels.map(panelHtml),
      `</section>`,
    );
  }
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}

