/** A worker thread that submits tasks and awaits their results (any thread can submit). */
import { parentPort, workerData } from 'node:worker_threads';
import { openScheduler, type SchedulerHandle } from '../../src/sched/index.js';

const { handle, n, base } = workerData as { handle: SchedulerHandle; n: number; base: number };
const sched = openScheduler(handle);
const results = await Promise.all(Array.from({ length: n }, (_, i) => sched.submit<number>('work', { x: base + i })));
const submitter = sched.submitter;
sched.close(); // leave the log before reporting: the test terminates this thread on the report
parentPort!.postMessage({ results, submitter });
