/**
 * The terminal summary of a run (every measured figure of every panel, and
 * why a cell has none) and `--compare`: each cell's ratio to an earlier run.
 * Tables are plain grids (`Grid`), shared with the HTML report.
 */
import { formatOps, type BenchRow } from './report.js';
import { cellAt, suiteViews, type Metric, type Panel, type Unit, type XValue } from './report-views.js';

/** A value in its unit, for people: 1.23M ops/s, 466 ms, 12.3 µs, 64 MiB. */
export function formatValue(v: number, unit: Unit): string {
  switch (unit) {
    case 'ops/s':
    case 'tasks/s':
      return formatOps(v);
    case 'count':
      return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
    case 'ms':
      return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
    case 'µs':
    case 'ns/op':
      return formatOps(v);
    case 'share':
      return `${Math.round(v * 100)}%`;
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB'];
      let x = v;
      let i = 0;
      while (x >= 1024 && i < units.length - 1) {
        x /= 1024;
        i++;
      }
      return `${Number(x.toPrecision(3))} ${units[i]}`;
    }
  }
}

/** 10k, 100k, 1M: a round count without trailing zeros. */
const compact = (n: number): string => formatOps(n).replace(/\.0+(?=[kMG]?$)/, '');

export const xHeader = (panel: Panel, x: XValue): string =>
  panel.xLabel === 'threads' ? `${x} thr` : panel.xLabel === 'workers' ? `${x} wkr` : panel.xLabel === 'entries' ? compact(Number(x)) : String(x);

/** A table: header row, body rows, and footnotes for the cells that have no value. */
export interface Grid {
  caption: string;
  header: string[];
  body: string[][];
  notes: string[];
}

/** Collects reasons into numbered footnotes: `[1]`, `[2]`… one number per distinct reason. */
class Notes {
  private readonly reasons = new Map<string, { n: number; where: string[] }>();
  mark(reason: string, where: string): string {
    let r = this.reasons.get(reason);
    if (!r) {
      r = { n: this.reasons.size + 1, where: [] };
      this.reasons.set(reason, r);
    }
    r.where.push(where);
    return `-[${r.n}]`;
  }
  lines(): string[] {
    return [...this.reasons].map(([reason, r]) => `[${r.n}] ${reason} (${r.where.join(', ')})`);
  }
}

export const metricCaption = (m: Metric): string =>
  `${m.label}, ${m.unit}${m.higherIsBetter === false ? ' (lower is better)' : ''}`;

/** The panel's tables: for `lines`, one per metric (series × x); for `bars`, one (series × metrics). */
export function panelGrids(panel: Panel): Grid[] {
  if (panel.kind === 'bars') {
    const notes = new Notes();
    const metrics = [panel.metric, ...panel.extras];
    const body = panel.series.map((s) => [
      s,
      ...metrics.map((m, i) => {
        const c = cellAt(panel, s, s) ?? panel.cells.find((x) => x.series === s);
        const v = i === 0 ? c?.value : c?.extra[m.key];
        if (v !== null && v !== undefined) return formatValue(v, m.unit);
        return c?.why ? notes.mark(c.why, s) : '-';
      }),
    ]);
    return [{ caption: '', header: [panel.xLabel, ...metrics.map(metricCaption)], body, notes: notes.lines() }];
  }
  return [panel.metric, ...panel.extras].map((m, i) => {
    const notes = new Notes();
    const rows = panel.series.filter((s) => i === 0 || panel.cells.some((c) => c.series === s && c.extra[m.key] !== undefined));
    const body = rows.map((s) => [
      s,
      ...panel.xValues.map((x) => {
        const c = cellAt(panel, s, x);
        const v = i === 0 ? c?.value : c?.extra[m.key];
        if (v !== null && v !== undefined) return formatValue(v, m.unit);
        if (!c?.why) return '-';
        return notes.mark(c.why, `${s} ${xHeader(panel, x)}`);
      }),
    ]);
    return { caption: metricCaption(m), header: [panel.xLabel === 'threads' ? 'system' : 'series', ...panel.xValues.map((x) => xHeader(panel, x))], body, notes: notes.lines() };
  });
}

/** A grid as aligned text: first column left-aligned, the others right-aligned. */
export function gridText(g: Grid, indent = '  '): string[] {
  const all = [g.header, ...g.body];
  const widths = g.header.map((_, j) => Math.max(...all.map((r) => (r[j] ?? '').length)));
  const line = (r: string[]): string =>
    `${indent}${r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ')}`.trimEnd();
  const out: string[] = [];
  if (g.caption) out.push(`${indent}${g.caption}`);
  out.push(line(g.header), `${indent}${'-'.repeat(widths.reduce((a, b) => a + b + 2, -2))}`, ...g.body.map(line));
  for (const n of g.notes) out.push(`${indent}${n}`);
  return out;
}

export const LEGEND = "'-': no such cell in this run (by design, e.g. a one-thread baseline, or left out by --quick/--threads/--systems); '-[n]': the cell did not run, reason [n] below the table";

/** The terminal summary: every suite, every panel, every metric. */
export function formatSummary(rows: BenchRow[]): string {
  if (rows.length === 0) return '(no benchmark rows)\n';
  const out: string[] = [LEGEND];
  for (const view of suiteViews(rows)) {
    if (out.length > 0) out.push('');
    out.push(`== ${view.suite} ==`);
    for (const panel of view.panels) {
      out.push('', `${panel.title}${panel.subtitle ? `  (${panel.subtitle})` : ''}`);
      for (const g of panelGrids(panel)) out.push(...gridText(g));
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * `--compare OLD.json`: for every cell of the new run, new / old of its
 * primary metric (for a lower-is-better metric, below 1× is an improvement:
 * the caption says so), or what is missing on either side.
 */
export function formatComparison(oldRows: BenchRow[], newRows: BenchRow[], oldName: string): string {
  const oldViews = new Map(suiteViews(oldRows).flatMap((v) => v.panels.map((p) => [`${p.suite}/${p.id}`, p] as const)));
  const out: string[] = [`== ratio of this run to ${oldName} (new / old) ==`];
  for (const view of suiteViews(newRows)) {
    for (const panel of view.panels) {
      const old = oldViews.get(`${panel.suite}/${panel.id}`);
      out.push('', `${panel.suite} ${panel.title}: ${metricCaption(panel.metric)}`);
      if (!old) {
        out.push('  (not in the earlier run)');
        continue;
      }
      const xs = panel.kind === 'bars' ? ['new / old'] : panel.xValues;
      const body = panel.series.map((s) => [
        s,
        ...xs.map((x) => {
          const key = panel.kind === 'bars' ? s : x;
          const a = cellAt(panel, s, key);
          const b = cellAt(old, s, key);
          if (a?.value == null) return a ? 'not run' : '-';
          if (b?.value == null) return b ? 'old not run' : 'new';
          return b.value === 0 ? 'n/a' : `${(a.value / b.value).toFixed(2)}×`;
        }),
      ]);
      out.push(...gridText({ caption: '', header: ['series', ...xs.map((x) => (panel.kind === 'bars' ? String(x) : xHeader(panel, x)))], body, notes: [] }));
    }
  }
  return `${out.join('\n')}\n`;
}
