/**
 * `npm run bench -- [suites…] [--quick] [--full] [--threads 1,2,4,8] [--json FILE]
 *                  [--systems nr,lmdb,…] [--workloads w10-uniform,…]`
 *
 * Runs the benchmark suites, prints progress and a table, and writes the
 * rows as JSON plus an SVG chart next to it (default bench/results/latest.json).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './harness.js';
import { formatOps, formatTable, writeReport, type BenchResult, type BenchRow } from './report.js';
import type { BenchArgs, BenchSuite } from './suite.js';
import { SUITES } from './suites.js';

interface Args extends BenchArgs {
  suites: BenchSuite[];
  json: string;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = `Usage: npm run bench -- [${SUITES.map((s) => s.name).join('|')}…] [--quick] [--full] [--threads 1,2,4,8] [--json FILE] [--systems a,b] [--workloads a,b]`;

function parseArgs(argv: string[]): Args {
  const args: Args = {
    suites: [],
    quick: false,
    full: false,
    threads: [],
    json: path.join(repoRoot, 'bench/results/latest.json'),
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
    } else if (a === '--systems' || a === '--workloads') {
      const v = argv[++i];
      if (!v) throw new Error(`${a} takes a comma-separated list`);
      args[a === '--systems' ? 'systems' : 'workloads'] = v.split(',');
    } else if (suite) args.suites.push(suite);
    else throw new Error(`unknown argument '${a}'. ${USAGE}`);
  }
  if (args.suites.length === 0) args.suites = [...SUITES];
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
  }
  const result: BenchResult = { machine: { ...machineInfo(), quick: args.quick }, rows };
  console.log(formatTable(rows));
  const { jsonPath, svgPath } = writeReport(result, args.json, new Set(SUITES.filter((s) => s.uncharted).map((s) => s.name)));
  console.log(`\nwrote ${path.relative(process.cwd(), jsonPath)} and ${path.relative(process.cwd(), svgPath)}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
