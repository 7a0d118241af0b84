/**
 * Bad input at the NR core's public call sites: each is a typed error with
 * nothing written and other threads unaffected. Each case here was accepted
 * before (or failed with an untyped error) and could cost another thread
 * its memory, its slot or its copy of the state.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attach,
  clientRequestsPending,
  ConfigError,
  createHandle,
  declareClientDead,
  declareDead,
  declareThreadDead,
  defineStructure,
  EncodeError,
  HandleMismatchError,
  LIMITS,
  type NrHandle,
  OpWriter,
} from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { TAIL } from '../src/nr/log/layout.js';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

describe('appliedEverywhere', () => {
  it('a mark that is not an int32 (NaN, undefined, 2^53, 1.5, a string) is a ConfigError, never "applied everywhere" while a replica still needs the entries', () => {
    const h = createHandle(HashMap, { replicas: 2, logBytes: 4096 });
    const a = attach(h, HashMap);
    const lagging = attach(h, HashMap);
    a.writes.put('k', 1);
    const mark = a.logMark();
    a.writes.put('k', 2);
    expect(a.appliedEverywhere(mark)).toBe(false); // `lagging` has not applied the first put
    for (const bad of [Number.NaN, undefined, 2 ** 53, 1.5, '5', -0.5]) {
      expect(() => a.appliedEverywhere(bad as number)).toThrow(ConfigError);
      expect(() => a.appliedEverywhere(bad as number)).toThrow(/appliedEverywhere: mark must be a log position from logMark\(\) \(an int32\)/);
    }
    expect(lagging.reads.get('k')).toBe(2);
    expect(a.appliedEverywhere(mark)).toBe(true);
  });
});

describe('createHandle', () => {
  it('transferMaxBytes NaN, negative, fractional or past 2^32 is a ConfigError (NaN was taken as 0, so no snapshot could ever be handed over)', () => {
    for (const bad of [Number.NaN, -1, 1.5, 2 ** 53, Infinity, '1024']) {
      expect(() => createHandle(HashMap, { transferMaxBytes: bad as number })).toThrow(ConfigError);
      expect(() => createHandle(HashMap, { transferMaxBytes: bad as number })).toThrow(/^transferMaxBytes must be an integer from 0 to 4294967296, got /);
    }
    expect(createHandle(HashMap, { transferMaxBytes: 1 << 20 }).transfer.maxByteLength).toBe(1 << 20);
  });
});

/** A worker that is a client of node 0 and answers each message with a read of 'k' (or the error's name). */
function clientWorker(handle: NrHandle): Worker {
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     Promise.all([import(workerData.url), import(workerData.structs)]).then(([{ connect }, { HashMap }]) => {
       const c = connect(workerData.handle, HashMap, { node: 0, timeoutMs: 5000 });
       parentPort.on('message', () => c.readAsync('get', 'k').then((v) => parentPort.postMessage({ value: v }), (e) => parentPort.postMessage({ error: e.name })));
       parentPort.postMessage({ ready: true });
     });`,
    {
      eval: true,
      workerData: {
        handle,
        url: new URL('../dist/src/nr/index.js', import.meta.url).href,
        structs: new URL('../dist/src/nr/structures/index.js', import.meta.url).href,
      },
    },
  );
  workers.push(w);
  return w;
}

const nextMessage = (w: Worker): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message from the worker within 10 s')), 10_000);
    w.once('message', (m: Record<string, unknown>) => {
      clearTimeout(t);
      resolve(m);
    });
  });

describe('the declare calls', () => {
  it("a thread id past 29 bits is a ConfigError: it named the client slots of the thread with the same low bits (a live client's slot was given back)", async () => {
    const h = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = attach(h, HashMap);
    node.writes.put('k', 'v');
    const w = clientWorker(h);
    expect(await nextMessage(w)).toEqual({ ready: true });
    const alias = w.threadId + LIMITS.maxThreadId + 1; // the same low 29 bits
    for (const call of [() => declareClientDead(h, alias), () => declareThreadDead(h, alias), () => clientRequestsPending(h, alias)]) {
      expect(call).toThrow(ConfigError);
      expect(call).toThrow(`threadId must be an integer from 0 to ${LIMITS.maxThreadId} (worker.threadId), got ${alias}`);
    }
    // The client still holds its slot and is served.
    w.postMessage('get');
    expect(await nextMessage(w)).toEqual({ value: 'v' });
    expect(declareClientDead(h, w.threadId)).toBe(1); // the real id does name it
    node.detach();
  });

  it('a handle that is not one (null, {}, a wrong transfer buffer) is a HandleMismatchError, not a TypeError', () => {
    const h = createHandle(HashMap, { replicas: 1 });
    for (const bad of [null, {}, { ...h, transfer: {} }, { ...h, context: 7 }] as unknown as NrHandle[]) {
      for (const call of [() => declareDead(bad, 0), () => declareThreadDead(bad, 1), () => declareClientDead(bad, 1), () => clientRequestsPending(bad, 1), () => attach(bad, HashMap)]) {
        expect(call).toThrow(HandleMismatchError);
      }
    }
  });
});

/** A structure with a hand-written codec that trusts OpWriter to refuse what it cannot carry. */
const Samples = defineStructure({
  name: 'test.samples',
  create: (): unknown[] => [],
  reads: { all: (s: unknown[]): unknown[] => s.slice() },
  writes: {
    add: (s: unknown[], x: number): number => s.push(x),
    blob: (s: unknown[], b: Uint8Array): number => s.push(Array.from(b)),
  },
  codecs: {
    add: { encode: (w: OpWriter, x: number) => w.f64(x), decode: (r) => [r.f64()] as [number] },
    blob: { encode: (w: OpWriter, b: Uint8Array) => w.bytesWithLength(b), decode: (r) => [r.bytesWithLength()] as [Uint8Array] },
  },
});

describe('OpWriter refuses what would arrive changed', () => {
  it('a string given to f64 or bytesWithLength, or a number to str: EncodeError, nothing appended, the replicas still agree', () => {
    const h = createHandle(Samples, { replicas: 2, logBytes: 4096 });
    const a = attach(h, Samples);
    const b = attach(h, Samples);
    const tail = (): number => Atomics.load(new Int32Array(h.memory.buffer), TAIL);
    const t0 = tail();
    // The caller's JS passes a string: the issuer would apply '1', every other replica NaN (f64) or zeros.
    expect(() => a.writes.add('1' as unknown as number)).toThrow(EncodeError);
    expect(() => a.writes.add('1' as unknown as number)).toThrow("cannot encode write op 'add': string is not an f64 (a number)");
    expect(() => a.writes.blob('abc' as unknown as Uint8Array)).toThrow("cannot encode write op 'blob': bytesWithLength takes a Uint8Array, got string");
    expect(tail()).toBe(t0);
    a.writes.add(Number.NaN);
    a.writes.add(-0);
    a.writes.blob(new Uint8Array([1, 2]));
    expect(b.reads.all()).toEqual(a.reads.all());
    expect(Object.is((b.reads.all() as number[])[1], -0)).toBe(true);
    expect(() => new OpWriter().str(5 as unknown as string)).toThrow('number is not a string');
  });
});
