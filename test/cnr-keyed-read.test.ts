/**
 * The compiled one-key read on parallel logs (src/nr/cnr/keyed-read.ts):
 * one case per log, each with its own replica and CTAIL loader. Every log
 * count a handle may have routes each key to its log and sees a write made
 * through another view at once; a hot read throws DetachedError on its
 * first call after detach.
 */
import { describe, expect, it } from 'vitest';
import { attachCnr, createCnrHandle, defineStructure, DetachedError, keyHash, keyHashMapper, withLogMapper } from '../src/nr/index.js';
import { HashMapCnr } from '../src/nr/structures/index.js';

describe('parallel logs: the compiled keyed read', () => {
  for (const logs of [1, 2, 3, 5, 16]) {
    it(`${logs} logs: a read sees another view's write on its key's log at once, string and number keys`, () => {
      const handle = createCnrHandle(HashMapCnr, { logs, replicas: 2, logBytes: 8192 });
      const writer = attachCnr(handle, HashMapCnr);
      const reader = attachCnr(handle, HashMapCnr);
      try {
        const keys: Array<string | number> = [];
        for (let i = 0; i < 4 * logs; i++) keys.push(i % 2 === 0 ? `k${i}` : i * 7919);
        // Every log gets at least one key.
        expect(new Set(keys.map((k) => keyHash(k) % logs)).size).toBe(logs);
        for (let round = 0; round < 3; round++) {
          for (const [i, k] of keys.entries()) {
            writer.writes.put(k as string, round * 100 + i);
            expect(reader.reads.get(k as string)).toBe(round * 100 + i);
          }
        }
        expect(reader.reads.get('absent')).toBeUndefined();
        // Every log's replica in the reader replayed the writes of its log.
        const perLog = reader.stats().logs.map((s) => s.replayedOps);
        expect(perLog.every((n) => n > 0)).toBe(true);
      } finally {
        writer.detach();
        reader.detach();
      }
    });
  }

  it('a hot keyed read throws DetachedError on its first call after detach', () => {
    const handle = createCnrHandle(HashMapCnr, { logs: 4, replicas: 1, logBytes: 8192 });
    const view = attachCnr(handle, HashMapCnr);
    for (let i = 0; i < 64; i++) view.writes.put(`k${i}`, i);
    let sum = 0;
    for (let i = 0; i < 50_000; i++) sum += (view.reads.get(`k${i & 63}`) as number | undefined) ?? 0;
    let want = 0;
    for (let i = 0; i < 50_000; i++) want += i & 63;
    expect(sum).toBe(want);
    view.detach();
    for (let i = 0; i < 4; i++) expect(() => view.reads.get(`k${i}`)).toThrow(DetachedError);
  });
});

describe('parallel logs: a one-key read with parameters past its key', () => {
  // `fn.length` counts neither a defaulted nor a rest parameter: these look like one-key reads to the router.
  const Tagged = defineStructure({
    name: 'test.tagged',
    create: () => new Map<string, number>(),
    reads: {
      scaled: (s: Map<string, number>, key: string, times: number = 1) => (s.get(key) ?? 0) * times,
      summed: (s: Map<string, number>, key: string, ...more: string[]) => [key, ...more].reduce((a, k) => a + (s.get(k) ?? 0), 0),
    },
    writes: { put: (s: Map<string, number>, key: string, v: number) => void s.set(key, v) },
  });
  const TaggedCnr = withLogMapper(Tagged, keyHashMapper());

  it('gets every argument, as on one log, on every log count', () => {
    for (const logs of [1, 2, 4]) {
      const handle = createCnrHandle(TaggedCnr, { logs, replicas: 1, logBytes: 8192 });
      const view = attachCnr(handle, TaggedCnr);
      try {
        for (let i = 0; i < 8; i++) view.writes.put(`k${i}`, i + 1);
        for (let i = 0; i < 8; i++) {
          expect(view.reads.scaled(`k${i}`)).toBe(i + 1);
          expect(view.reads.scaled(`k${i}`, 3)).toBe(3 * (i + 1));
          // The extra keys are read on the first key's log, which (on one replica per log set) has them all only when it is their log too.
          expect(view.reads.summed(`k${i}`)).toBe(i + 1);
        }
        expect(view.reads.summed('k0', 'k0', 'k0')).toBe(3);
      } finally {
        view.detach();
      }
    }
  });
});
