/**
 * Suite `sched`: the replicated task scheduler against piscina.
 *
 * The main thread submits tasks pipelined (a fixed window in flight) and
 * awaits their results; W worker threads run them. Workloads: `noop` and
 * `50us` (a 50 µs busy handler). Systems: `nr-sched` (W runner threads,
 * each a replica; the main thread a replica too) and `piscina` (W pool
 * threads, default settings, the same handlers); `nr-sched-clients`: of the W
 * runner threads only `replicaRunners(W)` hold replicas, the others are
 * client runners served by them (connectScheduler), so every op is applied
 * by 2-3 replicas instead of W+1. Measured: tasks/s over the
 * round, and submit-to-start latency (p50, p99, in µs) from the handler's
 * own clock reading. Also: cold starts per placement policy on the fixed
 * multi-kind trace (src/sched/trace.ts), as rows of workload `cold-starts`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { coldStartTrace, createScheduler, openScheduler, schedNow, type Scheduler } from '../src/sched/index.js';
import { formatOps, type BenchRow } from './report.js';
import { SCHED_WORKLOADS, type SchedWorkload } from './sched-worker.js';
import { filterCells, ratio, verdict, type BenchArgs, type BenchCell, type BenchSuite } from './suite.js';
import { median } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(here, 'sched-worker.js');
export const SCHED_SYSTEMS = ['nr-sched', 'nr-sched-clients', 'piscina'] as const;
type SchedSystem = (typeof SCHED_SYSTEMS)[number];
/** Tasks in flight from the submitting thread. */
export const SCHED_WINDOW = 512;

interface SchedCell {
  system: SchedSystem;
  workload: SchedWorkload;
  threads: number;
  tasks: number;
  rounds: number;
}

/** Run `n` tasks with at most SCHED_WINDOW in flight; collect latencies (µs). */
function pipelined(n: number, submit: () => Promise<number>, lats: number[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const onDone = (lat: number): void => {
      lats.push(lat);
      if (++done === n) resolve();
      else pump();
    };
    const pump = (): void => {
      while (sent - done < SCHED_WINDOW && sent < n) {
        sent++;
        submit().then(onDone, reject);
      }
    };
    pump();
  });
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runner threads of `nr-sched-clients` that hold a replica (and serve the client runners): 1 up to 4 workers, 2 above. */
export function replicaRunners(threads: number): number {
  return Math.min(2, Math.ceil(threads / 4));
}

async function startRunners(handle: ReturnType<typeof createScheduler>, threads: number, capacity: number, client = false): Promise<Worker[]> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { workerData: { handle, capacity, client } }));
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('error', reject);
          w.on('message', (m: { ready?: boolean }) => m.ready && resolve());
        }),
    ),
  );
  return workers;
}

