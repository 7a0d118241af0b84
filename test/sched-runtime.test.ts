/**
 * The scheduler on real worker threads: the main thread submits and awaits
 * results from runner workers; bad input is refused with typed errors and
 * writes nothing; leases expire and the old holder's completion is refused;
 * draining and shrinking workers.
 */
import { describe, expect, it } from 'vitest';
import { declareDead } from '../src/nr/index.js';
import {
  BadArgumentError,
  createScheduler,
  LeaseLostError,
  NegativeCapacityError,
  NotOwnerError,
  openScheduler,
  Runner,
  SchedulerClosedError,
  TaskCancelledError,
  TaskFailedError,
  UncloneablePayloadError,
  UnknownKindError,
} from '../src/sched/index.js';
import { OpReader, OpWriter } from '../src/nr/index.js';
import { submitCodec } from '../src/sched/codecs.js';
import { answerCodecs } from '../src/sched/answers.js';
import { expectCompletedOnce, startRunner, trackSched, until } from './support/sched-workers.js';
import { runWorkers } from './support/spawn.js';

const { open, workers } = trackSched();

describe('sched runtime', () => {
  it('the main thread submits; runner workers run sync and async handlers; results and retries come back', async () => {
    const handle = createScheduler({ kinds: ['work', 'echo'], threads: 3 });
    const sched = openScheduler(handle);
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 4096);
    workers.push(await startRunner(handle, audit, 4, 2000), await startRunner(handle, audit, 4, 2000));
    const work = Array.from({ length: 400 }, (_, x) => sched.submit<number>('work', { x, ms: x % 7 === 0 ? 1 : 0, failFirst: x % 50 === 0 }, { backoffMs: 1 }));
    const echo = sched.submitMany([{ kind: 'echo', payload: { a: [1, 2], m: new Map([[1, 'x']]) } }, { kind: 'echo', payload: 'hi', options: { priority: 5 } }]);
    expect(await Promise.all(work)).toEqual(Array.from({ length: 400 }, (_, x) => x * 2));
    expect(await Promise.all(echo)).toEqual([{ a: [1, 2], m: new Map([[1, 'x']]) }, 'hi']);
    const sum = sched.summary();
    expect(sum.counts).toMatchObject({ submitted: 402, done: 402, failed: 0, retried: 8 });
    // Released: settled records do not accumulate.
    await until(() => sched.summary().queued + sched.tasks().length === 0);
    expect(sched.pending).toBe(0);
  });

  it('worker threads submit and await results too, alongside the main thread', async () => {
    const handle = createScheduler({ kinds: ['work'], threads: 5 });
    const sched = openScheduler(handle);
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 4096);
    workers.push(await startRunner(handle, audit, 8, 2000), await startRunner(handle, audit, 8, 2000));
    const fromMain = Array.from({ length: 300 }, (_, i) => sched.submit<number>('work', { x: 10_000 + i }));
    const out = await runWorkers<{ handle: typeof handle; n: number; base: number }, { results: number[]; submitter: number }>(
      'sched-submitter',
      [{ handle, n: 300, base: 0 }, { handle, n: 300, base: 1000 }],
      30_000,
    );
    expect(out[0]!.results).toEqual(Array.from({ length: 300 }, (_, i) => 2 * i));
    expect(out[1]!.results).toEqual(Array.from({ length: 300 }, (_, i) => 2 * (1000 + i)));
    expect(new Set([out[0]!.submitter, out[1]!.submitter, sched.submitter]).size).toBe(3);
    expect(await Promise.all(fromMain)).toEqual(Array.from({ length: 300 }, (_, i) => 2 * (10_000 + i)));
  });

  it('a task that fails on every attempt rejects with TaskFailedError; cancel rejects with TaskCancelledError', async () => {
    const handle = createScheduler({ kinds: ['work'], threads: 2 });
    const sched = openScheduler(handle);
    open.push(sched);
    const worker = await sched.join(1, ['work']);
    let id = -1;
    const failing = sched.submit('work', { x: 1 }, { maxAttempts: 2, backoffMs: 0, onId: (i) => (id = i) });
    const cancelled = sched.submit('work', { x: 2 }, { onId: () => {} });
    await until(() => id > 0);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [t] = await sched.claim(worker, 1, 1000);
      expect([t!.id, t!.attempt, t!.payload]).toEqual([id, attempt, { x: 1 }]);
      await sched.fail(worker, t!.id, t!.attempt, 'nope');
    }
    await expect(failing).rejects.toBeInstanceOf(TaskFailedError);
    await expect(failing).rejects.toMatchObject({ code: 'SCHED_TASK_FAILED', attempts: 2 });
    expect(await sched.cancel([id + 1, id + 1, 999_999])).toEqual([null, expect.objectContaining({ code: 'SCHED_NOT_OWNER' }), expect.objectContaining({ code: 'SCHED_UNKNOWN_TASK' })]);
    await expect(cancelled).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it('bad input: typed errors with stable codes, and nothing is written', async () => {
    const handle = createScheduler({ kinds: ['work'], threads: 2 });
    const sched = openScheduler(handle, { retain: true });
    open.push(sched);
    const before = sched.summary();
    const tail = sched.replica.logMark();
    expect(() => sched.submit('nope', 1)).toThrow(UnknownKindError);
    expect(() => sched.submit('nope', 1)).toThrow(expect.objectContaining({ code: 'SCHED_UNKNOWN_KIND' }));
    expect(() => sched.submit('work', { f: () => 1 })).toThrow(UncloneablePayloadError);
    expect(() => sched.submit('work', { f: () => 1 })).toThrow(expect.objectContaining({ code: 'SCHED_UNCLONEABLE_PAYLOAD' }));
    expect(() => sched.submitMany([{ kind: 'work', payload: 1 }, { kind: 'work', payload: Symbol('x') }])).toThrow(UncloneablePayloadError);
    expect(() => sched.submit('work', 1, { maxAttempts: 0 })).toThrow(BadArgumentError);
    await expect(sched.join(-1, ['work'])).rejects.toBeInstanceOf(NegativeCapacityError);
    await expect(sched.join(1, ['other'])).rejects.toBeInstanceOf(UnknownKindError);
    expect(() => new Runner(sched, { work: () => 1 }, { capacity: -2 })).toThrow(expect.objectContaining({ code: 'SCHED_NEGATIVE_CAPACITY' }));
    expect(() => new Runner(sched, { other: () => 1 })).toThrow(UnknownKindError);
    // Entries of submitMany that are not objects, and options that are not objects: BadArgumentError, nothing written.
    for (const entry of [null, 5, ['work', 1]]) {
      expect(() => sched.submitMany([{ kind: 'work', payload: 1 }, entry as never])).toThrow(expect.objectContaining({ code: 'SCHED_BAD_ARGUMENT', message: 'submitMany entry 1 must be a { kind, payload, options? } object' }));
    }
    for (const opts of [null, 5, []]) expect(() => sched.submit('work', 1, opts as never)).toThrow(expect.objectContaining({ code: 'SCHED_BAD_ARGUMENT' }));
    expect(() => sched.submit('work', 1, [] as never)).toThrow('submit options must be an object');
    // The reads refuse ids that are not ids, as awaitTask and cancel do ("no such task" is undefined).
    for (const id of ['x', -1, 1.5, NaN]) {
      expect(() => sched.task(id as never)).toThrow(expect.objectContaining({ code: 'SCHED_BAD_ARGUMENT' }));
      expect(() => sched.worker(id as never)).toThrow(expect.objectContaining({ code: 'SCHED_BAD_ARGUMENT' }));
    }
    expect(sched.task(123456)).toBeUndefined();
    expect(sched.worker(123456)).toBeUndefined();
    await Promise.resolve();
    expect(sched.replica.logMark()).toBe(tail); // nothing appended
    expect(sched.summary()).toEqual(before);
    const w = await sched.join(2, ['work']);
    await expect(sched.setCapacity(w, -1)).rejects.toMatchObject({ code: 'SCHED_NEGATIVE_CAPACITY' });
    expect(sched.worker(w)!.capacity).toBe(2);
    await expect(sched.setCapacity(12345, 1)).rejects.toMatchObject({ code: 'SCHED_UNKNOWN_WORKER' });
    // Completing a task one does not own.
    const other = await sched.join(1, ['work']);
    void sched.submit('work', { x: 1 });
    await new Promise((r) => setTimeout(r, 0));
    const [t] = await sched.claim(w, 1, 10_000);
    await expect(sched.complete(other, t!.id, t!.attempt, 1)).rejects.toBeInstanceOf(NotOwnerError);
    await expect(sched.complete(w, t!.id, t!.attempt + 1, 1)).rejects.toMatchObject({ code: 'SCHED_NOT_OWNER' });
    await expect(sched.complete(w, t!.id, t!.attempt, () => 1)).rejects.toBeInstanceOf(UncloneablePayloadError);
    await sched.complete(w, t!.id, t!.attempt, 42);
    // A completed task stays completed.
    await expect(sched.complete(w, t!.id, t!.attempt, 43)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(sched.fail(w, t!.id, t!.attempt, 'late')).rejects.toMatchObject({ code: 'SCHED_LEASE_LOST' });
  });

  it('createScheduler refuses an empty or repeated kind list; every read of a closed view throws SchedulerClosedError', () => {
    expect(() => createScheduler({ kinds: [] })).toThrow(expect.objectContaining({ code: 'SCHED_BAD_ARGUMENT', message: expect.stringContaining('non-empty array') }));
    expect(() => createScheduler({ kinds: ['a', 'b', 'a'] })).toThrow(expect.objectContaining({ code: 'SCHED_BAD_ARGUMENT', message: expect.stringContaining('"a" is listed twice') }));
    const sched = openScheduler(createScheduler({ kinds: ['work'], threads: 1 }));
    expect(sched.summary().nextTaskId).toBeGreaterThanOrEqual(0);
    sched.close();
    for (const read of [() => sched.summary(), () => sched.task(1), () => sched.tasks(), () => sched.worker(1)]) {
      expect(read).toThrow(SchedulerClosedError);
      expect(read).toThrow(expect.objectContaining({ code: 'SCHED_CLOSED' }));
    }
  });

  it('a submit entry naming a kind index the scheduler does not have fails its decode (a corrupt entry), never yields an undefined kind', () => {
    const codec = submitCodec(['a', 'b']);
    const w = new OpWriter();
    codec.encode(w, 1, [{ kind: 'b', priority: 0, deadline: 0, maxAttempts: 1, backoffMs: 0, payload: 7 }], 5);
    const bytes = w.bytes.slice(0, w.pos);
    expect(codec.decode(new OpReader(bytes))[1][0]!.kind).toBe('b');
    const forged = submitCodec(['a']); // the same bytes read by a scheduler with one kind: index 1 is out of range
    expect(() => forged.decode(new OpReader(bytes))).toThrow(/kind index 1, but the scheduler has 1 kinds/);
  });

  it('a client runner\'s claim, finish and wake-list answers with a forged count (in the client slot) fail their decode with RangeError before allocating', () => {
    const { resultCodecs } = answerCodecs(['a']);
    const reader = (w: OpWriter): OpReader => {
      const r = new OpReader(w.bytes.slice(0, w.pos));
      r.end = w.pos;
      return r;
    };
    const w = new OpWriter();
    resultCodecs.claim.encode(w, { value: { tasks: [{ id: 9, kind: 'a', payload: 7 }], attempts: [2], leaseUntil: 100 }, wake: [3], work: true });
    const claim = resultCodecs.claim.decode(reader(w));
    expect([claim.value.tasks[0]!.id, claim.value.attempts[0], claim.value.tasks[0]!.payload, claim.wake, claim.work]).toEqual([9, 2, 7, [3], true]);
    // Forge the counts: the wake list's (after the work flag) and the claim's (after leaseUntil).
    const wakeForged = new OpWriter();
    wakeForged.copyFrom(w.bytes, 0, w.pos);
    wakeForged.view.setUint32(1, 0x7fffffff, true);
    expect(() => resultCodecs.claim.decode(reader(wakeForged))).toThrow(/wake list answer counts 2147483647 items/);
    const claimForged = new OpWriter();
    claimForged.copyFrom(w.bytes, 0, w.pos);
    claimForged.view.setUint32(1 + 4 + 4 + 8, 100_000_000, true);
    expect(() => resultCodecs.claim.decode(reader(claimForged))).toThrow(/claim answer counts 100000000 items/);
    const codes = new OpWriter();
    resultCodecs.finish.encode(codes, { value: [0, 0], wake: [], work: false });
    codes.view.setUint32(1 + 4, 1 << 30, true);
    expect(() => resultCodecs.finish.decode(reader(codes))).toThrow(/outcome answer counts 1073741824 items/);
  });

  it('a lease that expires (holder hung) goes to a live runner; the old holder gets LeaseLostError', async () => {
    const handle = createScheduler({ kinds: ['work'], threads: 3, policy: 'fifo' });
    const sched = openScheduler(handle, { retain: true });
    open.push(sched);
    const hung = await sched.join(1, ['work']);
    let id = -1;
    const result = sched.submit<number>('work', { x: 21 }, { onId: (i) => (id = i) });
    await until(() => id > 0);
    const [t] = await sched.claim(hung, 1, 150);
    expect(t!.id).toBe(id);
    const audit = new SharedArrayBuffer(4 * 64);
    workers.push(await startRunner(handle, audit, 1, 2000));
    expect(await result).toBe(42); // the runner's idle ticks expired the lease, then it claimed the task
    await expect(sched.complete(hung, t!.id, t!.attempt, 0)).rejects.toBeInstanceOf(LeaseLostError);
    const rec = sched.task(id)!;
    expect(rec.state).toBe('done');
    expect(rec.log.map((a) => [a.worker === hung, a.end])).toEqual([
      [true, 'expired'],
      [false, 'done'],
    ]);
    await expectCompletedOnce(audit, id);
  });

  it('a runner renews the lease of a task that runs longer than its lease', async () => {
    const handle = createScheduler({ kinds: ['work'], threads: 3 });
    const sched = openScheduler(handle, { retain: true });
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 64);
    workers.push(await startRunner(handle, audit, 1, 300), await startRunner(handle, audit, 1, 300));
    let id = -1;
    expect(await sched.submit<number>('work', { x: 4, ms: 1000 }, { onId: (i) => (id = i) })).toBe(8);
    const t = sched.task(id)!;
    expect([t.state, t.attempts, t.log.length]).toEqual(['done', 1, 1]);
    expect(sched.summary().counts.expired).toBe(0);
  });

  it('drain: the worker finishes running tasks, claims nothing new, and leaves; shrink caps running tasks', async () => {
    const handle = createScheduler({ kinds: ['work'], threads: 3, policy: 'fifo' });
    const sched = openScheduler(handle);
    open.push(sched);
    const audit = new SharedArrayBuffer(4 * 1024);
    const a = await startRunner(handle, audit, 4, 2000);
    const b = await startRunner(handle, audit, 4, 2000);
    workers.push(a, b);
    await sched.setCapacity(b.workerId, 1);
    const tasks = Array.from({ length: 200 }, (_, x) => sched.submit<number>('work', { x, ms: 2 }));
    await until(() => (sched.worker(a.workerId)?.running ?? 0) > 0);
    await sched.drain(a.workerId);
    const left = await a.left;
    expect(sched.worker(a.workerId)!.status).toBe('gone');
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 200 }, (_, x) => x * 2));
    expect((left.stats as { completed: number }).completed).toBeGreaterThan(0);
    expect(sched.worker(b.workerId)!.running).toBeLessThanOrEqual(1);
    // A killed worker: its slot is declared dead and it is evicted; nothing is lost.
    const more = Array.from({ length: 50 }, (_, x) => sched.submit<number>('work', { x, ms: 1 }));
    await b.worker.terminate();
    declareDead(handle.nr, b.slot);
    await sched.evict(b.workerId);
    const c = await startRunner(handle, audit, 2, 2000);
    workers.push(c);
    expect(await Promise.all(more)).toEqual(Array.from({ length: 50 }, (_, x) => x * 2));
  });
});
