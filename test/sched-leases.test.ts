/**
 * The lease run (src/sched/leases.ts) against a naive model: after any
 * sequence of leases set (claims, renewals, mixed lease lengths, times that
 * tie) and ended, its front is the live lease with the least (until, id), its
 * live entries are exactly the leases held, and stale entries stay bounded
 * (compaction) however many renewals pile up.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLeaseRun, leaseEnd, leaseFirst, leaseFirstUntil, leasedTasks, leaseSet, type Leased } from '../src/sched/leases.js';

type Op = { set: boolean; task: number; lease: number; dt: number };
const op = fc.record({ set: fc.boolean(), task: fc.integer({ min: 0, max: 11 }), lease: fc.constantFrom(1, 5, 50, 2000), dt: fc.constantFrom(0, 0, 1, 3) });

function check(ops: Op[], repeat = 1): void {
  const tasks: Leased[] = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, leaseStamp: 0 }));
  const model = new Map<number, number>(); // id -> until
  const h = createLeaseRun<Leased>();
  let clock = 0;
  for (let r = 0; r < repeat; r++) {
    for (const o of ops) {
      clock += o.dt;
      const t = tasks[o.task]!;
      if (o.set) {
        leaseSet(h, t, clock + o.lease);
        model.set(t.id, clock + o.lease);
      } else {
        leaseEnd(h, t);
        model.delete(t.id);
      }
      const want = [...model].sort((a, b) => (a[1] !== b[1] ? a[1] - b[1] : a[0] - b[0]));
      expect(leaseFirst(h)?.id).toBe(want[0]?.[0]);
      expect(leaseFirstUntil(h)).toBe(want[0]?.[1] ?? Infinity);
      expect(leasedTasks(h).map((x) => x.id)).toEqual(want.map(([id]) => id));
      expect(h.live).toBe(model.size);
      expect(h.until.length - h.head).toBeLessThanOrEqual(2 * h.live + 1024);
      for (const x of tasks) expect(x.leaseStamp !== 0).toBe(model.has(x.id));
    }
  }
}

describe('sched lease run', () => {
  it('matches a naive model of held leases under random sets and ends', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), (ops) => check(ops)), { numRuns: 300 });
  });

  it('stays bounded and exact while renewals pile up stale entries (compaction), with mixed lease lengths', () => {
    // Task 1 holds a long lease that pins the front; tasks 2-12 renew over and over.
    const ops: Op[] = [{ set: true, task: 0, lease: 1_000_000, dt: 0 }];
    for (let i = 0; i < 200; i++) ops.push({ set: true, task: 1 + (i % 11), lease: i % 3 === 0 ? 5 : 50, dt: i % 2 });
    check(ops, 20);
  });
});
