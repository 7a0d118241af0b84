/**
 * Benchmark reporting: a plain-text table for the terminal, a self-contained
 * SVG small-multiples chart for people, and a helper that writes both the raw
 * JSON and the chart to disk.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

export interface BenchRow {
  suite: string;        // e.g. 'hashmap'
  workload: string;     // e.g. 'w10-uniform'
  system: string;       // e.g. 'plain-map' | 'postmessage' | 'lmdb' | 'nr' | 'nr-combined' (others may come later)
  threads: number;      // 1,2,4,8
  opsPerSec: number;
  writeRatio: number;   // 0..1
  dist: string;         // 'uniform' | 'zipfian'
  [extra: string]: unknown; // e.g. heapBytesPerWorker, sharedBytes
}
export interface BenchResult { machine: Record<string, unknown>; rows: BenchRow[] }

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** Human formatting with three significant digits: 845k, 1.23M, 12.3M, 950. */
export function formatOps(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n < 0) return `-${formatOps(-n)}`;
  if (n === 0) return '0';
  // Round to 3 significant digits first so 999_999 becomes 1.00M, not 1000k.
  const rounded = Number(n.toPrecision(3));
  for (const [scale, suffix] of UNITS) {
    if (rounded >= scale) return `${trimPrecision(rounded / scale)}${suffix}`;
  }
  return rounded >= 100 ? rounded.toFixed(0) : trimPrecision(rounded);
}

