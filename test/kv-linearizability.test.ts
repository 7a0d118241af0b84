/**
 * Linearizability of the KV store across real workers: concurrent get,
 * exchange (put returning the old value), delete and compare-and-set by
 * value, sync and async, on a few hot keys; once plainly and once with a
 * worker killed mid-run (its unanswered ops pending). Replicas that finish
 * agree on their digests, and the checker finds a linearization under the
 * kv model (a cas is checked as a cas: a win writes, a loss reports the
 * value it found).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { declareDead } from '../src/nr/index.js';
import { attachKv, createKv, type KvHandle, type KvStore } from '../src/kv/index.js';
import { checkLinearizable, kvModel, type KvInput, type KvOperation, type KvOutput } from '../src/lincheck/index.js';
import { workerPath } from './support/spawn.js';
import { DEL, GET, K_CLOCK, K_CONTROL_WORDS, K_KILLED, K_RECORD, K_SLOTS, K_STARTED, XCHG, type KvWorkerInput } from './support/kv-layout.js';

const KEY = new Uint8Array(32).fill(3);
const KEYS = 4;
const CAPACITY = 20_000;

interface Outcome {
  digest?: string;
  ops?: number;
  fatal?: unknown;
}

function spawn(input: KvWorkerInput): { worker: Worker; done: Promise<Outcome> } {
  const worker = new Worker(workerPath('kv-store-worker'), { workerData: input });
  const done = new Promise<Outcome>((resolve, reject) => {
    worker.once('message', (m: Outcome) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before reporting`)));
  });
  return { worker, done };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} took over ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function readHistory(main: KvStore, control: SharedArrayBuffer, history: SharedArrayBuffer, clients: number): KvOperation<number>[] {
  const ctl = new Int32Array(control);
  const rec = new Int32Array(history);
  const events: KvOperation<number>[] = [];
  let late = Atomics.load(ctl, K_CLOCK) + 1;
  const val = (tag: number, v: number): number | undefined => (tag === 0 ? undefined : v);
  for (let c = 0; c < clients; c++) {
    for (let i = 0; i < CAPACITY; i++) {
      const at = (c * CAPACITY + i) * K_RECORD;
      const kind = Atomics.load(rec, at);
      if (kind === 0) break;
      const key = `k${rec[at + 1]}`;
      const value = rec[at + 2]!;
      const call = rec[at + 3]!;
      const ret = Atomics.load(rec, at + 4);
      const tag = rec[at + 5]!;
      const out = rec[at + 6]!;
      const expected = rec[at + 7]!;
      const input: KvInput<number> =
        kind === GET
          ? { op: 'get', key }
          : kind === XCHG
            ? { op: 'put', key, value }
            : kind === DEL
              ? { op: 'delete', key }
              : { op: 'cas', key, expected: expected === -1 ? undefined : expected, value };
      if (ret === 0) {
        // Unanswered (its worker was killed): it may have taken effect, or not.
        events.push({ client: c, call, input });
        continue;
      }
      let output: KvOutput<number>;
      if (kind === GET || kind === XCHG) output = val(tag, out);
      else if (kind === DEL) output = tag === 3;
      else output = tag === 4 ? { ok: true } : { ok: false, current: val(tag, out) };
      events.push({ client: c, call, ret, input, output });
    }
  }
  // Close the history with reads of the final state, after everything else.
  main.sync();
  for (let k = 0; k < KEYS; k++) {
    const b = main.get(`k${k}`);
    const call = late++;
    events.push({ client: 999, call, ret: late++, input: { op: 'get', key: `k${k}` }, output: b === undefined ? undefined : Number(b.toString().slice(1)) });
  }
  return events;
}

function setup(clients: number): { handle: KvHandle; main: KvStore; control: SharedArrayBuffer; history: SharedArrayBuffer } {
  const handle = createKv({ key: KEY, arenaBytes: 1 << 22, log: { logBytes: 1 << 15, fenceAfterMs: 200, maxReplicas: 8 } });
  // The checking thread's replica joins before any write, so it can replay from the start.
  const main = attachKv(handle, { key: KEY });
  const control = new SharedArrayBuffer(K_CONTROL_WORDS * 4);
  new Int32Array(control)[K_CLOCK] = 1;
  return { handle, main, control, history: new SharedArrayBuffer(clients * CAPACITY * K_RECORD * 4) };
}

const base = (c: number, s: ReturnType<typeof setup>, ops: number, finishers: number): KvWorkerInput => ({
  mode: 'history',
  handle: s.handle,
  key: KEY,
  control: s.control,
  history: s.history,
  client: c,
  base: c * CAPACITY,
  capacity: CAPACITY,
  ops,
  keys: KEYS,
  asyncShare: 0.3,
  finishers,
});

describe('kv linearizability', () => {
  it('concurrent get/exchange/delete/CAS from 3 workers is linearizable and replicas agree', async () => {
    const s = setup(3);
    const runs = [0, 1, 2].map((c) => spawn(base(c, s, 1500, 3)));
    const results = await within(Promise.all(runs.map((r) => r.done)), 60_000, 'workers');
    await Promise.all(runs.map((r) => r.worker.terminate()));
    for (const r of results) expect(r.fatal).toBeUndefined();
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    const events = readHistory(s.main, s.control, s.history, 3);
    expect(events.length).toBeGreaterThan(4000);
    expect(s.main.digest()).toBe(results[0]!.digest);
    s.main.detach();
    if (process.env.KV_DEBUG) (await import('node:fs')).writeFileSync('/tmp/kv-history.json', JSON.stringify(events));
    const verdict = checkLinearizable(kvModel<number>(), events);
    expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
  });

  it('stays linearizable when a worker is killed mid-run', async () => {
    const s = setup(3);
    const ctl = new Int32Array(s.control);
    // Worker 0 would run (nearly) forever; it is terminated mid-op.
    const victim = spawn(base(0, s, CAPACITY - 8, 2));
    victim.done.catch(() => {});
    // Each survivor holds after 1500 ops until the kill, so at least 1500 of its ops run after it however the threads were scheduled.
    const survivors = [1, 2].map((c) => spawn({ ...base(c, s, 3000, 2), holdAt: 1500 }));
    const deadline = Date.now() + 30_000;
    while ((Atomics.load(ctl, K_STARTED) < 3 || Atomics.load(ctl, K_SLOTS + 1) < 400) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(Atomics.load(ctl, K_SLOTS + 1)).toBeGreaterThanOrEqual(400);
    await victim.worker.terminate();
    const killedAt = Atomics.load(ctl, K_CLOCK);
    declareDead(s.handle.nr, Atomics.load(ctl, K_SLOTS) - 1);
    Atomics.store(ctl, K_KILLED, 1);
    Atomics.notify(ctl, K_KILLED);
    const results = await within(Promise.all(survivors.map((r) => r.done)), 60_000, 'survivors');
    await Promise.all(survivors.map((r) => r.worker.terminate()));
    for (const r of results) expect(r.fatal).toBeUndefined();
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    const events = readHistory(s.main, s.control, s.history, 3);
    expect(s.main.digest()).toBe(results[0]!.digest);
    s.main.detach();
    // The kill really was mid-run: the survivors kept going after it. killedAt is the clock's next stamp
    // (Atomics.add hands out the old value), so an op stamped killedAt began after the kill: with both
    // survivors held, the first op released gets exactly that stamp.
    expect(events.filter((e) => e.client !== 0 && e.client !== 999 && e.call >= killedAt).length).toBeGreaterThanOrEqual(3000);
    const verdict = checkLinearizable(kvModel<number>(), events);
    expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
  });
});
