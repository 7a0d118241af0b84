/**
 * A scheduler runner in a worker thread, for the sched tests. Handlers:
 * - `work` {x, ms?, failFirst?, spin?, spinFirst?}: optionally throws on
 *   attempt 1, spins `spinFirst` ms (sync) on attempt 1 only, waits `ms`
 *   (async) or spins `spin` ms (sync), returns x * 2;
 * - `echo`: returns its payload;
 * - `bad` {mode}: a task that misbehaves (huge or uncloneable results,
 *   thrown values of odd shapes, a lone surrogate), see `badResult`;
 * - `slow` {ms}: counts itself in the shared `probe` while its handler runs
 *   (probe[0] now, probe[1] the most at once), records an abort of its
 *   signal (probe[2]; probe[3] if its reason is a LeaseLostError), and keeps
 *   running `ms` regardless; with `blockFirst`, attempt 1 also blocks its
 *   thread's event loop for that many ms soon after it starts (so renewals
 *   cannot run and its lease expires while the handler lives on).
 * Successful completions are counted per task id in the shared `audit`
 * array (Atomics, so the counts survive a terminate()). The thread answers
 * {digest: true} with its replica's digest. With `client` (connect options),
 * the runner is a client runner (connectScheduler: no replica); when it ends it reports its
 * last error's name, code and `committed`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectScheduler, openScheduler, Runner, type ConnectSchedulerOptions, type RunnerOptions, type SchedulerHandle, type TaskContext } from '../../src/sched/index.js';

interface Input {
  handle: SchedulerHandle;
  capacity: number;
  leaseMs: number;
  audit: SharedArrayBuffer;
  kinds?: string[];
  probe?: SharedArrayBuffer;
  options?: RunnerOptions;
  client?: ConnectSchedulerOptions;
}
interface WorkPayload {
  x: number;
  ms?: number;
  failFirst?: boolean;
  spin?: number;
  spinFirst?: number;
}

const input = workerData as Input;
const audit = new Int32Array(input.audit);
const probe = new Int32Array(input.probe ?? new SharedArrayBuffer(16));
const replica = input.client ? null : openScheduler(input.handle);
const sched = replica ?? connectScheduler(input.handle, input.client);
const spin = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

function badResult(mode: string): unknown {
  switch (mode) {
    case 'big-string':
      return 'x'.repeat(2 * 1024 * 1024);
    case 'big-bytes':
      return new Uint8Array(2 * 1024 * 1024);
    case 'throw-null-proto':
      throw Object.create(null);
    case 'reject-null-proto':
      return Promise.reject(Object.create(null));
    case 'throw-object':
      throw { code: 'E_BROKEN', n: 42 };
    case 'throw-big':
      throw new Error('y'.repeat(2 * 1024 * 1024));
    case 'throw-surrogate':
      throw new Error('bad \ud800 message');
    case 'uncloneable':
      return { f: () => 1 };
    case 'surrogate':
      return '\udfff';
    case 'null-proto':
      return Object.assign(Object.create(null), { a: 1 });
    case 'async-uncloneable':
      return Promise.resolve({ f: () => 1 });
    case 'async-big':
      return new Promise((r) => setTimeout(() => r('z'.repeat(2 * 1024 * 1024)), 5));
    case 'getter-throws':
      return {
        get x(): never {
          throw new Error('getter of the result');
        },
      };
    case 'throw-proxy':
      throw new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('trap');
          },
          get() {
            throw new Error('trap');
          },
        },
      );
    case 'throw-getter-message':
      throw Object.defineProperty(new Error('x'), 'message', {
        get(): never {
          throw new Error('message getter');
        },
      });
    default:
      return mode;
  }
}

const all = {
  work: async (p: WorkPayload, ctx: { attempt: number }): Promise<number> => {
    if (p.failFirst && ctx.attempt === 1) throw new Error('first attempt fails');
    if (p.spinFirst && ctx.attempt === 1) spin(p.spinFirst);
    if (p.spin) spin(p.spin);
    if (p.ms) await new Promise((r) => setTimeout(r, p.ms));
    return p.x * 2;
  },
  echo: (p: unknown): unknown => p,
  bad: (p: { mode: string }): unknown => badResult(p.mode),
  slow: async (p: { ms: number; blockFirst?: number }, ctx: TaskContext): Promise<number> => {
    const now = Atomics.add(probe, 0, 1) + 1;
    for (let m = Atomics.load(probe, 1); now > m; m = Atomics.load(probe, 1)) Atomics.compareExchange(probe, 1, m, now);
    const signal = (ctx as { signal?: AbortSignal }).signal;
    signal?.addEventListener('abort', () => {
      Atomics.add(probe, 2, 1);
      if ((signal.reason as { code?: string } | undefined)?.code === 'SCHED_LEASE_LOST') Atomics.add(probe, 3, 1);
    });
    if (p.blockFirst && ctx.attempt === 1) setTimeout(() => spin(p.blockFirst!), 20);
    try {
      await new Promise((r) => setTimeout(r, p.ms));
      return ctx.attempt;
    } finally {
      Atomics.sub(probe, 0, 1);
    }
  },
};
const handlers = Object.fromEntries(Object.entries(all).filter(([k]) => (input.kinds ?? input.handle.kinds).includes(k)));
const runner = new Runner(sched, handlers, { capacity: input.capacity, leaseMs: input.leaseMs, idleMs: 20, ...input.options });
runner.onCompleted = (ids) => {
  for (const id of ids) Atomics.add(audit, id, 1);
};
parentPort!.postMessage({ ready: true, workerId: runner.workerId, slot: replica?.submitter ?? -1 });
parentPort!.on('message', (m: { stop?: boolean; digest?: boolean }) => {
  if (m.stop) void runner.stop();
  if (m.digest && replica) {
    replica.replica.sync();
    parentPort!.postMessage({ digest: replica.replica.digest() });
  }
});
await runner.finished;
const e = runner.lastError as { name?: string; code?: unknown; committed?: unknown } | null;
parentPort!.postMessage({ left: true, stats: runner.stats, lastError: e === null ? null : { name: e.name, code: e.code, committed: e.committed } });
sched.close();
parentPort!.close();
