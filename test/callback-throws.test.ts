/**
 * A user callback that throws (an NR client's submitRead/submitWrite `done`,
 * a sched submit's `onId`) is the caller's bug: node reports a throwing
 * callback as an uncaught exception, and so do these, from a microtask, with
 * the client or the scheduler view going on unaffected. Before, a throwing
 * `done` on a successful answer was swallowed (taken for the op's own
 * failure, which it had already settled), one on an error answer cut the
 * client's pump short, and a throwing `onId` was silently ignored.
 * Each case runs in a worker, which reports its uncaught exceptions.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attach, createHandle } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

const dist = (path: string): string => new URL(`../dist/src/${path}`, import.meta.url).href;

/** Run `body` (an async function of the imported modules) in a worker; resolve with what it returns plus the uncaught exceptions seen. */
function inWorker(body: string, workerData: Record<string, unknown>): Promise<Record<string, unknown>> {
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const uncaught = [];
     process.on('uncaughtException', (e) => uncaught.push(e.message));
     Promise.all([import(workerData.nr), import(workerData.structs), import(workerData.sched)]).then(async ([nr, structs, sched]) => {
       const result = await (${body})(nr, structs, sched, workerData);
       await new Promise((r) => setTimeout(r, 50));
       parentPort.postMessage({ result, uncaught });
     }).catch((e) => parentPort.postMessage({ failed: String(e && e.stack || e) }));`,
    { eval: true, workerData: { ...workerData, nr: dist('nr/index.js'), structs: dist('nr/structures/index.js'), sched: dist('sched/index.js') } },
  );
  workers.push(w);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no answer from the worker within 20 s')), 20_000);
    w.once('message', (m: Record<string, unknown>) => {
      clearTimeout(t);
      resolve(m);
    });
    w.once('error', reject);
  });
}

describe('a user callback that throws', () => {
  it("an NR client's submitRead/submitWrite done: rethrown uncaught, the op's outcome stands, the client's later ops are answered", async () => {
    const h = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = attach(h, HashMap);
    node.writes.put('k', 1);
    const out = await inWorker(
      `async (nr, { HashMap }, _sched, { handle }) => {
         const c = nr.connect(handle, HashMap, { node: 0, timeoutMs: 5000 });
         const calls = [];
         c.submitRead('get', ['k'], (e, v) => { calls.push(['get', e && e.name, v]); throw new Error('boom on a value'); });
         c.submitWrite('put', ['k', 2], (e, v) => { calls.push(['put', e && e.name, v]); throw new Error('boom on a write'); });
         // An error answer: the node's apply throws nothing here, so use an unknown op, refused at the call.
         c.submitRead('nope', [], (e) => { calls.push(['nope', e && e.name]); throw new Error('boom on an error'); });
         const after = await c.readAsync('get', 'k');
         c.close();
         return { calls, after };
       }`,
      { handle: h },
    );
    expect(out).toEqual({
      result: {
        calls: [
          ['nope', 'UnknownOpError'],
          ['get', undefined, 1],
          ['put', undefined, 1],
        ],
        after: 2,
      },
      uncaught: ['boom on an error', 'boom on a value', 'boom on a write'],
    });
    expect(node.reads.get('k')).toBe(2);
  });

  it("a sched submit's onId: rethrown uncaught, the task and the rest of its batch stand", async () => {
    const out = await inWorker(
      `async (_nr, _structs, { createScheduler, openScheduler }) => {
         const handle = createScheduler({ kinds: ['k'], threads: 1, policy: 'fifo' });
         const sched = openScheduler(handle);
         const seen = [];
         sched.submitMany([
           { kind: 'k', payload: 1, options: { onId: (id) => { seen.push(id); throw new Error('boom in onId'); } } },
           { kind: 'k', payload: 2, options: { onId: (id) => seen.push(id) } },
         ]).forEach((p) => p.catch(() => {})); // closed below, never run: SchedulerClosedError
         for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
         const tasks = sched.tasks().map((t) => [t.payload, t.state]);
         sched.close();
         return { seen, tasks };
       }`,
      {},
    );
    expect(out).toEqual({
      result: {
        seen: [1, 2],
        tasks: [
          [1, 'queued'],
          [2, 'queued'],
        ],
      },
      uncaught: ['boom in onId'],
    });
  });
});
