/**
 * Suite `resilience`: what failures cost.
 * - resume-after-death: a replica worker is terminate()d; the main thread's
 *   writer keeps writing. Its longest single write is the stall: until the
 *   dead replica is declared dead, or fenced after `fenceAfterMs`.
 * - state-transfer: a worker joins a log whose structure holds N entries;
 *   the time it spends getting and restoring a snapshot.
 * - chaos-writes: 4 writer threads, with and without a controller that
 *   terminates one and starts a replacement every 300 ms.
 * Every thread is a piscina pool thread running one pinned task; kills are
 * terminate()s of a pool thread, which piscina replaces. Every cell records
 * CPU per op (cpuNsPerOp; what it counts: resilienceMarkdown).
 */
import { MessageChannel } from 'node:worker_threads';
import path from 'node:path';
import { Piscina } from 'piscina';
import { fileURLToPath } from 'node:url';
import { attach, createHandle, declareDead, pinnedLoadBalancer, pinnedTask } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { formatCpuNs, formatOps, type BenchRow } from './report.js';
import { ratio, type BenchArgs, type BenchCell, type BenchSuite } from './suite.js';
import type { ResilienceWorkerInput } from './resilience-worker.js';
import { nsPerOp, threadCpuMs } from './process-cpu.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Ready {
  thread: number;
  slot: number;
  joinMs: number;
  /** The joining thread's CPU in attach (NaN off Linux). */
  joinCpuMs: number;
  stats: { stateTransferMs: number; stateTransfers: number };
}

/** A pool whose threads each run one pinned resilience task, and can be killed one by one. */
class Threads {
  private readonly pool: Piscina;
  private next = 0;
  constructor(threads: number) {
    this.pool = new Piscina({
      filename: path.join(here, 'resilience-worker.js'),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      atomics: 'disabled',
      loadBalancer: pinnedLoadBalancer as never,
    });
  }

  /** Start a task (pinned to a fresh thread at first; later to whichever thread is idle) and wait until it attached. */
  start(input: Omit<ResilienceWorkerInput, 'port'>): Promise<Ready> {
    const { port1, port2 } = new MessageChannel();
    const index = this.next++;
    const task = { ...input, port: port2 };
    const run = this.pool.run(index < this.pool.options.maxThreads ? pinnedTask(task, index) : task, { transferList: [port2] as never });
    run.catch(() => {}); // a killed thread's task rejects
    return new Promise<Ready>((resolve, reject) => {
      port1.once('message', (m: Ready) => {
        port1.close();
        resolve(m);
      });
      run.then(() => reject(new Error('resilience task ended before it attached')), reject);
    });
  }

