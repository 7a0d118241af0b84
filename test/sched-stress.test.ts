/**
 * The scheduler under stress, on real worker threads (issue 18): runners
 * that survive bad tasks, leases and in-flight bookkeeping keyed by
 * (task, attempt), replicas that cannot diverge on any argument, deadlines
 * and lease expiry that fire without ops, capacity that counts handlers
 * still running, bounded awaits, and one error family for submit and close.
 * Every wait is bounded (`within`), so a regression fails instead of hanging.
 */
import { describe, expect, it } from 'vitest';
import { declareDead } from '../src/nr/index.js';
import {
  BadArgumentError,
  createScheduler,
  openScheduler,
  Runner,
  SchedError,
  SchedulerClosedError,
  schedNow,
  type Scheduler,
  type SchedulerHandle,
  type Task,
} from '../src/sched/index.js';
import { expectEchoedOnce, startRunner, trackSched, until, within, type RunnerExtras, type RunnerWorker } from './support/sched-workers.js';
import { runWorkers } from './support/spawn.js';

const { open, workers } = trackSched();

const KINDS = ['work', 'echo', 'bad', 'slow', 'orphan'];

function setup(threads = 3, retain = true): { handle: SchedulerHandle; sched: Scheduler } {
  const handle = createScheduler({ kinds: KINDS, threads, policy: 'fifo' });
  const sched = openScheduler(handle, { retain });
  open.push(sched);
  return { handle, sched };
}

async function runner(handle: SchedulerHandle, capacity: number, leaseMs: number, kinds?: string[], extras?: RunnerExtras): Promise<RunnerWorker> {
  const w = await startRunner(handle, new SharedArrayBuffer(4 * 4096), capacity, leaseMs, kinds ?? ['work', 'echo', 'bad', 'slow'], extras);
  workers.push(w);
  return w;
}

/** The settled outcome of `p` (bounded): its value, or its error. */
async function outcome(p: Promise<unknown>, ms = 15_000, what = 'task'): Promise<{ ok: true; value: unknown } | { ok: false; error: SchedError }> {
  try {
    return { ok: true, value: await within(p, ms, what) };
  } catch (e) {
    return { ok: false, error: e as SchedError };
  }
}

/**
 * The runner thread's replica and this one hold the same state at the same
 * log position (the digest covers the clock and the op count too). The
 * runner's idle claims move the log meanwhile, so its digest is taken first
 * and this replica then catches up to at least that position; a retry (at
 * most 50) covers an op that landed in between.
 */
async function expectAgree(sched: Scheduler, w: RunnerWorker): Promise<void> {
  let theirs = '';
  let ours = '';
  for (let i = 0; i < 50; i++) {
    theirs = await w.digest();
    sched.replica.sync();
    ours = sched.replica.digest();
    if (theirs === ours) return;
  }
  expect(theirs).toBe(ours);
}

async function idOf(sched: Scheduler, p: () => Promise<unknown>): Promise<{ id: number; done: Promise<unknown> }> {
  const before = sched.summary().nextTaskId;
  const done = p();
  done.catch(() => {});
  await until(() => sched.summary().nextTaskId > before);
  return { id: before, done };
}

