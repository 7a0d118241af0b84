/**
 * Result files: reading one, merging a partial `--save` run into the
 * committed results, and the committed screenshot of the report.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchResult, BenchRow } from './report.js';
import { chromiumAvailable, inspectReport } from './report-browser.js';

export function readResult(file: string): BenchResult {
  const r = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  if (!r || !Array.isArray(r.rows) || typeof r.machine !== 'object') throw new Error(`${file} is not a bench results file`);
  return r;
}

/** What makes two rows the same cell: a rerun of that cell replaces the older row. */
const cellKey = (r: BenchRow): string =>
  JSON.stringify([r.suite, r.workload, r.panel ?? null, r.system, r.threads, r.valueBytes ?? null, r.entries ?? null]);

/**
 * `fresh` (a run of some suites or cells) over `saved`: its rows replace
 * the saved rows of the same cells, the others stay; the fresh machine
 * description is kept under each suite that ran.
 */
export function mergeResults(saved: BenchResult, fresh: BenchResult, suites: string[]): BenchResult {
  const replaced = new Set(fresh.rows.map(cellKey));
  const rows = [...saved.rows.filter((r) => !replaced.has(cellKey(r))), ...fresh.rows];
  const order = [...new Set([...saved.rows, ...fresh.rows].map((r) => r.suite))];
  rows.sort((a, b) => order.indexOf(a.suite) - order.indexOf(b.suite)); // stable: a suite's rows stay in order
  const machine = { ...saved.machine };
  for (const s of suites) machine[s] = fresh.machine;
  return { machine, rows };
}

/** The committed screenshot of a report `dir/NAME.html`: `dir/NAME.png`. */
export const screenshotPath = (htmlPath: string): string => path.join(path.dirname(htmlPath), `${path.basename(htmlPath, '.html')}.png`);

/** Takes the report's screenshot when Chromium is installed; says so loudly when it is not. */
export async function screenshotIfPossible(htmlPath: string): Promise<void> {
  const png = screenshotPath(htmlPath);
  if (!chromiumAvailable()) {
    console.error(`\n*** ${png} NOT updated: no Chromium at /usr/bin/chromium (apt-get install chromium), the screenshot is now stale ***`);
    return;
  }
  const check = await inspectReport(htmlPath, png);
  const undrawn = check.charts.flatMap((c) => c.series.filter((s) => !c.drawn.includes(s)).map((s) => `${c.suite}/${s}`));
  console.log(`wrote ${path.relative(process.cwd(), png)}${undrawn.length ? `; series not drawn: ${undrawn.join(', ')}` : ''}${check.consoleErrors.length ? `; console errors: ${check.consoleErrors.join(' | ')}` : ''}`);
}
