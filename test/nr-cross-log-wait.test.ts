/**
 * A thread waiting for space in one log must not hold back another log.
 *
 * Thread A (the test's main thread) and worker B each hold a replica of two
 * logs: two parallel logs of one CNR handle, or two plain handles of two
 * structures. B first sleeps (replays nothing) while A fills log X, so A
 * waits for B's replica of X; then B fills log Y, whose head A's replica
 * holds, so B waits for A. Neither thread's event loop runs while it
 * waits, so no nudge helps: only a waiter that replays its own replicas of
 * the other logs breaks the cycle. Before that, the two waited
 * `fenceAfterMs` and one fenced the other (the test/concurrency flake: 30 s,
 * then FencedError). The exact outcome: every write lands, nobody is
 * fenced, and the replicas agree.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attach, attachCnr, createCnrHandle, createHandle, keyHash, type NrHandle, type CnrHandle } from '../src/nr/index.js';
import { Counter, HashMap, HashMapCnr } from '../src/nr/structures/index.js';

const FENCE_MS = 20_000;
const WRITES = 200; // each log is 4 KiB (128 cells): a few dozen writes fill it

/** Key names that the hashmap's mapper sends to log `log` of `logs`. */
function keysOnLog(log: number, logs: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (keyHash(`k${i}`) % logs === log) out.push(`k${i}`);
  return out;
}

interface BReport {
  fences: number;
  error?: string;
}

/** Worker B: attach, signal, sleep 300 ms without replaying, then write `body`; report its fences. */
function workerB(handles: unknown, body: string, control: SharedArrayBuffer): Worker {
  return new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     (async () => {
       const nr = await import(workerData.url);
       const { HashMap, HashMapCnr, Counter } = await import(workerData.structs);
       const ctrl = new Int32Array(workerData.control);
       const h = workerData.handles;
       try {
         ${body}
         Atomics.store(ctrl, 0, 1);
         Atomics.notify(ctrl, 0);
         Atomics.wait(ctrl, 1, 0, 300); // asleep: replays nothing while A fills its log
         write();
         parentPort.postMessage({ fences: fences() });
       } catch (e) {
         parentPort.postMessage({ fences: -1, error: String(e && e.stack || e) });
       }
       await Atomics.waitAsync(ctrl, 2, 0, 30000).value; // stay attached (in the event loop: nudged replicas replay) until A is done
     })();`,
    {
      eval: true,
      workerData: {
        handles,
        control,
        url: new URL('../dist/src/nr/index.js', import.meta.url).href,
        structs: new URL('../dist/src/nr/structures/index.js', import.meta.url).href,
      },
    },
  );
}

async function waitReady(ctrl: Int32Array): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Atomics.load(ctrl, 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  expect(Atomics.load(ctrl, 0)).toBe(1);
}

function report(b: Worker): Promise<BReport> {
  return new Promise((resolve, reject) => {
    b.once('message', resolve);
    b.once('error', reject);
  });
}

describe('a writer waiting for log space replays its replicas of other logs', () => {
  it('two parallel logs of one handle: A fills log 0 while B sleeps, B fills log 1 while A waits', async () => {
    const handle: CnrHandle = createCnrHandle(HashMapCnr, { logs: 2, replicas: 2, logBytes: 4096, fenceAfterMs: FENCE_MS });
    const control = new SharedArrayBuffer(16);
    const ctrl = new Int32Array(control);
    const a = attachCnr(handle, HashMapCnr);
    const b = workerB(
      { handle, keys: keysOnLog(1, 2, WRITES) },
      `const v = nr.attachCnr(h.handle, HashMapCnr);
       const write = () => { let i = 0; for (const k of h.keys) v.write('put', k, i++); };
       const fences = () => v.stats().logs.reduce((n, s) => n + s.fences, 0);`,
      control,
    );
    try {
      const reported = report(b);
      await waitReady(ctrl);
      const t0 = performance.now();
      let i = 0;
      for (const k of keysOnLog(0, 2, WRITES)) a.write('put', k, i++);
      const r = await reported;
      expect(r.error).toBeUndefined();
      expect(r.fences).toBe(0);
      expect(a.stats().logs.reduce((n, s) => n + s.fences, 0)).toBe(0);
      // Nobody waited out the fencing bound (it would have fenced someone).
      expect(performance.now() - t0).toBeLessThan(FENCE_MS);
      expect(a.read('size')).toBe(2 * WRITES);
    } finally {
      Atomics.store(ctrl, 2, 1);
      Atomics.notify(ctrl, 2);
      await b.terminate();
      a.detach();
    }
  });

  it('two handles of two structures: A fills the map log while B sleeps, B fills the counter log while A waits', async () => {
    const map: NrHandle = createHandle(HashMap, { replicas: 2, logBytes: 4096, fenceAfterMs: FENCE_MS });
    const counter: NrHandle = createHandle(Counter, { replicas: 2, logBytes: 4096, fenceAfterMs: FENCE_MS });
    const control = new SharedArrayBuffer(16);
    const ctrl = new Int32Array(control);
    const am = attach(map, HashMap);
    const ac = attach(counter, Counter);
    const b = workerB(
      { map, counter, writes: WRITES },
      `const m = nr.attach(h.map, HashMap);
       const c = nr.attach(h.counter, Counter);
       const write = () => { for (let i = 0; i < h.writes; i++) c.writes.add(1); };
       const fences = () => m.stats().fences + c.stats().fences;`,
      control,
    );
    try {
      const reported = report(b);
      await waitReady(ctrl);
      const t0 = performance.now();
      for (let i = 0; i < WRITES; i++) am.writes.put(`k${i}`, i);
      const r = await reported;
      expect(r.error).toBeUndefined();
      expect(r.fences).toBe(0);
      expect(am.stats().fences + ac.stats().fences).toBe(0);
      expect(performance.now() - t0).toBeLessThan(FENCE_MS);
      expect(am.reads.size()).toBe(WRITES);
      expect(ac.reads.get()).toBe(WRITES);
    } finally {
      Atomics.store(ctrl, 2, 1);
      Atomics.notify(ctrl, 2);
      await b.terminate();
      am.detach();
      ac.detach();
    }
  });
});
