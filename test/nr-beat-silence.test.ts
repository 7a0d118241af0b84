/**
 * What a recovered node counts as a silence its clients may have judged
 * "gone" (slot-table beat / takeLongSilence): a beat gap over deadAfterMs/2
 * while the slot was not the owner's Active word. A gap that ends with the
 * slot still Active as the owner holds it was never fenced (only the owner
 * turns a fenced slot Active again), so no client gave up on the node in
 * it: it must not make a later recovery cut the clients off.
 */
import { describe, expect, it } from 'vitest';
import { createHandle } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { SharedLog } from '../src/nr/log/shared-log.js';

const DEAD_MS = 40;
const pause = (ms: number): void => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as unknown as void;

describe('heartbeat silences', () => {
  it('a long gap with the slot still Active is not recorded; one with the slot in another state is, once', () => {
    const h = createHandle(HashMap, { replicas: 1, deadAfterMs: DEAD_MS });
    const log = new SharedLog(h.memory, HashMap.fingerprint);
    const word = log.slotWord(0);
    log.beat(0, word);
    expect(log.takeLongSilence(0)).toBe(false);
    pause(3 * DEAD_MS);
    log.beat(0, word); // a long pause, never fenced
    expect(log.takeLongSilence(0)).toBe(false);
    pause(3 * DEAD_MS);
    log.beat(0, word ^ 0x40000000); // the slot is not (or no longer) the word the owner holds: as when fenced
    expect(log.takeLongSilence(0)).toBe(true);
    expect(log.takeLongSilence(0)).toBe(false); // taken
    pause(3 * DEAD_MS);
    log.beat(0); // an owner that does not know its word (a transfer's beat): recorded
    expect(log.takeLongSilence(0)).toBe(true);
    // No beat for that long: the silence is current, whatever was recorded.
    log.beat(0, word);
    pause(3 * DEAD_MS);
    expect(log.takeLongSilence(0)).toBe(true);
  });
});