export async function runSchedCell(cell: SchedCell): Promise<BenchRow> {
  let submit: () => Promise<number>;
  let teardown: () => Promise<void>;
  let sched: Scheduler | undefined;
  if (cell.system === 'nr-sched') {
    const handle = createScheduler({ kinds: [...SCHED_WORKLOADS], threads: cell.threads + 1, policy: 'fifo', logBytes: 8 * 1024 * 1024 });
    sched = openScheduler(handle);
    const s = sched;
    const workers = await startRunners(handle, cell.threads, cell.workload === 'noop' ? 64 : 16);
    submit = () => s.submit<number>(cell.workload, schedNow());
    teardown = async () => {
      await Promise.all(workers.map((w) => w.terminate()));
      s.close();
    };
  } else if (cell.system === 'nr-sched-clients') {
    const nodes = replicaRunners(cell.threads);
    const clients = cell.threads - nodes;
    const handle = createScheduler({
      kinds: [...SCHED_WORKLOADS],
      threads: nodes + 1,
      maxThreads: nodes + 1,
      policy: 'fifo',
      logBytes: 8 * 1024 * 1024,
      ...(clients > 0 ? { clients: Math.ceil(clients / nodes) + 1 } : {}),
    });
    sched = openScheduler(handle);
    const s = sched;
    const capacity = cell.workload === 'noop' ? 64 : 16;
    // Nodes first: a client runner connects to a serving node (the one with the fewest clients).
    const workers = await startRunners(handle, nodes, capacity);
    workers.push(...(await startRunners(handle, clients, capacity, true)));
    submit = () => s.submit<number>(cell.workload, schedNow());
    teardown = async () => {
      await Promise.all(workers.map((w) => w.terminate()));
      s.close();
    };
  } else {
    const pool = new Piscina({ filename: WORKER, minThreads: cell.threads, maxThreads: cell.threads, idleTimeout: 60_000 });
    submit = () => pool.run({ kind: cell.workload, t: schedNow() }) as Promise<number>;
    teardown = () => pool.destroy();
  }
  try {
    // Warm up with one unmeasured round of the cell's own size, for every system: 2000 tasks (the old
    // warm-up) left nine isolates' TurboFan compiles inside the first measured round at 8 workers
    // (first round 16-18k tasks/s against 78-90k later; CPU per task 18-19 us against 10-14 us with it).
    await pipelined(cell.tasks, submit, []);
    const perRound: number[] = [];
    const lats: number[] = [];
    // CPU of the whole process (submitter, runners or pool threads, GC): comparable where tasks/s is noise.
    const c0 = process.cpuUsage();
    for (let r = 0; r < cell.rounds; r++) {
      const t0 = performance.now();
      await pipelined(cell.tasks, submit, lats);
      perRound.push((cell.tasks / (performance.now() - t0)) * 1000);
    }
    const cpu = process.cpuUsage(c0);
    const sorted = Float64Array.from(lats).sort();
    const row: BenchRow = {
      suite: 'sched',
      workload: cell.workload,
      system: cell.system,
      threads: cell.threads,
      opsPerSec: Math.round(median(perRound)),
      writeRatio: 1,
      dist: 'none',
      tasksPerSec: Math.round(median(perRound)),
      cpuNsPerOp: Math.round(((cpu.user + cpu.system) * 1000) / (cell.tasks * cell.rounds)),
      latencyP50Us: Math.round(percentile(sorted, 0.5)),
      latencyP99Us: Math.round(percentile(sorted, 0.99)),
      window: SCHED_WINDOW,
      tasks: cell.tasks,
      roundsOpsPerSec: perRound.map(Math.round),
    };
    if (sched) row.coldStarts = sched.summary().coldStarts;
    return row;
  } finally {
    await teardown();
  }
}

function coldStartRow(policy: 'fifo' | 'mws'): BenchRow {
  const r = coldStartTrace(policy);
  return {
    suite: 'sched',
    workload: 'cold-starts',
    system: policy,
    threads: 6,
    opsPerSec: Number.NaN, // not a throughput: kept out of the table and chart
    writeRatio: 1,
    dist: 'none',
    coldStarts: r.coldStarts,
    meanWorkersPerKind: Math.round(r.meanWorkersPerKind * 100) / 100,
    workersPerKind: r.workersPerKind,
    tasks: r.tasks,
  };
}

function schedCells(args: BenchArgs): BenchCell[] {
  const threadCounts = args.threads.length > 0 ? args.threads : args.quick ? [1, 2, 4] : [1, 2, 4, 8];
  const cells: (SchedCell & { workload: string })[] = [];
  // Systems alternate per thread count (nr-sched 2t, piscina 2t, nr-sched 4t, …): on a machine shared
  // with other jobs the load drifts over a run, and the targets compare the two systems' cells of one
  // thread count, so those run back to back rather than a whole system's row apart.
  for (const workload of SCHED_WORKLOADS) {
    for (const threads of threadCounts) {
      for (const system of SCHED_SYSTEMS) {
        // One worker has no client runner to make: that cell would be nr-sched's.
        if (system === 'nr-sched-clients' && threads < 2) continue;
        const tasks = workload === 'noop' ? (args.quick ? 60_000 : 150_000) : args.quick ? 10_000 : 30_000;
        cells.push({ system, workload, threads, tasks, rounds: args.quick ? 1 : 3 });
      }
    }
  }
  const out: BenchCell[] = filterCells(cells, args).map((c) => ({ label: `${c.workload} ${c.system} ${c.threads}t`, run: () => runSchedCell(c) }));
  for (const policy of ['fifo', 'mws'] as const) {
    if (args.workloads.length > 0 && !args.workloads.includes('cold-starts')) continue;
    if (args.systems.length > 0 && !args.systems.includes(policy)) continue;
    out.push({ label: `cold-starts ${policy}`, run: async () => coldStartRow(policy) });
  }
  return out;
}

