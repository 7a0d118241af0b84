/**
 * The scheduler's state machine in one thread: property tests against a
 * simple model (fast-check), lease expiry and backoff with injected times,
 * typed outcomes, and the Min-Worker-Set policy on a fixed multi-kind trace.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FailCode, Outcome } from '../src/sched/errors.js';
import * as st from '../src/sched/state.js';
import { leasedTasks } from '../src/sched/leases.js';
import { coldStartTrace } from '../src/sched/trace.js';

const KINDS = ['a', 'b', 'c'];

/** `st.claim` with its result as ClaimedTask records. */
function claimT(s: st.SchedState, worker: number, n: number, leaseMs: number, now: number): st.Effects<st.ClaimedTask[]> {
  const e = st.claim(s, worker, n, leaseMs, now);
  return { ...e, value: st.claimedTasks(e.value) };
}

interface MTask {
  kind: string;
  priority: number;
  state: st.TaskState;
  owner: number;
  attempts: number;
  leaseUntil: number;
  notBefore: number;
  maxAttempts: number;
  backoffMs: number;
  doneCount: number;
}
interface MWorker {
  capacity: number;
  kinds: string[];
  status: st.WorkerStatus;
}

type Cmd =
  | { op: 'submit'; kinds: number[]; prios: number[]; max: number; backoff: number; dt: number }
  | { op: 'join'; cap: number; kinds: number[]; dt: number }
  | { op: 'claim'; w: number; n: number; lease: number; dt: number }
  | { op: 'finish'; w: number; pick: number; ok: boolean; stale: boolean; dt: number }
  | { op: 'renew'; w: number; pick: number; lease: number; dt: number }
  | { op: 'cancel'; pick: number; dt: number }
  | { op: 'tick'; dt: number }
  | { op: 'leave'; w: number; dt: number }
  | { op: 'drain'; w: number; dt: number }
  | { op: 'cap'; w: number; cap: number; dt: number };

const dt = fc.integer({ min: -5, max: 40 }); // negative: an issuer with a lagging clock
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ op: fc.constant('submit' as const), kinds: fc.array(fc.nat(2), { minLength: 1, maxLength: 4 }), prios: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }), max: fc.integer({ min: 1, max: 3 }), backoff: fc.integer({ min: 0, max: 20 }), dt }),
  fc.record({ op: fc.constant('join' as const), cap: fc.integer({ min: 0, max: 3 }), kinds: fc.array(fc.nat(2), { minLength: 1, maxLength: 3 }), dt }),
  fc.record({ op: fc.constant('claim' as const), w: fc.nat(5), n: fc.integer({ min: 1, max: 4 }), lease: fc.integer({ min: 1, max: 60 }), dt }),
  fc.record({ op: fc.constant('claim' as const), w: fc.nat(5), n: fc.integer({ min: 1, max: 4 }), lease: fc.integer({ min: 1, max: 60 }), dt }),
  fc.record({ op: fc.constant('finish' as const), w: fc.nat(5), pick: fc.nat(50), ok: fc.boolean(), stale: fc.boolean(), dt }),
  fc.record({ op: fc.constant('finish' as const), w: fc.nat(5), pick: fc.nat(50), ok: fc.boolean(), stale: fc.boolean(), dt }),
  fc.record({ op: fc.constant('renew' as const), w: fc.nat(5), pick: fc.nat(50), lease: fc.integer({ min: 1, max: 60 }), dt }),
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat(50), dt }),
  fc.record({ op: fc.constant('tick' as const), dt }),
  fc.record({ op: fc.constant('leave' as const), w: fc.nat(5), dt }),
  fc.record({ op: fc.constant('drain' as const), w: fc.nat(5), dt }),
  fc.record({ op: fc.constant('cap' as const), w: fc.nat(5), cap: fc.integer({ min: 0, max: 4 }), dt }),
);

