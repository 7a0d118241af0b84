/**
 * replica.writeBatch: many write ops appended as one run of one entry and
 * applied in order, one result array. Results equal a sequential Map's;
 * bad input in any op throws its typed error with nothing appended; ops
 * whose apply throws give BatchApplyError after the batch took effect; a
 * batch interleaves with single writes and reads of other threads as a
 * run of single writes would; a fence or a lost slot fails it as it fails
 * a single write.
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attach,
  BatchApplyError,
  createHandle,
  defineStructure,
  DetachedError,
  EncodeError,
  FencedError,
  OpTooLargeError,
  ReentrancyError,
  UnknownOpError,
} from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { gatedWriter, open } from './support/gated.js';
import { lossAfterReserve } from './support/slot-loss.js';
import { mulberry32 } from './support/prng.js';
import { runWorkers } from './support/spawn.js';
import type { BatchWorkerInput, BatchWorkerOutput } from './workers/batch-worker.js';

const probe = () => attach(createHandle(HashMap), HashMap);
/** One HashMap write op of a batch. */
type W = Parameters<ReturnType<typeof probe>['writeBatch']>[0][number];

/** HashMap's writes applied to a plain Map, in order: what every result must equal. */
function sequential(m: Map<string | number, string | number>, op: W): unknown {
  if (op[0] === 'put') {
    const prev = m.get(op[1]);
    m.set(op[1], op[2]);
    return prev;
  }
  if (op[0] === 'delete') return m.delete(op[1]);
  m.clear();
  return undefined;
}

