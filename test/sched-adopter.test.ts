/**
 * The scheduler as an adopter's suite drives it, in one thread (a runner
 * over the main thread's own replica): kinds named like Object.prototype's
 * members, runners whose handlers name no kind, and stopping a runner whose
 * handler never settles. Each check is bounded in time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BadArgumentError, createScheduler, openScheduler, Runner, type Scheduler, TaskFailedError, WorkerGoneError } from '../src/sched/index.js';

const views: Scheduler[] = [];
afterEach(() => {
  for (const v of views.splice(0)) v.close();
});
function open(handle: ReturnType<typeof createScheduler>): Scheduler {
  const v = openScheduler(handle);
  views.push(v);
  return v;
}
/** `p`, or a rejection after `ms` (every wait here is bounded). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describe('sched, as an adopter drives it', () => {
  it('kinds named like Object.prototype members (constructor, toString, __proto__) are counted in summary().workersPerKind', async () => {
    const handle = createScheduler({ kinds: ['constructor', 'toString', '__proto__'], threads: 1 });
    const sched = open(handle);
    const runner = new Runner(sched, { constructor: () => 'c', toString: () => 't', ['__proto__']: () => 'p' }, { capacity: 3, idleMs: 5 });
    const results = await within(Promise.all(['constructor', 'toString', '__proto__'].map((k) => sched.submit(k, null))), 5000, 'three tasks');
    expect(results).toEqual(['c', 't', 'p']);
    const perKind = sched.summary().workersPerKind;
    expect(Object.entries(perKind).sort()).toEqual([
      ['__proto__', 1],
      ['constructor', 1],
      ['toString', 1],
    ]);
    expect(Object.entries(sched.summary().coldStartsByKind).sort()).toEqual(Object.entries(perKind).sort());
    await within(runner.stop(), 5000, 'stop');
  });

  it('a Runner whose handlers are inherited (a class instance\'s methods) is refused: BadArgumentError naming them, no worker joined', () => {
    const handle = createScheduler({ kinds: ['work'], threads: 1 });
    const sched = open(handle);
    class Handlers {
      work(): number {
        return 1;
      }
    }
    expect(() => new Runner(sched, new Handlers() as unknown as Record<string, () => number>)).toThrow(expect.objectContaining({ code: 'SCHED_BAD_ARGUMENT', message: expect.stringContaining('work') }));
    expect(() => new Runner(sched, Object.create({ work: () => 1 }) as Record<string, () => number>)).toThrow(BadArgumentError);
    expect(sched.worker(1)).toBeUndefined();
    // The view is still free for a runner (a refused one did not keep it).
    const runner = new Runner(sched, { work: () => 1 });
    expect(runner.workerId).toBe(1);
    return within(runner.stop(), 5000, 'stop');
  });

  it('stop({ timeoutMs }) ends a runner whose handler never settles: its signal aborts, the task is requeued and another runner completes it', async () => {
    const handle = createScheduler({ kinds: ['slow'], threads: 2 });
    const a = open(handle);
    const b = open(handle);
    let started = 0;
    let signal: AbortSignal | null = null;
    const stuck = new Runner(a, { slow: (_p: null, ctx) => ((started++, (signal = ctx.signal)), new Promise(() => {})) }, { idleMs: 5, leaseMs: 60_000 });
    const result = b.submit<string>('slow', null);
    await within((async () => { while (started === 0) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'the first attempt starts');
    expect(() => stuck.stop({ timeoutMs: -1 })).toThrow(BadArgumentError);
    expect(() => stuck.stop({ timeoutMs: 10, later: true } as never)).toThrow(BadArgumentError);
    const t0 = Date.now();
    await within(stuck.stop({ timeoutMs: 100 }), 5000, 'a bounded stop');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(signal!.aborted).toBe(true);
    expect(a.worker(stuck.workerId)?.status).toBe('gone');
    const next = new Runner(b, { slow: (_p: null, ctx) => `attempt ${ctx.attempt}` }, { idleMs: 5 });
    expect(await within(result, 5000, 'the requeued task')).toBe('attempt 2');
    await within(next.stop(), 5000, 'stop');
  });

  it('a handler that returns a thenable (not a Promise) is awaited as `await` would; a throwing then getter fails the attempt', async () => {
    const handle = createScheduler({ kinds: ['t'], threads: 1 });
    const sched = open(handle);
    const runner = new Runner(sched, {
      t: (p: string) =>
        p === 'thenable'
          ? { then: (resolve: (v: string) => void) => setTimeout(() => resolve('from a thenable'), 5) }
          : p === 'rejects'
            ? { then: (_: unknown, reject: (e: Error) => void) => reject(new Error('thenable rejected')) }
            : { get then(): never { throw new Error('then getter'); } },
    }, { idleMs: 5 });
    expect(await within(sched.submit('t', 'thenable'), 5000, 'thenable')).toBe('from a thenable');
    await expect(within(sched.submit('t', 'rejects', { maxAttempts: 1 }), 5000, 'rejects')).rejects.toThrow(TaskFailedError);
    await expect(within(sched.submit('t', 'getter', { maxAttempts: 1 }), 5000, 'getter')).rejects.toMatchObject({ code: 'SCHED_TASK_FAILED', message: expect.stringContaining('then getter') });
    await within(runner.stop(), 5000, 'stop');
  });

  it('setCapacity, drain and evict of a worker that has left reject with WorkerGoneError (the state lists it as gone), of one never joined with UnknownWorkerError', async () => {
    const handle = createScheduler({ kinds: ['w'], threads: 1 });
    const sched = open(handle);
    const runner = new Runner(sched, { w: () => 1 }, { idleMs: 5 });
    await within(runner.stop(), 5000, 'stop');
    expect(sched.worker(runner.workerId)?.status).toBe('gone');
    await expect(sched.setCapacity(runner.workerId, 2)).rejects.toThrow(WorkerGoneError);
    await expect(sched.drain(runner.workerId)).rejects.toMatchObject({ code: 'SCHED_WORKER_GONE', message: `worker ${runner.workerId} has left` });
    await expect(sched.evict(runner.workerId)).rejects.toThrow(WorkerGoneError);
    await expect(sched.drain(999)).rejects.toMatchObject({ code: 'SCHED_UNKNOWN_WORKER' });
  });
});