describe('sched under stress: leases keyed by (task, attempt)', () => {
  it('a stale attempt that returns late does not cost the live attempt of the same task its lease (issue 18.1)', async () => {
    const { handle, sched } = setup();
    // Capacity 2: task A (async, 1 s) and task B (its first attempt blocks the loop for 700 ms, past
    // the 400 ms lease): both leases expire; the runner re-claims A while A's first attempt still runs.
    await runner(handle, 2, 400);
    const a = sched.submit<number>('work', { x: 1, ms: 1000 }, { maxAttempts: 3, backoffMs: 0 });
    const b = sched.submit<number>('work', { x: 2, spinFirst: 700 }, { maxAttempts: 3, backoffMs: 0 });
    expect(await outcome(a, 20_000, 'A')).toEqual({ ok: true, value: 2 });
    expect(await outcome(b, 20_000, 'B')).toEqual({ ok: true, value: 4 });
    const [ta, tb] = sched.tasks();
    expect(ta!.log.map((x) => x.end)).toEqual(['expired', 'done']);
    expect(tb!.log.map((x) => x.end)).toEqual(['expired', 'done']);
  });

  it('capacity counts handlers still running: a cancelled task holds its slot until its handler returns, and its signal aborts', async () => {
    const { handle, sched } = setup();
    const probe = new SharedArrayBuffer(16);
    const words = new Int32Array(probe);
    await runner(handle, 1, 300, undefined, { probe });
    const first = await idOf(sched, () => sched.submit('slow', { ms: 2000 }));
    await until(() => Atomics.load(words, 0) === 1);
    expect(await sched.cancel([first.id])).toEqual([null]);
    const second = sched.submit<number>('slow', { ms: 10 });
    expect(await outcome(first.done)).toMatchObject({ ok: false, error: { code: 'SCHED_CANCELLED' } });
    expect(await outcome(second)).toEqual({ ok: true, value: 1 });
    expect(Atomics.load(words, 1)).toBe(1); // never two handlers at once on a capacity-1 runner
    expect(Atomics.load(words, 2)).toBe(1); // the cancelled attempt's signal aborted,
    expect(Atomics.load(words, 3)).toBe(1); // with a LeaseLostError as its reason
  });
});

describe('sched under stress: a lost lease', () => {
  it('capacity counts handlers still running after a lost lease: the slot stays taken until the handler returns, its signal aborts, the retry\'s result is awaited', async () => {
    const { handle, sched } = setup();
    const probe = new SharedArrayBuffer(16);
    const words = new Int32Array(probe);
    await runner(handle, 1, 1000, ['slow'], { probe });
    // Attempt 1 blocks its thread's loop for 2500 ms (no renewal can run: the 1 s lease expires, the
    // submitter's ticks requeue the task), then lives on for the rest of its 3000 ms.
    const r = await outcome(sched.submit<number>('slow', { ms: 3000, blockFirst: 2500 }, { maxAttempts: 3 }), 30_000);
    expect(r).toEqual({ ok: true, value: 2 }); // attempt 2's result; attempt 1's was dropped
    expect(Atomics.load(words, 1)).toBe(1); // the capacity-1 runner never ran two handlers at once
    expect(Atomics.load(words, 2)).toBe(1); // attempt 1's signal aborted (attempt 2's did not),
    expect(Atomics.load(words, 3)).toBe(1); // with a LeaseLostError
    expect(sched.tasks()[0]!.log.map((a) => a.end)).toEqual(['expired', 'done']);
  });
});

describe('sched under stress: eviction', () => {
  it('an evicted runner aborts the signals of its running attempts at once and ends; the task runs again elsewhere', async () => {
    const { handle, sched } = setup(4);
    const probe = new SharedArrayBuffer(16);
    const words = new Int32Array(probe);
    const a = await runner(handle, 1, 60_000, ['slow'], { probe });
    const task = sched.submit<number>('slow', { ms: 1500 });
    await until(() => Atomics.load(words, 0) === 1);
    await sched.evict(a.workerId);
    await within(a.left, 10_000, 'evicted runner ends');
    await until(() => Atomics.load(words, 2) === 1); // aborted although its lease (60 s) had not expired
    expect(Atomics.load(words, 3)).toBe(1);
    await runner(handle, 1, 2000, ['slow'], { probe });
    expect(await outcome(task)).toEqual({ ok: true, value: 2 });
    expect(sched.tasks()[0]!.log.map((x) => x.end)).toEqual(['evicted', 'done']);
  });
});

