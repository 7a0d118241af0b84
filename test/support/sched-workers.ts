/** Starts scheduler runner workers (test/workers/sched-runner.ts) and tracks their messages. */
import { Worker } from 'node:worker_threads';
import type { SchedulerHandle } from '../../src/sched/index.js';
import { workerPath } from './spawn.js';

export interface RunnerWorker {
  worker: Worker;
  workerId: number;
  slot: number;
  left: Promise<Record<string, unknown>>;
  exited: Promise<number>;
}

export async function startRunner(handle: SchedulerHandle, audit: SharedArrayBuffer, capacity: number, leaseMs: number, kinds?: string[]): Promise<RunnerWorker> {
  const worker = new Worker(workerPath('sched-runner'), { workerData: { handle, capacity, leaseMs, audit, kinds } });
  const exited = new Promise<number>((res) => worker.once('exit', res));
  let leftResolve!: (m: Record<string, unknown>) => void;
  const left = new Promise<Record<string, unknown>>((res) => (leftResolve = res));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('runner did not start in 30 s')), 30_000);
    worker.on('message', (m: Record<string, unknown>) => {
      if (m.ready) {
        clearTimeout(timer);
        resolve(m);
      }
      if (m.left) leftResolve(m);
    });
    worker.once('error', reject);
  });
  return { worker, workerId: ready.workerId as number, slot: ready.slot as number, left, exited };
}
