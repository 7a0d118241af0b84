/**
 * Bad input at the parallel-logs call sites, matched against the single-log
 * API (test/nr-bad-input.test.ts): each is a typed, documented error at the
 * call site, with nothing written to any log and the order table untouched,
 * and another view on the same handle unaffected. Each case here failed
 * before (a TypeError, a FailStopError for a caller's mistake, or accepted).
 */
import { describe, expect, it } from 'vitest';
import {
  attach,
  attachCnr,
  ConfigError,
  connectCnr,
  createCnrHandle,
  createHandle,
  declareCnrDead,
  EncodeError,
  HandleMismatchError,
  keyHashMapper,
  withLogMapper,
  type CnrHandle,
} from '../src/nr/index.js';
import { HashMap, HashMapCnr } from '../src/nr/structures/index.js';

/** Words written so far: every log's TAIL and the order word. */
function written(h: CnrHandle): number[] {
  return [...h.logs.map((l) => Atomics.load(new Int32Array(l.memory.buffer), 32)), Atomics.load(new Int32Array(h.order), 0)];
}

describe('parallel logs: call-site input', () => {
  it('attachCnr and connectCnr with null or non-object options: ConfigError, as attach and connect (was a TypeError)', () => {
    const h = createCnrHandle(HashMapCnr, { logs: 2, replicas: 1, clients: 1 });
    expect(() => attach(createHandle(HashMap), HashMap, null as never)).toThrow('attach: options must be an object');
    expect(() => attachCnr(h, HashMapCnr, null as never)).toThrow(ConfigError);
    expect(() => attachCnr(h, HashMapCnr, null as never)).toThrow('attachCnr: options must be an object');
    expect(() => attachCnr(h, HashMapCnr, 5 as never)).toThrow('attachCnr: options must be an object');
    expect(() => connectCnr(h, HashMapCnr, null as never)).toThrow('connectCnr: options must be an object');
    expect(() => attachCnr(h, HashMapCnr, { bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
    // Nothing was claimed: the one replica slot is free.
    const v = attachCnr(h, HashMapCnr);
    expect(v.slot).toBe(0);
    v.detach();
  });

  it('a handle that is not one (no order table, too few or repeated logs, a log that is not a handle): HandleMismatchError at attachCnr, connectCnr and declareCnrDead (was FailStopError, CapacityError or a TypeError), nothing claimed', () => {
    const h = createCnrHandle(HashMapCnr, { logs: 2, replicas: 2, clients: 1 });
    const live = attachCnr(h, HashMapCnr);
    live.writes.put('a', 1);
    const before = written(h);
    const forged: [CnrHandle, RegExp][] = [
      [{ ...h, order: {} as SharedArrayBuffer }, /no order table of the right kind/],
      [{ ...h, order: new SharedArrayBuffer(16) }, /order table is not a valid buffer/],
      [{ ...h, logs: [] }, /has 1 to 16 logs, this one 0/],
      [{ ...h, logs: [h.logs[0]!] }, /order table does not match its handle/],
      [{ ...h, logs: [h.logs[0]!, h.logs[0]!] }, /not distinct/],
      [{ ...h, logs: [null, h.logs[1]] as never }, /is not a node-replication handle/],
    ];
    for (const [bad, why] of forged) {
      for (const call of [() => attachCnr(bad, HashMapCnr), () => connectCnr(bad, HashMapCnr), () => declareCnrDead(bad, 0)]) {
        expect(call).toThrow(HandleMismatchError);
        expect(call).toThrow(why);
      }
    }
    expect(written(h)).toEqual(before);
    // The live view kept its slot on both logs (a forged declareCnrDead touched no log) and still serves.
    expect(live.stats().logs.map((l) => l.status)).toEqual(['live', 'live']);
    expect(live.reads.get('a')).toBe(1);
    const other = attachCnr(h, HashMapCnr);
    expect(other.reads.get('a')).toBe(1);
    other.detach();
    live.detach();
  });

  it('withLogMapper refuses a combine that is not an object and a keyHashMapper naming an unknown op; keyHashMapper refuses unknown options and a non-array all (each was accepted, or a TypeError)', () => {
    expect(() => withLogMapper(HashMap, { map: () => 0, combine: null as never })).toThrow('log mapper combine must be an object { op: (results) => result }');
    expect(() => withLogMapper(HashMap, { map: () => 0, combine: 5 as never })).toThrow(ConfigError);
    expect(() => withLogMapper(HashMap, keyHashMapper({ all: ['size', 'sizee'] }))).toThrow("keyHashMapper: all names unknown op 'sizee'");
    expect(() => keyHashMapper({ bogus: 1 } as never)).toThrow("keyHashMapper: unknown option 'bogus' (known: all, combine)");
    expect(() => keyHashMapper(null as never)).toThrow('keyHashMapper: options must be an object');
    expect(() => keyHashMapper({ all: 'size' as never })).toThrow('keyHashMapper: all must be an array of op names');
    expect(() => withLogMapper(HashMap, keyHashMapper({ combine: 7 as never }))).toThrow(ConfigError);
  });
});

describe('parallel logs: more arguments than the codec carries', () => {
  it("a key write through the inline routing (writes.put('a', 1, 2), writes.delete('a', 9)) is the single log's EncodeError, nothing written (the extra argument was dropped silently)", async () => {
    const h = createCnrHandle(HashMapCnr, { logs: 4, replicas: 2 });
    const v = attachCnr(h, HashMapCnr);
    const w = attachCnr(h, HashMapCnr);
    const before = written(h);
    const put = v.writes.put as unknown as (...a: unknown[]) => unknown;
    const del = v.writes.delete as unknown as (...a: unknown[]) => unknown;
    expect(() => put('a', 1, 2)).toThrow(EncodeError);
    expect(() => put('a', 1, 2)).toThrow("cannot encode write op 'put': takes at most 2 arguments (its codec carries no more), got 3");
    expect(() => del('a', 9)).toThrow("cannot encode write op 'delete': takes at most 1 argument (its codec carries no more), got 2");
    await expect((v.writeAsync as unknown as (...a: unknown[]) => Promise<unknown>)('put', 'a', 1, 2)).rejects.toThrow(EncodeError);
    expect(written(h)).toEqual(before);
    expect(v.stats().logs.map((l) => l.appends)).toEqual([0, 0, 0, 0]);
    // A read's extra argument is ignored, as a single-log replica's read.
    expect((v.reads.get as unknown as (...a: unknown[]) => unknown)('a', 'extra')).toBeUndefined();
    v.writes.put('a', 1);
    expect(w.reads.get('a')).toBe(1);
    v.detach();
    w.detach();
  });

  it("a multi-log write with arguments its codec refuses (clear(1)) is the single log's EncodeError before the order is taken, sync and async (it was appended to every log)", async () => {
    const h = createCnrHandle(HashMapCnr, { logs: 3, replicas: 2 });
    const v = attachCnr(h, HashMapCnr);
    const w = attachCnr(h, HashMapCnr);
    v.writes.put('k', 1);
    const single = attach(createHandle(HashMap), HashMap);
    const singleClear = single.writes.clear as unknown as (...a: unknown[]) => unknown;
    let singleError = '';
    try {
      singleClear(1);
    } catch (e) {
      singleError = (e as Error).message;
    }
    single.detach();
    expect(singleError).toBe("cannot encode write op 'clear': takes at most 0 arguments (its codec carries no more), got 1");
    const before = written(h);
    const clear = v.writes.clear as unknown as (...a: unknown[]) => unknown;
    expect(() => clear(1)).toThrow(EncodeError);
    expect(() => clear(1)).toThrow(singleError);
    expect(() => (v.write as unknown as (...a: unknown[]) => unknown)('clear', 1)).toThrow(singleError);
    await expect((v.writeAsync as unknown as (...a: unknown[]) => Promise<unknown>)('clear', 1)).rejects.toThrow(singleError);
    expect(written(h)).toEqual(before);
    expect(v.stats().multiLogOps).toBe(0);
    expect(w.reads.size()).toBe(1);
    v.detach();
    w.detach();
  });
});
