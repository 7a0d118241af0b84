/**
 * `npm run bench -- [suites…] [--quick] [--full] [--threads 1,2,4,8]
 *                  [--systems nr,lmdb,…] [--workloads w10-uniform,…]
 *                  [--save | --json FILE] [--compare OLD.json]`
 *
 * Runs the benchmark suites, prints progress and a summary of every measured
 * figure, and writes the rows as JSON with one SVG chart per suite and an
 * HTML report next to it. By default into a fresh folder under the
 * untracked bench/results/tmp/; only `--save` updates the committed
 * bench/results/latest.* (the cells that ran replace their earlier rows).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { machineInfo } from './harness.js';
import { formatOps, writeReport, type BenchResult, type BenchRow } from './report.js';
import { formatComparison, formatSummary } from './report-text.js';
import { mergeResults, readResult, screenshotIfPossible } from './results.js';
import { REPO_ROOT as repoRoot, SAVED_JSON } from './saved.js';
import type { BenchArgs, BenchSuite } from './suite.js';
import { SUITES } from './suites.js';

interface Args extends BenchArgs {
  suites: BenchSuite[];
  json: string;
  save: boolean;
  compare?: string;
}

const USAGE = `Usage: npm run bench -- [${SUITES.map((s) => s.name).join('|')}…] [--quick] [--full] [--threads 1,2,4,8] [--systems a,b] [--workloads a,b] [--save | --json FILE] [--compare OLD.json]`;

/** A fresh folder for an ad-hoc run's files: bench/results/tmp/<UTC time>/run.json (gitignored). */
function adHocJson(): string {
  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  return path.join(repoRoot, 'bench/results/tmp', stamp, 'run.json');
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    suites: [],
    quick: false,
    full: false,
    threads: [],
    json: '',
    save: false,
    systems: [],
    workloads: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const suite = SUITES.find((s) => s.name === a);
    if (a === '--quick') args.quick = true;
    else if (a === '--full') args.full = true;
    else if (a === '--threads') {
      const v = argv[++i];
      const list = (v ?? '').split(',').map(Number);
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) {
        throw new Error(`--threads takes a comma-separated list of integers from 1 to 64, got '${v}'`);
      }
      args.threads = list;
    } else if (a === '--json') {
      const v = argv[++i];
      if (!v) throw new Error('--json takes a file path');
      args.json = path.resolve(v);
    } else if (a === '--save') args.save = true;
    else if (a === '--compare') {
      const v = argv[++i];
      if (!v) throw new Error('--compare takes the JSON file of an earlier run');
      if (!existsSync(v)) throw new Error(`--compare: no such file '${v}'`);
      args.compare = path.resolve(v);
    } else if (a === '--systems' || a === '--workloads') {
      const v = argv[++i];
      if (!v) throw new Error(`${a} takes a comma-separated list`);
      args[a === '--systems' ? 'systems' : 'workloads'] = v.split(',');
    } else if (suite) args.suites.push(suite);
    else throw new Error(`unknown argument '${a}'. ${USAGE}`);
  }
  if (args.suites.length === 0) args.suites = [...SUITES];
  if (args.save && args.json) throw new Error('--save writes bench/results/latest.json: leave out --json');
  if (args.save && args.quick) throw new Error('--save with --quick would replace the committed full-run results with quick-run numbers');
  if (!args.json) args.json = args.save ? SAVED_JSON : adHocJson();
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rows: BenchRow[] = [];
  const started = Date.now();
  for (const suite of args.suites) {
    const cells = suite.cells(args);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      process.stderr.write(`[${String(i + 1).padStart(3)}/${cells.length}] ${`${suite.name} ${c.label}`.padEnd(44)}`);
      const row = await c.run();
      rows.push(row);
      const elapsed = ((Date.now() - started) / 1000).toFixed(0);
      const detail = (suite.progressKeys ?? []).filter((k) => k in row).map((k) => ` ${k}=${String(row[k])}`).join('');
      process.stderr.write(` ${formatOps(row.opsPerSec).padStart(7)} ops/s${detail}   (${elapsed}s)\n`);
    }
    await suite.teardown?.();
  }
  const ran: BenchResult = { machine: { ...machineInfo(), quick: args.quick }, rows };
  console.log(formatSummary(rows));
  if (args.compare) console.log(formatComparison(readResult(args.compare).rows, rows, path.relative(process.cwd(), args.compare)));
  const all = SUITES.every((s) => args.suites.includes(s)) && args.systems.length === 0 && args.workloads.length === 0 && args.threads.length === 0;
  const result = args.save && existsSync(SAVED_JSON) && !all ? mergeResults(readResult(SAVED_JSON), ran, args.suites.map((s) => s.name)) : ran;
  const files = await writeReport(result, args.json);
  const rel = (p: string): string => path.relative(process.cwd(), p);
  console.log(`\nwrote ${rel(args.json)}, ${rel(files.htmlPath)} and ${files.svgPaths.map(rel).join(', ')}`);
  if (args.save) await screenshotIfPossible(files.htmlPath);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
