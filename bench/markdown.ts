/**
 * `node dist/bench/markdown.js [results.json]` prints each suite's results
 * as Markdown: its tables, then its targets as ratios against baselines of
 * the same run. Used to write BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';
import type { BenchResult } from './report.js';
import { SUITES } from './suites.js';

const file = process.argv[2] ?? 'bench/results/latest.json';
const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
const out: string[] = [];
for (const suite of SUITES) {
  const rows = result.rows.filter((r) => r.suite === suite.name);
  if (rows.length > 0 && suite.markdown) out.push(...suite.markdown(rows));
}
console.log(out.join('\n'));
