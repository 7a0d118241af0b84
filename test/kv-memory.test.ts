/**
 * Memory stays bounded under endless overwrites: two workers overwrite the
 * same 1k keys 1M times in total; displaced blocks are reclaimed once every
 * replica has applied past the overwrite, so the arena's high-water mark
 * stays within 2x the live data.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createKv, type KvStats } from '../src/kv/index.js';
import { K_CONTROL_WORDS, type KvWorkerInput } from './support/kv-layout.js';
import { workerPath } from './support/spawn.js';

const KEY = new Uint8Array(32).fill(5);
const KEYS = 1000;
const TOTAL = 1_000_000;
const WORKERS = 2;

describe('kv memory bound', () => {
  it('1M overwrites of 1k keys keep the arena within 2x the live data', async () => {
    const handle = createKv({ key: KEY, arenaBytes: 8 << 20, log: { logBytes: 1 << 14 } });
    const control = new SharedArrayBuffer(K_CONTROL_WORDS * 4);
    const runs = Array.from({ length: WORKERS }, (_, c) => {
      const input: KvWorkerInput = { mode: 'overwrite', handle, key: KEY, control, client: c, ops: TOTAL / WORKERS, keys: KEYS, finishers: WORKERS, valueBytes: 8 };
      const w = new Worker(workerPath('kv-store-worker'), { workerData: input });
      const done = new Promise<{ stats?: KvStats; maxUsed?: number; fatal?: unknown }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      return { w, done };
    });
    let timer: NodeJS.Timeout | undefined;
    const results = await Promise.race([
      Promise.all(runs.map((r) => r.done)),
      new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('overwrite workers took over 110 s')), 110_000))),
    ]).finally(() => clearTimeout(timer));
    await Promise.all(runs.map((r) => r.w.terminate()));
    for (const r of results) expect(r.fatal).toBeUndefined();
    const st = results[0]!.stats!;
    expect(st.keys).toBe(KEYS);
    // 8-byte values: 24 nonce + 8 + 16 tag = 48 stored bytes, a 48-byte block each.
    expect(st.liveBytes).toBe(KEYS * 48);
    const reclaimed = results.reduce((a, r) => a + r.stats!.reclaimedBytes, 0);
    expect(reclaimed).toBeGreaterThan((TOTAL - 2 * KEYS) * 48 * 0.9);
    const maxUsed = Math.max(...results.map((r) => r.maxUsed!));
    if (process.env.KV_DEBUG) console.log({ maxUsed, live: st.liveBytes, reclaimed });
    expect(maxUsed).toBeLessThanOrEqual(2 * st.liveBytes);
  }, 120_000);
});
