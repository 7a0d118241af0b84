/**
 * Log unit tests on a tiny (4 KiB) ring that wraps many times: pad entries
 * at the ring's end, seals per lap, one-CAS batch reservation, full-log
 * detection and 32-bit position wrap-around.
 */
import { describe, expect, it } from 'vitest';
import { before, distance } from '../src/nr/log/positions.js';
import { attach, createHandle } from '../src/nr/index.js';
import { CELL_BYTES, CTAIL, ENTRY_BATCH, ENTRY_HEADER_BYTES, ENTRY_PAD, HEAD, TAIL } from '../src/nr/log/layout.js';
import { SharedLog } from '../src/nr/log/shared-log.js';
import { createLogMemory } from '../src/nr/log/create.js';
import { Counter, HashMap } from '../src/nr/structures/index.js';

const FP = 1234;

function tinyLog(replicas = 1): SharedLog {
  return new SharedLog(createLogMemory(FP, { logBytes: 4096, replicas }), FP);
}

describe('wrapping positions', () => {
  it('compares and measures across the 2^32 wrap', () => {
    expect(before(0x7fffffff, 0x80000000 | 0)).toBe(true);
    expect(before(-1, 0)).toBe(true);
    expect(before(0, -1)).toBe(false);
    expect(distance(-5, 3)).toBe(8);
    expect(distance(0x7ffffff0, 0x80000010 | 0)).toBe(0x20);
  });
});

describe('SharedLog', () => {
  it('has a 4 KiB ring of 32-byte cells and caps entries at a quarter of it', () => {
    const log = tinyLog();
    expect(log.cells).toBe(4096 / CELL_BYTES);
    expect(log.maxEntryCells).toBe(log.cells / 4);
    expect(log.maxPayloadBytes).toBe(log.maxEntryCells * CELL_BYTES - ENTRY_HEADER_BYTES);
  });

  it('reserves a whole batch with one move of tail', () => {
    const log = tinyLog();
    const pos = log.tryReserve(5, 0);
    expect(pos).toBe(0);
    expect(log.tail()).toBe(5);
    expect(log.tryReserve(3, 0)).toBe(5);
    expect(log.tail()).toBe(8);
  });

  it('seals entries by full position, so a stale lap never looks complete', () => {
    const log = tinyLog();
    for (let lap = 0; lap < 3; lap++) {
      for (let i = 0; i < log.cells; i += 8) {
        const pos = lap * log.cells + i;
        expect(log.isSealed(pos)).toBe(false);
        expect(log.tryReserve(8, 0)).toBe(pos);
        log.writeHeader(pos, 8, ENTRY_BATCH, 0, 0, 0);
        expect(log.sealOwn(pos as number)).toBe(true);
        expect(log.isSealed(pos)).toBe(true);
        // The same physical cell one lap later is not sealed.
        expect(log.isSealed(pos + log.cells)).toBe(false);
        log.publishLtail(0, pos + 8);
        log.advanceHead();
      }
    }
    expect(log.awaitSeal(3 * log.cells, performance.now() + 5)).toBe('timeout');
  });

  it('pads to the ring end instead of straddling it', () => {
    const log = tinyLog();
    expect(log.tryReserve(log.cells - 3, 0)).toBe(0);
    log.publishLtail(0, log.cells - 3);
    log.advanceHead();
    // 5 cells do not fit in the last 3: the 3 become a PAD entry in the same reservation.
    const pos = log.tryReserve(5, 0);
    expect(pos).toBe(log.cells);
    expect(log.tail()).toBe(log.cells + 5);
    expect(log.isSealed(log.cells - 3)).toBe(true);
    expect(log.readHeader(log.cells - 3, log.tail())).toMatchObject({ kind: ENTRY_PAD, cells: 3 });
  });

  it('reports the log full instead of overwriting what a live replica still needs', () => {
    const log = tinyLog(2);
    let reserved = 0;
    while (log.tryReserve(8, 0) !== null) reserved += 8;
    expect(reserved).toBe(log.cells);
    // Replica 0 catches up; replica 1 (reserved, not attached) still holds head at 0.
    log.publishLtail(0, log.cells);
    expect(log.advanceHead()).toBe(1);
    expect(log.tryReserve(1, 0)).toBeNull();
    log.publishLtail(1, 16);
    expect(log.advanceHead()).toBe(1);
    expect(log.head()).toBe(16);
    expect(log.tryReserve(16, 0)).toBe(log.cells);
    expect(log.tryReserve(1, 0)).toBeNull();
  });
});

describe('replicas on a tiny log', () => {
  it('stay identical while the ring wraps hundreds of times, with entries straddling its end', () => {
    const handle = createHandle(HashMap, { replicas: 3, logBytes: 4096 });
    const rs = [attach(handle, HashMap), attach(handle, HashMap), attach(handle, HashMap)];
    const ref = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const key = `key-${(i * 7919) % 97}-${'x'.repeat(i % 40)}`; // varied entry sizes
      expect(rs[i % 3]!.write('put', key, i)).toBe(ref.get(key));
      ref.set(key, i);
    }
    const tail = Atomics.load(new Int32Array(handle.memory.buffer), TAIL);
    expect(tail / (4096 / CELL_BYTES)).toBeGreaterThan(100);
    const digests = rs.map((r) => r.digest());
    expect(new Set(digests).size).toBe(1);
    expect(rs[1]!.read('size')).toBe(ref.size);
  });

  it('keeps working when positions wrap past 2^32', () => {
    const handle = createHandle(Counter, { replicas: 2, logBytes: 4096 });
    const words = new Int32Array(handle.memory.buffer);
    const start = -1000; // 2^32 - 1000: wraps within the first laps
    for (const idx of [HEAD, TAIL, CTAIL]) words[idx] = start;
    const log = new SharedLog(handle.memory, Counter.fingerprint);
    log.publishLtail(0, start);
    log.publishLtail(1, start);
    const a = attach(handle, Counter);
    const b = attach(handle, Counter);
    let sum = 0;
    for (let i = 1; i <= 5000; i++) {
      sum += i;
      expect((i % 2 ? a : b).write('add', i)).toBe(sum);
      expect((i % 2 ? b : a).read('get')).toBe(sum);
    }
    expect(before(start, Atomics.load(words, TAIL))).toBe(true);
    expect(Atomics.load(words, TAIL)).toBeGreaterThan(0);
  });
});
