/**
 * Worker pools (piscina, or any pool that reuses threads): make each pool
 * thread a node of a log, or a client of one, from inside its task
 * function. The first call in a thread attaches (or connects); later calls
 * in the same thread return the same replica (or client).
 *
 * It works under every piscina `atomics` mode. Under the default 'sync', an
 * idle pool thread blocks in Atomics.wait between tasks, so its event loop
 * cannot answer nudges: writers that need log space wait for it at most
 * `fenceAfterMs`, then fence it. Its next task notices before its first op
 * and recovers (resuming, or by state transfer from a live replica), so
 * reads stay linearizable. Under 'async' or 'disabled' idle threads answer
 * nudges and are not fenced at all.
 */
import type { Client } from './clients/client.js';
import { logInstance } from './log/create.js';
import { attach, type AttachOptions, connect, type ConnectOptions, type NrHandle } from './handle.js';
import type { Replica } from './replica/replica.js';
import type { OpTable, Structure } from './structure.js';

/** Per thread: the replica or client made for each log, by log key. */
const made = new Map<string, { isDetached: boolean }>();

/** Identifies a log across structured clones of its handle (the log's instance id). */
function logKey(handle: NrHandle, role: string): string {
  return `${role}:${handle.fingerprint}:${logInstance(handle.memory)}`;
}

function once<T extends { isDetached: boolean }>(key: string, make: () => T): T {
  let v = made.get(key) as T | undefined;
  if (v === undefined || v.isDetached) {
    v = make();
    made.set(key, v);
  }
  return v;
}

/** This thread's replica of the handle's structure, attached on first use. */
export function poolReplica<S, R extends OpTable<S>, W extends OpTable<S>>(
  handle: NrHandle,
  structure: Structure<S, R, W>,
  options?: AttachOptions,
): Replica<S, R, W> {
  return once(logKey(handle, 'node'), () => attach(handle, structure, options));
}

/** This thread's client of a node of the handle, connected on first use. */
export function poolClient<S, R extends OpTable<S>, W extends OpTable<S>>(
  handle: NrHandle,
  structure: Structure<S, R, W>,
  options?: ConnectOptions,
): Client<S, R, W> {
  return once(logKey(handle, 'client'), () => connect(handle, structure, options));
}

/** piscina's queue-options key (a registered symbol, so no import of piscina is needed). */
const QUEUE_OPTIONS = Symbol.for('Piscina.queueOptions');

/** `task` marked to run on pool thread `index` (its position among live threads) under `pinnedLoadBalancer`. */
export function pinnedTask<T extends object>(task: T, index: number): T {
  return { ...task, [QUEUE_OPTIONS]: { worker: index } };
}

/** The shape of a piscina worker that `pinnedLoadBalancer` reads. */
export interface PoolWorkerView {
  id: number;
  currentUsage: number;
  terminating: boolean;
}

/**
 * A piscina `loadBalancer` that sends each `pinnedTask` to its thread (and
 * queues it while that thread is busy), so that one task can be routed to
 * every pool thread, e.g. to make each one a node. Unpinned tasks go to any
 * idle thread. Pass it as `new Piscina({ loadBalancer: pinnedLoadBalancer })`.
 */
export function pinnedLoadBalancer<W extends PoolWorkerView>(task: object, workers: W[]): W | null {
  const opts = (task as Record<symbol, unknown>)[QUEUE_OPTIONS] as { worker?: number } | null | undefined;
  const live = workers.filter((w) => !w.terminating).sort((a, b) => a.id - b.id);
  const w = opts?.worker === undefined ? live.find((x) => x.currentUsage === 0) : live[opts.worker % live.length];
  return w !== undefined && w.currentUsage === 0 ? w : null;
}