/** Runs commands against the state and a model, checking every step. */
function runModel(policy: st.Policy, cmds: Cmd[]): void {
  const s = st.createState({ policy, spillAfterMs: 30 });
  const tasks = new Map<number, MTask>();
  const workers = new Map<number, MWorker>();
  let clock = 0;
  let now = 0;
  // What each worker believes it holds (id -> attempt), including stale ones.
  const held = new Map<number, Map<number, number>>();

  const modelAdvance = (): void => {
    if (now > clock) clock = now;
    for (const t of tasks.values()) {
      if (t.state === 'running' && t.leaseUntil <= clock) endAttempt(t, false);
    }
  };
  const endAttempt = (t: MTask, handlerFailed: boolean): void => {
    t.owner = -1;
    if (t.attempts >= t.maxAttempts) t.state = 'failed';
    else {
      t.state = 'queued';
      t.notBefore = handlerFailed && t.backoffMs > 0 ? clock + t.backoffMs * 2 ** (t.attempts - 1) : 0;
    }
  };
  const running = (w: number): number => [...tasks.values()].filter((t) => t.state === 'running' && t.owner === w).length;
  const eligible = (w: number, t: MTask): boolean => t.state === 'queued' && t.notBefore <= clock && workers.get(w)!.kinds.includes(t.kind);

  for (const c of cmds) {
    now = Math.max(0, now + c.dt);
    switch (c.op) {
      case 'submit': {
        const specs = c.kinds.map((k, i) => ({ kind: KINDS[k]!, payload: i, priority: c.prios[i]!, maxAttempts: c.max, backoffMs: c.backoff }));
        const first = st.submit(s, 0, specs, now).value;
        modelAdvance();
        specs.forEach((sp, i) =>
          tasks.set(first + i, { kind: sp.kind, priority: sp.priority, state: 'queued', owner: -1, attempts: 0, leaseUntil: 0, notBefore: 0, maxAttempts: c.max, backoffMs: c.backoff, doneCount: 0 }),
        );
        break;
      }
      case 'join': {
        const kinds = [...new Set(c.kinds.map((k) => KINDS[k]!))];
        const id = st.join(s, c.cap, kinds, now).value;
        modelAdvance();
        workers.set(id, { capacity: c.cap, kinds, status: 'active' });
        held.set(id, new Map());
        break;
      }
      case 'claim': {
        const r = claimT(s, c.w, c.n, c.lease, now).value;
        modelAdvance();
        const w = workers.get(c.w);
        if (w === undefined || w.status !== 'active') {
          expect(r).toEqual([]);
          break;
        }
        const room = Math.min(c.n, w.capacity - running(c.w));
        expect(r.length).toBeLessThanOrEqual(Math.max(0, room));
        for (const ct of r) {
          const t = tasks.get(ct.id)!;
          // Deterministic choice: the task was claimable, and none better was (FIFO by priority).
          expect(eligible(c.w, t)).toBe(true);
          if (policy === 'fifo') {
            for (const [id, o] of tasks) {
              if (eligible(c.w, o)) expect(o.priority > t.priority || (o.priority === t.priority && id < ct.id)).toBe(false);
            }
          }
          t.state = 'running';
          t.owner = c.w;
          t.attempts++;
          t.leaseUntil = clock + c.lease;
          expect(ct.attempt).toBe(t.attempts);
          held.get(c.w)!.set(ct.id, ct.attempt);
        }
        if (policy === 'fifo' && r.length < room) {
          // Work-conserving: nothing claimable was left behind.
          for (const o of tasks.values()) expect(eligible(c.w, o)).toBe(false);
        }
        break;
      }
      case 'finish':
      case 'renew': {
        const mine = held.get(c.w);
        const entries = mine ? [...mine.entries()] : [];
        let id: number;
        let attempt: number;
        if (entries.length > 0 && !(c.op === 'finish' && c.stale)) [id, attempt] = entries[c.pick % entries.length]!;
        else {
          id = 1 + (c.pick % Math.max(1, tasks.size));
          attempt = tasks.get(id)?.attempts ?? 1;
        }
        const res =
          c.op === 'finish'
            ? st.finish(s, c.w, [{ id, attempt, ok: c.ok, result: c.ok ? id : undefined, error: 'boom' }], now).value[0]
            : st.renew(s, c.w, [{ id, attempt }], c.lease, now).value[0];
        modelAdvance();
        const t = tasks.get(id);
        const ownsNow = t !== undefined && t.state === 'running' && t.owner === c.w && t.attempts === attempt;
        expect(res === Outcome.Ok).toBe(ownsNow);
        if (!ownsNow) {
          if (t === undefined) expect(res).toBe(Outcome.UnknownTask);
          else expect([Outcome.NotOwner, Outcome.LeaseLost]).toContain(res);
          break;
        }
        mine?.delete(id);
        if (c.op === 'renew') {
          t.leaseUntil = clock + c.lease;
          mine?.set(id, attempt);
        } else if (c.ok) {
          t.state = 'done';
          t.owner = -1;
          t.doneCount++;
        } else endAttempt(t, true);
        break;
      }
      case 'cancel': {
        const id = 1 + (c.pick % Math.max(1, tasks.size));
        const res = st.cancel(s, [id], now).value[0];
        modelAdvance();
        const t = tasks.get(id);
        if (t === undefined) expect(res).toBe(Outcome.UnknownTask);
        else if (t.state === 'queued' || t.state === 'running') {
          expect(res).toBe(Outcome.Ok);
          t.state = 'cancelled';
          t.owner = -1;
        } else expect(res).toBe(Outcome.AlreadySettled);
        break;
      }
      case 'tick':
        st.tick(s, now);
        modelAdvance();
        break;
      case 'leave': {
        const res = st.leave(s, c.w, now).value;
        modelAdvance();
        const w = workers.get(c.w);
        expect(res === Outcome.Ok).toBe(w !== undefined && w.status !== 'gone');
        if (w && w.status !== 'gone') {
          w.status = 'gone';
          for (const t of tasks.values()) if (t.state === 'running' && t.owner === c.w) endAttempt(t, false);
        }
        break;
      }
      case 'drain': {
        const res = st.drain(s, c.w, now).value;
        modelAdvance();
        const w = workers.get(c.w);
        expect(res === Outcome.Ok).toBe(w !== undefined && w.status !== 'gone');
        if (w && w.status !== 'gone') w.status = 'draining';
        break;
      }
      case 'cap': {
        const res = st.setCapacity(s, c.w, c.cap, now).value;
        modelAdvance();
        const w = workers.get(c.w);
        expect(res === Outcome.Ok).toBe(w !== undefined && w.status !== 'gone');
        if (w && w.status !== 'gone') w.capacity = c.cap;
        break;
      }
    }
    // After every op: the state agrees with the model, and the invariants hold.
    expect(s.clock).toBe(clock);
    for (const [id, m] of tasks) {
      const t = s.tasks.get(id)!;
      expect([id, t.state, t.owner, t.attempts]).toEqual([id, m.state, m.owner, m.attempts]);
      expect(t.attempts).toBeLessThanOrEqual(t.maxAttempts);
      expect(m.doneCount).toBeLessThanOrEqual(1);
      // The attempt log: one entry per attempt, at most one live (the last), intervals in order, done at most once.
      const log = st.attemptLog(t);
      expect(log.length).toBe(t.attempts);
      log.forEach((a, i) => {
        expect(a.attempt).toBe(i + 1);
        if (i < log.length - 1) {
          expect(a.end).not.toBe('running');
          expect(a.to).toBeLessThanOrEqual(log[i + 1]!.from);
        }
      });
      expect(log.filter((a) => a.end === 'running').length).toBe(t.state === 'running' ? 1 : 0);
      expect(log.filter((a) => a.end === 'done').length).toBe(t.state === 'done' ? 1 : 0);
    }
    // The lease run: its live entries are exactly the running tasks, one each, keyed by their
    // current lease; sorted by (until, id); the front (the next to expire) is live; stale entries bounded.
    const h = s.leases;
    const runningIds = [...tasks].filter(([, t]) => t.state === 'running').map(([id]) => id).sort((x, y) => x - y);
    expect(leasedTasks(h).map((t) => t.id).sort((x, y) => x - y)).toEqual(runningIds);
    expect(h.live).toBe(runningIds.length);
    expect(h.until.length - h.head).toBeLessThanOrEqual(2 * h.live + 1024);
    if (h.until.length > h.head) expect(h.task[h.head]!.leaseStamp).toBe(h.stamp[h.head]);
    for (let i = h.head; i < h.until.length; i++) {
      const t = h.task[i]!;
      expect(h.id[i]).toBe(t.id);
      if (t.leaseStamp === h.stamp[i]) {
        expect(t.state).toBe('running');
        expect(h.until[i]).toBe(t.leaseUntil);
      }
      if (i > h.head) expect(h.until[i - 1]! < h.until[i]! || (h.until[i - 1] === h.until[i] && h.id[i - 1]! <= h.id[i]!)).toBe(true);
    }
    for (const t of s.tasks.values()) expect(t.leaseStamp === 0).toBe(t.state !== 'running');
    for (const [id, w] of workers) {
      const sw = s.workers.get(id)!;
      expect(sw.status).toBe(w.status);
      expect(sw.running).toBe(running(id));
    }
  }
}

