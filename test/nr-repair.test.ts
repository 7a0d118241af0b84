/**
 * Torn-append repair, deterministically (log/repair.ts). A writer in a
 * worker stalls right after reserving, is fenced and repaired around by a
 * live writer, wakes late, and stalls again on its next reservation, while a
 * third replica lags behind both repaired entries. Repair records are per
 * cell: the second repair must not overwrite the skip length the lagging
 * replica still needs for the first (model/nr-log.pml found that bug with
 * per-writer records: SLOT_REPAIR_RECORDS). The late writer's ops report
 * `committed: false` and are in no replica.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachMap, createMapHandle, LOG_COUNTS, logOfKey, systemName, type MapHandle } from './support/log-systems.js';
import { workerPath } from './support/spawn.js';
import { withDeadline } from './support/trust-worker.js';
import type { ErrorInfo } from './support/trust-protocol.js';

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: ErrorInfo;
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

async function gatedWriter(handle: unknown, gate: SharedArrayBuffer) {
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

function open(gate: Int32Array, n: number): void {
  Atomics.store(gate, n, 1);
  Atomics.notify(gate, n);
}

/** The first key `${base}${i}` whose ops go to log `log` (on one log: `${base}0`). */
function keyOn(h: MapHandle, base: string, log: number): string {
  for (let i = 0; ; i++) if (logOfKey(h, `${base}${i}`) === log) return `${base}${i}`;
}

// On parallel logs every key of the scenario is on one log (w1's): that log is
// repaired twice while the others carry nothing; the lagging view replays it.
describe.each(LOG_COUNTS)('torn-append repair (%i log(s))', (logs) => {
  it(`${systemName(logs)}: a writer stalled after reserving, repaired around twice, wakes late each time: its ops did not take effect, and a replica lagging behind both repairs skips each by its own length`, async () => {
    const handle = createMapHandle(logs, { replicas: 3, logBytes: 64 * 1024, fenceAfterMs: 20 });
    const L = logOfKey(handle, 'w1');
    const [before, a, b, w2, w3] = ['before', 'a', 'b', 'w2', 'w3'].map((k) => keyOn(handle, k, L)) as [string, string, string, string, string];
    const lagging = attachMap(handle, { slot: 0 }); // never replays until the end: holds head at 0
    const live = attachMap(handle, { slot: 1 });
    const gateBuffer = new SharedArrayBuffer(64);
    const gate = new Int32Array(gateBuffer);
    const stalled = await gatedWriter(handle, gateBuffer);

    live.writes.put(before, '0');
    // First stall: an entry of a short value.
    const first = stalled.put('w1', 'x'.repeat(100));
    const p1 = await stalled.reservation(0);
    live.writes.put(a, '1'); // waits on p1, fences the stalled writer after 20 ms, repairs p1
    open(gate, 0);
    const r1 = await first;
    expect(r1.error).toMatchObject({ code: 'ERR_NR_FENCED', committed: false });

    // Second stall, at another position, with an entry of a different length.
    const second = stalled.put(w2, 'z'.repeat(700));
    const p2 = await stalled.reservation(1);
    expect(p2).not.toBe(p1);
    live.writes.put(b, '2'); // repairs p2
    open(gate, 1);
    const r2 = await second;
    expect(r2.error).toMatchObject({ code: 'ERR_NR_FENCED', committed: false });

    // The lagging replica now replays from position 0 across both repaired entries.
    expect(lagging.reads.get(b)).toBe('2');
    expect(lagging.reads.get(a)).toBe('1');
    expect(lagging.reads.get('w1')).toBeUndefined();
    expect(lagging.reads.get(w2)).toBeUndefined();

    // The late writer rejoins and writes normally; every replica agrees.
    open(gate, 2);
    const r3 = await stalled.put(w3, 'ok');
    expect(r3.error).toBeUndefined();
    expect(lagging.reads.get(w3)).toBe('ok');
    expect(live.reads.get(w3)).toBe('ok');
    expect(live.reads.get('w1')).toBeUndefined();
    const d = await stalled.digest();
    expect(d.value).toBe(live.digest());
    expect(lagging.digest()).toBe(live.digest());
    lagging.detach();
    live.detach();
  });
});
