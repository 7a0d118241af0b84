/** Starts scheduler runner workers (test/workers/sched-runner.ts) and tracks their messages. */
import { Worker } from 'node:worker_threads';
import { afterEach, expect } from 'vitest';
import type { ConnectSchedulerOptions, RunnerOptions, Scheduler, SchedulerHandle } from '../../src/sched/index.js';
import { workerPath } from './spawn.js';

export interface RunnerWorker {
  worker: Worker;
  workerId: number;
  slot: number;
  left: Promise<Record<string, unknown>>;
  exited: Promise<number>;
  /** The runner thread's replica digest (after it caught up). */
  digest(): Promise<string>;
}

export interface RunnerExtras {
  /** Shared words the `slow` handler counts itself in. */
  probe?: SharedArrayBuffer;
  /** Runner options beyond capacity and leaseMs. */
  options?: RunnerOptions;
  /** A client runner (connectScheduler with these options) instead of a replica. */
  client?: ConnectSchedulerOptions;
}

export async function startRunner(handle: SchedulerHandle, audit: SharedArrayBuffer, capacity: number, leaseMs: number, kinds?: string[], extras: RunnerExtras = {}): Promise<RunnerWorker> {
  const worker = new Worker(workerPath('sched-runner'), { workerData: { handle, capacity, leaseMs, audit, kinds, probe: extras.probe, options: extras.options, client: extras.client } });
  const exited = new Promise<number>((res) => worker.once('exit', res));
  let leftResolve!: (m: Record<string, unknown>) => void;
  const left = new Promise<Record<string, unknown>>((res) => (leftResolve = res));
  const digests: ((d: string) => void)[] = [];
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('runner did not start in 30 s')), 30_000);
    worker.on('message', (m: Record<string, unknown>) => {
      if (m.ready) {
        clearTimeout(timer);
        resolve(m);
      }
      if (m.left) leftResolve(m);
      if (typeof m.digest === 'string') digests.shift()?.(m.digest);
    });
    worker.once('error', reject);
  });
  const digest = (): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('runner did not report its digest in 10 s')), 10_000);
      digests.push((d) => {
        clearTimeout(timer);
        resolve(d);
      });
      worker.postMessage({ digest: true });
    });
  return { worker, workerId: ready.workerId as number, slot: ready.slot as number, left, exited, digest };
}

/** Schedulers and runner workers a test file opens: after each test the workers are terminated and the views closed. */
export function trackSched(): { open: Scheduler[]; workers: RunnerWorker[] } {
  const open: Scheduler[] = [];
  const workers: RunnerWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.terminate()));
    for (const s of open.splice(0)) s.close();
  });
  return { open, workers };
}

/** Polls `pred` every 5 ms; throws after `ms`. */
export async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The runner counts a completion in `audit` (its onCompleted) after the node
 * accepted the finish, so the submitter can see the result first: wait for the
 * count, then check no second completion was counted.
 */
export async function expectCompletedOnce(audit: SharedArrayBuffer, id: number): Promise<void> {
  const words = new Int32Array(audit);
  await until(() => Atomics.load(words, id) >= 1, 10_000);
  await new Promise((r) => setTimeout(r, 50));
  expect(Atomics.load(words, id)).toBe(1);
}

/** `p`, or a rejection naming `what` after `ms`: a regression fails, it does not hang. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The `echo` tasks `results` (payload i, submitted in order) all settled with their payloads, and each
 * was done exactly once: one `done` attempt in its log, at most one accepted completion in `audit`.
 */
export async function expectEchoedOnce(sched: Scheduler, results: Promise<number>[], audit: SharedArrayBuffer): Promise<void> {
  const n = results.length;
  expect(await within(Promise.all(results), 30_000, 'all tasks')).toEqual(Array.from({ length: n }, (_, i) => i));
  const words = new Int32Array(audit);
  for (const t of sched.tasks()) {
    expect(t.state).toBe('done');
    expect(t.log.filter((a) => a.end === 'done').length).toBe(1);
    expect(Atomics.load(words, t.id)).toBeLessThanOrEqual(1); // no runner saw a second completion accepted
  }
  expect(sched.tasks().length).toBe(n);
}