describe('sched state machine', () => {
  it('matches a simple model under random op sequences (FIFO)', () => {
    fc.assert(fc.property(fc.array(cmd, { minLength: 1, maxLength: 120 }), (cmds) => runModel('fifo', cmds)), { numRuns: 300 });
  });

  it('matches a simple model under random op sequences (Min-Worker-Set)', () => {
    fc.assert(fc.property(fc.array(cmd, { minLength: 1, maxLength: 120 }), (cmds) => runModel('mws', cmds)), { numRuns: 300 });
  });

  it('is deterministic: the same ops give the same digest', () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 60 }), (cmds) => {
        const a = st.createState();
        const b = st.createState();
        const apply = (s: st.SchedState): void => {
          let now = 0;
          for (const c of cmds) {
            now = Math.max(0, now + c.dt);
            if (c.op === 'submit') st.submit(s, 0, c.kinds.map((k) => ({ kind: KINDS[k]! , payload: null })), now);
            else if (c.op === 'join') st.join(s, c.cap, c.kinds.map((k) => KINDS[k]!), now);
            else if (c.op === 'claim') claimT(s, c.w, c.n, c.lease, now);
            else if (c.op === 'leave') st.leave(s, c.w, now);
            else st.tick(s, now);
          }
        };
        apply(a);
        apply(b);
        expect(st.digest(a)).toBe(st.digest(b));
      }),
      { numRuns: 100 },
    );
  });
});

