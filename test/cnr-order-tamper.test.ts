/**
 * Forged words of the parallel logs' order table (cnr/order.ts) and of the
 * multi-log entries it points at. The row's positions, the ORDER word and
 * the entry's sequence number are data: each case ends in FailStopError on
 * the view that meets the forgery, at once (well within the 13 s an
 * unsealed-entry wait may take), the view halted on every log, and never a
 * wrong answer served. Two views in this thread on 2 logs: `a` issues,
 * `b` meets the forgery when it replays.
 */
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { attachCnr, createCnrHandle, FailStopError, HandleMismatchError, keyHash, type CnrHandle } from '../src/nr/index.js';
import { HashMapCnr } from '../src/nr/structures/index.js';
import { TAIL } from '../src/nr/log/layout.js';

const LOGS = 2;
const ROW0 = 48;
/** Key names the mapper sends to `log`. */
const keyOn = (log: number, n = 0): string => {
  for (let i = 0, found = 0; ; i++) if (keyHash(`k${i}`) % LOGS === log && found++ === n) return `k${i}`;
};
const tail = (h: CnrHandle, log: number): number => Atomics.load(new Int32Array(h.logs[log]!.memory.buffer), TAIL);
const rows = (h: CnrHandle): number => Atomics.load(new Int32Array(h.order), 33);
/** The word index of multi-log op `seq`'s row, and of its position in log `log`. */
const rowAt = (h: CnrHandle, seq: number): number => ROW0 + (seq % rows(h)) * (1 + LOGS);
const posAt = (h: CnrHandle, seq: number, log: number): number => rowAt(h, seq) + 1 + log;

function setup() {
  const h = createCnrHandle(HashMapCnr, { logs: LOGS, replicas: 2, logBytes: 8192 });
  const a = attachCnr(h, HashMapCnr);
  const b = attachCnr(h, HashMapCnr);
  const order = new Int32Array(h.order);
  return { h, a, b, order };
}

function expectFailStop(f: () => unknown, why?: RegExp): void {
  const t0 = performance.now();
  expect(f).toThrow(FailStopError);
  if (why) expect(f).toThrow(why);
  expect(performance.now() - t0).toBeLessThan(1000);
}

/** The view halted on every log: ops on both logs throw the same FailStopError. */
function expectHalted(v: ReturnType<typeof attachCnr<never, never, never>> | ReturnType<typeof setup>['b']): void {
  expect(v.isDetached).toBe(true);
  expect(() => v.reads.get(keyOn(0))).toThrow(FailStopError);
  expect(() => v.reads.get(keyOn(1))).toThrow(FailStopError);
}

describe('forged order-table positions', () => {
  it("a row's position in the other log forged past that log's TAIL: the replica that meets the op fails stop at once (it waited 13 s for entries that do not exist)", () => {
    const { h, a, b, order } = setup();
    a.writes.put(keyOn(0), 1);
    a.writes.clear(); // op 1
    Atomics.store(order, posAt(h, 1, 1), tail(h, 1) + 3);
    expectFailStop(() => b.reads.get(keyOn(0)), /names position \d+ in log 1, whose replica is at \d+ and TAIL at/);
    expectHalted(b);
    expect(a.reads.get(keyOn(0))).toBeUndefined(); // the issuer had applied it before the forgery
    a.detach();
  });

  it("a row's position in the other log forged to a later real entry: the replay through it meets the op at its true position and fails stop (it drove log 1 past the op's cut)", () => {
    const { h, a, b, order } = setup();
    a.writes.put(keyOn(1), 1);
    a.writes.clear(); // op 1
    const after = tail(h, 1);
    a.writes.put(keyOn(1), 2);
    a.writes.put(keyOn(1, 1), 3);
    Atomics.store(order, posAt(h, 1, 1), after); // the first put after the clear
    expectFailStop(() => b.reads.get(keyOn(0)), /multi-log op 1 met at position \d+ of log 1, its row says \d+/);
    expectHalted(b);
    a.detach();
  });

  it("a row's position in the other log forged to an earlier entry (before the op, behind or ahead of the replica): fails stop, the barrier was a no-op", () => {
    for (const forge of ['behind', 'ahead'] as const) {
      const { h, a, b, order } = setup();
      const first = tail(h, 1);
      a.writes.put(keyOn(1), 1);
      if (forge === 'behind') expect(b.reads.get(keyOn(1))).toBe(1); // b's log-1 replica is past `first`
      a.writes.put(keyOn(1), 2);
      a.writes.clear(); // op 1
      Atomics.store(order, posAt(h, 1, 1), first);
      expectFailStop(() => b.reads.get(keyOn(0)), /log 1 replayed through position \d+ without meeting multi-log op 1 there/);
      expectHalted(b);
      a.detach();
    }
  });

  it("a row's position in the log it is met in, forged: fails stop (an entry of another op, or replayed, is not this op)", () => {
    const { h, a, b, order } = setup();
    a.writes.clear(); // op 1
    Atomics.store(order, posAt(h, 1, 0), Atomics.load(order, posAt(h, 1, 0)) + 1);
    expectFailStop(() => b.reads.size(), /multi-log op 1 met at position 0 of log 0, its row says 1/);
    expectHalted(b);
    a.detach();
  });
});

