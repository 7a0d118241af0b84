/**
 * Helpers of the NrFS client tests (fs-clients, fs-client-pipeline): the
 * fs-client-worker threads they spawn (terminated after each test), one
 * message from a worker with a time bound, a node worker, and the pages
 * of the pool held under an owner id.
 */
import { Worker } from 'node:worker_threads';
import { afterEach } from 'vitest';
import type { NrFsHandle } from '../../src/fs/index.js';
import { LIVE, ownerOf, RETIRING, stOf, TAKEN } from '../../src/fs/pages/pool.js';
import { workerPath } from './spawn.js';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** An fs-client-worker thread (test/workers/fs-client-worker.ts), terminated after the test. */
export function spawn(data: object): Worker {
  const w = new Worker(workerPath('fs-client-worker'), { workerData: data });
  workers.push(w);
  return w;
}

export function next<T>(w: Worker, timeoutMs = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the worker did not answer in time')), timeoutMs);
    w.once('message', (m: T) => {
      clearTimeout(t);
      resolve(m);
    });
    w.once('error', reject);
  });
}

/** A worker that attaches a replica and serves clients from its idle event loop. */
export async function nodeWorker(h: NrFsHandle): Promise<{ w: Worker; slot: number }> {
  const w = spawn({ handle: h, mode: 'node' });
  const m = await next<{ slot: number }>(w);
  return { w, slot: m.slot };
}

/** Pages of the pool TAKEN or RETIRING under `owner`, read from the shared words. */
export function heldBy(h: NrFsHandle, owner: number): { taken: number; retiring: number } {
  const words = new Int32Array(h.pool.meta);
  const out = { taken: 0, retiring: 0 };
  for (let i = 0; i < h.pool.data.byteLength / 4096; i++) {
    const w = Atomics.load(words, 64 + i);
    if (ownerOf(w) !== owner || stOf(w) === LIVE) continue;
    if (stOf(w) === TAKEN) out.taken++;
    if (stOf(w) === RETIRING) out.retiring++;
  }
  return out;
}