describe('sched leases, retries, deadlines (injected time)', () => {
  it('a deadline fires on any op once the clock passes it, while the task waits: queued, backed off, or requeued after a lost lease; never while it runs', () => {
    const s = st.createState({ policy: 'fifo' });
    const w = st.join(s, 3, ['a'], 0).value;
    const first = st.submit(s, 4, [
      { kind: 'b', payload: 0, deadline: 50 }, // no worker for its kind: waits
      { kind: 'a', payload: 1, deadline: 50, backoffMs: 100 }, // fails once, backs off past its deadline
      { kind: 'a', payload: 2, deadline: 50 }, // its lease expires after the deadline
      { kind: 'a', payload: 3, deadline: 50 }, // runs past its deadline and completes
    ], 0).value;
    const [queued, backedOff, expires, runs] = [first, first + 1, first + 2, first + 3];
    expect(st.nextDue(s)).toBe(50 + 1e-3);
    expect(claimT(s, w, 3, 100, 1).value.map((c) => c.id)).toEqual([backedOff, expires, runs]);
    expect(st.renew(s, w, [{ id: runs, attempt: 1 }], 1000, 2).value).toEqual([Outcome.Ok]);
    expect(st.finish(s, w, [{ id: backedOff, attempt: 1, ok: false, error: 'later' }], 10).value).toEqual([Outcome.Ok]);
    expect(st.tick(s, 50).value).toBeNull(); // clock == deadline: still allowed to start
    expect([queued, backedOff].map((id) => s.tasks.get(id)!.state)).toEqual(['queued', 'queued']);
    const eff = st.tick(s, 51);
    expect(eff.wake).toEqual([4]);
    expect([queued, backedOff].map((id) => [s.tasks.get(id)!.state, s.tasks.get(id)!.failCode])).toEqual([
      ['failed', FailCode.Deadline],
      ['failed', FailCode.Deadline],
    ]);
    expect(s.tasks.get(expires)!.state).toBe('running');
    st.tick(s, 101); // its lease expires; retrying would start it after its deadline
    expect([s.tasks.get(expires)!.state, s.tasks.get(expires)!.failCode, s.tasks.get(expires)!.attempts]).toEqual(['failed', FailCode.Deadline, 1]);
    expect(st.finish(s, w, [{ id: runs, attempt: 1, ok: true, result: 'late but fine' }], 200).value).toEqual([Outcome.Ok]);
    expect(s.tasks.get(runs)!.state).toBe('done');
    expect(s.deadlines).toEqual([]);
    expect(s.load.get('a')).toBe(0);
    expect(s.load.get('b')).toBe(0);
    expect(st.nextDue(s)).toBe(Infinity);
  });

  it('a final failure (uncloneable or oversized result) is not retried', () => {
    const s = st.createState();
    const w = st.join(s, 1, ['a'], 0).value;
    const id = st.submit(s, 0, [{ kind: 'a', payload: 0, maxAttempts: 5 }], 0).value;
    claimT(s, w, 1, 100, 0);
    st.finish(s, w, [{ id, attempt: 1, ok: false, final: FailCode.TooLarge, error: 'result is too large' }], 1);
    expect([s.tasks.get(id)!.state, s.tasks.get(id)!.failCode, s.tasks.get(id)!.attempts]).toEqual(['failed', FailCode.TooLarge, 1]);
  });

  it('an expired lease returns the task to the queue; the old owner gets LeaseLost; a completed task stays completed', () => {
    const s = st.createState({ policy: 'fifo' });
    const w1 = st.join(s, 1, ['a'], 0).value;
    const w2 = st.join(s, 1, ['a'], 0).value;
    const id = st.submit(s, 7, [{ kind: 'a', payload: 'x', maxAttempts: 3 }], 0).value;
    const [c1] = claimT(s, w1, 1, 100, 10).value;
    expect(c1).toMatchObject({ id, attempt: 1, leaseUntil: 110 });
    expect(claimT(s, w2, 1, 100, 50).value).toEqual([]); // still leased to w1
    expect(st.renew(s, w1, [{ id, attempt: 1 }], 100, 60).value).toEqual([Outcome.Ok]); // lease now 160
    expect(claimT(s, w2, 1, 100, 150).value).toEqual([]);
    const [c2] = claimT(s, w2, 1, 100, 161).value; // expired at 160
    expect(c2).toMatchObject({ id, attempt: 2 });
    expect(s.counts.expired).toBe(1);
    expect(st.finish(s, w1, [{ id, attempt: 1, ok: true, result: 1 }], 170).value).toEqual([Outcome.LeaseLost]);
    expect(st.finish(s, w2, [{ id, attempt: 1, ok: true, result: 1 }], 170).value).toEqual([Outcome.NotOwner]);
    const r = st.finish(s, w2, [{ id, attempt: 2, ok: true, result: 'ok' }], 171);
    expect(r.value).toEqual([Outcome.Ok]);
    expect(r.wake).toEqual([7]);
    expect(st.finish(s, w2, [{ id, attempt: 2, ok: false, error: 'late' }], 172).value).toEqual([Outcome.LeaseLost]);
    expect(st.cancel(s, [id], 173).value).toEqual([Outcome.AlreadySettled]);
    const t = st.taskInfo(s, id)!;
    expect(t.state).toBe('done');
    expect(t.result).toBe('ok');
    expect(t.log.map((a) => [a.worker, a.end])).toEqual([
      [w1, 'expired'],
      [w2, 'done'],
    ]);
    expect(st.settledSince(s, 7, 0)).toMatchObject({ next: 1, items: [{ id, state: 'done', result: 'ok', attempts: 2 }] });
  });

  it('time never goes backwards: a lagging issuer cannot un-expire a lease', () => {
    const s = st.createState();
    const w = st.join(s, 1, ['a'], 1000).value;
    st.submit(s, 0, [{ kind: 'a', payload: 0 }], 1000);
    const [c] = claimT(s, w, 1, 10, 1000).value;
    st.tick(s, 500);
    expect(s.clock).toBe(1000);
    expect(st.finish(s, w, [{ id: c!.id, attempt: 1, ok: true }], 1005).value).toEqual([Outcome.Ok]);
  });

  it('fail retries with exponential backoff, then fails after maxAttempts', () => {
    const s = st.createState();
    const w = st.join(s, 1, ['a'], 0).value;
    const id = st.submit(s, 3, [{ kind: 'a', payload: 0, maxAttempts: 3, backoffMs: 10 }], 0).value;
    const fail = (t: number, attempt: number): void => {
      expect(claimT(s, w, 1, 100, t).value.map((c) => c.attempt)).toEqual([attempt]);
      expect(st.finish(s, w, [{ id, attempt, ok: false, error: `e${attempt}` }], t).value).toEqual([Outcome.Ok]);
    };
    fail(0, 1);
    expect(claimT(s, w, 1, 100, 9).value).toEqual([]); // not before 10
    fail(10, 2);
    expect(claimT(s, w, 1, 100, 29).value).toEqual([]); // not before 10 + 20
    fail(30, 3);
    const t = st.taskInfo(s, id)!;
    expect([t.state, t.attempts, t.error]).toEqual(['failed', 3, 'e3']);
    expect(claimT(s, w, 1, 100, 1000).value).toEqual([]);
  });

  it('a lease that expires on the last attempt fails the task; a deadline passed before start fails it', () => {
    const s = st.createState();
    const w = st.join(s, 2, ['a'], 0).value;
    const id = st.submit(s, 0, [{ kind: 'a', payload: 0, maxAttempts: 1 }, { kind: 'a', payload: 1, deadline: 50 }], 0).value;
    claimT(s, w, 1, 10, 0);
    const r = st.tick(s, 10);
    expect(r.wake).toEqual([0]);
    expect(st.taskInfo(s, id)!.state).toBe('failed');
    expect(claimT(s, w, 1, 10, 51).value).toEqual([]);
    expect(st.taskInfo(s, id + 1)!).toMatchObject({ state: 'failed', attempts: 0 });
  });

  it('drain claims nothing new; leave requeues running tasks; shrink caps claims; priorities go first', () => {
    const s = st.createState({ policy: 'fifo' });
    const w1 = st.join(s, 4, ['a'], 0).value;
    const w2 = st.join(s, 4, ['a'], 0).value;
    const first = st.submit(s, 0, [0, 5, 1, 5, 0, 0].map((priority, i) => ({ kind: 'a', payload: i, priority })), 0).value;
    expect(st.setCapacity(s, w1, 2, 0).value).toBe(Outcome.Ok);
    expect(claimT(s, w1, 10, 100, 1).value.map((c) => c.id - first)).toEqual([1, 3]);
    expect(st.drain(s, w1, 2).value).toBe(Outcome.Ok);
    expect(claimT(s, w1, 10, 100, 2).value).toEqual([]);
    expect(st.leave(s, w1, 3).value).toBe(Outcome.Ok);
    expect(st.workerInfo(s, w1)).toMatchObject({ status: 'gone', running: 0 });
    expect(claimT(s, w2, 3, 100, 4).value.map((c) => [c.id - first, c.attempt])).toEqual([
      [1, 2],
      [3, 2],
      [2, 1],
    ]);
    expect(st.leave(s, w1, 5).value).toBe(Outcome.UnknownWorker);
    expect(st.setCapacity(s, 99, 1, 5).value).toBe(Outcome.UnknownWorker);
  });
});

