/**
 * The page table of a file (src/fs/state/page-table.ts): a dense array with a Map for far-out pages, against a Map model.
 */
import { describe, expect, it } from 'vitest';
import { PageTable, tableOf } from '../src/fs/state/page-table.js';

/** A deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const sorted = (e: [number, number][]): [number, number][] => [...e].sort((a, b) => a[0] - b[0]);

describe('NrFS page table', () => {
  it('agrees with a Map under random installs, replacements, deletes and clears, dense and sparse', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const next = rng(seed);
      const t = new PageTable();
      const m = new Map<number, number>();
      for (let i = 0; i < 3000; i++) {
        const x = next();
        // Mostly near pages (the dense part), some far out (the Map), some past the dense maximum.
        const p = x < 0.7 ? Math.floor(next() * 300) : x < 0.95 ? Math.floor(next() * 100_000) : 2 ** 18 + Math.floor(next() * 2 ** 30);
        const op = next();
        if (op < 0.6) {
          const ref = Math.floor(next() * 2 ** 46);
          expect(t.swap(p, ref)).toBe(m.get(p));
          m.set(p, ref);
        } else if (op < 0.9) {
          expect(t.delete(p)).toBe(m.delete(p));
        } else if (op < 0.999) {
          expect(t.get(p)).toBe(m.get(p));
          expect(t.has(p)).toBe(m.has(p));
        } else {
          t.clear();
          m.clear();
        }
        expect(t.size).toBe(m.size);
      }
      expect(sorted(t.entries())).toEqual(sorted([...m]));
      // A table rebuilt from its entries (a restore) holds the same pages.
      const back = tableOf(t.entries());
      expect(back.size).toBe(t.size);
      for (const [p, ref] of m) expect(back.get(p)).toBe(ref);
    }
  });

  it('keeps a sparse file sparse: one page far out is a Map entry, and its hole reads as holes', () => {
    const t = new PageTable();
    t.set(200_000, 7);
    expect(t.size).toBe(1);
    expect(t.get(200_000)).toBe(7);
    expect(t.get(0)).toBeUndefined();
    expect(t.get(199_999)).toBeUndefined();
    // Filling from the start grows the dense part; the far page stays where it was, and all are found.
    for (let p = 0; p < 1000; p++) t.set(p, p + 1);
    expect(t.size).toBe(1001);
    for (let p = 0; p < 1000; p++) expect(t.get(p)).toBe(p + 1);
    expect(t.get(200_000)).toBe(7);
    expect(t.entries().at(-1)).toEqual([200_000, 7]);
  });
});