  /** terminate() the pool thread a task reported; piscina starts a replacement. */
  async kill(thread: number): Promise<void> {
    await this.pool.threads.find((t) => t.threadId === thread)?.terminate();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

const row = (workload: string, system: string, threads: number, opsPerSec: number, extra: Record<string, unknown>): BenchRow => ({
  suite: 'resilience',
  workload,
  system,
  threads,
  opsPerSec: Math.round(opsPerSec),
  writeRatio: 1,
  dist: 'uniform',
  ...extra,
});

async function resumeAfterDeath(variant: 'declared' | number): Promise<BenchRow> {
  const fenceAfterMs = variant === 'declared' ? 600_000 : variant;
  const handle = createHandle(HashMap, { replicas: 2, fenceAfterMs });
  const writer = attach(handle, HashMap);
  const control = new SharedArrayBuffer(64 * 4);
  const threads = new Threads(1);
  const { slot, thread } = await threads.start({ handle, control, mode: 'idle', seed: 1 });
  for (let i = 0; i < 1000; i++) writer.writes.put(i, i);
  await threads.kill(thread);
  if (variant === 'declared') declareDead(handle, slot);
  // Write until well past the point where the log filled and the dead replica was dealt with.
  const cells = (2 * 1024 * 1024) / 32;
  let worst = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (; n < 4 * cells; n++) {
    const s = performance.now();
    writer.writes.put(n % 100_000, n);
    worst = Math.max(worst, performance.now() - s);
  }
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  writer.detach();
  await threads.destroy();
  return row('resume-after-death', variant === 'declared' ? 'nr-declared-dead' : `nr-fence-${variant}ms`, 2, (n / elapsed) * 1000, {
    cpuNsPerOp: nsPerOp(cpu.user + cpu.system, n),
    resumeMs: Math.round(worst * 10) / 10,
    fenceAfterMs: variant === 'declared' ? null : variant,
  });
}

async function stateTransfer(entries: number): Promise<BenchRow> {
  // A 64 KiB log wraps during the preload, so the joiner must take a snapshot.
  const handle = createHandle(HashMap, { replicas: 1, logBytes: 64 * 1024 });
  const source = attach(handle, HashMap);
  for (let k = 0; k < entries; k += 1000) {
    let last: Promise<unknown> = Promise.resolve();
    for (let j = k; j < Math.min(entries, k + 1000); j++) last = source.writeAsync('put', j, j);
    await last;
  }
  const control = new SharedArrayBuffer(64 * 4);
  const threads = new Threads(1);
  const main0 = threadCpuMs();
  const { stats, joinMs, joinCpuMs } = await threads.start({ handle, control, mode: 'idle', seed: 2 });
  const sourceCpuMs = threadCpuMs() - main0;
  await threads.destroy();
  source.detach();
  if (stats.stateTransfers !== 1) throw new Error('the joining replica did not take a snapshot');
  return row('state-transfer', 'nr', 2, (entries / stats.stateTransferMs) * 1000, {
    // The joiner's attach plus this (the source replica's) thread over the join, per entry moved.
    cpuNsPerOp: nsPerOp((joinCpuMs + sourceCpuMs) * 1000, entries),
    entries,
    transferMs: Math.round(stats.stateTransferMs * 10) / 10,
    joinMs: Math.round(joinMs * 10) / 10,
  });
}

async function chaosWrites(chaos: boolean, durationMs: number): Promise<BenchRow> {
  const handle = createHandle(HashMap, { replicas: 4, maxReplicas: 32, fenceAfterMs: 200 });
  const control = new SharedArrayBuffer(64 * 4);
  const ctl = new Int32Array(control);
  let seed = 10;
  const threads = new Threads(4);
  const live: Ready[] = [];
  const start = async (): Promise<void> => {
    live.push(await threads.start({ handle, control, mode: 'write', seed: seed++ }));
  };
  for (let i = 0; i < 4; i++) await start();
  const before = Atomics.load(ctl, 0);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let kills = 0;
  while (performance.now() - t0 < durationMs) {
    await new Promise((r) => setTimeout(r, 300));
    if (!chaos) continue;
    const victim = live.splice(kills++ % live.length, 1)[0]!;
    await threads.kill(victim.thread);
    declareDead(handle, victim.slot);
    await start(); // on the thread piscina started in its place
  }
  const ops = Atomics.load(ctl, 0) - before;
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  Atomics.store(ctl, 16, 1);
  await threads.destroy();
  return row('chaos-writes', chaos ? 'nr-chaos' : 'nr', 4, (ops / elapsed) * 1000, { cpuNsPerOp: nsPerOp(cpu.user + cpu.system, ops), kills, fencedWrites: Atomics.load(ctl, 32), durationMs });
}

function resilienceCells({ quick }: BenchArgs): BenchCell[] {
  const cells: BenchCell[] = [
    { label: 'resume-after-death declared', run: () => resumeAfterDeath('declared') },
    { label: 'resume-after-death fence 100ms', run: () => resumeAfterDeath(100) },
    { label: 'resume-after-death fence 1000ms', run: () => resumeAfterDeath(1000) },
  ];
  for (const n of quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]) {
    cells.push({ label: `state-transfer ${n} entries`, run: () => stateTransfer(n) });
  }
  const d = quick ? 1000 : 3000;
  cells.push({ label: 'chaos-writes without chaos', run: () => chaosWrites(false, d) });
  cells.push({ label: 'chaos-writes with chaos', run: () => chaosWrites(true, d) });
  return cells;
}

function resilienceMarkdown(res: BenchRow[]): string[] {
  const out: string[] = [];
  const x = ratio;
  const cpu = (r: BenchRow): string => (typeof r.cpuNsPerOp === 'number' ? formatCpuNs(r.cpuNsPerOp) : 'n/a');
  // Runs recorded before CPU per op was measured keep their three columns.
  const withCpu = res.some((r) => typeof r.cpuNsPerOp === 'number');
  const cpuCol = (r: BenchRow): string => (withCpu ? ` ${cpu(r)} |` : '');
  out.push('#### Resilience', '', `| measurement | system | result |${withCpu ? ' CPU per op |' : ''}`, `|---|---|---|${withCpu ? '---|' : ''}`);
  for (const r of res) {
    const detail =
      r.workload === 'resume-after-death'
        ? `writers stalled at most ${String(r.resumeMs)} ms`
        : r.workload === 'state-transfer'
          ? `${String(r.entries)} entries: snapshot ${String(r.transferMs)} ms, whole join ${String(r.joinMs)} ms`
          : `${formatOps(r.opsPerSec)} writes/s${r.kills ? ` with ${String(r.kills)} kills` : ''}${r.fencedWrites ? ` (${String(r.fencedWrites)} writes failed with FencedError)` : ''}`;
    out.push(`| ${r.workload} | ${r.system} | ${detail} |${cpuCol(r)}`);
  }
  const calm = res.find((r) => r.workload === 'chaos-writes' && r.system === 'nr');
  const chaos = res.find((r) => r.workload === 'chaos-writes' && r.system === 'nr-chaos');
  if (calm && chaos) out.push('', `Write throughput under chaos: ${x(chaos.opsPerSec, calm.opsPerSec)} of the same run without chaos.`);
  if (withCpu) out.push('', 'CPU per op: resume-after-death and chaos-writes, this process (every thread) over the timed writes, per write; state-transfer, the joining thread\'s attach plus the source replica\'s thread over the join, per entry moved.');
  out.push('');
  return out;
}

export const resilienceSuite: BenchSuite = {
  name: 'resilience',
  cells: resilienceCells,
  progressKeys: ['cpuNsPerOp', 'resumeMs', 'transferMs', 'fencedWrites'],
  markdown: resilienceMarkdown,
};
