/**
 * Bound reads pass the caller's arguments on exactly: named parameters
 * when the call has the op's declared count, the spread path otherwise
 * (optional, default and rest parameters, extra or missing arguments).
 */
import { describe, expect, it } from 'vitest';
import { attach, createHandle, defineStructure, DetachedError } from '../src/nr/index.js';
import { createSharedMemory, wordLoader } from '../src/nr/shared-memory.js';

// Untyped on purpose (rest, default and 4+ parameters are outside the typed op API): the test is about the runtime.
const Echo = defineStructure({
  name: 'bound-read-echo',
  create: (): { base: number } => ({ base: 10 }),
  reads: {
    none: (s: { base: number }): string => JSON.stringify([s.base]),
    one: (s: { base: number }, a: number): string => JSON.stringify([s.base, a]),
    three: (s: { base: number }, a: number, b: number, c: number): string => JSON.stringify([s.base, a, b, c]),
    four: (s: { base: number }, a: number, b: number, c: number, d: number): string => JSON.stringify([s.base, a, b, c, d]),
    six: (s: { base: number }, a: number, b: number, c: number, d: number, e: number, f: number): string => JSON.stringify([s.base, a, b, c, d, e, f]),
    seven: (s: { base: number }, a: number, b: number, c: number, d: number, e: number, f: number, g: number): string => JSON.stringify([s.base, a, b, c, d, e, f, g]),
    rest: (s: { base: number }, ...xs: number[]): string => JSON.stringify([s.base, ...xs]),
    optional: (s: { base: number }, a: number, b = 7): string => JSON.stringify([s.base, a, b]),
    count: function (s: { base: number }, ...xs: number[]): string {
      return JSON.stringify([s.base, arguments.length - 1, xs.length]);
    },
  },
  writes: {
    setBase: (s: { base: number }, v: number): number => (s.base = v),
  },
} as unknown as Parameters<typeof defineStructure>[0]);

describe('bound reads: arguments reach the op exactly as passed', () => {
  it('at the declared count, fewer, more, with rest and default parameters', () => {
    const handle = createHandle(Echo, { replicas: 1 });
    const r = attach(handle, Echo);
    try {
      (r.writes as unknown as Record<string, (v: number) => number>).setBase!(1);
      // Called untyped: the point is what reaches the op, whatever the caller passes.
      const loose = r.reads as unknown as Record<string, (...a: unknown[]) => string>;
      const call = (op: string, ...a: unknown[]): unknown => JSON.parse(loose[op]!(...a));
      expect(call('none')).toEqual([1]);
      expect(call('one', 2)).toEqual([1, 2]);
      expect(call('three', 2, 3, 4)).toEqual([1, 2, 3, 4]);
      expect(call('four', 2, 3, 4, 5)).toEqual([1, 2, 3, 4, 5]);
      expect(call('rest')).toEqual([1]);
      expect(call('rest', 2, 3, 4, 5, 6)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(call('optional', 2)).toEqual([1, 2, 7]);
      expect(call('optional', 2, 3)).toEqual([1, 2, 3]);
      expect(call('count')).toEqual([1, 0, 0]);
      expect(call('count', 5, 5)).toEqual([1, 2, 2]);
      // A caller that passes fewer or more than declared (plain JS): the op sees exactly what was passed.
      expect(call('three', 2)).toEqual([1, 2, null, null]);
      expect(call('one', 2, 99)).toEqual([1, 2]);
      // Six arguments are named parameters, seven take the spread path: both see exactly what was passed.
      expect(call('six', 2, 3, 4, 5, 6, 7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(call('six', 2, 3, 4, 5)).toEqual([1, 2, 3, 4, 5, null, null]);
      expect(call('six', 2, 3, 4, 5, 6, 7, 8)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(call('seven', 2, 3, 4, 5, 6, 7, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(call('seven', 2)).toEqual([1, 2, null, null, null, null, null, null]);
    } finally {
      r.detach();
    }
  });
});

describe('bound reads after detach', () => {
  it('a hot read of every arity throws DetachedError on its first call after detach', () => {
    // The optimiser folds the replica's detachedError check away while no
    // replica has detached (the field never changed); detach must still
    // stop the very next read, whatever its arity or call shape.
    const handle = createHandle(Echo, { replicas: 1 });
    const r = attach(handle, Echo);
    const loose = r.reads as unknown as Record<string, (...a: unknown[]) => string>;
    const calls: Array<() => string> = [
      () => loose.none!(),
      () => loose.one!(1),
      () => loose.three!(1, 2, 3),
      () => loose.four!(1, 2, 3, 4),
      () => loose.six!(1, 2, 3, 4, 5, 6),
      () => loose.seven!(1, 2, 3, 4, 5, 6, 7),
      () => loose.rest!(1, 2),
      () => loose.optional!(1),
      () => loose.one!(1, 2), // more than declared: the spread path
    ];
    let n = 0;
    for (let i = 0; i < 20_000; i++) for (const c of calls) n += c().length;
    expect(n).toBeGreaterThan(0);
    r.detach();
    for (const c of calls) expect(c).toThrow(DetachedError);
  });
});

describe('wordLoader', () => {
  it('loads the word at its byte offset and sees every store; refuses offsets that are no aligned word', () => {
    const memory = createSharedMemory(65536);
    const words = new Int32Array(memory.buffer);
    const offsets = [0, 4, 192, 1 << 12, 65532];
    const loads = offsets.map((o) => wordLoader(memory, o));
    for (let round = 0; round < 3; round++) {
      offsets.forEach((o, i) => Atomics.store(words, o >> 2, (round * 1000 + i) | (round === 2 ? 0x80000000 : 0)));
      offsets.forEach((o, i) => expect(loads[i]!()).toBe((round * 1000 + i) | (round === 2 ? 0x80000000 : 0)));
    }
    for (const bad of [-4, 2, 65536, 1.5, Number.NaN]) expect(() => wordLoader(memory, bad)).toThrow(RangeError);
  });
});
