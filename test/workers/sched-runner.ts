/**
 * A scheduler runner in a worker thread, for the sched tests. Handlers:
 * - `work` {x, ms?, failFirst?, spin?}: optionally throws on attempt 1,
 *   waits `ms` (async) or spins `spin` ms (sync), returns x * 2;
 * - `echo`: returns its payload.
 * Successful completions are counted per task id in the shared `audit`
 * array (Atomics, so the counts survive a terminate()).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openScheduler, Runner, type SchedulerHandle } from '../../src/sched/index.js';

interface Input {
  handle: SchedulerHandle;
  capacity: number;
  leaseMs: number;
  audit: SharedArrayBuffer;
  kinds?: string[];
}
interface WorkPayload {
  x: number;
  ms?: number;
  failFirst?: boolean;
  spin?: number;
}

const input = workerData as Input;
const audit = new Int32Array(input.audit);
const sched = openScheduler(input.handle);
const all = {
  work: async (p: WorkPayload, ctx: { attempt: number }): Promise<number> => {
    if (p.failFirst && ctx.attempt === 1) throw new Error('first attempt fails');
    if (p.spin) {
      const end = Date.now() + p.spin;
      while (Date.now() < end);
    }
    if (p.ms) await new Promise((r) => setTimeout(r, p.ms));
    return p.x * 2;
  },
  echo: (p: unknown): unknown => p,
};
const handlers = Object.fromEntries(Object.entries(all).filter(([k]) => (input.kinds ?? input.handle.kinds).includes(k)));
const runner = new Runner(sched, handlers, { capacity: input.capacity, leaseMs: input.leaseMs, idleMs: 20 });
runner.onCompleted = (ids) => {
  for (const id of ids) Atomics.add(audit, id, 1);
};
parentPort!.postMessage({ ready: true, workerId: runner.workerId, slot: sched.submitter });
parentPort!.on('message', (m: { stop?: boolean }) => {
  if (m.stop) void runner.stop();
});
await runner.finished;
parentPort!.postMessage({ left: true, stats: runner.stats });
sched.close();
parentPort!.close();
