/**
 * One benchmark thread of the `kv` suite (a piscina task pinned to its pool
 * thread). Every system runs the same YCSB op stream: precomputed op codes,
 * zipfian (or, for D, latest) keys and scan lengths; time is measured inside
 * the worker between the shared round start and the end of its window.
 */
import type { MessagePort } from 'node:worker_threads';
import { attachKv, connectKv, type KvHandle, type KvStore } from '../src/kv/index.js';
import { SortedKeys } from '../src/kv/sorted-keys.js';
import { arrive, FINISHED, measurePipelined, measureRounds, PREPARED, ready, ROUND, waitUntilAtLeast } from './sync.js';
import { profiled } from './profile.js';
import { readFileSync } from 'node:fs';

/**
 * `NR_BENCH_SCHEDSTAT=1`: a thread reports its CPU and run-queue time over
 * its measured span (Linux /proc/thread-self/schedstat) on stderr.
 */
function schedSpan(what: string): (ops?: number) => void {
  if (process.env.NR_BENCH_SCHEDSTAT !== '1') return () => {};
  const read = (): number[] => readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(' ').map(Number);
  const [cpu0, rq0, n0] = read();
  const t0 = performance.now();
  return (ops) => {
    const [cpu1, rq1, n1] = read();
    const wall = performance.now() - t0;
    const per = ops ? `, ${((cpu1! - cpu0!) / 1000 / ops).toFixed(2)} µs CPU per op of ${ops}` : '';
    process.stderr.write(`schedstat ${what}: wall ${wall.toFixed(0)} ms, cpu ${((cpu1! - cpu0!) / 1e6).toFixed(0)} ms, run queue ${((rq1! - rq0!) / 1e6).toFixed(0)} ms, ${n1! - n0!} slices${per}\n`);
  };
}
import { keyStream, mulberry32, STREAM, zipfian } from './workload.js';

export type KvWorkerSystem = 'nr-kv' | 'nr-kv-plain' | 'nr-kv-node' | 'nr-kv-client' | 'lmdb' | 'lmdb-enc' | 'postmessage-owner' | 'postmessage-client';
export type YcsbWorkload = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

export interface KvWorkerInput {
  system: KvWorkerSystem;
  index: number;
  participants: number;
  measured: number;
  workload: YcsbWorkload;
  keys: number;
  valueBytes: number;
  durationMs: number;
  /** Every round the worker runs, the first `warmupRounds` of them unmeasured. */
  rounds: number;
  warmupRounds: number;
  seed: number;
  coord: SharedArrayBuffer;
  handle?: KvHandle;
  secret?: Uint8Array;
  lmdbPath?: string;
  encryptionKey?: string;
  port?: MessagePort;
  ports?: MessagePort[];
  /** nr-kv-clients: the node (replica slot) a client uses, or which node this is. */
  node?: number;
}

export interface KvWorkerOutput {
  rounds: { ops: number; elapsedMs: number }[];
  batches?: number;
  /** Set when the system failed during the run (its row is then not a valid measurement). */
  error?: string;
}

const MASK = STREAM - 1;
const WINDOW = 64;
const READ = 0;
const UPDATE = 1;
const INSERT = 2;
const SCAN = 3;
const RMW = 4;

/** YCSB core workload mixes: [read, update, insert, scan, read-modify-write]. */
export const MIXES: Record<YcsbWorkload, readonly number[]> = {
  A: [0.5, 0.5, 0, 0, 0],
  B: [0.95, 0.05, 0, 0, 0],
  C: [1, 0, 0, 0, 0],
  D: [0.95, 0, 0.05, 0, 0],
  E: [0, 0, 0.05, 0.95, 0],
  F: [0.5, 0, 0, 0, 0.5],
};

export function keyName(n: number): string {
  return `user${String(n).padStart(9, '0')}`;
}

let input: KvWorkerInput;
let coord: Int32Array;
let sink = 0;

/** The store operations every system provides. */
interface Target {
  get(key: string): number;
  put(key: string, value: Buffer): Promise<unknown> | undefined;
  scan(start: string, limit: number): number;
  /** Postmessage clients are fully async: they drive their own loop. */
}

