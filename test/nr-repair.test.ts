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
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { gatedWriter, open } from './support/gated.js';
import { attachMap, createMapHandle, LOG_COUNTS, logOfKey, systemName, type MapHandle } from './support/log-systems.js';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

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
    const stalled = await gatedWriter(handle, gateBuffer, workers);

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
