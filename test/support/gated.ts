/**
 * Drives workers/gated-writer.ts: a replica in a worker whose n-th log
 * reservation stalls, right after its TAIL CAS, until the test opens word n
 * of the gate (tests of torn-append repair and of fencing mid-write).
 */
import { Worker } from 'node:worker_threads';
import { workerPath } from './spawn.js';
import { withDeadline } from './trust-worker.js';
import type { ErrorInfo } from './trust-protocol.js';

export interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: ErrorInfo;
}

/**
 * A replica in a worker (workers/gated-writer.ts) whose n-th reservation
 * stalls until `open(gate, n)`; the worker is added to `workers` for the
 * caller to terminate.
 */
export async function gatedWriter(handle: unknown, gate: SharedArrayBuffer, workers: Worker[]) {
  const w = new Worker(workerPath('gated-writer'), { workerData: { handle, gate } });
  workers.push(w);
  const reserved: number[] = [];
  const replies = new Map<number, (r: Reply) => void>();
  const reservedWaiters: (() => void)[] = [];
  w.on('message', (m: { reserved?: number; n?: number; id?: number; ready?: boolean }) => {
    if (m.reserved !== undefined) {
      reserved.push(m.reserved);
      for (const f of reservedWaiters.splice(0)) f();
    } else if (m.id !== undefined) replies.get(m.id)?.(m as Reply);
  });
  await withDeadline(new Promise((r) => w.once('message', r)), 20_000, 'gated writer ready');
  let nextId = 1;
  return {
    put(key: string, value: string): Promise<Reply> {
      const id = nextId++;
      const p = new Promise<Reply>((r) => replies.set(id, r));
      w.postMessage({ id, key, value });
      return withDeadline(p, 20_000, `put ${key}`);
    },
    /** One log only: a writeBatch of puts. */
    batch(puts: [string, string][]): Promise<Reply> {
      const id = nextId++;
      const p = new Promise<Reply>((r) => replies.set(id, r));
      w.postMessage({ id, batch: puts });
      return withDeadline(p, 20_000, `batch of ${puts.length}`);
    },
    digest(): Promise<Reply> {
      const id = nextId++;
      const p = new Promise<Reply>((r) => replies.set(id, r));
      w.postMessage({ id, digest: true });
      return withDeadline(p, 20_000, 'digest');
    },
    /** Resolves with the position of the n-th reservation once the worker has made it. */
    async reservation(n: number): Promise<number> {
      await withDeadline(
        (async () => {
          while (reserved.length <= n) await new Promise<void>((r) => reservedWaiters.push(r));
        })(),
        20_000,
        `reservation ${n}`,
      );
      return reserved[n]!;
    },
  };
}

/** Let the stalled reservation n go on. */
export function open(gate: Int32Array, n: number): void {
  Atomics.store(gate, n, 1);
  Atomics.notify(gate, n);
}