function streams(): { ops: Uint8Array; keys: Int32Array; ranks: Int32Array; lens: Uint8Array } {
  const rand = mulberry32(input.seed ^ 0x9e3779b9);
  const mix = MIXES[input.workload];
  const ops = new Uint8Array(STREAM);
  const lens = new Uint8Array(STREAM);
  for (let i = 0; i < STREAM; i++) {
    let r = rand();
    let op = 0;
    while (op < mix.length - 1 && r >= mix[op]!) r -= mix[op++]!;
    ops[i] = op;
    lens[i] = 1 + Math.floor(rand() * 100);
  }
  const z = zipfian(input.keys, 0.99, mulberry32(input.seed + 5));
  const ranks = new Int32Array(STREAM);
  for (let i = 0; i < STREAM; i++) ranks[i] = z();
  return { ops, keys: keyStream('zipfian', input.keys, input.seed), ranks, lens };
}

/** Set when the system under test failed mid-run (the loop stops; the row reports it). */
let failure: string | undefined;
let onFailure: () => void = () => {};
const failed = new Promise<void>((resolve) => (onFailure = resolve));
/** The ops of a worker's measured rounds (after the warm-up ones). */
function measuredOps(rounds: readonly { ops: number }[]): number {
  return rounds.slice(input.warmupRounds).reduce((n, r) => n + r.ops, 0);
}

function fail(e: unknown): void {
  failure ??= String((e as Error)?.message ?? e).slice(0, 200);
  onFailure();
}

/** The YCSB loop over a synchronous-read target; writes may be async (awaited once per window). */
async function runLoop(t: Target): Promise<{ ops: number; elapsedMs: number }[]> {
  const { ops, keys, ranks, lens } = streams();
  const value = Buffer.alloc(input.valueBytes, 0x61 + input.index);
  let inserted = 0;
  const threads = input.measured;
  const latest = (): number => input.keys + inserted * threads;
  // Warm-up, the same for every system: each preloaded key is read once (split
  // over the threads) before the measured rounds, so caches that fill on first
  // read (lmdb-enc's decrypted pages, page faults of the arena or map) start
  // warm rather than filling during the short measured rounds.
  for (let k = input.index; k < input.keys; k += threads) sink += t.get(keyName(k));
  let i = 0;
  return measureRounds(coord, input, async (end) => {
    const from = i;
    for (;;) {
      for (let w = 0; w < 16; w++) {
        let last: Promise<unknown> | undefined;
        for (let j = 0; j < WINDOW; j++, i++) {
          const at = i & MASK;
          switch (ops[at]) {
            case READ: {
              const k = input.workload === 'D' ? Math.max(0, latest() - 1 - ranks[at]!) : keys[at]!;
              sink += t.get(keyName(k));
              break;
            }
            case UPDATE:
              last = t.put(keyName(keys[at]!), value) ?? last;
              break;
            case INSERT:
              last = t.put(keyName(input.keys + inserted++ * threads + input.index), value) ?? last;
              break;
            case SCAN:
              sink += t.scan(keyName(keys[at]!), lens[at]!);
              break;
            case RMW: {
              const k = keyName(keys[at]!);
              sink += t.get(k);
              last = t.put(k, value) ?? last;
              break;
            }
          }
        }
        if (last !== undefined) await Promise.race([last, failed]);
        if (failure !== undefined) return i - from;
      }
      if (performance.now() >= end) return i - from;
    }
  });
}

async function runNrKv(): Promise<KvWorkerOutput> {
  const s: KvStore = attachKv(input.handle!, input.secret ? { key: input.secret } : {});
  if (input.index === 0) await preload(s);
  await ready(coord, input);
  s.sync();
  const rounds = await runLoop({
    get: (k) => s.get(k)?.length ?? 0,
    put: (k, v) => s.putAsync(k, v),
    scan: (k, n) => {
      let b = 0;
      for (const e of s.scan({ start: k, limit: n })) b += e.value.length;
      return b;
    },
  });
  const batches = s.stats().replica.batches;
  s.detach();
  return { rounds, batches };
}

/** Preload every key (one thread does it) through a replica-holding store. */
async function preload(s: KvStore): Promise<void> {
  const value = Buffer.alloc(input.valueBytes, 0x5a);
  for (let k = 0; k < input.keys; k += 250) {
    const ops = [];
    for (let j = k; j < Math.min(input.keys, k + 250); j++) ops.push({ type: 'put' as const, key: keyName(j), value });
    await s.batchAsync(ops);
  }
}

