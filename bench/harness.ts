/**
 * Shared harness pieces: running benchmark threads as tasks of a piscina
 * pool (one task pinned to each pool thread by a load balancer), and a
 * description of the machine for the JSON.
 */
import { Piscina } from 'piscina';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TransferListItem } from 'node:worker_threads';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Route a task to pool thread `worker` (its position among live threads),
 * or queue it while that thread is busy; tasks without a pin go to any
 * idle thread.
 */
export function pinnedBalancer(task: object, workers: { id: number; currentUsage: number; terminating: boolean }[]): never | null {
  const opts = (task as Record<symbol, unknown>)[Piscina.queueOptionsSymbol] as { worker?: number } | null;
  const live = workers.filter((w) => !w.terminating).sort((a, b) => a.id - b.id);
  const w = opts?.worker === undefined ? live.find((x) => x.currentUsage === 0) : live[opts.worker % live.length];
  return w && w.currentUsage === 0 ? (w as never) : null;
}

/** A pool of `threads` threads running `script` (from this directory), one pinned task each. */
export class TaskPool<I extends object, O> {
  private readonly pool: Piscina;
  readonly results: Promise<O>[] = [];

  constructor(script: string, threads: number) {
    this.pool = new Piscina({
      filename: path.join(here, `${script}.js`),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      // Idle threads keep their event loops free: replicas there answer nudges.
      atomics: 'disabled',
      loadBalancer: pinnedBalancer as never,
    });
  }

  /** Run `input` on pool thread `index`. */
  run(index: number, input: I, transfer: TransferListItem[] = []): Promise<O> {
    const task = { ...input, [Piscina.queueOptionsSymbol]: { worker: index } };
    const p = this.pool.run(task, { transferList: transfer as never }) as Promise<O>;
    p.catch(() => {}); // tasks that never finish (a server thread) reject when the pool is destroyed
    this.results.push(p);
    return p;
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}
