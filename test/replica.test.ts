/**
 * Replica semantics in one thread, where several replicas of one log can be
 * interleaved deterministically: property tests against a sequential
 * reference, flat combining, typed errors with nothing appended, and apply
 * functions that throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attach,
  CapacityError,
  ConfigError,
  connect,
  createHandle,
  defineStructure,
  DetachedError,
  EncodeError,
  HandleMismatchError,
  OpTooLargeError,
  ReentrancyError,
  UnknownOpError,
  type Replica,
} from '../src/nr/index.js';
import { TAIL } from '../src/nr/log/layout.js';
import { Counter, HashMap, Stack } from '../src/nr/structures/index.js';
import { attachMap, createMapHandle, LOG_COUNTS, systemName } from './support/log-systems.js';

const tailOf = (sab: SharedArrayBuffer): number => Atomics.load(new Int32Array(sab), TAIL);

type MapOp =
  | { r: number; kind: 'put'; key: string | number; value: string | number }
  | { r: number; kind: 'delete'; key: string | number }
  | { r: number; kind: 'get'; key: string | number }
  | { r: number; kind: 'size' };

const keyArb = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.string({ maxLength: 12 }));
const valueArb = fc.oneof(fc.double({ noNaN: true }), fc.string({ maxLength: 40 }));
const opArb: fc.Arbitrary<MapOp> = fc.oneof(
  fc.record({ r: fc.nat(2), kind: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ r: fc.nat(2), kind: fc.constant('delete' as const), key: keyArb }),
  fc.record({ r: fc.nat(2), kind: fc.constant('get' as const), key: keyArb }),
  fc.record({ r: fc.nat(2), kind: fc.constant('size' as const) }),
);

// On parallel logs (4 logs of the same size, through attachCnr) size is a multi-log op.
describe.each(LOG_COUNTS)('replicas against a sequential reference (fast-check), %i log(s)', (logs) => {
  it(`sync ops on 3 replicas of ${systemName(logs)} of 4 KiB match a plain Map, and digests converge`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        const handle = createMapHandle(logs, { replicas: 3, logBytes: 4096 });
        const rs = [0, 1, 2].map(() => attachMap(handle));
        const ref = new Map<string | number, string | number>();
        for (const op of ops) {
          const r = rs[op.r]!;
          switch (op.kind) {
            case 'put': {
              const prev = ref.get(op.key);
              ref.set(op.key, op.value);
              expect(r.write('put', op.key, op.value)).toStrictEqual(prev);
              break;
            }
            case 'delete':
              expect(r.write('delete', op.key)).toBe(ref.delete(op.key));
              break;
            case 'get':
              expect(r.read('get', op.key)).toStrictEqual(ref.get(op.key));
              break;
            case 'size':
              expect(r.read('size')).toBe(ref.size);
          }
        }
        expect(new Set(rs.map((r) => r.digest())).size).toBe(1);
      }),
      { numRuns: 150 },
    );
  });

  it(`${systemName(logs)}: async writes combine, resolve in issue order, and match the reference`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { maxLength: 30 }), { maxLength: 15 }), async (rounds) => {
        const handle = createMapHandle(logs, { replicas: 3, logBytes: 8192 });
        const rs = [0, 1, 2].map(() => attachMap(handle));
        const ref = new Map<string | number, string | number>();
        for (const round of rounds) {
          // All ops of a round are issued before any resolves; per replica they
          // apply in issue order, and replicas commit in the order they flush.
          const byReplica = [0, 1, 2].map((i) => round.filter((o) => o.r === i && o.kind !== 'get' && o.kind !== 'size'));
          const expected: unknown[][] = [];
          const promises: Promise<unknown>[][] = [];
          for (let i = 0; i < 3; i++) {
            promises.push(
              byReplica[i]!.map((op) =>
                op.kind === 'put' ? rs[i]!.writeAsync('put', op.key, op.value) : rs[i]!.writeAsync('delete', (op as { key: string | number }).key),
              ),
            );
          }
          // Microtask flushes run in the order the replicas first queued.
          for (let i = 0; i < 3; i++) {
            expected.push(
              byReplica[i]!.map((op) => {
                if (op.kind === 'put') {
                  const prev = ref.get(op.key);
                  ref.set(op.key, op.value);
                  return prev;
                }
                return op.kind === 'delete' ? ref.delete(op.key) : undefined;
              }),
            );
          }
          for (let i = 0; i < 3; i++) expect(await Promise.all(promises[i]!)).toStrictEqual(expected[i]);
        }
        for (const r of rs) expect(r.read('size')).toBe(ref.size);
        expect(new Set(rs.map((r) => r.digest())).size).toBe(1);
      }),
      { numRuns: 60 },
    );
  });
});

describe('flat combining', () => {
  it('writes issued in one run form one entry and one replay', async () => {
    const handle = createHandle(Counter, { replicas: 2 });
    const a = attach(handle, Counter);
    const b = attach(handle, Counter);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => a.writeAsync('add', i + 1)));
    // Each caller gets its own response, in issue order.
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => ((i + 1) * (i + 2)) / 2));
    expect(a.stats()).toMatchObject({ batches: 1, appends: 1, opsWritten: 100 });
    expect(b.read('get')).toBe(5050);
  });

  it('a sync write flushes earlier queued async writes first, in one batch', async () => {
    const handle = createHandle(Counter, { replicas: 1 });
    const a = attach(handle, Counter);
    const p = a.writeAsync('add', 1);
    expect(a.write('add', 10)).toBe(11);
    expect(await p).toBe(1);
    expect(a.stats().batches).toBe(1);
  });

  it('readAsync observes the writes queued before it', async () => {
    const handle = createHandle(HashMap, { replicas: 1 });
    const a = attach(handle, HashMap);
    void a.writeAsync('put', 'k', 1);
    expect(await a.readAsync('get', 'k')).toBe(1);
  });

  it("splits a batch larger than one entry, keeping every op's order", async () => {
    const handle = createHandle(HashMap, { replicas: 2, logBytes: 4096 });
    const a = attach(handle, HashMap);
    const b = attach(handle, HashMap);
    const ps = Array.from({ length: 500 }, (_, i) => a.writeAsync('put', 'k', i));
    const results = await Promise.all(ps);
    expect(results[0]).toBeUndefined();
    expect(results.slice(1)).toEqual(Array.from({ length: 499 }, (_, i) => i));
    expect(a.stats().appends).toBeGreaterThan(1);
    expect(b.read('get', 'k')).toBe(499);
  });

  it('a batch of more than 1 KiB (copied into the log natively) reaches the other replica intact', async () => {
    const handle = createHandle(HashMap, { replicas: 2 });
    const a = attach(handle, HashMap);
    const b = attach(handle, HashMap);
    const ps = Array.from({ length: 300 }, (_, i) => a.writeAsync('put', `key-${i}`, `value-${i}-${'x'.repeat(i % 17)}`));
    expect(await Promise.all(ps)).toEqual(Array.from({ length: 300 }, () => undefined));
    expect(a.stats()).toMatchObject({ batches: 1, appends: 1, opsWritten: 300 });
    expect(b.read('size')).toBe(300);
    expect(b.read('get', 'key-299')).toBe(`value-299-${'x'.repeat(299 % 17)}`);
    expect(b.digest()).toBe(a.digest());
  });

  it('write ops get exactly the arguments given (0 to 5), on the issuing replica and on the others', async () => {
    // A binary codec (count, then i32s) that is exact, so the issuer applies the caller's own args.
    const Rec = defineStructure({
      name: 'test.rec',
      version: 1,
      create: (): number[][] => [],
      reads: { all: (s: number[][]) => s },
      writes: { rec: (s: number[][], ...rest: number[]) => s.push([rest.length, ...rest]) },
      codecs: {
        rec: {
          encode(w, ...rest) {
            w.u8(rest.length);
            for (const v of rest) w.i32(v);
          },
          decode(r) {
            const n = r.u8();
            return Array.from({ length: n }, () => r.i32());
          },
        },
      },
    });
    const handle = createHandle(Rec, { replicas: 2 });
    const a = attach(handle, Rec);
    const b = attach(handle, Rec);
    const calls = [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4, 5]];
    for (const args of calls) a.write('rec', ...args);
    await Promise.all(calls.map((args) => a.writeAsync('rec', ...args)));
    const want = [...calls, ...calls].map((args) => [args.length, ...args]);
    expect(a.read('all')).toEqual(want);
    expect(b.read('all')).toEqual(want);
  });

  it("combine: 'immediate' gathers writes across macrotasks of one loop turn", async () => {
    const handle = createHandle(Counter, { replicas: 1 });
    const a = attach(handle, Counter, { combine: 'immediate' });
    const ps: Promise<number>[] = [];
    await new Promise<void>((done) => {
      // Two immediates of one loop turn, each issuing a write (microtasks run
      // between them); the combiner's own immediate runs in the next turn.
      setImmediate(() => ps.push(a.writeAsync('add', 1)));
      setImmediate(() => {
        ps.push(a.writeAsync('add', 2));
        done();
      });
    });
    expect(await Promise.all(ps)).toEqual([1, 3]);
    expect(a.stats().batches).toBe(1);
  });
});

describe('errors: typed, at the call site, nothing appended', () => {
  it('an op the codec cannot encode', async () => {
    const handle = createHandle(Stack, { replicas: 1 });
    const s = attach(handle, Stack);
    const before = tailOf(handle.memory.buffer);
    expect(() => s.write('push', () => 1)).toThrow(EncodeError);
    await expect(s.writeAsync('push', Symbol('x'))).rejects.toBeInstanceOf(EncodeError);
    const m = attach(createHandle(HashMap), HashMap);
    // @ts-expect-error a boolean is not a key: the binary codec rejects it at run time too
    expect(() => m.write('put', true, 1)).toThrow(EncodeError);
    expect(tailOf(handle.memory.buffer)).toBe(before);
    expect(s.write('push', 1)).toBe(1); // still usable
  });

  it('an op bigger than the log can ever hold', () => {
    const handle = createHandle(HashMap, { replicas: 1, logBytes: 4096 });
    const m = attach(handle, HashMap);
    expect(() => m.write('put', 'k', 'v'.repeat(5000))).toThrow(OpTooLargeError);
    expect(tailOf(handle.memory.buffer)).toBe(0);
    expect(m.read('size')).toBe(0);
  });

  it("an op far past an entry fails as it grows, and one large batch does not pin its staging buffer", async () => {
    const handle = createHandle(HashMap, { replicas: 1, logBytes: 8 << 20 });
    const m = attach(handle, HashMap);
    const stagingBytes = (): number => (m as unknown as { combiner: { staging: { bytes: Uint8Array } } }).combiner.staging.bytes.length;
    // 60M UTF-16 units: the writer would have grown a 256 MiB buffer before refusing the op.
    const huge = 'v'.repeat(60_000_000);
    expect(() => m.writes.put('k', huge)).toThrow(OpTooLargeError);
    expect(() => m.writes.put('k', huge)).toThrow(/^op 'put' encodes to at least \d+ bytes; a log entry holds at most \d+ \(raise it with the option `logBytes`\)$/);
    expect(stagingBytes()).toBeLessThanOrEqual(1 << 20);
    expect(tailOf(handle.memory.buffer)).toBe(0);
    // Its worst case (3 bytes a unit) is past an entry, its UTF-8 is not: it fits.
    expect(m.writes.put('fits', 'a'.repeat(400_000))).toBeUndefined();
    // 400 puts of 10 kB in one batch: 4 MB staged, cut into several entries.
    const value = 'x'.repeat(10_000);
    const puts: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) puts.push(m.writeAsync('put', i, value));
    await Promise.all(puts);
    expect(stagingBytes()).toBeGreaterThan(4_000_000);
    expect(m.writes.put('small', 1)).toBeUndefined();
    expect(stagingBytes()).toBe(4096);
    expect(m.reads.size()).toBe(402);
    expect(m.reads.get(399)).toBe(value);
  });

  it('a handle made for another structure, or not a handle at all', () => {
    const handle = createHandle(HashMap, { replicas: 2 });
    expect(() => attach(handle, Counter)).toThrow(HandleMismatchError);
    const renamed = defineStructure({ ...HashMap, name: HashMap.name, version: 2 });
    expect(() => attach(handle, renamed)).toThrow(HandleMismatchError);
    const reshaped = defineStructure({ name: HashMap.name, version: 1, create: () => 0, reads: {}, writes: { x: (s: number) => s } });
    expect(() => attach(handle, reshaped)).toThrow(HandleMismatchError);
    expect(() => attach({ ...handle, memory: { buffer: new SharedArrayBuffer(8) } }, HashMap)).toThrow(HandleMismatchError);
    // @ts-expect-error not a handle
    expect(() => attach({}, HashMap)).toThrow(HandleMismatchError);
  });

  it('more replicas than configured, and bad options', () => {
    const handle = createHandle(Counter, { replicas: 2, maxReplicas: 2 });
    attach(handle, Counter);
    attach(handle, Counter);
    expect(() => attach(handle, Counter)).toThrow(CapacityError);
    expect(() => createHandle(Counter, { replicas: 3, maxReplicas: 2 })).toThrow(ConfigError);
    expect(() => createHandle(Counter, { fenceAfterMs: 0 })).toThrow(ConfigError);
    expect(() => createHandle(Counter, { logBytes: 5000 })).toThrow(ConfigError);
    expect(() => createHandle(Counter, { replicas: 0 })).toThrow(ConfigError);
    expect(() => createHandle(Counter, { replicas: 65 })).toThrow(ConfigError);
    // Client options are checked even when they ask for no clients.
    for (const bad of [{ clients: -1 }, { clients: Number.NaN }, { clients: '2' as unknown as number }, { clients: 0, clientSlotBytes: 7 }, { clientSlots: 3 }]) {
      expect(() => createHandle(Counter, bad)).toThrow(ConfigError);
    }
    expect(createHandle(Counter, { clients: 0 }).context).toBeNull();
    expect(() => attach(createHandle(Counter, { replicas: 2, maxReplicas: 2 }), Counter, { slot: 2 })).toThrow(ConfigError);
  });

  it('bad attach and connect option values are refused before a slot is claimed', async () => {
    const handle = createHandle(Counter, { replicas: 1, maxReplicas: 1, clients: 1 });
    const bad = [{ combine: 'eager' }, { transferTimeoutMs: -1 }, { transferTimeoutMs: Number.NaN }, { transferTimeoutMs: '5' }, { testHooks: 5 }];
    for (const o of bad) expect(() => attach(handle, Counter, o as Parameters<typeof attach>[2])).toThrow(ConfigError);
    const node = attach(handle, Counter); // the only slot is still free
    for (const o of [{ timeoutMs: 0 }, { timeoutMs: -1 }, { timeoutMs: Number.NaN }]) expect(() => connect(handle, Counter, o)).toThrow(ConfigError);
    const client = connect(handle, Counter); // so is the only client slot
    expect(await client.writeAsync('add', 2)).toBe(2); // its node is this thread: the async form
    client.close();
    node.detach();
  });

  it('use after detach', async () => {
    const handle = createHandle(Counter, { replicas: 2 });
    const a = attach(handle, Counter);
    const b = attach(handle, Counter);
    const queued = a.writeAsync('add', 3);
    a.detach();
    expect(await queued).toBe(3); // queued writes are flushed, not dropped
    expect(() => a.read('get')).toThrow(DetachedError);
    expect(() => a.write('add', 1)).toThrow(DetachedError);
    await expect(a.writeAsync('add', 1)).rejects.toBeInstanceOf(DetachedError);
    // The detached replica no longer holds back head; the other one goes on.
    for (let i = 0; i < 100_000; i++) b.write('add', 1);
    expect(b.read('get')).toBe(100_003);
  });

  it('bound reads pass exactly the arguments given (0 to 5 of them)', () => {
    const Echo = defineStructure({
      name: 'test.echo',
      version: 1,
      create: () => ({ n: 7 }),
      reads: { echo: (s: { n: number }, ...rest: unknown[]): unknown[] => [s.n, rest.length, ...rest] },
      writes: { bump: (s: { n: number }) => ++s.n },
    });
    const r = attach(createHandle(Echo, { replicas: 1 }), Echo);
    const e = r.reads.echo as (...a: unknown[]) => unknown[];
    expect(e()).toEqual([7, 0]);
    expect(e(undefined)).toEqual([7, 1, undefined]);
    expect(e('a', 2)).toEqual([7, 2, 'a', 2]);
    expect(e(1, undefined, 3)).toEqual([7, 3, 1, undefined, 3]);
    expect(e(1, 2, 3, 4, 5)).toEqual([7, 5, 1, 2, 3, 4, 5]);
    r.write('bump');
    expect(e('x')).toEqual([8, 1, 'x']);
    expect((r.read as (...a: unknown[]) => unknown[])('echo', 1, 2, 3, 4)).toEqual([8, 4, 1, 2, 3, 4]);
    r.detach();
  });

  it('unknown op names', () => {
    const a = attach(createHandle(Counter), Counter);
    // @ts-expect-error no such read
    expect(() => a.read('nope')).toThrow(UnknownOpError);
    // @ts-expect-error no such write
    expect(() => a.write('nope')).toThrow(UnknownOpError);
    // @ts-expect-error reads are not writes
    expect(() => a.write('get')).toThrow(UnknownOpError);
  });

  it('an apply that calls back into the replica', () => {
    let self: Replica<{ n: number }, { get: (s: { n: number }) => number }, { bad: (s: { n: number }) => number }> | null = null;
    const Evil = defineStructure({
      name: 'evil',
      create: () => ({ n: 0 }),
      reads: { get: (s: { n: number }) => s.n },
      writes: { bad: (s: { n: number }) => self!.write('bad') + s.n },
    });
    const r = attach(createHandle(Evil), Evil);
    self = r;
    expect(() => r.write('bad')).toThrow(ReentrancyError);
  });

  it('a write whose apply throws throws the same on every replica and leaves them identical', () => {
    const handle = createHandle(Counter, { replicas: 3 });
    const rs = [0, 1, 2].map(() => attach(handle, Counter));
    rs[0]!.write('add', 5);
    expect(() => rs[1]!.write('add', Number.NaN)).toThrow(RangeError);
    expect(rs.map((r) => r.read('get'))).toEqual([5, 5, 5]);
    expect(rs[2]!.write('add', 1)).toBe(6);
    expect(new Set(rs.map((r) => r.digest())).size).toBe(1);
  });
});

describe('types flow from the definition', () => {
  it('needs no casts at call sites', () => {
    const m = attach(createHandle(HashMap), HashMap);
    const prev: string | number | undefined = m.write('put', 'a', 1);
    const got: string | number | undefined = m.read('get', 'a');
    const existed: boolean = m.write('delete', 'a');
    const n: number = m.read('size');
    expect([prev, got, existed, n]).toEqual([undefined, 1, true, 0]);
    // @ts-expect-error wrong argument type
    expect(() => m.read('size', 1, 2)).not.toThrow();
  });
});

describe('log marks (reclaiming shared memory that old entries reference)', () => {
  it('appliedEverywhere(mark) turns true only once every replica holding the log replayed past the mark', () => {
    const handle = createHandle(Counter, { replicas: 3 });
    const a = attach(handle, Counter);
    const b = attach(handle, Counter);
    const c = attach(handle, Counter);
    a.write('add', 5);
    const mark = a.logMark();
    expect(a.appliedEverywhere(mark)).toBe(false); // b and c have not replayed it
    b.sync();
    expect(a.appliedEverywhere(mark)).toBe(false);
    c.detach(); // a detached replica no longer holds the log back
    expect(a.appliedEverywhere(mark)).toBe(true);
    expect(b.appliedEverywhere(mark)).toBe(true);
    // An earlier mark stays applied; a later one waits for the next write to be replayed.
    a.write('add', 1);
    const later = a.logMark();
    expect(a.appliedEverywhere(mark)).toBe(true);
    expect(a.appliedEverywhere(later)).toBe(false);
    b.sync();
    expect(a.appliedEverywhere(later)).toBe(true);
  });
});
