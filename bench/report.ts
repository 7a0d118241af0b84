/**
 * A run's results on disk: the raw rows as JSON, one chart per suite (SVG,
 * rendered by Vega-Lite, see report-charts.ts) and one self-contained HTML
 * report next to it. The meaning of the rows is in report-views.ts, the
 * terminal summary in report-text.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { renderSuiteSvg } from './report-charts.js';
import { renderHtml } from './report-html.js';
import { suiteViews } from './report-views.js';

export interface BenchRow {
  suite: string;        // e.g. 'hashmap'
  workload: string;     // e.g. 'w10-uniform'
  system: string;       // e.g. 'plain-map' | 'postmessage' | 'lmdb' | 'nr' | 'nr-combined' (others may come later)
  threads: number;      // 1,2,4,8
  opsPerSec: number;    // 0 or null in a row that did not run: then `error` says why
  writeRatio: number;   // 0..1
  dist: string;         // 'uniform' | 'zipfian'
  [extra: string]: unknown; // e.g. heapBytesPerWorker, sharedBytes
}
export interface BenchResult { machine: Record<string, unknown>; rows: BenchRow[] }

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

/**
 * A markdown table cell: throughput, then CPU time per op where the row
 * measured it ("9.49M · 117 ns"). On a shared 2-core machine ops/s of one
 * cell moves 2x between runs; CPU per op mostly does not.
 */
export function formatOpsCell(row: { opsPerSec: number; cpuNsPerOp?: unknown }): string {
  const ops = formatOps(row.opsPerSec);
  const ns = row.cpuNsPerOp;
  if (typeof ns !== 'number' || !Number.isFinite(ns)) return ops;
  return `${ops} · ${formatCpuNs(ns)}`;
}

/** CPU time per op for a table: "117 ns", "6.16 µs". */
export function formatCpuNs(ns: number): string {
  return ns < 1000 ? `${Math.round(ns)} ns` : `${Number((ns / 1000).toPrecision(3))} µs`;
}

function trimPrecision(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export interface ReportFiles {
  jsonPath?: string;
  htmlPath: string;
  svgPaths: string[];
}

/** The report's files for a results file `dir/NAME.json`: `dir/NAME.html` and `dir/NAME-<suite>.svg`. */
export function reportPaths(jsonPath: string, suites: string[]): { htmlPath: string; svgPaths: Map<string, string> } {
  const dir = dirname(jsonPath);
  const base = basename(jsonPath, extname(jsonPath)) || 'results';
  return { htmlPath: join(dir, `${base}.html`), svgPaths: new Map(suites.map((s) => [s, join(dir, `${base}-${s}.svg`)])) };
}

/** Render the charts and the HTML report of `result` next to `jsonPath` (the JSON itself is not written). */
export async function renderReport(result: BenchResult, jsonPath: string): Promise<ReportFiles> {
  const views = suiteViews(result.rows);
  const { htmlPath, svgPaths } = reportPaths(jsonPath, views.map((v) => v.suite));
  mkdirSync(dirname(jsonPath), { recursive: true });
  const svgs = new Map<string, string>();
  for (const v of views) {
    const svg = await renderSuiteSvg(v);
    svgs.set(v.suite, svg);
    writeFileSync(svgPaths.get(v.suite)!, `${svg}\n`);
  }
  writeFileSync(htmlPath, renderHtml(result, views, svgs));
  return { htmlPath, svgPaths: [...svgPaths.values()] };
}

/** Write `result` as pretty JSON to `jsonPath`, and its charts and HTML report next to it. */
export async function writeReport(result: BenchResult, jsonPath: string): Promise<ReportFiles> {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  return { jsonPath, ...(await renderReport(result, jsonPath)) };
}
