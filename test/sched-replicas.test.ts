/**
 * Replicas cannot diverge on any argument (issue 18.4), as a property: three
 * scheduler views (three replicas of one shared log: the issuing one applies
 * its caller's values, the others what the codecs decoded) receive random
 * sequences of every op with edge values (−0, 1.5, negative, 2^31, 2^32,
 * 2^53, ±MAX_VALUE, denormals, NaN, ±Infinity, lone surrogates top-level and
 * nested, null-prototype objects, getters that throw, Promises, Proxies,
 * uncloneable and oversized values). Every call either throws or rejects a SchedError, or is
 * applied; afterwards all replicas hold the same digest (which covers every
 * replicated field of every task, payloads and results byte for byte).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createScheduler, openScheduler, SchedError, type Scheduler } from '../src/sched/index.js';

// Mostly small valid numbers (so that sequences reach the applies: ids, workers, attempts), often an edge value.
const num = fc.oneof(
  {
    arbitrary: fc.constantFrom(0, -0, 1.5, -1, -1.5, -(2 ** 31) - 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, Number.NaN, Infinity, -Infinity, 1e-9),
    weight: 1,
  },
  { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 3 },
);
const str = fc.constantFrom('', 'a', '\ud800', 'a\udc00b', '\ud83d\ude00', '\u0000', 'x'.repeat(300), 'y'.repeat(20_000));
/** Values whose serialisation throws part-way (a getter), or that cannot be cloned at all (a Promise, a Proxy). */
const hostile: unknown[] = [
  {
    get x(): never {
      throw new Error('getter');
    },
  },
  Promise.resolve(1),
  new Proxy(
    {},
    {
      ownKeys: () => {
        throw new Error('trap');
      },
    },
  ),
  { nested: [{ s: '\udbff' }, { t: 'ok', u: -0 }] },
];
const value = fc.oneof(
  num,
  str,
  fc.constantFrom(...hostile),
  fc.constantFrom<unknown>(null, undefined, true, false, 10n, Object.create(null), Object.assign(Object.create(null), { k: '\udfff' }), () => 1, new Uint8Array([1, 2, 3]), new Uint8Array(40_000)),
  fc.record({ s: str, n: num }),
  fc.array(num, { maxLength: 3 }),
);
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const kind = fc.constantFrom('a', 'b', 'a', 'b', 'nope');
const view = fc.nat(2);

type Cmd =
  | { op: 'submit'; v: number; kind: string; payload: unknown; o: { priority?: number; deadline?: number; maxAttempts?: number; backoffMs?: number } }
  | { op: 'join'; v: number; cap: number; kinds: string[] }
  | { op: 'claim'; v: number; w: number; n: number; lease: number }
  | { op: 'complete'; v: number; w: number; id: number; attempt: number; result: unknown }
  | { op: 'fail'; v: number; w: number; id: number; attempt: number; error: unknown }
  | { op: 'renew'; v: number; w: number; id: number; attempt: number; lease: number }
  | { op: 'cancel'; v: number; ids: number[] }
  | { op: 'setCapacity' | 'drain' | 'evict'; v: number; w: number; cap: number }
  | { op: 'tick'; v: number }
  | { op: 'finishHeld'; v: number; pick: number; ok: boolean; value: unknown };

const lease = fc.oneof(num, fc.constant(60_000));
// Mostly none (a small number is a deadline long past: the task fails at once), sometimes far ahead.
const deadline = fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: num, weight: 1 }, { arbitrary: fc.constant(4e12), weight: 1 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('submit' as const), v: view, kind, payload: value, o: fc.record({ priority: maybe(num), deadline: deadline, maxAttempts: maybe(num), backoffMs: maybe(num) }, { requiredKeys: [] }) }), weight: 3 },
  fc.record({ op: fc.constant('join' as const), v: view, cap: num, kinds: fc.array(kind, { minLength: 1, maxLength: 2 }) }),
  { arbitrary: fc.record({ op: fc.constant('claim' as const), v: view, w: num, n: num, lease }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('complete' as const), v: view, w: num, id: num, attempt: num, result: value }), weight: 3 },
  fc.record({ op: fc.constant('fail' as const), v: view, w: num, id: num, attempt: num, error: value }),
  fc.record({ op: fc.constant('renew' as const), v: view, w: num, id: num, attempt: num, lease }),
  fc.record({ op: fc.constant('cancel' as const), v: view, ids: fc.array(num, { maxLength: 3 }) }),
  fc.record({ op: fc.constantFrom('setCapacity' as const, 'drain' as const, 'evict' as const), v: view, w: num, cap: num }),
  fc.record({ op: fc.constant('tick' as const), v: view }),
  // Finish an attempt a claim handed out (with an edge result or reason), by whichever view.
  { arbitrary: fc.record({ op: fc.constant('finishHeld' as const), v: view, pick: fc.nat(), ok: fc.boolean(), value }), weight: 3 },
);

