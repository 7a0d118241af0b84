/**
 * Test worker for the KV store. Modes:
 * - 'serve': attach, then run the ops the parent sends ({ id, op, args }) and
 *   answer { id, ok, value } or { id, ok: false, error: { name, code, key, failStop } }.
 *   Op 'asyncOps' with args [[method, ...args], ...] calls every (async) method
 *   in one turn (one client window) and answers each one's { ok, value | error }.
 *   Op 'learned' polls the thread's peers and answers the highest chain count learned.
 *   Ops 'freeze', 'sealThenFreeze', 'flushThenFreeze' stop the thread at a known point (client-kill tests);
 *   'putsTracked' marks each acknowledged put in a shared array.
 * - 'history': a seeded mix of get / exchange / delete / compareAndSet-by-value,
 *   sync and async, each op recorded in shared memory before it starts and
 *   again when answered (a killed worker leaves its last ops pending), then a
 *   final barrier and a digest.
 * - 'overwrite': endless-overwrite pressure on a fixed key set (batches of 32 puts), then stats.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachKv, type BatchOp, connectKv, IntegrityError, KvError, type KvClient, type KvStore } from '../../src/kv/index.js';
import { connect } from '../../src/nr/index.js';
import { Arena } from '../../src/kv/arena.js';
import { Cipher } from '../../src/kv/crypto.js';
import { kvStructure } from '../../src/kv/structure.js';
import { arriveAndWait } from '../support/barrier.js';
import { mulberry32 } from '../support/prng.js';
import { CAS, DEL, GET, K_CLOCK, K_DONE, K_KILLED, K_SLOTS, K_STARTED, K_RECORD, XCHG, type KvWorkerInput } from '../support/kv-layout.js';
import { waitUntilAtLeast } from '../../bench/sync.js';

const input = workerData as KvWorkerInput;
const secret = {
  ...(input.key ? { key: input.key } : {}),
  ...(input.peer ? { peer: input.peer } : {}),
  ...(input.staleMs !== undefined ? { staleMs: input.staleMs } : {}),
};

function describeError(e: unknown): { name: string; code: string | undefined; key: string | undefined; failStop: boolean; message: string } {
  const err = e as Error & { code?: string };
  return {
    name: err?.name ?? 'Error',
    code: err?.code,
    key: e instanceof IntegrityError ? e.key : undefined,
    failStop: e instanceof IntegrityError ? e.failStop : false,
    message: String(err?.message ?? e),
  };
}

const plain = (v: unknown): unknown => (Buffer.isBuffer(v) ? { buffer: v.toString('hex') } : v);

function serve(store: KvStore | KvClient): void {
  const port = parentPort!;
  const call = (op: string, args: unknown[]): unknown => (store as unknown as Record<string, (...a: unknown[]) => unknown>)[op]!.apply(store, args);
  port.on('message', (m: { id: number; op: string; args: unknown[] }) => {
    if (m.op === 'freeze' || m.op === 'sealThenFreeze' || m.op === 'flushThenFreeze') {
      // Stop this thread at a known point for `ms` (a test kills it meanwhile): after the async ops were
      // made (sealed, not sent: the window flushes at setImmediate), or after their flush (sent, answers unread).
      const [calls, ms] = m.args as [[string, ...unknown[]][], number];
      for (const [op, ...args] of calls) {
        try {
          void (call(op, args) as Promise<unknown>).catch(() => undefined); // called now: each put is sealed before the freeze
        } catch {
          // a refused op: nothing sealed
        }
      }
      const freeze = (): void => {
        port.postMessage({ id: m.id, ok: true, value: null });
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      };
      if (m.op === 'flushThenFreeze') setImmediate(() => setImmediate(freeze));
      else freeze();
      return;
    }
    if (m.op === 'putsTracked') {
      // Puts of `${prefix}${i}` in one window; each acknowledged one sets ack[i] (shared: the parent reads it after a kill).
      const [prefix, n, value, ack] = m.args as [string, number, string, SharedArrayBuffer];
      const acks = new Int32Array(ack);
      const c = store as KvClient;
      for (let i = 0; i < n; i++) void c.putAsync(`${prefix}${i}`, value).then(() => Atomics.store(acks, i, 1), () => Atomics.store(acks, i, 2));
      port.postMessage({ id: m.id, ok: true, value: null });
      return;
    }
    if (m.op === 'asyncOps') {
      const calls = m.args[0] as [string, ...unknown[]][];
      const ps = calls.map(([op, ...args]) => new Promise((resolve) => resolve(call(op, args))));
      void Promise.allSettled(ps).then((rs) => {
        const value = rs.map((r) => (r.status === 'fulfilled' ? { ok: true, value: plain(r.value) } : { ok: false, error: describeError(r.reason) }));
        port.postMessage({ id: m.id, ok: true, value });
      });
      return;
    }
    try {
      let value: unknown;
      if (m.op === 'detach') {
        if ('detach' in store) store.detach();
        else store.close();
        value = null;
      } else if (m.op === 'learned') {
        // The highest chain count this thread has learned from its peers (polled now): tests wait for announcements with it.
        const fresh = (store as unknown as { ctx: { fresh: { poll(force: boolean): void; learned: number } } }).ctx.fresh;
        fresh.poll(true);
        value = fresh.learned;
      } else {
        value = call(m.op, m.args);
      }
      port.postMessage({ id: m.id, ok: true, value: plain(value) });
    } catch (e) {
      port.postMessage({ id: m.id, ok: false, error: describeError(e) });
    }
  });
  port.postMessage({ ready: true, slot: 'replica' in store ? store.replica.id : -1 });
}

const valueOf = (n: number): string => `v${n}`;
const parseValue = (b: Buffer | undefined): number | undefined => (b === undefined ? undefined : Number(b.toString().slice(1)));

async function history(store: KvStore): Promise<void> {
  const ctl = new Int32Array(input.control!);
  const rec = new Int32Array(input.history!);
  const client = input.client!;
  const keys = input.keys!;
  Atomics.store(ctl, K_SLOTS + 16 * client, store.replica.id + 1);
  const rand = mulberry32(client * 7919 + 17);
  let n = 0;
  let nextValue = (client + 1) * 1_000_000;
  const lastSeen = new Map<number, number | undefined>();

  const begin = (kind: number, key: number, value: number, expected: number): number => {
    if (n >= input.capacity!) throw new Error('history capacity exceeded');
    const at = (input.base! + n++) * K_RECORD;
    rec[at + 1] = key;
    rec[at + 2] = value;
    rec[at + 7] = expected;
    rec[at + 3] = Atomics.add(ctl, K_CLOCK, 1);
    Atomics.store(rec, at, kind);
    Atomics.store(ctl, K_SLOTS + 16 * client + 1, n);
    return at;
  };
  const end = (at: number, tag: number, value: number): void => {
    rec[at + 5] = tag;
    rec[at + 6] = value;
    Atomics.store(rec, at + 4, Atomics.add(ctl, K_CLOCK, 1));
  };
  const endValue = (at: number, v: number | undefined): void => end(at, v === undefined ? 0 : 1, v ?? 0);

  const op = (sync: boolean): Promise<void> | void => {
    const k = Math.floor(rand() * keys);
    const key = `k${k}`;
    const r = rand();
    if (r < 0.35) {
      const at = begin(GET, k, 0, 0);
      const seen = (b: Buffer | undefined): void => {
        lastSeen.set(k, parseValue(b));
        endValue(at, parseValue(b));
      };
      if (sync) return seen(store.get(key));
      return store.getAsync(key).then(seen);
    }
    if (r < 0.6) {
      const v = nextValue++;
      const at = begin(XCHG, k, v, 0);
      const done = (b: Buffer | undefined): void => endValue(at, parseValue(b));
      if (sync) return done(store.exchange(key, valueOf(v)));
      return store.exchangeAsync(key, valueOf(v)).then(done);
    }
    if (r < 0.7) {
      const at = begin(DEL, k, 0, 0);
      const done = (existed: boolean): void => end(at, existed ? 3 : 2, 0);
      if (sync) return done(store.delete(key));
      return store.deleteAsync(key).then(done);
    }
    // Compare-and-set by value: expect what this client saw last (or absence).
    const v = nextValue++;
    const exp = lastSeen.get(k);
    const at = begin(CAS, k, v, exp ?? -1);
    const done = (res: { ok: boolean; value?: Buffer | undefined }): void => {
      // Success: a put whose previous value was `exp`. Failure: a read of the current value.
      if (res.ok) end(at, 4, exp ?? -1);
      else endValue(at, parseValue(res.value));
    };
    const expected = exp === undefined ? undefined : valueOf(exp);
    if (sync) return done(store.compareAndSet(key, expected, valueOf(v)));
    return store.compareAndSetAsync(key, expected, valueOf(v)).then(done);
  };

  Atomics.add(ctl, K_STARTED, 1);
  let held = false;
  for (let i = 0; i < input.ops!; ) {
    if (rand() < input.asyncShare!) {
      const burst = 1 + Math.floor(rand() * 4);
      const ps: (Promise<void> | void)[] = [];
      // A burst stops at holdAt, so a held worker has run exactly holdAt ops (the test counts the rest).
      const end = !held && input.holdAt !== undefined && i < input.holdAt ? input.holdAt : input.ops!;
      for (let j = 0; j < burst && i < end; j++, i++) ps.push(op(false));
      await Promise.all(ps);
    } else {
      op(true);
      i++;
    }
    if ((i & 63) === 0) await new Promise((r) => setImmediate(r));
    if (!held && input.holdAt !== undefined && i >= input.holdAt) {
      held = true;
      await waitUntilAtLeast(ctl, K_KILLED, 1, 30_000);
    }
  }
  await arriveAndWait(ctl, K_DONE, input.finishers!);
  store.sync();
  parentPort!.postMessage({ digest: store.digest(), ops: n });
}

async function overwrite(store: KvStore): Promise<void> {
  const ctl = new Int32Array(input.control!);
  const keys = input.keys!;
  const value = Buffer.alloc(input.valueBytes!, input.client!);
  const rand = mulberry32(input.client! + 99);
  let maxUsed = 0;
  for (let i = 0; i < input.ops!; i += 32) {
    // Batches of 32 overwrites (one record each): every overwrite displaces a block to reclaim, at a
    // 32nd of the per-record cost (AEAD open and chain step on the other replica) of single puts.
    const ops: BatchOp[] = [];
    for (let j = 0; j < 32; j++) ops.push({ type: 'put', key: `key-${Math.floor(rand() * keys)}`, value });
    await store.batchAsync(ops);
    if ((i & 4095) < 32) maxUsed = Math.max(maxUsed, store.stats().arenaUsedBytes);
  }
  await arriveAndWait(ctl, K_DONE, input.finishers!);
  store.sync();
  const st = store.stats();
  parentPort!.postMessage({ stats: { ...st, replica: null }, maxUsed: Math.max(maxUsed, st.arenaUsedBytes) });
}

/** A thread without the key, connected as a raw NR client: report what every read gives it. */
function rawClient(): void {
  const ctx = { cipher: new Cipher(null, new Uint8Array(16)), arena: new Arena(input.handle.header, input.handle.arena), fresh: null, applied: { count: 0, head: '' } };
  const client = connect(input.handle.nr, kvStructure(ctx));
  const out: Record<string, unknown> = {};
  for (const [name, args] of [['get', ['secret']], ['entry', ['secret']], ['scan', [undefined, undefined, 10]], ['has', ['secret']], ['version', ['secret']], ['size', []], ['meta', ['secret']], ['sealed', [Buffer.from('secret')]], ['sealedScan', [Buffer.alloc(64)]], ['sealedGets', [Buffer.alloc(64)]]] as const) {
    try {
      const v = (client.read as (n: string, ...a: unknown[]) => unknown)(name, ...args);
      out[name] = { ok: true, hex: Buffer.isBuffer(v) ? v.toString('hex') : JSON.stringify(v) };
    } catch (e) {
      out[name] = { ok: false, error: describeError(e) };
    }
  }
  client.close();
  parentPort!.postMessage({ raw: out });
}

async function main(): Promise<void> {
  if (input.mode === 'raw-client') return rawClient();
  if (input.mode === 'client') {
    try {
      serve(connectKv(input.handle, { ...secret, ...(input.connect ? { client: input.connect } : {}) }));
    } catch (e) {
      parentPort!.postMessage({ attachError: describeError(e) });
    }
    return;
  }
  let store: KvStore;
  try {
    store = attachKv(input.handle, secret);
  } catch (e) {
    parentPort!.postMessage({ attachError: describeError(e) });
    return;
  }
  if (input.mode === 'serve') serve(store);
  else if (input.mode === 'history') await history(store);
  else await overwrite(store);
}

main().catch((e: unknown) => {
  parentPort!.postMessage({ fatal: describeError(e), stack: e instanceof KvError ? undefined : (e as Error)?.stack });
});
