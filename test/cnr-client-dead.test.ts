/**
 * A client thread of a parallel-logs handle killed with terminate(): its
 * manager calls declareCnrThreadDead, as declareThreadDead on one log, and
 * the thread's client slots on every log come back. Before, only its
 * replica slots did: a new client got CapacityError for good.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachCnr, CapacityError, ConfigError, connectCnr, createCnrHandle, declareCnrThreadDead, LIMITS } from '../src/nr/index.js';
import { HashMapCnr } from '../src/nr/structures/index.js';

describe('declareCnrThreadDead and client slots', () => {
  it("a terminated client thread's slots on every log are given back; a thread id past 29 bits is a ConfigError", async () => {
    const handle = createCnrHandle(HashMapCnr, { logs: 2, replicas: 1, clients: 1 });
    const node = attachCnr(handle, HashMapCnr);
    node.writes.put('k', 'v');
    const w = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       Promise.all([import(workerData.url), import(workerData.structs)]).then(([{ connectCnr }, { HashMapCnr }]) => {
         connectCnr(workerData.handle, HashMapCnr, { node: 0 });
         parentPort.postMessage('connected');
         setInterval(() => {}, 1000); // stays alive until terminated
       });`,
      {
        eval: true,
        workerData: { handle, url: new URL('../dist/src/nr/index.js', import.meta.url).href, structs: new URL('../dist/src/nr/structures/index.js', import.meta.url).href },
      },
    );
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the client worker did not connect within 10 s')), 10_000);
      w.once('message', () => {
        clearTimeout(t);
        resolve();
      });
    });
    const tid = w.threadId;
    await w.terminate(); // runs no exit hook: the slots stay taken
    expect(() => connectCnr(handle, HashMapCnr, { node: 0 })).toThrow(CapacityError);
    expect(() => declareCnrThreadDead(handle, tid + LIMITS.maxThreadId + 1)).toThrow(ConfigError);
    expect(declareCnrThreadDead(handle, tid)).toEqual([]); // no replica slots
    const c = connectCnr(handle, HashMapCnr, { node: 0 });
    expect(await c.readAsync('get', 'k')).toBe('v');
    c.close();
    node.detach();
  });
});
