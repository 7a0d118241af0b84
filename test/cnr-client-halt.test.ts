/**
 * A client of a parallel-logs node whose view halts: a forged word on one
 * log (CTAIL past TAIL on log 1) makes the node fail stop when it serves
 * the client's read there; the view halts on every log, so the client's
 * later ops on every log, reads and writes, fail at once with
 * NodeGoneError (never an answer from a halted node), and the node's
 * thread gets the FailStopError at its next op.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { connectCnr, createCnrHandle, keyHash } from '../src/nr/index.js';
import { HashMapCnr } from '../src/nr/structures/index.js';
import { CTAIL, TAIL } from '../src/nr/log/layout.js';
import { newControl } from './support/barrier.js';
import { RELEASE, STALLED, type CnrWorkerInput } from './support/cnr-layout.js';
import { workerPath } from './support/spawn.js';

const outcome = async (f: () => Promise<unknown>): Promise<{ value?: unknown; error?: string; ms: number }> => {
  const t0 = performance.now();
  try {
    return { value: await f(), ms: performance.now() - t0 };
  } catch (e) {
    return { error: (e as Error).name, ms: performance.now() - t0 };
  }
};

describe('parallel logs: a client of a node that halts', () => {
  it('the node fails stop on log 1 (forged CTAIL): the client gets NodeGoneError on every log at once; the node thread sees the FailStopError', async () => {
    const handle = createCnrHandle(HashMapCnr, { logs: 2, replicas: 1, clients: 1 });
    const control = newControl();
    const words = new Int32Array(control);
    const input: CnrWorkerInput = { handle, control, role: 'serve', client: 0, workers: 1, keys: 6 };
    const w = new Worker(workerPath('cnr-worker'), { workerData: input });
    const crashed = new Promise<string>((resolve) => {
      w.once('error', (e: Error) => resolve(`${e.name}: ${e.message}`));
      w.once('exit', () => resolve('exited'));
    });
    try {
      const deadline = Date.now() + 10_000;
      while (Atomics.load(words, STALLED) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const c = connectCnr(handle, HashMapCnr, { node: 0, timeoutMs: 2000 });
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
      const on = (log: number): string => keys.find((k) => keyHash(k) % 2 === log)!;
      expect(await c.readAsync('get', on(1))).toBe(keys.indexOf(on(1)));
      const log1 = new Int32Array(handle.logs[1]!.memory.buffer);
      Atomics.store(log1, CTAIL, Atomics.load(log1, TAIL) + 40);
      const first = await outcome(() => c.readAsync('get', on(1)));
      expect(first.error).toBe('NodeGoneError');
      for (const f of [() => c.readAsync('get', on(0)), () => c.writeAsync('put', on(0), 9), () => c.writeAsync('put', on(1), 9)]) {
        const o = await outcome(f);
        expect(o.error).toBe('NodeGoneError');
        expect(o.ms).toBeLessThan(500);
      }
      expect(() => c.reads.get(on(0))).toThrow(/node 0 is detached or gone/);
      c.close();
      Atomics.store(words, RELEASE, 1);
      // The worker's view, halted, throws the fail-stop at its next op (its final sync).
      expect(await crashed).toMatch(/^FailStopError: the shared log is corrupt: CTAIL \d+ is past TAIL \d+/);
    } finally {
      await w.terminate();
    }
  });
});
