/**
 * A replica stuck in its thread (no replay, no event loop) holds back every
 * page the others retire: without a rule it would fill the shared page pool
 * for everyone (ENOSPC after the writers' POOL_WAIT_MS, on a file system
 * with room). The rule is the log's: a writer short of pages waits
 * fenceAfterMs for the replica that holds them, then fences it, takes the
 * pages back and goes on; the stuck replica, once it runs again, recovers
 * by state transfer and reads the current bytes.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachFs, createFs } from '../src/fs/index.js';
import { workerPath } from './support/spawn.js';

describe('the page pool and a stuck replica', () => {
  it('writers past the pool fence the stuck replica after fenceAfterMs and go on; it recovers by transfer and reads the last write', async () => {
    // 256 pages of capacity: a pool of 1280 pages, so 3000 overwrites of one page need the stuck replica's pages back.
    const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20, logBytes: 1 << 20, fenceAfterMs: 150 });
    const a = attachFs(h);
    const fd = a.open('/f', 'w+');
    a.pwrite(fd, Buffer.alloc(4096, 1), 0, 4096, 0);
    const control = new SharedArrayBuffer(4);
    const worker = new Worker(workerPath('fs-stuck-replica'), { workerData: { handle: h, control } });
    const messages: Record<string, unknown>[] = [];
    const next = (): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no message from the worker within 30 s')), 30_000);
        worker.once('message', (m: Record<string, unknown>) => {
          clearTimeout(t);
          messages.push(m);
          resolve(m);
        });
      });
    try {
      expect(await next()).toEqual({ ready: true, first: 1 });
      const writes = 3000;
      const t0 = performance.now();
      for (let i = 0; i < writes; i++) a.pwrite(fd, Buffer.alloc(4096, 2 + (i % 200)), 0, 4096, 0);
      const ms = performance.now() - t0;
      // Fenced once (it never ran again meanwhile), well before the writers' 5 s POOL_WAIT_MS would have ended in ENOSPC.
      expect(a.replica.stats().fences).toBe(1);
      expect(ms).toBeLessThan(4_000);
      expect(a.pageStats().retiring).toBeLessThan(1280);
      const last = 2 + ((writes - 1) % 200);
      expect(a.readFile('/f').every((x) => x === last)).toBe(true);
      // Released: the stuck replica notices its fence and recovers by state transfer, from a, which must answer it.
      Atomics.store(new Int32Array(control), 0, 1);
      Atomics.notify(new Int32Array(control), 0);
      const answer = next();
      const until = Date.now() + 20_000;
      let settled = false;
      void answer.then(() => (settled = true), () => (settled = true));
      while (!settled && Date.now() < until) {
        a.replica.sync(); // serves the snapshot the recovering replica asks for
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(await answer).toEqual({ first: last, last, size: 4096, status: 'live', transfers: 1 });
    } finally {
      await worker.terminate();
      a.close(fd);
      a.detach();
    }
  });
});
