/**
 * A kv-store-worker thread driven by messages: `first` is its first message
 * (ready, with its replica slot, or an attach error); `call(op, ...args)`
 * runs one op there and resolves with its { ok, value } or { ok: false, error }.
 */
import { type MessagePort, Worker } from 'node:worker_threads';
import { workerPath } from './spawn.js';

export interface KvReply {
  id?: number;
  ok?: boolean;
  value?: unknown;
  slot?: number;
  error?: { name: string; code?: string; key?: string; message: string };
  ready?: boolean;
  attachError?: unknown;
  raw?: Record<string, { ok: boolean; hex?: string; error?: { name: string; code?: string; message: string } }>;
}

export interface KvWorkerCalls {
  first: Promise<KvReply>;
  call(op: string, ...args: unknown[]): Promise<KvReply>;
}

/** Start a kv-store-worker with `data` (pushed onto `workers`, for the caller to terminate). */
export function spawnKvWorker(workers: Worker[], data: object, transferList: readonly MessagePort[] = []): KvWorkerCalls {
  const w = new Worker(workerPath('kv-store-worker'), { workerData: data, transferList: transferList as MessagePort[] });
  workers.push(w);
  let next = 1;
  const waiting = new Map<number, (r: KvReply) => void>();
  const first = new Promise<KvReply>((resolve) => {
    w.on('message', (m: KvReply) => {
      if (m.id === undefined) resolve(m);
      else waiting.get(m.id)?.(m);
    });
  });
  return {
    first,
    call: (op, ...args) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        w.postMessage({ id, op, args });
      }),
  };
}