describe('sched under stress: a runner never dies of its task', () => {
  it('a 2 MiB result (string or bytes) fails that task, not retried, with SCHED_PAYLOAD_TOO_LARGE; the runner lives on (issue 18.2)', async () => {
    const { handle, sched } = setup();
    const w = await runner(handle, 2, 2000);
    for (const mode of ['big-string', 'big-bytes']) {
      const r = await outcome(sched.submit('bad', { mode }, { maxAttempts: 3 }), 15_000, mode);
      expect(r).toMatchObject({ ok: false, error: { code: 'SCHED_PAYLOAD_TOO_LARGE' } });
      expect((r as { error: unknown }).error).toBeInstanceOf(SchedError);
    }
    expect(sched.tasks().map((t) => [t.state, t.attempts])).toEqual([
      ['failed', 1],
      ['failed', 1],
    ]);
    expect(await outcome(sched.submit('echo', 7))).toEqual({ ok: true, value: 7 });
    expect(sched.worker(w.workerId)!.status).toBe('active');
  });

  it('thrown or rejected values of any shape become typed failures with a readable reason (issue 18.3)', async () => {
    const { handle, sched } = setup();
    const w = await runner(handle, 2, 2000);
    const reasons: Record<string, string> = {};
    for (const mode of ['throw-null-proto', 'reject-null-proto', 'throw-object', 'throw-big', 'throw-surrogate', 'throw-proxy', 'throw-getter-message']) {
      const r = await outcome(sched.submit('bad', { mode }, { maxAttempts: 2, backoffMs: 0 }), 15_000, mode);
      expect(r).toMatchObject({ ok: false, error: { code: 'SCHED_TASK_FAILED', attempts: 2 } });
      reasons[mode] = (r as { error: Error }).error.message;
    }
    expect(reasons['throw-null-proto']).toContain('[Object: null prototype]');
    expect(reasons['reject-null-proto']).toContain('[Object: null prototype]');
    expect(reasons['throw-object']).toContain("code: 'E_BROKEN'");
    expect(reasons['throw-object']).toContain('n: 42');
    expect(reasons['throw-big']!.length).toBeLessThan(8192);
    expect(reasons['throw-surrogate']).toContain('bad \ufffd message');
    // A Proxy whose traps throw, an Error whose message getter throws: described without calling them again.
    expect(reasons['throw-proxy']).toContain('a value that cannot be described');
    expect(reasons['throw-getter-message']).toContain('a value that cannot be described');
    // The runner survived all of them, in the same thread, as the same worker.
    expect(await outcome(sched.submit('echo', 'still here'))).toEqual({ ok: true, value: 'still here' });
    expect(sched.worker(w.workerId)!.status).toBe('active');
    // Every replica agrees (the reasons travelled through the log).
    await expectAgree(sched, w);
  });

  it('an uncloneable result (returned, or resolved by a Promise) fails at once with SCHED_UNCLONEABLE_PAYLOAD (not retried); a null-prototype result is a plain value', async () => {
    const { handle, sched } = setup();
    await runner(handle, 1, 2000);
    // Returned, resolved by a Promise, or with a getter that throws while it is serialised.
    for (const mode of ['uncloneable', 'async-uncloneable', 'getter-throws']) {
      const r = await outcome(sched.submit('bad', { mode }, { maxAttempts: 3 }), 15_000, mode);
      expect(r, mode).toMatchObject({ ok: false, error: { code: 'SCHED_UNCLONEABLE_PAYLOAD' } });
    }
    expect((await outcome(sched.submit('bad', { mode: 'getter-throws' }))) as { error: Error }).toMatchObject({ error: { message: expect.stringContaining('getter of the result') } });
    // A Promise of an oversized result: the same final failure as a returned one.
    expect(await outcome(sched.submit('bad', { mode: 'async-big' }, { maxAttempts: 3 }))).toMatchObject({ ok: false, error: { code: 'SCHED_PAYLOAD_TOO_LARGE' } });
    expect(sched.tasks().map((t) => [t.state, t.attempts])).toEqual(Array.from({ length: 5 }, () => ['failed', 1]));
    expect(await outcome(sched.submit('bad', { mode: 'null-proto' }))).toEqual({ ok: true, value: { a: 1 } });
  });
});

