/**
 * A submitter that closes its view while its own submits are under way, for
 * the sched tests (close() racing submit() from other threads). Modes:
 * - `same-tick`: close() in the tick of the submits (nothing is written);
 * - `in-flight`: close() one microtask later, while the submit op sits in
 *   the combiner (detach commits it: the tasks exist, no result comes here);
 * - `after-first`: close() once the first result arrived.
 * Reports every await's outcome: `ok:<value>`, an error code, or `HUNG` if
 * it did not settle within 10 s.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openScheduler, type SchedulerHandle } from '../../src/sched/index.js';

const { handle, n, base, mode } = workerData as { handle: SchedulerHandle; n: number; base: number; mode: 'same-tick' | 'in-flight' | 'after-first' };
const sched = openScheduler(handle);
const submitter = sched.submitter;
const ps = Array.from({ length: n }, (_, i) => sched.submit<number>('work', { x: base + i }));
if (mode === 'same-tick') sched.close();
else if (mode === 'in-flight') {
  await null;
  sched.close();
} else {
  await Promise.race(ps.map((p) => p.catch(() => {})));
  sched.close();
}
const outcomes = await Promise.all(
  ps.map(
    (p) =>
      new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('HUNG'), 10_000);
        p.then(
          (v) => resolve(`ok:${v}`),
          (e: { code?: string }) => resolve(String(e?.code ?? e)),
        ).finally(() => clearTimeout(timer));
      }),
  ),
);
parentPort!.postMessage({ outcomes, submitter });
