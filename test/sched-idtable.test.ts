/**
 * The id-indexed task table (IdTable) against a Map model, and the sched
 * structure's snapshot/restore (the table is a class: it must survive state
 * transfer with its task objects still shared with the queues and heaps).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable } from '../src/sched/idtable.js';
import { leasedTasks } from '../src/sched/leases.js';
import * as st from '../src/sched/state.js';
import { schedStructure } from '../src/sched/structure.js';

describe('IdTable', () => {
  it('behaves like a Map of ids (iteration in ascending id order)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('set', 'del', 'delOld'), fc.integer({ min: 0, max: 3000 })), { maxLength: 3000 }),
        (ops) => {
          const t = new IdTable<number>();
          const m = new Map<number, number>();
          let next = 0;
          for (const [op, x] of ops) {
            if (op === 'set') {
              // Mostly ascending ids, sometimes an older or a repeated one.
              const id = x % 7 === 0 ? x : x % 11 === 0 ? (next += 50) : next++;
              t.set(id, id + 1);
              m.set(id, id + 1);
            } else {
              const keys = [...m.keys()].sort((a, b) => a - b);
              const id = op === 'delOld' ? (keys[0] ?? x) : x;
              expect(t.delete(id)).toBe(m.delete(id));
            }
            expect(t.size).toBe(m.size);
          }
          const keys = [...m.keys()].sort((a, b) => a - b);
          expect([...t.keys()]).toEqual(keys);
          expect([...t.values()]).toEqual(keys.map((k) => k + 1));
          for (let id = 0; id <= next + 1; id++) expect(t.get(id)).toBe(m.get(id));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stays O(live) when old entries pin the window, and when ids are sparse', () => {
    const t = new IdTable<number>();
    const m = new Map<number, number>();
    const pinned = [0, 5, 17];
    for (const id of pinned) {
      t.set(id, id);
      m.set(id, id);
    }
    // 200k ids flow through (64 in flight, every 3rd id ours) while the pinned ones stay.
    for (let id = 18; id < 600_000; id += 3) {
      t.set(id, id);
      m.set(id, id);
      const gone = id - 64 * 3;
      if (gone >= 18) {
        expect(t.delete(gone)).toBe(true);
        m.delete(gone);
      }
    }
    expect(t.size).toBe(m.size);
    expect(t.raw().slots.length).toBeLessThan(8 * 4096);
    const keys = [...m.keys()].sort((a, b) => a - b);
    expect([...t.keys()]).toEqual(keys);
    for (const id of keys) expect(t.get(id)).toBe(id);
    for (const id of pinned) expect(t.delete(id)).toBe(true);
    expect(t.size).toBe(m.size - pinned.length);
    // A restored copy behaves the same.
    const r = IdTable.fromRaw(structuredClone(t.raw()));
    expect([...r.keys()]).toEqual([...t.keys()]);
  });

  it('the structure snapshot restores a state whose table shares task objects with the queues', () => {
    const s0 = schedStructure(['a']);
    const s = s0.create();
    const w = st.join(s, 4, ['a'], 1).value;
    const first = st.submit(s, 0, Array.from({ length: 10 }, (_, i) => ({ kind: 'a', payload: i })), 2).value;
    st.claim(s, w, 2, 100, 3);
    const r = s0.restore!(s0.snapshot!(s));
    expect(r.tasks).toBeInstanceOf(IdTable);
    expect(st.digest(r)).toBe(st.digest(s));
    // Applies continue identically on both.
    for (const x of [s, r]) {
      st.claim(x, w, 2, 100, 4);
      st.finish(x, w, [{ id: first, attempt: 1, ok: true, result: 1 }], 5);
    }
    expect(st.digest(r)).toBe(st.digest(s));
    expect(r.tasks.get(first)!.state).toBe('done');
    expect(r.tasks.size).toBe(s.tasks.size);
    expect(leasedTasks(r.leases).every((t) => r.tasks.get(t.id) === t)).toBe(true);
    expect(leasedTasks(r.leases).length).toBe(r.leases.live);
  });
});