describe('sched under stress: replicas cannot diverge on any argument (issue 18.4)', () => {
  it('values the codecs cannot carry are refused at the call site, nothing written', async () => {
    const { handle, sched } = setup();
    const w = await runner(handle, 1, 2000, ['slow']);
    const mark = sched.replica.logMark();
    expect(() => sched.submit('work', 1, { maxAttempts: 2 ** 32 })).toThrow(BadArgumentError);
    expect(() => sched.submit('work', 1, { maxAttempts: 2 ** 53 })).toThrow(BadArgumentError);
    const worker = await sched.join(1, ['work']);
    await expect(sched.claim(worker, 2 ** 31, 1000)).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.claim(2 ** 31, 1, 1000)).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.claim(1.5, 1, 1000)).rejects.toBeInstanceOf(BadArgumentError);
    const id = (await idOf(sched, () => sched.submit('work', 1))).id;
    const [t] = await sched.claim(worker, 1, 60_000);
    await expect(sched.complete(worker, id, 1.5, 'forged')).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.complete(worker, id + 0.5, 1, 'forged')).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.complete(worker, id, 2 ** 32 + 1, 'forged')).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.renew(worker, id, 2 ** 32 + 1, 1000)).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.fail(worker, id, -1, 'x')).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.cancel([id, 0.5])).rejects.toBeInstanceOf(BadArgumentError);
    await expect(sched.setCapacity(worker + 0.5, 1)).rejects.toBeInstanceOf(BadArgumentError);
    expect(sched.task(id)!.state).toBe('running');
    await expectAgree(sched, w);
    await sched.complete(worker, id, t!.attempt, 'real');
    expect(sched.task(id)!.result).toBe('real');
    await expectAgree(sched, w);
    expect(sched.replica.logMark()).toBeGreaterThan(mark);
  });

  it('lone surrogates in payloads, results and reasons reach every replica unchanged', async () => {
    const { handle, sched } = setup();
    const w = await runner(handle, 2, 2000);
    expect(await outcome(sched.submit('echo', '\ud800'))).toEqual({ ok: true, value: '\ud800' });
    expect(await outcome(sched.submit('echo', 'a\udc00b'))).toEqual({ ok: true, value: 'a\udc00b' });
    expect(await outcome(sched.submit('bad', { mode: 'surrogate' }))).toEqual({ ok: true, value: '\udfff' });
    const worker = await sched.join(1, ['orphan']);
    const id = (await idOf(sched, () => sched.submit('orphan', 0, { maxAttempts: 1 }))).id;
    await sched.claim(worker, 1, 60_000);
    await sched.fail(worker, id, 1, 'why \ud800');
    await expectAgree(sched, w);
  });
});

