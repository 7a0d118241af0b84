/**
 * Reclamation under a forged replica slot: a lagging replica's LTAIL pushed
 * forward, so every replica seems to have passed the overwrites. The
 * writer's next record claims the displaced blocks early and other keys'
 * values are sealed into them while the lagging replica still holds the
 * old metadata. It must never return another key's value (nor the old
 * one): it catches up (replay, or a state transfer once HEAD has passed
 * it) and answers the current value; a stale block it opened would fail
 * the AEAD (the AD names the key, the enclave holds the tag). The
 * attacker can make claims early (availability), never wrong.
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachKv, createKv } from '../src/kv/index.js';
import { peekLog, peekSlot } from './support/log-peek.js';
import { spawnKvWorker } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(1);
const N = 20;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

const hexText = (v: unknown): string | undefined => (v === undefined ? undefined : Buffer.from((v as { buffer: string }).buffer, 'hex').toString());

describe('a lagging replica whose LTAIL is pushed forward', () => {
  it("never reads another key's value from a block claimed and reused under it; it answers the current value", async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 17, replicas: 2 } });
    const main = attachKv(h, { key: KEY });
    const lag = spawnKvWorker(workers, { mode: 'serve', handle: h, key: KEY });
    const { slot } = await lag.first;
    const text = (i: number, what: string): string => `${what} value of key ${String(i).padStart(2, '0')} (40 bytes)`.padEnd(40, '.');
    for (let i = 0; i < N; i++) main.put(`k${i}`, text(i, 'old'));
    expect((await lag.call('sync')).ok).toBe(true); // the lagging replica has the old metadata
    const oldLocs = Array.from({ length: N }, (_, i) => main.locate(`k${i}`)!.loc);
    for (let i = 0; i < N; i++) main.put(`k${i}`, text(i, 'new')); // displaces every old block
    // The attack: the lagging replica's LTAIL pushed to TAIL, as if it had applied the overwrites.
    const words = new Int32Array(h.nr.memory.buffer);
    Atomics.store(words, 128 + 32 * slot!, peekLog(h.nr).tail);
    main.sync(); // notes the displaced blocks ready
    main.put('filler', 'f'.repeat(200)); // another size class; its record claims the 20 old blocks
    for (let i = 0; i < N; i++) main.put(`evil${i}`, text(i, 'EVL')); // same size class: sealed into them
    const reused = Array.from({ length: N }, (_, i) => main.locate(`evil${i}`)!.loc);
    expect([...reused].sort()).toEqual([...oldLocs].sort());
    if (process.env.KV_DEBUG) console.log(peekSlot(h.nr, 0), peekSlot(h.nr, 1), slot, main.stats().replica.status);
    for (let i = 0; i < N; i++) {
      const r = await lag.call('get', `k${i}`);
      expect(r.error, JSON.stringify(r.error)).toBeUndefined();
      expect(hexText(r.value)).toBe(text(i, 'new'));
    }
    for (let i = 0; i < N; i++) expect(hexText((await lag.call('get', `evil${i}`)).value)).toBe(text(i, 'EVL'));
    expect(main.stats().failure).toBeNull();
    main.detach();
  }, 30_000);
});