function randomOps(rand: () => number, n: number): W[] {
  const ops: W[] = [];
  for (let i = 0; i < n; i++) {
    const x = rand();
    const key = rand() < 0.5 ? Math.floor(rand() * 20) : `k${Math.floor(rand() * 20)}`;
    if (x < 0.7) ops.push(['put', key, rand() < 0.5 ? Math.floor(rand() * 1000) : `v${i}`]);
    else if (x < 0.98) ops.push(['delete', key]);
    else ops.push(['clear']);
  }
  return ops;
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

describe('writeBatch', () => {
  it('returns what a sequential Map returns, op by op, and every replica ends in the same state', () => {
    const h = createHandle(HashMap, { replicas: 2, logBytes: 64 * 1024 });
    const r = attach(h, HashMap);
    const other = attach(h, HashMap);
    const model = new Map<string | number, string | number>();
    const rand = mulberry32(16);
    for (let b = 0; b < 200; b++) {
      const ops = randomOps(rand, 1 + Math.floor(rand() * 100));
      const before = r.stats();
      const results = r.writeBatch(ops);
      expect(results).toEqual(ops.map((op) => sequential(model, op)));
      // One entry, one commit: its ops lie contiguously in the log.
      const after = r.stats();
      expect([after.appends - before.appends, after.batches - before.batches, after.opsWritten - before.opsWritten]).toEqual([1, 1, ops.length]);
      if (b % 10 === 0) {
        other.sync();
        expect(other.reads.size()).toBe(model.size);
      }
    }
    other.sync();
    for (const [k, v] of model) expect(other.reads.get(k)).toBe(v);
    expect(other.digest()).toBe(r.digest());
    expect(r.writeBatch([])).toEqual([]);
  });

  it('goes after the writes queued before it, in the same commit, and reads after it see it', async () => {
    const h = createHandle(HashMap, { replicas: 1 });
    const r = attach(h, HashMap);
    const first = r.writeAsync('put', 'k', 1);
    const before = r.stats().appends;
    expect(r.writeBatch([['put', 'k', 2], ['put', 'k', 3]])).toEqual([1, 2]);
    expect(r.stats().appends - before).toBe(1); // the queued write and the batch: one entry
    expect(await first).toBeUndefined();
    expect(r.reads.get('k')).toBe(3);
    expect(await r.readAsync('get', 'k')).toBe(3);
  });

  it('bad input in any op throws its typed error with nothing appended, and queued writes still go through', async () => {
    const h = createHandle(HashMap, { replicas: 2, logBytes: 64 * 1024 });
    const r = attach(h, HashMap);
    const other = attach(h, HashMap);
    r.writes.put('a', 1);
    const queued = r.writeAsync('put', 'q', 7);
    const mark = r.logMark();
    const ops = r.stats().opsWritten;
    const bad: [unknown, new (...a: never[]) => Error][] = [
      [[['put', 'x', 1], ['nope', 1]], UnknownOpError],
      [[['put', 'x', 1], [42, 1]], UnknownOpError],
      [[['put', 'x', 1], ['put', 'y', {}]], EncodeError],
      [[['put', 'x', 1], ['put', 'y', 1, 2]], EncodeError], // more args than the codec carries
      [[['put', 'x', 1], 'put'], EncodeError],
      [[['put', 'x', 1], null], EncodeError],
      ['put', EncodeError],
      [null, EncodeError],
      [Array.from({ length: 10_000 }, (_, i) => ['put', i, 'v'.repeat(8)]), OpTooLargeError], // larger than one entry
      [[['put', 'big', 'x'.repeat(100_000)]], OpTooLargeError],
    ];
    for (const [input, type] of bad) {
      expect(() => r.writeBatch(input as never)).toThrow(type);
      expect(r.logMark()).toBe(mark);
      expect(r.stats().opsWritten).toBe(ops);
    }
    expect(await queued).toBeUndefined();
    other.sync();
    expect([other.reads.get('x'), other.reads.get('y'), other.reads.get('big'), other.reads.get(0), other.reads.get('q')]).toEqual([undefined, undefined, undefined, undefined, 7]);
    expect(r.writeBatch([['put', 'x', 2]])).toEqual([undefined]);
    other.sync();
    expect(other.digest()).toBe(r.digest());
  });

  it('ops whose apply throws give BatchApplyError with every result; the batch took effect on every replica', () => {
    const Checked = defineStructure({
      name: 'checked-counter',
      create: () => ({ n: 0 }),
      reads: { get: (s: { n: number }) => s.n },
      writes: {
        add: (s: { n: number }, d: number) => {
          if (d < 0) throw new RangeError(`negative ${d}`);
          s.n += d;
          return s.n;
        },
      },
    });
    const h = createHandle(Checked, { replicas: 2 });
    const r = attach(h, Checked);
    const other = attach(h, Checked);
    let thrown: unknown;
    try {
      r.writeBatch([['add', 1], ['add', -1], ['add', 2], ['add', -5], ['add', 3]]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BatchApplyError);
    const e = thrown as BatchApplyError;
    expect(e.code).toBe('ERR_NR_BATCH_APPLY');
    expect(e.results).toEqual([1, undefined, 3, undefined, 6]);
    expect(e.failures.map((f) => [f.index, (f.error as Error).message])).toEqual([[1, 'negative -1'], [3, 'negative -5']]);
    expect([r.reads.get(), other.reads.get()]).toEqual([6, 6]);
  });

  it('cannot be called from inside an apply (ReentrancyError, recorded as the failure of that op)', () => {
    const Self = defineStructure({
      name: 'self',
      create: () => 0,
      reads: {},
      writes: {
        poke: (): void => {
          self.writeBatch([['poke']]);
        },
      },
    });
    const self = attach(createHandle(Self, { replicas: 1 }), Self);
    let thrown: unknown;
    try {
      self.writeBatch([['poke']]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BatchApplyError);
    expect((thrown as BatchApplyError).failures[0]!.error).toBeInstanceOf(ReentrancyError);
  });

  it('with single writes and reads in other threads: every write to a shared key returns its predecessor in one order, each thread in program order; reads never see a batch out of order', async () => {
    const h = createHandle(HashMap, { replicas: 5, logBytes: 64 * 1024 });
    const done = new SharedArrayBuffer(4);
    new Int32Array(done)[0] = 3;
    const rounds = 300;
    const inputs: BatchWorkerInput[] = [
      { handle: h, role: 'batcher', name: 'b0', rounds, done },
      { handle: h, role: 'batcher', name: 'b1', rounds, done },
      { handle: h, role: 'single', name: 's', rounds, done },
      { handle: h, role: 'reader', name: 'reader', rounds, done },
    ];
    const main = attach(h, HashMap); // replays in this thread's event loop while the workers run
    const outs = await runWorkers<BatchWorkerInput, BatchWorkerOutput>('batch-worker', inputs, 50_000);
    const writers = outs.slice(0, 3);
    // Each writer's own key: 1, 2, 3, ... each returning the one before.
    for (const o of writers) {
      expect(o.own.length).toBe(rounds * 8);
      o.own.forEach(([v, prev], i) => {
        expect(v).toBe(i + 1);
        expect(prev).toBe(i === 0 ? null : i);
      });
    }
    // `shared`: the writes form one chain from the initial undefined (every value is some write's predecessor at most once).
    const next = new Map<number | null, number>();
    for (const o of writers) {
      for (const [v, prev] of o.shared) {
        expect(next.has(prev)).toBe(false);
        next.set(prev, v);
      }
    }
    const order: number[] = [];
    for (let at = next.get(null); at !== undefined; at = next.get(at)) order.push(at);
    expect(order.length).toBe(3 * rounds * 8);
    // ... which keeps each writer's program order.
    for (const tag of [1, 2, 3]) {
      const mine = order.filter((v) => Math.floor(v / 1_000_000) === tag);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
    const reader = outs[3]!;
    expect(reader.violations).toEqual([]);
    expect(reader.reads).toBeGreaterThan(0);
    // The reader synced after every writer was done: it and this thread hold the final state.
    main.sync();
    expect(reader.digest).toBe(main.digest());
    expect(main.reads.get('shared')).toBe(order[order.length - 1]);
    main.detach();
  });

  it('a batch whose writer stalls after reserving and is fenced and repaired around: FencedError, committed: false, as a single write, and none of its ops anywhere', async () => {
    const handle = createHandle(HashMap, { replicas: 2, logBytes: 64 * 1024, fenceAfterMs: 20 });
    const live = attach(handle, HashMap);
    const gateBuffer = new SharedArrayBuffer(64);
    const gate = new Int32Array(gateBuffer);
    const stalled = await gatedWriter(handle, gateBuffer, workers);
    live.writes.put('before', '0');
    const single = stalled.put('s', 'x');
    await stalled.reservation(0);
    live.writes.put('a', '1'); // waits on the stalled entry, fences its writer after 20 ms, repairs it
    open(gate, 0);
    const singleOutcome = await single;
    const batch = stalled.batch([['b0', 'x'], ['b1', 'y'], ['b2', 'z']]);
    await stalled.reservation(1);
    live.writes.put('b', '2');
    open(gate, 1);
    const batchOutcome = await batch;
    expect(singleOutcome.error).toMatchObject({ name: 'FencedError', code: 'ERR_NR_FENCED', committed: false });
    expect(batchOutcome.error).toEqual(singleOutcome.error);
    expect([live.reads.get('s'), live.reads.get('b0'), live.reads.get('b1'), live.reads.get('b2')]).toEqual([undefined, undefined, undefined, undefined]);
    // The writer recovers (its digest replays, so it rejoins by state transfer first); its next batch goes through.
    expect((await stalled.digest()).value).toBe(live.digest());
    open(gate, 2);
    const ok = await stalled.batch([['c0', 'p'], ['c1', 'q']]);
    expect(ok).toMatchObject({ ok: true, value: [undefined, undefined] });
    expect([live.reads.get('c0'), live.reads.get('c1')]).toEqual(['p', 'q']);
    expect((await stalled.digest()).value).toBe(live.digest());
    live.detach();
  });

  it('a batch whose slot is lost after reserving: FencedError, committed: true, as a single write, and all of it took effect', () => {
    const { node, other, arm } = lossAfterReserve();
    arm();
    let thrown: unknown;
    try {
      node.writeBatch([['put', 'x', 1], ['put', 'y', 2], ['delete', 'x']]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(FencedError);
    expect((thrown as FencedError).committed).toBe(true);
    expect((thrown as FencedError).message).toBe('the replica lost its slot during this write; the write took effect but its result is lost');
    other.sync();
    expect([other.reads.get('x'), other.reads.get('y')]).toEqual([undefined, 2]);
    expect(() => node.writeBatch([['put', 'z', 3]])).toThrow(DetachedError);
  });
});
