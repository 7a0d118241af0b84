/**
 * The id-indexed task table (IdTable) against a Map model, and the sched
 * structure's snapshot/restore (the table is a class: it must survive state
 * transfer with its task objects still shared with the queues and heaps).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable } from '../src/sched/idtable.js';
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
              const id = x % 7 === 0 ? x : next++;
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
          for (let id = 0; id <= 3001; id++) expect(t.get(id)).toBe(m.get(id));
        },
      ),
      { numRuns: 60 },
    );
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
    expect(r.leases.every((t) => r.tasks.get(t.id) === t)).toBe(true);
  });
});
