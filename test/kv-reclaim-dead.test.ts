/**
 * Writers that die do not leak the blocks their overwrites displaced.
 * A displaced block may be reused only once every replica has applied past
 * the overwrite; a replica that lags (here the main thread's, idle while
 * each writer runs) holds them back. Until session 17 the issuer alone kept
 * them, in private memory, and a writer killed before it reclaimed them
 * leaked them for good: a store whose writers are restarted fills its arena.
 * Now displaced blocks are kept in the replicated state until a writer's
 * record claims them (any writer's: docs/kv.md "Reclamation"), so the next
 * writer, or any replica's next write, frees what a dead one left.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { declareDead } from '../src/nr/index.js';
import { attachKv, createKv } from '../src/kv/index.js';
import { blockBytesFor } from '../src/kv/arena.js';
import { workerPath } from './support/spawn.js';

const KEY = new Uint8Array(32).fill(8);
const KEYS = 40;
const VALUE_BYTES = 100;
const ROUNDS = 12;
const WRITES_PER_ROUND = 300;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

describe('reclamation after writers die', () => {
  it(`${ROUNDS} writers killed mid-write, ${WRITES_PER_ROUND}+ overwrites each behind a lagging replica: the arena does not fill, every value reads back`, async () => {
    const block = blockBytesFor(24 + VALUE_BYTES + 16);
    // Each round displaces ~WRITES_PER_ROUND blocks (~43 KB) that the lagging replica holds back; 12 rounds
    // would leak ~520 KB: twice the arena.
    const arenaBytes = 256 << 10;
    const h = createKv({ key: KEY, arenaBytes, log: { logBytes: 1 << 20, replicas: 1, maxReplicas: 3 } });
    const main = attachKv(h, { key: KEY });
    const control = new SharedArrayBuffer(64);
    const ctl = new Int32Array(control);
    const errors: unknown[] = [];
    let maxUsed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      Atomics.store(ctl, 0, 0);
      const w = new Worker(workerPath('kv-churn-worker'), { workerData: { handle: h, key: KEY, control, keys: KEYS, valueBytes: VALUE_BYTES, tag: `r${round}` } });
      workers.push(w);
      w.on('message', (m: { error?: unknown }) => m.error !== undefined && errors.push(m.error));
      const { slot } = await new Promise<{ slot: number }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      const deadline = Date.now() + 20_000;
      while (Atomics.load(ctl, 0) < WRITES_PER_ROUND && errors.length === 0) {
        if (Date.now() > deadline) throw new Error(`round ${round}: the writer did ${Atomics.load(ctl, 0)} writes in 20 s`);
        await Atomics.waitAsync(ctl, 0, Atomics.load(ctl, 0), 50).value;
      }
      await w.terminate(); // mid-loop: it may be in the middle of a write
      workers.pop();
      declareDead(h.nr, slot);
      expect(errors, `round ${round}`).toEqual([]);
      main.sync();
      maxUsed = Math.max(maxUsed, main.stats().arenaUsedBytes);
    }
    // The main thread's own write claims what the last writer left (every replica has passed it now).
    main.put('last', 'x');
    main.sync();
    const st = main.stats();
    expect(st.keys).toBe(KEYS + 1);
    for (let k = 0; k < KEYS; k++) expect(main.getString(`key-${k}`)).toMatch(/^r\d+:\d+:\.+$/);
    // Live blocks plus two rounds of displaced ones at most; without reclamation of the dead writers'
    // blocks the arena fills (ArenaFullError in a writer) about halfway through.
    expect(maxUsed).toBeLessThanOrEqual(st.liveBytes + 3 * (WRITES_PER_ROUND + 64) * block);
    // Everything that is not live is back on the free lists, but for what a kill can strand: the block
    // of the write in flight (and its burst) when the worker was terminated.
    const stranded = st.arenaUsedBytes - st.liveBytes - st.arenaFreeBytes - st.pendingReclaimBytes;
    if (process.env.KV_DEBUG) console.log({ maxUsed, used: st.arenaUsedBytes, live: st.liveBytes, free: st.arenaFreeBytes, pending: st.pendingReclaimBytes, stranded, block });
    expect(stranded).toBeLessThanOrEqual(ROUNDS * 5 * block);
    main.detach();
  }, 120_000);
});
