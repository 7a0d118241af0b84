/**
 * `npm run bench -- [suites…] [--quick] [--threads 1,2,4,8] [--json FILE]
 *                  [--systems nr,lmdb,…] [--workloads w10-uniform,…]`
 *
 * Runs the benchmark suites, prints progress and a table, and writes the
 * rows as JSON plus an SVG chart next to it (default bench/results/latest.json).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './harness.js';
import { HASHMAP_SYSTEMS, NR_CLIENTS_REPLICAS, runHashmapCell, workloadName, type HashmapCell } from './hashmap.js';
import { resilienceCells } from './resilience.js';
import { formatOps, formatTable, writeReport, type BenchResult, type BenchRow } from './report.js';
import type { Dist } from './workload.js';

const SUITES = ['hashmap', 'resilience'] as const;
type Suite = (typeof SUITES)[number];

interface Args {
  suites: Suite[];
  quick: boolean;
  threads: number[];
  json: string;
  /** Optional filters: only these systems / workloads. */
  systems: string[];
  workloads: string[];
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function parseArgs(argv: string[]): Args {
  const args: Args = {
    suites: [],
    quick: false,
    threads: [],
    json: path.join(repoRoot, 'bench/results/latest.json'),
    systems: [],
    workloads: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
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
    } else if ((SUITES as readonly string[]).includes(a)) args.suites.push(a as Suite);
    else throw new Error(`unknown argument '${a}'. Usage: npm run bench -- [${SUITES.join('|')}…] [--quick] [--threads 1,2,4,8] [--json FILE] [--systems a,b] [--workloads w10-uniform,…]`);
  }
  if (args.suites.length === 0) args.suites = [...SUITES];
  if (args.threads.length === 0) args.threads = args.quick ? [1, 2, 4] : [1, 2, 4, 8];
  return args;
}

function hashmapCells(args: Args): HashmapCell[] {
  const durationMs = args.quick ? 150 : 400;
  const rounds = args.quick ? 1 : 3;
  const cells: HashmapCell[] = [];
  const dists: Dist[] = ['uniform', 'zipfian'];
  for (const writeRatio of [0, 0.1, 1]) {
    for (const dist of dists) {
      for (const system of HASHMAP_SYSTEMS) {
        const threads =
          system === 'plain-map' ? [1] : system === 'nr-clients' ? args.threads.filter((t) => t > NR_CLIENTS_REPLICAS) : args.threads;
        for (const t of threads) {
          cells.push({ system, threads: t, writeRatio, dist, keys: 100_000, durationMs, rounds, logBytes: 2 * 1024 * 1024 });
        }
      }
    }
  }
  return cells.filter(
    (c) =>
      (args.systems.length === 0 || args.systems.includes(c.system)) &&
      (args.workloads.length === 0 || args.workloads.includes(workloadName(c.writeRatio, c.dist))),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rows: BenchRow[] = [];
  const started = Date.now();
  for (const suite of args.suites) {
    const cells =
      suite === 'hashmap'
        ? hashmapCells(args).map((c) => ({
            label: `${workloadName(c.writeRatio, c.dist)} ${c.system} ${c.threads}t`,
            run: () => runHashmapCell(c),
          }))
        : resilienceCells(args.quick);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      process.stderr.write(`[${String(i + 1).padStart(3)}/${cells.length}] ${`${suite} ${c.label}`.padEnd(44)}`);
      const row = await c.run();
      rows.push(row);
      const elapsed = ((Date.now() - started) / 1000).toFixed(0);
      const detail = ['resumeMs', 'transferMs'].filter((k) => k in row).map((k) => ` ${k}=${String(row[k])}`).join('');
      process.stderr.write(` ${formatOps(row.opsPerSec).padStart(7)} ops/s${detail}   (${elapsed}s)\n`);
    }
  }
  const result: BenchResult = { machine: { ...machineInfo(), quick: args.quick }, rows };
  console.log(formatTable(rows));
  const { jsonPath, svgPath } = writeReport(result, args.json);
  console.log(`\nwrote ${path.relative(process.cwd(), jsonPath)} and ${path.relative(process.cwd(), svgPath)}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