type Held = { w: number; id: number; attempt: number };

/** Issue one command; every failure must be a SchedError, thrown or rejected. */
async function issue(views: Scheduler[], c: Cmd, settled: Promise<unknown>[], held: Held[]): Promise<void> {
  const s = views[c.v]!;
  try {
    switch (c.op) {
      case 'submit': {
        const p = s.submit(c.kind, c.payload, c.o);
        settled.push(p);
        p.catch(() => {});
        await new Promise((r) => setImmediate(r)); // its submit op is written
        return;
      }
      case 'join':
        await s.join(c.cap, c.kinds);
        return;
      case 'claim':
        for (const t of await s.claim(c.w, c.n, c.lease)) held.push({ w: c.w, id: t.id, attempt: t.attempt });
        return;
      case 'finishHeld': {
        if (held.length === 0) return;
        const h = held.splice(c.pick % held.length, 1)[0]!;
        if (c.ok) await s.complete(h.w, h.id, h.attempt, c.value);
        else await s.fail(h.w, h.id, h.attempt, c.value);
        return;
      }
      case 'complete':
        await s.complete(c.w, c.id, c.attempt, c.result);
        return;
      case 'fail':
        await s.fail(c.w, c.id, c.attempt, c.error);
        return;
      case 'renew':
        await s.renew(c.w, c.id, c.attempt, c.lease);
        return;
      case 'cancel':
        await s.cancel(c.ids);
        return;
      case 'setCapacity':
        await s.setCapacity(c.w, c.cap);
        return;
      case 'drain':
        await s.drain(c.w);
        return;
      case 'evict':
        await s.evict(c.w);
        return;
      case 'tick':
        await s.tick();
        return;
    }
  } catch (e) {
    if (!(e instanceof SchedError)) throw new Error(`${c.op} failed with a ${(e as Error)?.name}, not a SchedError: ${String((e as Error)?.message)}`);
  }
}

describe('sched replicas under edge-value arguments', () => {
  it('every op with edge values: typed errors only, and all replicas hold the same digest', async () => {
    const totals = { submitted: 0, claimed: 0, done: 0, failed: 0, cancelled: 0, workers: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 60, size: 'large' }), async (cmds) => {
        const handle = createScheduler({ kinds: ['a', 'b'], threads: 3, logBytes: 512 * 1024, policy: 'fifo' });
        const views = [0, 1, 2].map(() => openScheduler(handle, { retain: true }));
        const settled: Promise<unknown>[] = [];
        const held: Held[] = [];
        try {
          for (const c of cmds) await issue(views, c, settled, held);
          for (const v of views) v.replica.sync();
          const sum = views[0]!.summary();
          totals.submitted += sum.counts.submitted;
          totals.done += sum.counts.done;
          totals.failed += sum.counts.failed;
          totals.cancelled += sum.counts.cancelled;
          totals.claimed += views[0]!.tasks().filter((t) => t.attempts > 0).length;
          for (let w = 1; views[0]!.worker(w) !== undefined; w++) totals.workers++;
          const digests = views.map((v) => v.replica.digest());
          expect(digests[1]).toBe(digests[0]);
          expect(digests[2]).toBe(digests[0]);
        } finally {
          for (const v of views) v.close();
        }
        // Every await ended in a typed error or a value (close() rejects the rest with SchedulerClosedError).
        for (const r of await Promise.allSettled(settled)) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SchedError);
      }),
      { numRuns: 300, seed: 18 },
    );
    // The sequences reached the applies, not only the call-site checks.
    if (process.env.SCHED_DEBUG) console.log(totals);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) expect(totals[k], k).toBeGreaterThan(0);
  }, 120_000);
});
