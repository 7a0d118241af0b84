/**
 * Bound reads pass the caller's arguments on exactly: named parameters
 * when the call has the op's declared count, the spread path otherwise
 * (optional, default and rest parameters, extra or missing arguments).
 */
import { describe, expect, it } from 'vitest';
import { attach, createHandle, defineStructure } from '../src/nr/index.js';

const Echo = defineStructure({
  name: 'bound-read-echo',
  create: (): { base: number } => ({ base: 10 }),
  reads: {
    none: (s: { base: number }): unknown[] => [s.base],
    one: (s: { base: number }, a: number): unknown[] => [s.base, a],
    three: (s: { base: number }, a: number, b: number, c: number): unknown[] => [s.base, a, b, c],
    four: (s: { base: number }, a: number, b: number, c: number, d: number): unknown[] => [s.base, a, b, c, d],
    rest: (s: { base: number }, ...xs: number[]): unknown[] => [s.base, ...xs],
    optional: (s: { base: number }, a: number, b = 7): unknown[] => [s.base, a, b],
    count(s: { base: number }, ..._xs: number[]): unknown[] {
      return [s.base, arguments.length - 1];
    },
  },
  writes: {
    setBase: (s: { base: number }, v: number): number => (s.base = v),
  },
});

describe('bound reads: arguments reach the op exactly as passed', () => {
  it('at the declared count, fewer, more, with rest and default parameters', () => {
    const handle = createHandle(Echo, { replicas: 1 });
    const r = attach(handle, Echo);
    try {
      r.writes.setBase(1);
      expect(r.reads.none()).toEqual([1]);
      expect(r.reads.one(2)).toEqual([1, 2]);
      expect(r.reads.three(2, 3, 4)).toEqual([1, 2, 3, 4]);
      expect(r.reads.four(2, 3, 4, 5)).toEqual([1, 2, 3, 4, 5]);
      expect(r.reads.rest()).toEqual([1]);
      expect(r.reads.rest(2, 3, 4, 5, 6)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(r.reads.optional(2)).toEqual([1, 2, 7]);
      expect(r.reads.optional(2, 3)).toEqual([1, 2, 3]);
      expect(r.reads.count()).toEqual([1, 0]);
      expect(r.reads.count(5, 5)).toEqual([1, 2]);
      // A caller that passes fewer than declared (plain JS): the op sees exactly that many.
      const loose = r.reads as unknown as Record<string, (...a: unknown[]) => unknown[]>;
      expect(loose.three!(2)).toEqual([1, 2, undefined, undefined]);
      expect(loose.one!(2, 99)).toEqual([1, 2]);
    } finally {
      r.detach();
    }
  });
});
