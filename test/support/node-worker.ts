/** Drives an `idle-node` test worker: a replica that serves, blocks, or exits on command. */
import { Worker } from 'node:worker_threads';
import type { MapHandle } from './log-systems.js';
import { workerPath } from './spawn.js';

export interface NodeWorker {
  worker: Worker;
  slot: number;
  /** Resolves when the worker has exited (listened for from the start: an 'exit' mode worker may be gone before startNode returns). */
  exited: Promise<number>;
  next: (pred: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
}

export async function startNode(handle: MapHandle, mode: 'serve' | 'block' | 'exit', blockMs?: number, release?: SharedArrayBuffer): Promise<NodeWorker> {
  const worker = new Worker(workerPath('idle-node'), { workerData: { handle, mode, blockMs, release } });
  const exited = new Promise<number>((r) => worker.once('exit', r));
  const inbox: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const deliver = (m: Record<string, unknown>): void => {
    inbox.push(m);
    for (const w of waiters.splice(0)) w();
  };
  worker.on('message', deliver);
  // A worker that throws (its attach refused, say) ends startNode with that error, not a hang.
  worker.on('error', (e: Error) => deliver({ failed: `${e.name}: ${e.message}` }));
  const next = async (pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = inbox.findIndex(pred);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const ready = await next((m) => m.ready === true || 'failed' in m);
  if ('failed' in ready) throw new Error(`the node worker failed to start: ${String(ready.failed)}`);
  return { worker, slot: ready.slot as number, next, exited };
}

