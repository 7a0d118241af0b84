/**
 * Two small replicated structures: a counter (binary codec) and a stack
 * (the zero-effort v8 codec, for values of any cloneable type).
 */
import { noArgsCodec } from '../codec.js';
import { defineStructure } from '../structure.js';

const amount: [number] = [0];

export const Counter = defineStructure({
  name: 'nr.counter',
  version: 1,
  create: () => ({ value: 0 }),
  reads: {
    get: (c: { value: number }): number => c.value,
  },
  writes: {
    /** Adds `n` (a finite number) and returns the new value. */
    add: (c: { value: number }, n: number): number => {
      if (!Number.isFinite(n)) throw new RangeError('counter increment must be a finite number');
      return (c.value += n);
    },
    reset: (c: { value: number }): number => {
      const old = c.value;
      c.value = 0;
      return old;
    },
  },
  codecs: {
    add: {
      encode(w, n) {
        if (typeof n !== 'number') throw new TypeError('counter increment must be a number');
        w.f64(n);
      },
      decode(r) {
        amount[0] = r.f64();
        return amount;
      },
      arity: 1,
    },
    reset: noArgsCodec,
  },
  digest: (c) => String(c.value),
});

export const Stack = defineStructure({
  name: 'nr.stack',
  version: 1,
  create: (): unknown[] => [],
  reads: {
    peek: (s: unknown[]): unknown => s[s.length - 1],
    size: (s: unknown[]): number => s.length,
  },
  writes: {
    push: (s: unknown[], value: unknown): number => s.push(value),
    pop: (s: unknown[]): unknown => s.pop(),
  },
  digest: (s) => JSON.stringify(s),
});