describe('sched policy (fixed multi-kind trace)', () => {
  it('Min-Worker-Set keeps each kind on fewer workers than FIFO and has fewer cold starts', () => {
    const fifo = coldStartTrace('fifo');
    const mws = coldStartTrace('mws');
    // Every task ran to completion under both.
    expect(fifo.done).toBe(fifo.tasks);
    expect(mws.done).toBe(mws.tasks);
    expect(mws.coldStarts).toBeLessThan(fifo.coldStarts);
    for (const kind of Object.keys(fifo.workersPerKind)) {
      expect(mws.workersPerKind[kind]!).toBeLessThanOrEqual(fifo.workersPerKind[kind]!);
    }
    expect(mws.meanWorkersPerKind).toBeLessThan(fifo.meanWorkersPerKind);
  });

  it('Min-Worker-Set spreads a kind to a cold worker only when its warm set is saturated', () => {
    const s = st.createState({ policy: 'mws', spillAfterMs: 1000 });
    const w1 = st.join(s, 1, ['a'], 0).value;
    const w2 = st.join(s, 1, ['a'], 0).value;
    st.submit(s, 0, [{ kind: 'a', payload: 0 }, { kind: 'a', payload: 1 }], 0);
    const [c] = claimT(s, w1, 1, 100, 0).value;
    st.finish(s, w1, [{ id: c!.id, attempt: 1, ok: true }], 0);
    // The kind's demand (1) fits its warm set (w1, capacity 1): cold w2 waits.
    expect(claimT(s, w2, 1, 100, 1).value).toEqual([]);
    expect(claimT(s, w1, 1, 100, 2).value.length).toBe(1);
    expect(claimT(s, w2, 1, 100, 2).value).toEqual([]);
    // Demand 2 > warm capacity 1: w2 may start the kind.
    st.submit(s, 0, [{ kind: 'a', payload: 2 }], 3);
    expect(claimT(s, w2, 1, 100, 3).value.length).toBe(1);
    expect(s.coldStarts).toBe(2);
  });

  it('Min-Worker-Set never starves a kind: a cold worker takes it after spillAfterMs', () => {
    const s = st.createState({ policy: 'mws', spillAfterMs: 20 });
    const w1 = st.join(s, 1, ['a'], 0).value; // warm, free, but never claims (hung)
    const w2 = st.join(s, 1, ['a'], 0).value;
    st.submit(s, 0, [{ kind: 'a', payload: 0 }, { kind: 'a', payload: 1 }], 0);
    const [c] = claimT(s, w1, 1, 100, 0).value;
    st.finish(s, w1, [{ id: c!.id, attempt: 1, ok: true }], 0);
    expect(claimT(s, w2, 1, 100, 19).value).toEqual([]);
    expect(claimT(s, w2, 1, 100, 20).value.length).toBe(1);
  });
});