/** One of nr-kv-clients' two replicas: it only serves its clients (from the event loop) and reclaims their blocks. */
async function runNrKvNode(): Promise<KvWorkerOutput> {
  const s: KvStore = attachKv(input.handle!, { key: input.secret! });
  if (input.node === 0) await preload(s);
  await ready(coord, input);
  s.sync();
  arrive(coord, PREPARED);
  // Serve from the event loop (doorbells wake it); every 2 ms also replay what the other node appended, so
  // neither node holds back the log's head for long. Spinning instead would take the cores the clients need.
  setInterval(() => s.sync(), 2);
  // The measured span: from the first round's start (after the clients' warm-up) to the last one's end.
  let span = (): void => {};
  void waitUntilAtLeast(coord, ROUND, input.warmupRounds + 1, 600_000).then(() => (span = schedSpan(`nr-kv-node ${input.node} ${input.workload} ${input.valueBytes}B`)));
  // Profiled (NR_BENCH_PROFILE) until every client finished its rounds.
  await profiled(`nr-kv-node-${input.workload}-${input.valueBytes}-${input.participants}t-${input.node}`, () =>
    waitUntilAtLeast(coord, FINISHED, input.rounds * input.measured, input.rounds * input.durationMs + 120_000),
  );
  span();
  await new Promise(() => {});
  return { rounds: [] };
}

/**
 * A KV client of nr-kv-clients: WINDOW ops in flight at all times (pipelined
 * gets and puts through its node, verified and decrypted here), one more
 * sent per answer, as the postmessage clients do.
 */
async function runNrKvClient(): Promise<KvWorkerOutput> {
  await ready(coord, input);
  const c = connectKv(input.handle!, { key: input.secret!, client: { node: input.node! } });
  const { ops, keys } = streams();
  const value = Buffer.alloc(input.valueBytes, 0x61 + input.index);
  for (let k = input.index; k < input.keys; k += input.measured) sink += (await c.getAsync(keyName(k)))?.length ?? 0;
  let i = 0;
  const one = (): Promise<unknown> => {
    const at = i++ & MASK;
    const k = keyName(keys[at]!);
    if (ops[at] === READ) return c.getAsync(k).then((b) => (sink += b?.length ?? 0));
    if (ops[at] === UPDATE) return c.putAsync(k, value);
    return Promise.reject(new Error(`nr-kv-clients runs YCSB-A/B/C only (op ${ops[at]})`));
  };
  let span = (_ops?: number): void => {};
  void waitUntilAtLeast(coord, ROUND, input.warmupRounds + 1, 600_000).then(() => (span = schedSpan(`nr-kv-client ${input.index} ${input.workload} ${input.valueBytes}B`)));
  const rounds = await profiled(`nr-kv-client-${input.workload}-${input.valueBytes}-${input.participants}t-${input.index}`, () =>
    measureRounds(coord, input, (end) => {
      let answered = 0;
      let inFlight = 0;
      return new Promise<number>((resolve) => {
        const next = (): void => {
          inFlight++;
          one().then(done, (e: unknown) => {
            fail(e);
            done();
          });
        };
        const done = (): void => {
          inFlight--;
          answered++;
          if (failure === undefined && performance.now() < end) next();
          else if (inFlight === 0) resolve(answered);
        };
        for (let j = 0; j < WINDOW; j++) next();
      });
    }),
  );
  span(measuredOps(rounds));
  c.close();
  return failure === undefined ? { rounds } : { rounds, error: `nr-kv client failed: ${failure}` };
}