describe('forged order-table rows and ORDER', () => {
  it('a row that holds another op, or a status that is none: the replica meeting the op fails stop at once', () => {
    for (const forged of [(seq: number) => (seq + 1) << 2, (seq: number) => (seq << 2) | 3]) {
      const { h, a, b, order } = setup();
      a.writes.clear(); // op 1
      Atomics.store(order, rowAt(h, 1), forged(1));
      expectFailStop(() => b.reads.get(keyOn(1)), /order table is corrupt/);
      expectHalted(b);
      a.detach();
    }
  });

  it("ORDER rolled back (free, behind the ops already committed): the next multi-log op fails stop at once and halts its view (it got FencedError and left the order held for a second per op)", () => {
    const { a, b, order } = setup();
    a.writes.put(keyOn(0), 1);
    a.writes.clear(); // op 1
    a.writes.put(keyOn(1), 2);
    expect(a.reads.size()).toBe(1); // op 2
    Atomics.store(order, 0, 2 * 1); // free, last op 1: the next would be op 2 again
    expectFailStop(() => a.reads.size(), /multi-log op 2's row holds op 2 with status 1 \(ORDER rolled back, or the row forged\)/);
    expectHalted(a);
    // The halted view gave the order back past op 2: b goes on at once, with op 3.
    expect(b.reads.get(keyOn(1))).toBe(2);
    const t0 = performance.now();
    b.writes.clear();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(Atomics.load(order, 0)).toBe(2 * 3);
    expect(b.reads.size()).toBe(0);
    b.detach();
  });

  it("a multi-log entry whose sequence number was forged to an older committed op's: fails stop (its row is decided, and its positions name that op's entries)", () => {
    const { h, a, b } = setup();
    a.writes.put(keyOn(0), 1);
    expect(a.reads.size()).toBe(1); // op 1
    expect(b.reads.get(keyOn(0))).toBe(1);
    b.sync(); // b is through op 1 on both logs
    a.writes.clear(); // op 2
    // The entry carries [seq, kind, id, args] v8-encoded: make op 2's entry in log 0 say op 1.
    const clearId = HashMapCnr.structure.writeIds.clear!;
    const was = serialize([2, 0, clearId, []]).subarray(2);
    const forged = serialize([1, 0, clearId, []]).subarray(2);
    expect(forged.length).toBe(was.length);
    const ring = new Uint8Array(h.logs[0]!.memory.buffer);
    let at = -1;
    for (let i = 0; i + was.length <= ring.length && at < 0; i++) if (was.every((x, k) => ring[i + k] === x)) at = i;
    expect(at).toBeGreaterThan(0);
    ring.set(forged, at);
    expectFailStop(() => b.reads.get(keyOn(0)), /multi-log op 1 met at position \d+ of log 0, its row says \d+/);
    expectHalted(b);
    a.detach();
  });

  it("the order table's geometry forged: a new attachCnr is a HandleMismatchError, nothing claimed", () => {
    const { h, a, b, order } = setup();
    Atomics.store(order, 33, rows(h) - 1);
    expect(() => attachCnr(h, HashMapCnr)).toThrow(HandleMismatchError);
    Atomics.store(order, 33, rows(h) + 1);
    a.detach();
    b.detach();
  });
});
