/**
 * LogMarkQueue: items stamped with a log mark are handed back exactly when
 * every replica has applied past the mark, oldest first, never early.
 */
import { describe, expect, it } from 'vitest';
import { attach, createHandle, defineStructure, LogMarkQueue } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';

describe('LogMarkQueue', () => {
  it('frees an item only once every replica has passed its mark', () => {
    const handle = createHandle(HashMap, { replicas: 2, logBytes: 4096 });
    const a = attach(handle, HashMap);
    const b = attach(handle, HashMap);
    const q = new LogMarkQueue<string>(a);
    a.writes.put('x', 1);
    q.push('first');
    a.writes.put('y', 2);
    q.push('second');
    const freed: string[] = [];
    // b has applied nothing: it may still read entries before both marks.
    expect(q.reclaim((i) => freed.push(i))).toBe(0);
    expect(q.length).toBe(2);
    b.sync();
    expect(q.reclaim((i) => freed.push(i))).toBe(2);
    expect(freed).toEqual(['first', 'second']);
    expect(q.length).toBe(0);
  });

  it('frees a prefix in push order and respects the limit', () => {
    const handle = createHandle(HashMap, { replicas: 2, logBytes: 4096 });
    const a = attach(handle, HashMap);
    const b = attach(handle, HashMap);
    const q = new LogMarkQueue<number>(a);
    for (let i = 0; i < 10; i++) {
      a.writes.put(i, i);
      q.push(i);
    }
    b.reads.get(0); // a read catches b up to ctail: past every mark
    expect(q.reclaim(() => {}, 3)).toBe(3);
    const rest: number[] = [];
    expect(q.reclaim((i) => rest.push(i))).toBe(7);
    expect(rest).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(q.oldest()).toBeUndefined();
  });

  it('a free callback that throws leaves the queue consistent: no item is handed out twice (the items before it were freed again on the next reclaim)', () => {
    const handle = createHandle(HashMap, { replicas: 1, logBytes: 4096 });
    const a = attach(handle, HashMap);
    const q = new LogMarkQueue<number>(a);
    for (let i = 0; i < 6; i++) {
      a.writes.put(i, i);
      q.push(i);
    }
    a.writes.put('after', 0);
    const freed: number[] = [];
    expect(() =>
      q.reclaim((i) => {
        if (i === 3) throw new Error('free failed');
        freed.push(i);
      }),
    ).toThrow('free failed');
    expect(q.reclaim((i) => freed.push(i))).toBe(2);
    expect(freed).toEqual([0, 1, 2, 4, 5]); // 3 was handed to free once (which threw); none twice
    expect(q.length).toBe(0);
  });

  it('an emptied queue reuses its slots: later items come back exactly once, never a freed one again', () => {
    let tail = 0;
    let applied = 0;
    const q = new LogMarkQueue<number>({ logMark: () => tail, appliedEverywhere: (m) => m <= applied });
    // Fewer items each round: slots past the new end still hold freed items, which must never come back.
    for (let round = 0; round < 3; round++) {
      const n = 5 - round;
      const want = Array.from({ length: n }, (_, i) => round * 10 + i);
      for (const item of want) q.push(item, ++tail);
      const freed: number[] = [];
      applied = tail - 1;
      expect(q.reclaim((i) => freed.push(i))).toBe(n - 1);
      expect(q.length).toBe(1);
      expect(q.oldest()).toBe(want[n - 1]);
      applied = tail;
      expect(q.reclaim((i) => freed.push(i))).toBe(1);
      expect(freed).toEqual(want);
      expect(q.length).toBe(0);
      expect(q.oldest()).toBeUndefined();
      expect(q.reclaim((i) => freed.push(i))).toBe(0);
    }
  });

  it('a mark that is not a number is refused at push (the queue could never reclaim past it, or would at once)', () => {
    const handle = createHandle(HashMap, { replicas: 1, logBytes: 4096 });
    const q = new LogMarkQueue<number>(attach(handle, HashMap));
    for (const bad of [Number.NaN, '5', null]) expect(() => q.push(1, bad as number)).toThrow(TypeError);
    expect(q.length).toBe(0);
  });
});

describe('applyingMark', () => {
  it('inside an apply it is the applied entry\'s end, on the issuer and on a replaying replica alike: applied everywhere once every replica has applied that entry, and not before', () => {
    // Each apply of `stamp` records the mark its replica gives at that moment (the apply reaches it through `current`).
    const current: { replica: { applyingMark(): number } | null } = { replica: null };
    const marks: number[] = [];
    const Stamps = defineStructure({
      name: 'test.stamps',
      create: () => ({ n: 0 }),
      reads: { n: (s: { n: number }) => s.n },
      writes: {
        stamp: (s: { n: number }) => {
          s.n++;
          marks.push(current.replica!.applyingMark());
        },
      },
    });
    const h = createHandle(Stamps, { replicas: 3, logBytes: 1 << 16 });
    const a = attach(h, Stamps);
    const b = attach(h, Stamps);
    const lagging = attach(h, Stamps);
    const onA = (): void => void (current.replica = a);
    const onB = (): void => void (current.replica = b);
    // Outside an apply it is the log's tail.
    expect(a.applyingMark()).toBe(a.logMark());
    onA();
    a.writes.stamp();
    const issuerMark = marks.pop()!;
    expect(issuerMark).toBe(a.logMark()); // the end of a's own run
    onB();
    b.writes.stamp(); // b replays a's entry first, then applies its own
    const [replayedMark, ownMark] = [marks.shift()!, marks.shift()!];
    // A replaying replica's mark is the end of the entry it applies, not of the run it replays (here a's entry and b's own, one run).
    expect(replayedMark).toBe(issuerMark);
    expect(replayedMark).toBeLessThan(b.logMark());
    expect(ownMark).toBe(b.logMark());
    for (const m of [issuerMark, replayedMark, ownMark]) expect(a.appliedEverywhere(m)).toBe(false); // `lagging` applied nothing
    current.replica = lagging;
    lagging.sync();
    expect(marks).toHaveLength(2); // lagging applied both entries
    expect(a.appliedEverywhere(issuerMark)).toBe(true); // every replica has a's entry now
    expect(a.appliedEverywhere(replayedMark)).toBe(true); // so what b's replay of it displaced may be reused, though a has not applied b's
    expect(a.appliedEverywhere(ownMark)).toBe(false); // a itself has not applied b's
    onA();
    a.sync();
    for (const m of [issuerMark, replayedMark, ownMark]) expect(a.appliedEverywhere(m)).toBe(true);
  });
});