async function runLmdb(): Promise<KvWorkerOutput> {
  const { open } = await import('lmdb');
  const db = open<Buffer, string>({ path: input.lmdbPath!, noSync: true, encoding: 'binary', ...(input.encryptionKey ? { encryptionKey: input.encryptionKey } : {}) });
  await ready(coord, input);
  // lmdb with encryptionKey and writers in several threads sometimes fails its
  // commits (a corrupted free list), partly from its own callbacks: report that
  // in the row instead of crashing the suite.
  process.on('uncaughtException', fail);
  const rounds = await runLoop({
    get: (k) => db.getBinary(k)?.length ?? 0,
    put: (k, v) => db.put(k, v).catch(fail),
    scan: (k, n) => {
      let b = 0;
      for (const { value } of db.getRange({ start: k, limit: n })) b += value.length;
      return b;
    },
  });
  if (failure === undefined) await db.close();
  return failure === undefined ? { rounds } : { rounds, error: `lmdb failed: ${failure}` };
}

/** The owner of the postmessage baseline: a Map plus an ordered key index, served over MessagePorts. */
async function runPostmessageOwner(): Promise<KvWorkerOutput> {
  const m = new Map<string, Buffer>();
  const value = Buffer.alloc(input.valueBytes, 0x5a);
  const names: string[] = [];
  for (let k = 0; k < input.keys; k++) {
    names.push(keyName(k));
    m.set(names[k]!, value);
  }
  const order = SortedKeys.from(names);
  for (const port of input.ports!) {
    port.on('message', (msg: [number, number, string, number, Uint8Array | null]) => {
      const [id, op, key, n, v] = msg;
      let result: Buffer | number | undefined;
      if (op === READ) result = m.get(key);
      else if (op === SCAN) {
        const out: Buffer[] = [];
        order.range(key, undefined, (k) => out.push(m.get(k)!) < n);
        result = out.length;
        port.postMessage([id, out]);
        return;
      } else {
        if (op === RMW) result = m.get(key);
        if (!m.has(key)) order.insert(key);
        m.set(key, Buffer.from(v!));
      }
      port.postMessage([id, result]);
    });
  }
  await ready(coord, input);
  arrive(coord, PREPARED);
  let span = (): void => {};
  void waitUntilAtLeast(coord, ROUND, input.warmupRounds + 1, 600_000).then(() => (span = schedSpan(`postmessage-owner ${input.workload} ${input.valueBytes}B`)));
  void waitUntilAtLeast(coord, FINISHED, input.rounds * input.measured, input.rounds * input.durationMs + 120_000).then(() => span());
  await new Promise(() => setInterval(() => {}, 1 << 30));
  return { rounds: [] };
}

/** A postmessage client: WINDOW requests in flight; a read-modify-write is one request (the owner applies it). */
async function runPostmessageClient(): Promise<KvWorkerOutput> {
  const port = input.port!;
  const { ops, keys, ranks, lens } = streams();
  const value = Buffer.alloc(input.valueBytes, 0x61 + input.index);
  let inserted = 0;
  const threads = input.measured;
  await ready(coord, input);
  let sent = 0;
  const send = (): void => {
    const i = sent++;
    const at = i & MASK;
    const op = ops[at]!;
    let k: number;
    if (op === INSERT) k = input.keys + inserted++ * threads + input.index;
    else if (op === READ && input.workload === 'D') k = Math.max(0, input.keys + inserted * threads - 1 - ranks[at]!);
    else k = keys[at]!;
    port.postMessage([i, op, keyName(k), lens[at]!, op === READ || op === SCAN ? null : value]);
  };
  let span = (_ops?: number): void => {};
  void waitUntilAtLeast(coord, ROUND, input.warmupRounds + 1, 600_000).then(() => (span = schedSpan(`postmessage-client ${input.index} ${input.workload} ${input.valueBytes}B`)));
  const rounds = await measurePipelined(coord, input, port, WINDOW, send);
  span(measuredOps(rounds));
  port.close();
  return { rounds };
}

const runners: Record<KvWorkerSystem, () => Promise<KvWorkerOutput>> = {
  'nr-kv': runNrKv,
  'nr-kv-plain': runNrKv,
  'nr-kv-node': runNrKvNode,
  'nr-kv-client': runNrKvClient,
  lmdb: runLmdb,
  'lmdb-enc': runLmdb,
  'postmessage-owner': runPostmessageOwner,
  'postmessage-client': runPostmessageClient,
};

export default async function runTask(task: KvWorkerInput): Promise<KvWorkerOutput> {
  input = task;
  coord = new Int32Array(input.coord);
  const out = await runners[input.system]();
  if (sink === -1) console.log(sink);
  return out;
}
