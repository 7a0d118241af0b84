/**
 * Shared harness pieces: running benchmark threads as tasks of a piscina
 * pool (one task pinned to each pool thread by a load balancer), and a
 * description of the machine for the JSON.
 */
import { Piscina } from 'piscina';
import { pinnedLoadBalancer, pinnedTask } from '../src/nr/index.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, type TransferListItem } from 'node:worker_threads';

const here = path.dirname(fileURLToPath(import.meta.url));

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
      loadBalancer: pinnedLoadBalancer as never,
    });
  }

  /** Run `input` on pool thread `index`. */
  run(index: number, input: I, transfer: TransferListItem[] = []): Promise<O> {
    const p = this.pool.run(pinnedTask(input, index), { transferList: transfer as never }) as Promise<O>;
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

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `p`, or a rejection after `ms`: a benchmark cell never hangs the run. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`benchmark threads did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The postmessage baseline's threads: `clients` client threads (indexes
 * 0..clients-1), each with a port to one owner thread (index `clients`),
 * all `clients + 1` of them in the cell's barriers.
 */
export function startPostmessage(
  clients: number,
  start: (
    system: 'postmessage-client' | 'postmessage-owner',
    index: number,
    participants: number,
    extra: { port?: MessagePort; ports?: MessagePort[] },
    transfer: MessagePort[],
  ) => unknown,
): void {
  const ownerPorts: MessagePort[] = [];
  for (let i = 0; i < clients; i++) {
    const { port1, port2 } = new MessageChannel();
    ownerPorts.push(port1);
    start('postmessage-client', i, clients + 1, { port: port2 }, [port2]);
  }
  start('postmessage-owner', clients, clients + 1, { ports: ownerPorts }, ownerPorts);
}
