/**
 * The compiled one-key read on parallel logs (src/nr/cnr/keyed-read.ts):
 * one case per log, each with its own replica and CTAIL loader. Every log
 * count a handle may have routes each key to its log and sees a write made
 * through another view at once; a hot read throws DetachedError on its
 * first call after detach.
 */
import { describe, expect, it } from 'vitest';
import { attachCnr, createCnrHandle, DetachedError, keyHash } from '../src/nr/index.js';
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
