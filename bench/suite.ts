/**
 * The contract between `bench/run.ts` and a benchmark suite. A suite turns
 * the command line into cells (one measurement each, run one after another
 * so they never compete for the machine's two cores) and may print its own
 * Markdown section for BENCHMARKS.md (`node dist/bench/markdown.js`).
 */
import type { BenchRow } from './report.js';

export interface BenchArgs {
  /** `--quick`: shorter cells and fewer of them, for a smoke run. */
  quick: boolean;
  /** `--full`: the paper-sized variant where a suite has one (e.g. a bigger file). */
  full: boolean;
  /** `--threads 1,2,4,8` (the suite's default when empty). */
  threads: number[];
  /** `--systems a,b`: only these systems (all when empty). */
  systems: string[];
  /** `--workloads a,b`: only these workloads (all when empty). */
  workloads: string[];
}

export interface BenchCell {
  /** Progress label, e.g. `w10-uniform nr 4t`. */
  label: string;
  run: () => Promise<BenchRow>;
}

export interface BenchSuite {
  name: string;
  cells: (args: BenchArgs) => BenchCell[];
  /** Row fields worth printing on the progress line besides ops/s. */
  progressKeys?: readonly string[];
  /** Markdown tables and target ratios for this suite's rows of one run. */
  markdown?: (rows: BenchRow[]) => string[];
  /** Stops what the suite's cells started and kept for each other (servers, processes). */
  teardown?: () => Promise<void>;
}

/** Keeps the cells whose system and workload pass the `--systems`/`--workloads` filters. */
export function filterCells<C extends { system: string; workload: string }>(cells: C[], args: BenchArgs): C[] {
  return cells.filter(
    (c) =>
      (args.systems.length === 0 || args.systems.includes(c.system)) &&
      (args.workloads.length === 0 || args.workloads.includes(c.workload)),
  );
}

/** `a / b` as `1.23×`, or `n/a` when either side is missing. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a';
}

/** The verdict column of a targets table. */
export function verdict(ok: boolean): string {
  return ok ? 'met' : '**not met**';
}
