/**
 * Threads of the `sched` suite.
 * - As a worker thread (`workerData.handle` set): an nr-sched runner with
 *   handlers for the suite's workloads.
 * - As a piscina task file (the default export): the same handlers for the
 *   piscina baseline.
 * Every handler returns its submit-to-start latency in µs (the payload is
 * the submit time on the shared clock), then does its work.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { connectScheduler, openScheduler, Runner, schedNow, type SchedulerHandle } from '../src/sched/index.js';

export const SCHED_WORKLOADS = ['noop', '50us'] as const;
export type SchedWorkload = (typeof SCHED_WORKLOADS)[number];

function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

const handlers = {
  noop: (submittedAt: number): number => (schedNow() - submittedAt) * 1000,
  '50us': (submittedAt: number): number => {
    const lat = (schedNow() - submittedAt) * 1000;
    spinUs(50);
    return lat;
  },
};

/** piscina: `{ kind, t }` → latency in µs. */
export default function piscinaTask(task: { kind: SchedWorkload; t: number }): number {
  return handlers[task.kind](task.t);
}

interface RunnerInput {
  handle: SchedulerHandle;
  capacity: number;
  /** A client runner (through a node's replica, connectScheduler) instead of a replica of its own. */
  client?: boolean;
}

if (!isMainThread && parentPort && (workerData as RunnerInput | null)?.handle?.kind === 'nr-sched') {
  const input = workerData as RunnerInput;
  const sched = input.client ? connectScheduler(input.handle) : openScheduler(input.handle);
  const runner = new Runner(sched, handlers, { capacity: input.capacity, leaseMs: 10_000, maxClaim: input.capacity, idleMs: 50 });
  parentPort.postMessage({ ready: true, workerId: runner.workerId });
  parentPort.on('message', (m: { stop?: boolean }) => {
    if (m.stop) {
      void runner.stop().then(() => {
        parentPort!.postMessage({ stats: runner.stats });
        sched.close();
        parentPort!.close();
      });
    }
  });
}
