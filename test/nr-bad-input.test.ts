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
  UnknownOpError,
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

describe('fenceHolding', () => {
  it('fences the replica that holds a mark back only after fenceAfterMs of waiting, never this one or one past the mark; bad arguments are ConfigErrors', () => {
    const h = createHandle(HashMap, { replicas: 2, logBytes: 4096, fenceAfterMs: 50 });
    const a = attach(h, HashMap);
    const lagging = attach(h, HashMap);
    a.writes.put('k', 1);
    const mark = a.logMark();
    a.writes.put('k', 2);
    for (const bad of [Number.NaN, undefined, 2 ** 53, 1.5, '5']) expect(() => a.fenceHolding(bad as number, performance.now())).toThrow(/fenceHolding: mark must be a log position/);
    for (const bad of [Number.NaN, undefined, Infinity, '5']) expect(() => a.fenceHolding(mark, bad as number)).toThrow(/fenceHolding: waitingSince must be a performance.now\(\) time/);
    // Not waited long enough: nothing fenced.
    expect(a.fenceHolding(mark, performance.now())).toBe(false);
    expect(lagging.status()).toBe('live');
    // This replica holding the mark back is never fenced by itself.
    expect(lagging.fenceHolding(a.logMark(), performance.now() - 1000)).toBe(false);
    expect(lagging.status()).toBe('live');
    // Waited past fenceAfterMs: the laggard is fenced, once; the mark is then applied everywhere.
    expect(a.fenceHolding(mark, performance.now() - 60)).toBe(true);
    expect(a.stats().fences).toBe(1);
    expect(a.appliedEverywhere(mark)).toBe(true);
    expect(a.fenceHolding(mark, performance.now() - 60)).toBe(false);
    expect(lagging.status()).toBe('fenced');
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

/** An op that uses a third argument when given one, with a codec that carries two (and says so). */
const Tagged = defineStructure({
  name: 'test.tagged',
  create: (): Map<string, number> => new Map(),
  reads: { get: (m: Map<string, number>, k: string): number | undefined => m.get(k) },
  writes: { set: (m: Map<string, number>, k: string, v: number, override?: number): number => m.set(k, override ?? v).size },
  codecs: {
    set: { encode: (w: OpWriter, k: string, v: number) => (w.str(k), w.f64(v)), decode: (r) => [r.str(), r.f64()] as [string, number], arity: 2 },
  },
});

describe('more arguments than the codec carries', () => {
  it('is an EncodeError with nothing appended, sync and async: the issuer would have applied an argument no other replica sees', async () => {
    const h = createHandle(Tagged, { replicas: 2, logBytes: 4096 });
    const a = attach(h, Tagged);
    const b = attach(h, Tagged);
    const tail = (): number => Atomics.load(new Int32Array(h.memory.buffer), TAIL);
    const t0 = tail();
    const extra = a.writes.set as unknown as (...args: unknown[]) => number;
    expect(() => extra('k', 1, 99)).toThrow(EncodeError);
    expect(() => extra('k', 1, 99)).toThrow("cannot encode write op 'set': takes at most 2 arguments (its codec carries no more), got 3");
    await expect((a.writeAsync as unknown as (...args: unknown[]) => Promise<number>)('set', 'k', 1, 99)).rejects.toThrow(EncodeError);
    expect(tail()).toBe(t0);
    expect(a.reads.get('k')).toBeUndefined();
    a.writes.set('k', 1);
    expect([a.reads.get('k'), b.reads.get('k')]).toEqual([1, 1]);
  });

  it("the built-in structures' codecs say their arity: HashMap.put('a', 1, 2) and a client's extra read argument are EncodeErrors", async () => {
    const h = createHandle(HashMap, { replicas: 2, logBytes: 4096, clients: 1 });
    const a = attach(h, HashMap);
    const put = a.writes.put as unknown as (...args: unknown[]) => unknown;
    expect(() => put('a', 1, 2)).toThrow("cannot encode write op 'put': takes at most 2 arguments (its codec carries no more), got 3");
    expect(() => (a.writes.clear as unknown as (...args: unknown[]) => unknown)(1)).toThrow("takes at most 0 arguments");
    expect(a.reads.size()).toBe(0);
    a.writes.put('k', 7);
    // A client thread: an extra argument to a read or a write fails at its call, before anything is sent.
    const w = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       Promise.all([import(workerData.url), import(workerData.structs)]).then(async ([{ connect }, { HashMap }]) => {
         const c = connect(workerData.handle, HashMap, { node: 0, timeoutMs: 5000 });
         const outcome = (p) => p.then((v) => ({ value: v }), (e) => ({ error: e.name, message: e.message }));
         const extraRead = await outcome(c.readAsync('get', 'k', 'extra'));
         const extraWrite = await outcome(c.writeAsync('put', 'k', 8, 9));
         parentPort.postMessage({ extraRead, extraWrite, get: await outcome(c.readAsync('get', 'k')) });
       });`,
      {
        eval: true,
        workerData: {
          handle: h,
          url: new URL('../dist/src/nr/index.js', import.meta.url).href,
          structs: new URL('../dist/src/nr/structures/index.js', import.meta.url).href,
        },
      },
    );
    workers.push(w);
    expect(await nextMessage(w)).toEqual({
      extraRead: { error: 'EncodeError', message: "cannot encode read op 'get': takes at most 1 argument (its codec carries no more), got 2" },
      extraWrite: { error: 'EncodeError', message: "cannot encode write op 'put': takes at most 2 arguments (its codec carries no more), got 3" },
      get: { value: 7 },
    });
  });

  it('defineStructure refuses an arity or applyDecoded of the wrong type, and a codec that is not one', () => {
    const spec = (codec: unknown) => ({
      name: 'test.bad-codec',
      create: () => 0,
      reads: {},
      writes: { inc: (s: number, n: number) => s + n },
      codecs: { inc: codec as never },
    });
    const ok = { encode: (w: OpWriter, n: number) => w.f64(n), decode: (r: { f64(): number }) => [r.f64()] as [number] };
    for (const arity of [-1, 1.5, '1', Number.NaN]) {
      expect(() => defineStructure(spec({ ...ok, arity }))).toThrow(/^defineStructure: codecs\.inc\.arity must be a non-negative integer/);
    }
    expect(() => defineStructure(spec({ ...ok, applyDecoded: 'yes' }))).toThrow('defineStructure: codecs.inc.applyDecoded must be a boolean');
    expect(() => defineStructure(spec(null))).toThrow('defineStructure: codecs.inc must be an object { encode, decode }, got null');
    expect(() => defineStructure(spec({ encode: ok.encode }))).toThrow('defineStructure: codecs.inc needs encode and decode functions');
    expect(defineStructure(spec({ ...ok, arity: 1 })).writeCodecs[0]!.arity).toBe(1);
  });
});

describe('option values of the wrong kind', () => {
  it('null for any option is a ConfigError (it was taken as the default), and a symbol or a bigint a ConfigError, not a TypeError from the check itself', () => {
    for (const key of ['logBytes', 'replicas', 'maxReplicas', 'fenceAfterMs', 'deadAfterMs', 'clients', 'clientSlots', 'clientSlotBytes', 'transferMaxBytes']) {
      expect(() => createHandle(HashMap, { [key]: null } as never)).toThrow(`createHandle: option '${key}' is null (leave it out, or undefined, for the default)`);
      for (const bad of [Symbol('s'), 10n, true, '5']) expect(() => createHandle(HashMap, { [key]: bad } as never)).toThrow(ConfigError);
    }
    const h = createHandle(HashMap, { replicas: 2, clients: 1 });
    expect(() => attach(h, HashMap, { combine: null } as never)).toThrow("attach: option 'combine' is null");
    expect(() => attach(h, HashMap, { slot: Symbol('s') } as never)).toThrow('slot must be an integer from 0 to 7');
    // Nothing was claimed by the refused calls: both slots are still there.
    const a = attach(h, HashMap);
    const b = attach(h, HashMap);
    a.writes.put('k', 1);
    expect(b.reads.get('k')).toBe(1);
  });

  it('a structure that is not one, and an op name that is a symbol: typed errors', () => {
    const h = createHandle(HashMap, { replicas: 1 });
    for (const bad of [undefined, null, 5, {}]) {
      expect(() => createHandle(bad as never)).toThrow('createHandle needs a structure made by defineStructure()');
      expect(() => attach(h, bad as never)).toThrow(ConfigError);
      expect(() => defineStructure(bad as never)).toThrow(ConfigError);
    }
    const r = attach(h, HashMap);
    const untypedWrite = r.write.bind(r) as unknown as (...a: unknown[]) => unknown;
    const untypedRead = r.read.bind(r) as unknown as (...a: unknown[]) => unknown;
    expect(() => untypedWrite(Symbol('put'), 1, 1)).toThrow("structure has no write op named 'Symbol(put)'");
    expect(() => untypedRead(Symbol('get'), 1)).toThrow(UnknownOpError);
    expect(r.reads.size()).toBe(0);
  });
});