describe('sched under stress: call-site errors', () => {
  it('an oversized payload throws a SchedError at its call; same-tick siblings still run (issue 18.5)', async () => {
    const { handle, sched } = setup();
    await runner(handle, 2, 2000);
    const before = sched.submit('echo', 'before');
    let thrown: unknown;
    try {
      void sched.submit('echo', new Uint8Array(2 * 1024 * 1024));
    } catch (e) {
      thrown = e;
    }
    const after = sched.submit('echo', 'after');
    expect(thrown).toBeInstanceOf(SchedError);
    expect(thrown).toMatchObject({ code: 'SCHED_PAYLOAD_TOO_LARGE' });
    expect(() => sched.submitMany([{ kind: 'echo', payload: 1 }, { kind: 'echo', payload: 'z'.repeat(2 * 1024 * 1024) }])).toThrow(expect.objectContaining({ code: 'SCHED_PAYLOAD_TOO_LARGE' }));
    expect(await outcome(before)).toEqual({ ok: true, value: 'before' });
    expect(await outcome(after)).toEqual({ ok: true, value: 'after' });
    // A payload whose getter throws while it is serialised, a Promise, a nested function: thrown at the call, nothing written.
    const next = sched.summary().nextTaskId;
    const getter = {
      get x(): never {
        throw new Error('payload getter');
      },
    };
    for (const payload of [getter, [1, getter], Promise.resolve(1), { deep: { f: () => 1 } }]) {
      expect(() => sched.submit('echo', payload)).toThrow(expect.objectContaining({ code: 'SCHED_UNCLONEABLE_PAYLOAD' }));
    }
    expect(() => sched.submit('echo', getter)).toThrow(/payload getter/);
    await new Promise((r) => setTimeout(r, 20));
    sched.replica.sync();
    expect(sched.summary().nextTaskId).toBe(next); // no task was written (the runner's idle claims move the log)
    // Large payloads that fit go through, several in one tick (cut into ops that each fit one log entry).
    const big = Array.from({ length: 6 }, (_, i) => sched.submit<Uint8Array>('echo', new Uint8Array(200 * 1024).fill(i)));
    const got = await within(Promise.all(big), 20_000, 'large payloads');
    expect(got.map((b) => [b.length, b[0]])).toEqual(Array.from({ length: 6 }, (_, i) => [200 * 1024, i]));
  });

  it('runner options are validated: 0, negative, non-integer and unknown options throw BadArgumentError (issue 18.6)', async () => {
    const { sched } = setup();
    const bad: Record<string, unknown>[] = [
      { leaseMs: 0 },
      { leaseMs: -5 },
      { leaseMs: 1.5 },
      { leaseMs: Number.NaN },
      { idleMs: 0 },
      { idleMs: -1 },
      { idleMs: 2.5 },
      { maxClaim: 0 },
      { maxClaim: -1 },
      { maxClaim: 1.5 },
      { capacity: 1.5 },
      { leaseMS: 100 },
    ];
    const seen: string[] = [];
    for (const options of bad) {
      let r: Runner | undefined;
      try {
        r = new Runner(sched, { work: () => 1 }, options);
      } catch (e) {
        seen.push(e instanceof BadArgumentError || (e as SchedError).code === 'SCHED_NEGATIVE_CAPACITY' ? 'typed' : String(e));
      }
      if (r !== undefined) {
        seen.push(`accepted ${JSON.stringify(options)}`);
        await within(r.stop(), 5000, 'stop');
      }
    }
    expect(seen).toEqual(bad.map(() => 'typed'));
    expect(sched.summary().counts.submitted).toBe(0);
    const closed = openScheduler(createScheduler({ kinds: ['work'] }));
    closed.close();
    expect(() => new Runner(closed, { work: () => 1 })).toThrow(SchedulerClosedError);

  });

  it('close() right after submit() in the same tick rejects it with SchedulerClosedError (issue 18.8)', async () => {
    const { sched } = setup(2, false);
    const p = sched.submit('work', { x: 1 });
    const many = sched.submitMany([{ kind: 'work', payload: 2 }]);
    sched.close();
    expect(await outcome(p, 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_CLOSED' } });
    expect(((await outcome(p)) as { error: unknown }).error).toBeInstanceOf(SchedulerClosedError);
    expect(await outcome(many[0]!, 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_CLOSED' } });
    expect(() => sched.submit('work', 1)).toThrow(SchedulerClosedError);
  });
});

describe('sched under stress: close() racing submits and ops', () => {
  it('close() while a submit op is in flight (one microtask later): detach applies it, its await rejects with SchedulerClosedError, never hangs', async () => {
    const handle = createScheduler({ kinds: KINDS, threads: 2, policy: 'fifo' });
    const sched = openScheduler(handle);
    const p = sched.submit('orphan', 1);
    const q = sched.submit('orphan', 2);
    await null; // the submit op now waits in the replica's combiner
    sched.close();
    expect(await outcome(p, 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_CLOSED' } });
    expect(await outcome(q, 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_CLOSED' } });
    const other = openScheduler(handle, { retain: true });
    open.push(other);
    expect(other.tasks().map((t) => [t.payload, t.state])).toEqual([
      [1, 'queued'],
      [2, 'queued'],
    ]); // written at detach: the view closed before any result could reach it
  });

  it('close() from an onId callback ends every await of that submit batch with SchedulerClosedError', async () => {
    const handle = createScheduler({ kinds: KINDS, threads: 2, policy: 'fifo' });
    const sched = openScheduler(handle);
    const seen: number[] = [];
    const ps = sched.submitMany([
      { kind: 'orphan', payload: 1, options: { onId: (id) => (seen.push(id), sched.close()) } },
      { kind: 'orphan', payload: 2, options: { onId: (id) => seen.push(id) } },
      { kind: 'orphan', payload: 3 },
    ]);
    for (const p of ps) expect(await outcome(p, 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_CLOSED' } });
    expect(seen).toEqual([1, 2]);
  });

  it('an op that close() applies resolves (its continuation never throws), also when it settles the view\'s own tasks', async () => {
    const handle = createScheduler({ kinds: KINDS, threads: 2, policy: 'fifo' });
    // A long idle bound: this view's waiter does not tick on its own while the lease runs out.
    const sched = openScheduler(handle, { idleMs: 5000 });
    const worker = await sched.join(1, ['orphan']);
    const task = await idOf(sched, () => sched.submit('orphan', 1, { maxAttempts: 1 }));
    expect((await sched.claim(worker, 1, 50)).map((t) => t.id)).toEqual([task.id]);
    await new Promise((r) => setTimeout(r, 150));
    const ticked = sched.tick(); // its apply expires the lease: the task fails, and this view is to be woken
    await null;
    sched.close(); // before the tick's continuation runs
    expect(await outcome(ticked, 5000)).toEqual({ ok: true, value: undefined });
    expect(await outcome(task.done, 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_CLOSED' } });
    await expect(sched.tick()).rejects.toBeInstanceOf(SchedulerClosedError);
    const other = openScheduler(handle, { retain: true });
    open.push(other);
    expect(other.task(task.id)).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('other threads close their views while their submits are under way, beside a busy submitter: every await ends (a value or SchedulerClosedError), every written task runs once, replicas agree', async () => {
    const { handle, sched } = setup(6);
    const w = await runner(handle, 8, 2000, ['work']);
    await runner(handle, 8, 2000, ['work']);
    const mine = Array.from({ length: 300 }, (_, i) => sched.submit<number>('work', { x: i }));
    const modes = ['same-tick', 'in-flight', 'after-first'] as const;
    const out = await runWorkers<{ handle: SchedulerHandle; n: number; base: number; mode: string }, { outcomes: string[]; submitter: number }>(
      'sched-closer',
      modes.map((mode, k) => ({ handle, n: 200, base: 1000 * (k + 1), mode })),
      60_000,
    );
    expect(await within(Promise.all(mine), 20_000, 'busy submitter')).toEqual(Array.from({ length: 300 }, (_, i) => 2 * i));
    const [sameTick, inFlight, afterFirst] = out.map((o) => o.outcomes);
    expect(sameTick).toEqual(Array.from({ length: 200 }, () => 'SCHED_CLOSED'));
    expect(inFlight).toEqual(Array.from({ length: 200 }, () => 'SCHED_CLOSED'));
    afterFirst!.forEach((o, i) => expect([`ok:${2 * (3000 + i)}`, 'SCHED_CLOSED']).toContain(o));
    expect(afterFirst!.filter((o) => o.startsWith('ok:')).length).toBeGreaterThan(0);
    // What the closers wrote (nothing same-tick; all of in-flight's, at detach; after-first's) runs to completion once each.
    const bySubmitter = (k: number): Task[] => sched.tasks().filter((t) => t.submitter === out[k]!.submitter);
    await until(() => sched.tasks().every((t) => t.state === 'done'), 20_000);
    expect(bySubmitter(0)).toEqual([]);
    expect(bySubmitter(1).map((t) => (t.payload as { x: number }).x)).toEqual(Array.from({ length: 200 }, (_, i) => 2000 + i));
    // after-first's view releases the records of results it collected (in batches, or all of them once
    // nothing is awaited: when every task finished before its close); the others stay, done once each.
    const kept = bySubmitter(2).map((t) => (t.payload as { x: number }).x);
    expect(new Set(kept).size).toBe(kept.length);
    for (const x of kept) expect(x >= 3000 && x < 3200).toBe(true);
    expect(kept.length).toBeGreaterThanOrEqual(afterFirst!.filter((o) => o === 'SCHED_CLOSED').length);
    for (const t of sched.tasks()) expect(t.log.filter((a) => a.end === 'done').length).toBe(1);
    await expectAgree(sched, w);
  });
});

describe('sched under stress: runners killed while they finish', () => {
  it('busy runners terminated at any point of their claim/finish ops (evicted, or left to expire): every task is done exactly once', async () => {
    const { handle, sched } = setup(5);
    const audit = new SharedArrayBuffer(4 * 4096);
    const n = 1500;
    const results = Array.from({ length: n }, (_, i) => sched.submit<number>('echo', i, { maxAttempts: 20 }));
    for (let k = 0; k < 3; k++) {
      const w = await startRunner(handle, audit, 16, 1000, ['echo']);
      workers.push(w);
      // Echo tasks: the runner is always in a claim or finish op; terminate it a quarter further on.
      await until(() => sched.summary().counts.done >= ((k + 1) * n) / 4, 20_000);
      await w.worker.terminate();
      declareDead(handle.nr, w.slot);
      if (k !== 1) await sched.evict(w.workerId);
    }
    workers.push(await startRunner(handle, audit, 16, 1000, ['echo']));
    await expectEchoedOnce(sched, results, audit);
  });
});

describe('sched under stress: time moves without ops (issue 18.7)', () => {
  it('a task of a kind no runner handles fails at its deadline, with no op from anyone else', async () => {
    const { handle, sched } = setup();
    await runner(handle, 1, 2000, ['work']);
    const r = await outcome(sched.submit('orphan', 1, { deadline: schedNow() + 200 }), 10_000, 'orphan');
    expect(r).toMatchObject({ ok: false, error: { code: 'SCHED_DEADLINE' } });
  });

  it('with no runner at all: a dead holder\'s lease expires and the task fails; a deadline passing during backoff gives SCHED_DEADLINE', async () => {
    const { sched } = setup(2);
    const worker = await sched.join(2, ['orphan']);
    const lost = await idOf(sched, () => sched.submit('orphan', 1, { maxAttempts: 1 }));
    const backedOff = await idOf(sched, () => sched.submit('orphan', 2, { maxAttempts: 5, backoffMs: 60_000, deadline: schedNow() + 300 }));
    const waits = await idOf(sched, () => sched.submit('echo', 3, { deadline: schedNow() + 300 })); // no worker handles 'echo'
    const claimed = await sched.claim(worker, 2, 150);
    expect(claimed.map((t) => t.id)).toEqual([lost.id, backedOff.id]);
    await sched.fail(worker, backedOff.id, 1, 'try later');
    // Nobody issues an op from here on: the awaiting thread's ticks move the clock.
    expect(await outcome(lost.done, 10_000, 'lease')).toMatchObject({ ok: false, error: { code: 'SCHED_TASK_FAILED', attempts: 1 } });
    expect(await outcome(backedOff.done, 10_000, 'backoff')).toMatchObject({ ok: false, error: { code: 'SCHED_DEADLINE' } });
    expect(await outcome(waits.done, 10_000, 'queued')).toMatchObject({ ok: false, error: { code: 'SCHED_DEADLINE', attempts: 0 } });
    expect(sched.task(lost.id)!.log.map((a) => a.end)).toEqual(['expired']);
    expect(sched.task(waits.id)).toMatchObject({ state: 'failed', attempts: 0 });
  });
});

describe('sched under stress: bounded awaits', () => {
  it('timeoutMs bounds an await (the task goes on); awaitTask(id) awaits it again, also bounded', async () => {
    const { handle, sched } = setup(3, false);
    let id = -1;
    const p = sched.submit<number>('work', { x: 5 }, { timeoutMs: 100, onId: (i) => (id = i) });
    expect(await outcome(p, 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_AWAIT_TIMEOUT' } });
    expect(id).toBeGreaterThan(0);
    expect(await outcome(sched.awaitTask(id, { timeoutMs: 50 }), 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_AWAIT_TIMEOUT' } });
    const again = sched.awaitTask<number>(id);
    await runner(handle, 1, 2000);
    expect(await outcome(again)).toEqual({ ok: true, value: 10 });
    expect(await outcome(sched.awaitTask(999_999), 5000)).toMatchObject({ ok: false, error: { code: 'SCHED_UNKNOWN_TASK' } });
    expect(() => sched.submit('work', 1, { timeoutMs: -1 })).toThrow(BadArgumentError);
    expect(() => sched.submit('work', 1, { deadLine: 5 } as never)).toThrow(BadArgumentError);
  });
});
