/**
 * A KV replica stuck in its thread (no replay, no event loop) holds back
 * every block the others' overwrites displace: without a rule it would fill
 * the value arena for everyone (ArenaFullError on a store with room). The
 * rule is the log's: a writer short of room waits fenceAfterMs for the
 * replica that holds the displaced blocks back, then fences it, claims them
 * and goes on; the stuck replica, once it runs again, recovers by state
 * transfer and reads the current value.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachKv, createKv } from '../src/kv/index.js';
import { workerPath } from './support/spawn.js';

const KEY = new Uint8Array(32).fill(9);

describe('the value arena and a stuck replica', () => {
  it('overwrites past the arena fence the stuck replica after fenceAfterMs and go on; it recovers by transfer and reads the last value', async () => {
    // 64 KiB of arena, 100-byte values: ~400 blocks, so 3000 overwrites of one key need the stuck replica's blocks back.
    const h = createKv({ key: KEY, arenaBytes: 64 << 10, log: { logBytes: 1 << 20, replicas: 2, maxReplicas: 2, fenceAfterMs: 150 } });
    const main = attachKv(h, { key: KEY });
    const value = (i: number): string => `v${i}:`.padEnd(100, '.');
    main.put('k', value(0));
    const control = new SharedArrayBuffer(4);
    const worker = new Worker(workerPath('kv-stuck-replica'), { workerData: { handle: h, key: KEY, control } });
    const next = (): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no message from the worker within 30 s')), 30_000);
        worker.once('message', (m: Record<string, unknown>) => {
          clearTimeout(t);
          resolve(m);
        });
        worker.once('error', reject);
      });
    try {
      expect(await next()).toEqual({ ready: true, value: value(0) });
      const writes = 3000;
      const t0 = performance.now();
      for (let i = 1; i <= writes; i++) main.put('k', value(i));
      // Fenced once (it never ran again meanwhile), well before the 5 s wait would have ended in ArenaFullError.
      expect(main.replica.stats().fences).toBe(1);
      expect(performance.now() - t0).toBeLessThan(4_000);
      expect(main.get('k')?.toString()).toBe(value(writes));
      Atomics.store(new Int32Array(control), 0, 1);
      Atomics.notify(new Int32Array(control), 0);
      const answer = next();
      let settled = false;
      void answer.then(() => (settled = true), () => (settled = true));
      const until = Date.now() + 20_000;
      while (!settled && Date.now() < until) {
        main.sync(); // serves the snapshot the recovering replica asks for
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(await answer).toEqual({ value: value(writes), status: 'live', transfers: 1 });
    } finally {
      await worker.terminate();
      main.detach();
    }
  });
});
