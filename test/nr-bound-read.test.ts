/**
 * Bound reads pass the caller's arguments on exactly: named parameters
 * when the call has the op's declared count, the spread path otherwise
 * (optional, default and rest parameters, extra or missing arguments).
 */
import { describe, expect, it } from 'vitest';
import { attach, createHandle, defineStructure } from '../src/nr/index.js';

// Untyped on purpose (rest, default and 4+ parameters are outside the typed op API): the test is about the runtime.
const Echo = defineStructure({
  name: 'bound-read-echo',
  create: (): { base: number } => ({ base: 10 }),
  reads: {
    none: (s: { base: number }): string => JSON.stringify([s.base]),
    one: (s: { base: number }, a: number): string => JSON.stringify([s.base, a]),
    three: (s: { base: number }, a: number, b: number, c: number): string => JSON.stringify([s.base, a, b, c]),
    four: (s: { base: number }, a: number, b: number, c: number, d: number): string => JSON.stringify([s.base, a, b, c, d]),
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
    } finally {
      r.detach();
    }
  });
});