function trimPrecision(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Preferred display order (and colour key) for the systems we know about. */
const KNOWN_SYSTEMS = ['nr', 'nr-combined', 'nr-clients', 'postmessage', 'lmdb', 'plain-map', 'private-maps'] as const;

function sortSystems(systems: Iterable<string>): string[] {
  const rank = (s: string): number => {
    const i = (KNOWN_SYSTEMS as readonly string[]).indexOf(s);
    return i === -1 ? KNOWN_SYSTEMS.length : i;
  };
  return [...new Set(systems)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function uniqueInOrder<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

function usable(row: BenchRow): boolean {
  return Number.isFinite(row.threads) && Number.isFinite(row.opsPerSec);
}

interface Group {
  suite: string;
  workload: string;
  rows: BenchRow[];
}

/** Groups rows by suite, then workload, keeping first-appearance order. */
function groupRows(rows: BenchRow[]): Group[] {
  const groups = new Map<string, Group>();
  for (const row of rows) {
    // A suite may split one workload into panels (e.g. fs: MIX by write ratio and sharing).
    const name = typeof row.panel === 'string' ? row.panel : row.workload;
    const key = JSON.stringify([row.suite, name]);
    let g = groups.get(key);
    if (!g) {
      g = { suite: row.suite, workload: name, rows: [] };
      groups.set(key, g);
    }
    g.rows.push(row);
  }
  // Stable sort by suite first appearance so a suite's workloads stay together.
  const suiteOrder = uniqueInOrder(rows.map((r) => r.suite));
  return [...groups.values()].sort(
    (a, b) => suiteOrder.indexOf(a.suite) - suiteOrder.indexOf(b.suite),
  );
}

/** system -> threads -> opsPerSec (the last row wins on duplicates). */
function indexGroup(rows: BenchRow[]): Map<string, Map<number, number>> {
  const bySystem = new Map<string, Map<number, number>>();
  for (const row of rows) {
    if (!usable(row)) continue;
    let m = bySystem.get(row.system);
    if (!m) {
      m = new Map();
      bySystem.set(row.system, m);
    }
    m.set(row.threads, row.opsPerSec);
  }
  return bySystem;
}

function threadCounts(rows: BenchRow[]): number[] {
  return [...new Set(rows.filter(usable).map((r) => r.threads))].sort((a, b) => a - b);
}

function describeWorkload(rows: BenchRow[]): string {
  const first = rows[0];
  if (!first) return '';
  const parts: string[] = [];
  if (Number.isFinite(first.writeRatio)) parts.push(`${Math.round(first.writeRatio * 1000) / 10}% writes`);
  if (first.dist) parts.push(first.dist);
  return parts.join(', ');
}

// ---------------------------------------------------------------------------
// Terminal table
// ---------------------------------------------------------------------------

/**
 * Plain-text table grouped by suite then workload: one line per system and a
 * column per thread count (union over all rows), `-` where a value is missing.
 */
export function formatTable(rows: BenchRow[]): string {
  if (rows.length === 0) return '(no benchmark rows)\n';
  const threads = threadCounts(rows);
  const headers = threads.map((t) => `${t} thr`);
  const systemWidth = Math.max('system'.length, ...rows.map((r) => r.system.length));
  const cells = new Map<Group, string[][]>();
  let colWidth = Math.max(...headers.map((h) => h.length));
  const groups = groupRows(rows);
  for (const g of groups) {
    const idx = indexGroup(g.rows);
    const lines = sortSystems(g.rows.map((r) => r.system)).map((system) =>
      threads.map((t) => {
        const v = idx.get(system)?.get(t);
        return v === undefined ? '-' : formatOps(v);
      }),
    );
    for (const line of lines) for (const c of line) colWidth = Math.max(colWidth, c.length);
    cells.set(g, lines);
  }

  const out: string[] = [];
  let lastSuite: string | undefined;
  for (const g of groups) {
    if (g.suite !== lastSuite) {
      if (out.length > 0) out.push('');
      out.push(`== ${g.suite} ==`);
      lastSuite = g.suite;
    }
    const desc = describeWorkload(g.rows);
    out.push('');
    out.push(`${g.workload}${desc ? `  (${desc})` : ''}`);
    const header = `  ${'system'.padEnd(systemWidth)}  ${headers.map((h) => h.padStart(colWidth)).join('  ')}`;
    out.push(header.trimEnd());
    out.push(`  ${'-'.repeat(header.trimEnd().length - 2)}`);
    const systems = sortSystems(g.rows.map((r) => r.system));
    const lines = cells.get(g) ?? [];
    systems.forEach((system, i) => {
      const vals = (lines[i] ?? []).map((c) => c.padStart(colWidth)).join('  ');
      out.push(`  ${system.padEnd(systemWidth)}  ${vals}`.trimEnd());
    });
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// SVG chart
// ---------------------------------------------------------------------------

/** Okabe–Ito palette (colour-blind friendly); yellow is dropped for contrast on white. */
const SYSTEM_COLOURS: Readonly<Record<string, string>> = {
  nr: '#0072B2', // blue
  'nr-combined': '#009E73', // bluish green
  postmessage: '#D55E00', // vermillion
  lmdb: '#CC79A7', // reddish purple
  'nr-clients': '#56B4E9', // sky blue
  'plain-map': '#333333', // near-black baseline
  'private-maps': '#999999', // grey ceiling
  // The structures' suites (Tableau 10, so no two systems share a colour in the one legend).
  'nr-kv': '#4E79A7',
  'nr-kv-plain': '#76B7B2',
  'lmdb-enc': '#B07AA1',
  nrfs: '#F28E2B',
  tmpfs: '#E15759',
  memfs: '#9C755F',
  'copy-limit': '#555555',
  'nr-sched': '#59A14F',
  piscina: '#FF9DA7',
};
const EXTRA_COLOURS = ['#E69F00', '#8C6D1F', '#6A3D9A', '#B15928'];

/**
 * Colour per system: known systems always get the same colour; others get the
 * remaining palette entries in name order (stable for a given result).
 */
function colourMap(systems: string[]): Map<string, string> {
  const map = new Map<string, string>();
  let extra = 0;
  for (const s of [...systems].sort((a, b) => a.localeCompare(b))) {
    const known = SYSTEM_COLOURS[s];
    if (known !== undefined) map.set(s, known);
    else map.set(s, EXTRA_COLOURS[extra++ % EXTRA_COLOURS.length] ?? '#999999');
  }
  return map;
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Rough text width for layout (no font metrics available in a plain SVG writer). */
const textWidth = (s: string, fontSize: number): number => s.length * fontSize * 0.56;

function tickLabel(v: number): string {
  for (const [scale, suffix] of UNITS) {
    if (v >= scale) return `${Number((v / scale).toPrecision(3))}${suffix}`;
  }
  return `${Number(v.toPrecision(3))}`;
}

function stringifyScalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** Footer fragments ("12 CPUs (AMD EPYC)", "node v20.11.0", date, ...) from whatever is present. */
function machineSummary(machine: Record<string, unknown> | undefined): string[] {
  if (!machine || typeof machine !== 'object') return [];
  const parts: string[] = [];
  const used = new Set<string>();
  const take = (...keys: string[]): unknown => {
    for (const k of keys) {
      if (k in machine && machine[k] !== undefined && machine[k] !== null) {
        used.add(k);
        return machine[k];
      }
    }
    return undefined;
  };

  const cpus = take('cpus', 'cpuCount', 'cores', 'availableParallelism');
  const model = take('cpuModel', 'model', 'cpu');
  let cpuText = '';
  if (typeof cpus === 'number') cpuText = `${cpus} CPU${cpus === 1 ? '' : 's'}`;
  else if (Array.isArray(cpus)) {
    cpuText = `${cpus.length} CPU${cpus.length === 1 ? '' : 's'}`;
    const first: unknown = cpus[0];
    const m = first && typeof first === 'object' ? (first as Record<string, unknown>).model : undefined;
    if (typeof m === 'string' && model === undefined) cpuText += ` (${m.trim()})`;
  } else if (cpus !== undefined) cpuText = `${stringifyScalar(cpus) ?? ''} CPUs`;
  const modelText = stringifyScalar(model);
  if (modelText) cpuText = cpuText ? `${cpuText} (${modelText.trim()})` : modelText.trim();
  if (cpuText) parts.push(cpuText);

  const node = stringifyScalar(take('node', 'nodeVersion', 'version'));
  if (node) parts.push(`node ${node.startsWith('v') ? node : `v${node}`}`);

  const platform = stringifyScalar(take('platform', 'os'));
  const arch = stringifyScalar(take('arch'));
  if (platform || arch) parts.push([platform, arch].filter(Boolean).join('/'));

  const date = stringifyScalar(take('date', 'timestamp', 'time', 'startedAt'));
  if (date) parts.push(date);

  // Any other scalar fields, so nothing the bench runner recorded is lost.
  for (const [k, v] of Object.entries(machine)) {
    if (used.has(k)) continue;
    const s = stringifyScalar(v);
    if (s !== undefined && s !== '') parts.push(`${k}: ${s}`);
  }
  return parts;
}

/** Greedy word-wrap on a separator for footer/legend text. */
function wrapParts(parts: string[], sep: string, maxWidth: number, fontSize: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const p of parts) {
    const next = cur ? `${cur}${sep}${p}` : p;
    if (cur && textWidth(next, fontSize) > maxWidth) {
      lines.push(cur);
      cur = p;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}

export interface SvgChartOptions {
  title?: string;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

/**
 * Self-contained SVG with one small-multiples panel per (suite, workload):
 * x = thread count (categorical), y = ops/s on a shared log10 scale.
 */
export function renderSvgChart(result: BenchResult, opts: SvgChartOptions = {}): string {
  const rows = (result.rows ?? []).filter(usable);
  const groups = groupRows(rows);
  const suites = uniqueInOrder(groups.map((g) => g.suite));
  const multiSuite = suites.length > 1;
  const systems = sortSystems(rows.map((r) => r.system));
  const colours = colourMap(systems);
  const threads = threadCounts(rows);

  // Layout constants.
  const cols = Math.max(1, Math.min(3, groups.length));
  const panelW = 300;
  const panelH = 230;
  const gapX = 24;
  const gapY = 22;
  const margin = 24;
  const gridW = cols * panelW + (cols - 1) * gapX;
  const plot = { left: 52, right: 14, top: 30, bottom: 38 }; // inside a panel
  const plotW = panelW - plot.left - plot.right;
  const plotH = panelH - plot.top - plot.bottom;

  const title =
    opts.title ??
    (suites.length === 1 ? `${suites[0]}: throughput by thread count` : 'Benchmark throughput by thread count');
  const subtitle = 'ops/s (log scale, higher is better) vs. worker threads';
  // Wide enough for the grid and the title (a single panel must not clip it).
  const width = Math.ceil(Math.max(gridW, textWidth(title, 19) * 1.1 + 20, 420) + margin * 2);
  const gridLeft = (width - gridW) / 2;

  const out: string[] = [];
  let y = margin;

  // Title block.
  const titleY = y + 18;
  const subtitleY = titleY + 20;
  y = subtitleY + 14;

  // Legend (wrapped, centred).
  const legendFont = 13;
  const swatch = 26;
  const itemW = (s: string): number => swatch + 6 + textWidth(s, legendFont) + 22;
  const legendLines: string[][] = [];
  {
    let line: string[] = [];
    let w = 0;
    for (const s of systems) {
      const iw = itemW(s);
      if (line.length > 0 && w + iw > width - margin * 2) {
        legendLines.push(line);
        line = [];
        w = 0;
      }
      line.push(s);
      w += iw;
    }
    if (line.length > 0) legendLines.push(line);
  }
  const legendTop = y + 4;
  const legendLineH = 22;
  const legend: string[] = [];
  legendLines.forEach((line, li) => {
    const total = line.reduce((acc, s) => acc + itemW(s), 0) - 22;
    let x = (width - total) / 2;
    const ly = legendTop + li * legendLineH + legendLineH / 2;
    for (const s of line) {
      const c = colours.get(s) ?? '#999';
      legend.push(
        `<g class="legend-item"><line x1="${r1(x)}" y1="${r1(ly)}" x2="${r1(x + swatch)}" y2="${r1(ly)}" stroke="${c}" stroke-width="2.5"/>` +
          `<circle cx="${r1(x + swatch / 2)}" cy="${r1(ly)}" r="4" fill="${c}" stroke="#fff" stroke-width="1.2"/>` +
          `<text x="${r1(x + swatch + 6)}" y="${r1(ly + 4.5)}" font-size="${legendFont}" fill="#222">${escapeXml(s)}</text></g>`,
      );
      x += itemW(s);
    }
  });
  y = legendTop + legendLines.length * legendLineH + 12;

  // Shared log10 y domain over all panels, padded and snapped to half decades
  // so the data neither touches the frame nor leaves a near-empty decade.
  const positive = rows.map((r) => r.opsPerSec).filter((v) => v > 0);
  let lo = positive.length ? Math.floor((Math.log10(Math.min(...positive)) - 0.08) * 2) / 2 : 3;
  let hi = positive.length ? Math.ceil((Math.log10(Math.max(...positive)) + 0.08) * 2) / 2 : 6;
  if (hi - lo < 1) {
    const mid = (hi + lo) / 2;
    lo = Math.floor((mid - 0.5) * 2) / 2;
    hi = lo + 1;
  }
  const decades = hi - lo;
  const ticks: Array<{ v: number; major: boolean }> = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of decades <= 3 ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      const lv = Math.log10(v);
      if (lv >= lo - 1e-9 && lv <= hi + 1e-9) ticks.push({ v, major: m === 1 });
    }
  }
  const majorCount = ticks.filter((t) => t.major).length;
  if (majorCount > 6) {
    // Too many decades for a short panel: keep labels on every other decade.
    for (const t of ticks) t.major = t.major && Math.round(Math.log10(t.v)) % 2 === 0;
  }
  const labelMinor = decades <= 1.5 || majorCount < 2;
  const yScale = (v: number): number => plot.top + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
  const step = plotW / Math.max(1, threads.length);
  const xScale = (t: number): number => plot.left + step * (threads.indexOf(t) + 0.5);

  // Panels.
  const panels: string[] = [];
  let panelIndex = 0;
  for (const suite of suites) {
    const suiteGroups = groups.filter((g) => g.suite === suite);
    if (multiSuite) {
      if (panelIndex > 0) y += 8;
      panels.push(
        `<text x="${r1(gridLeft)}" y="${r1(y + 16)}" font-size="15" font-weight="600" fill="#222">${escapeXml(suite)}</text>`,
        `<line x1="${r1(gridLeft)}" y1="${r1(y + 23)}" x2="${r1(gridLeft + gridW)}" y2="${r1(y + 23)}" stroke="#ccc"/>`,
      );
      y += 32;
    }
    suiteGroups.forEach((g, i) => {
      const col = i % cols;
      const row = Math.floor(i / cols);
      const px = gridLeft + col * (panelW + gapX);
      const py = y + row * (panelH + gapY);
      panels.push(renderPanel(g, px, py));
      panelIndex++;
    });
    y += Math.ceil(suiteGroups.length / cols) * (panelH + gapY) - gapY + 10;
  }

  function renderPanel(g: Group, px: number, py: number): string {
    const p: string[] = [];
    const idx = indexGroup(g.rows);
    const desc = describeWorkload(g.rows);
    p.push(`<g class="panel" transform="translate(${r1(px)},${r1(py)})">`);
    p.push(`<rect x="0" y="0" width="${panelW}" height="${panelH}" rx="4" fill="#fff" stroke="#e2e2e2"/>`);
    p.push(
      `<text class="panel-title" x="${plot.left}" y="20" font-size="14" font-weight="600" fill="#222">${escapeXml(g.workload)}</text>`,
    );
    if (desc) {
      // Beside the title when both fit (about 8.5 px per bold 14 px char, 6 px per 11 px char), else just under it, right-aligned.
      const fits = plot.left + g.workload.length * 8.5 + 12 + desc.length * 6 <= panelW - plot.right;
      p.push(
        `<text x="${panelW - plot.right}" y="${fits ? 20 : 33}" font-size="11" text-anchor="end" fill="#777">${escapeXml(desc)}</text>`,
      );
    }
    // Grid + y ticks.
    for (const t of ticks) {
      const ty = yScale(t.v);
      p.push(
        `<line x1="${plot.left}" y1="${r1(ty)}" x2="${plot.left + plotW}" y2="${r1(ty)}" stroke="${t.major ? '#e3e3e3' : '#f1f1f1'}" stroke-width="1"/>`,
      );
      if (t.major || labelMinor) {
        p.push(
          `<text x="${plot.left - 6}" y="${r1(ty + 4)}" font-size="11" text-anchor="end" fill="${t.major ? '#555' : '#999'}">${tickLabel(t.v)}</text>`,
        );
      }
    }
    // X axis.
    const axisY = plot.top + plotH;
    p.push(`<line x1="${plot.left}" y1="${axisY}" x2="${plot.left + plotW}" y2="${axisY}" stroke="#999"/>`);
    for (const t of threads) {
      const tx = xScale(t);
      p.push(`<line x1="${r1(tx)}" y1="${axisY}" x2="${r1(tx)}" y2="${axisY + 4}" stroke="#999"/>`);
      p.push(`<text x="${r1(tx)}" y="${axisY + 16}" font-size="11" text-anchor="middle" fill="#555">${t}</text>`);
    }
    p.push(
      `<text x="${r1(plot.left + plotW / 2)}" y="${axisY + 31}" font-size="10.5" text-anchor="middle" fill="#888">threads</text>`,
    );

    // Series: single-point systems first (reference lines sit underneath).
    const present = sortSystems(idx.keys());
    const ordered = [
      ...present.filter((s) => (idx.get(s)?.size ?? 0) === 1),
      ...present.filter((s) => (idx.get(s)?.size ?? 0) > 1),
    ];
    for (const system of ordered) {
      const c = colours.get(system) ?? '#999';
      const pts = threads
        .filter((t) => idx.get(system)?.has(t))
        .map((t) => ({ t, v: idx.get(system)?.get(t) ?? 0 }))
        .filter((pt) => pt.v > 0);
      if (pts.length === 0) continue;
      p.push(`<g class="series" data-system="${escapeXml(system)}">`);
      if (pts.length === 1) {
        const only = pts[0]!;
        const ry = yScale(only.v);
        p.push(
          `<line x1="${plot.left}" y1="${r1(ry)}" x2="${plot.left + plotW}" y2="${r1(ry)}" stroke="${c}" stroke-width="1.3" stroke-dasharray="5 4" opacity="0.75"/>`,
        );
        // Label at the right end, above the line unless that would leave the plot.
        const labelY = ry - 5 < plot.top + 10 ? ry + 13 : ry - 5;
        p.push(
          `<text x="${plot.left + plotW - 3}" y="${r1(labelY)}" font-size="10.5" text-anchor="end" fill="${c}" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(system)} ${formatOps(only.v)}</text>`,
        );
      } else {
        // Solid through adjacent thread counts; a thin dashed bridge over a missing one.
        let solid = '';
        let bridged = '';
        pts.forEach((pt, i) => {
          const xy = `${r1(xScale(pt.t))},${r1(yScale(pt.v))}`;
          const prev = pts[i - 1];
          if (!prev) solid += `M${xy}`;
          else if (threads.indexOf(pt.t) - threads.indexOf(prev.t) === 1) solid += ` L${xy}`;
          else {
            bridged += `M${r1(xScale(prev.t))},${r1(yScale(prev.v))} L${xy} `;
            solid += ` M${xy}`;
          }
        });
        if (bridged) {
          p.push(
            `<path d="${bridged.trim()}" fill="none" stroke="${c}" stroke-width="1.3" stroke-dasharray="3 3" opacity="0.8"/>`,
          );
        }
        p.push(
          `<path d="${solid}" fill="none" stroke="${c}" stroke-width="2.2" stroke-linejoin="round" stroke-linecap="round"/>`,
        );
      }
      for (const pt of pts) {
        p.push(
          `<circle cx="${r1(xScale(pt.t))}" cy="${r1(yScale(pt.v))}" r="3.8" fill="${c}" stroke="#fff" stroke-width="1.2">` +
            `<title>${escapeXml(`${system}, ${pt.t} thread${pt.t === 1 ? '' : 's'}: ${formatOps(pt.v)} ops/s`)}</title></circle>`,
        );
      }
      p.push('</g>');
    }
    p.push('</g>');
    return p.join('\n');
  }

  if (groups.length === 0) {
    panels.push(
      `<text x="${r1(width / 2)}" y="${r1(y + 40)}" font-size="14" text-anchor="middle" fill="#888">no benchmark data</text>`,
    );
    y += 70;
  }

  // Footer.
  const footerFont = 11;
  const footerLines = wrapParts(machineSummary(result.machine), '  ·  ', Math.max(gridW, 300), footerFont);
  const footer = footerLines.map(
    (line, i) =>
      `<text x="${r1(gridLeft)}" y="${r1(y + 14 + i * 15)}" font-size="${footerFont}" fill="#777">${escapeXml(line)}</text>`,
  );
  y += footerLines.length > 0 ? 14 + (footerLines.length - 1) * 15 + 4 : 0;
  const height = Math.ceil(y + margin - 6);

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT)}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fafafa"/>`,
    `<text x="${r1(width / 2)}" y="${titleY}" font-size="19" font-weight="700" text-anchor="middle" fill="#111">${escapeXml(title)}</text>`,
    `<text x="${r1(width / 2)}" y="${subtitleY}" font-size="12" text-anchor="middle" fill="#666">${escapeXml(subtitle)}</text>`,
    `<g class="legend">`,
    ...legend,
    `</g>`,
    ...panels,
    ...footer,
    `</svg>`,
  );
  return `${out.join('\n')}\n`.trimEnd();
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/**
 * Write `result` as pretty JSON to `jsonPath` and, next to it, the chart as
 * `.svg`. Only throughput suites are charted (ops/s across threads); rows of
 * `uncharted` suites (measured in time, like `resilience`) stay in the JSON
 * and the tables.
 */
export function writeReport(
  result: BenchResult,
  jsonPath: string,
  uncharted: ReadonlySet<string> = new Set(),
): { jsonPath: string; svgPath: string } {
  const dir = dirname(jsonPath);
  mkdirSync(dir, { recursive: true });
  const ext = extname(jsonPath);
  let svgPath = join(dir, `${basename(jsonPath, ext)}.svg`);
  if (svgPath === join(dir, basename(jsonPath))) svgPath = `${jsonPath}.svg`; // never clobber the JSON
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  const charted = { ...result, rows: result.rows.filter((r) => !uncharted.has(r.suite)) };
  writeFileSync(svgPath, `${renderSvgChart(charted)}\n`);
  return { jsonPath, svgPath };
}