function schedMarkdown(rows: BenchRow[]): string[] {
  const out: string[] = [];
  const threads = [...new Set(rows.filter((r) => r.workload !== 'cold-starts').map((r) => r.threads))].sort((a, b) => a - b);
  const get = (w: string, s: string, t: number): BenchRow | undefined => rows.find((r) => r.workload === w && r.system === s && r.threads === t);
  for (const w of SCHED_WORKLOADS) {
    if (!rows.some((r) => r.workload === w)) continue;
    out.push(`#### ${w}: tasks/s (submit-to-start p50 / p99 µs), ${SCHED_WINDOW} in flight`, '', `| system | ${threads.map((t) => `${t} workers`).join(' | ')} |`, `|---|${threads.map(() => '---:').join('|')}|`);
    for (const s of SCHED_SYSTEMS) {
      const cells = threads.map((t) => {
        const r = get(w, s, t);
        return r ? `${formatOps(r.opsPerSec)} (${String(r.latencyP50Us)} / ${String(r.latencyP99Us)})` : '-';
      });
      out.push(`| ${s} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  const cold = rows.filter((r) => r.workload === 'cold-starts');
  if (cold.length > 0) {
    out.push('#### Cold starts on the fixed multi-kind trace (6 workers × 2 slots, 6 kinds)', '', '| policy | tasks | cold starts | workers per kind (mean) |', '|---|---:|---:|---:|');
    for (const r of cold) out.push(`| ${r.system} | ${String(r.tasks)} | ${String(r.coldStarts)} | ${String(r.meanWorkersPerKind)} |`);
    out.push('');
  }
  const targets: string[] = [];
  const nrSystems = SCHED_SYSTEMS.filter((s) => s !== 'piscina' && rows.some((r) => r.system === s));
  for (const s of nrSystems) {
    for (const t of threads.filter((t) => t >= 2)) {
      const a = get('noop', s, t)?.opsPerSec ?? Number.NaN;
      const b = get('noop', 'piscina', t)?.opsPerSec ?? Number.NaN;
      targets.push(`| noop tasks/s: ${s} vs piscina, ${t} workers | ≥ 10× | ${ratio(a, b)} | ${verdict(a / b >= 10)} |`);
    }
  }
  // Not a target: CPU per task of the whole process, the load-independent side of the same comparison.
  for (const s of nrSystems) {
    for (const t of threads.filter((t) => t >= 2)) {
      const a = Number(get('noop', s, t)?.cpuNsPerOp ?? Number.NaN);
      const b = Number(get('noop', 'piscina', t)?.cpuNsPerOp ?? Number.NaN);
      if (Number.isFinite(a) && Number.isFinite(b)) targets.push(`| (info) noop CPU per task: piscina / ${s}, ${t} workers | - | ${ratio(b, a)} | |`);
    }
  }
  for (const s of nrSystems) {
    for (const w of SCHED_WORKLOADS) {
      for (const t of threads) {
        const a = Number(get(w, s, t)?.latencyP99Us ?? Number.NaN);
        const b = Number(get(w, 'piscina', t)?.latencyP99Us ?? Number.NaN);
        if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
        targets.push(`| ${w} p99 submit-to-start: ${s} / piscina, ${t} workers | ≤ 1.0× | ${ratio(a, b)} | ${verdict(a <= b)} |`);
      }
    }
  }
  if (cold.length === 2) {
    const f = cold.find((r) => r.system === 'fifo')!;
    const m = cold.find((r) => r.system === 'mws')!;
    targets.push(`| cold starts: mws / fifo | < 1.0× | ${ratio(Number(m.coldStarts), Number(f.coldStarts))} | ${verdict(Number(m.coldStarts) < Number(f.coldStarts))} |`);
  }
  out.push('#### Targets (ratios within this run)', '', '| target | wanted | measured | |', '|---|---|---|---|', ...targets, '');
  return out;
}

export const schedSuite: BenchSuite = {
  name: 'sched',
  cells: schedCells,
  progressKeys: ['latencyP50Us', 'latencyP99Us', 'coldStarts'],
  markdown: schedMarkdown,
};
