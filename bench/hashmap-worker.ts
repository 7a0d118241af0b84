/**
 * One benchmark thread of the `hashmap` suite, run as a piscina task (one
 * task per pool thread, pinned by the harness's load balancer). Every system runs the same
 * loop shape over the same precomputed key stream and write mask; time is
 * measured inside the worker, between the shared START flag and the end of
 * its run, and the harness sums the per-worker rates.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MessagePort } from 'node:worker_threads';
import { attach, attachCnr, connect, type CnrHandle, type NrHandle, type ReplicaStats } from '../src/nr/index.js';
import { HashMap, HashMapCnr } from '../src/nr/structures/index.js';
import { LATENCY_SAMPLE_MASK, newRoundLatency, type RoundLatency } from './latency.js';
import { arrive, measurePipelined, measureRounds, PREPARED, ready, type Round } from './sync.js';
import { CLIENT_WINDOW, type Dist, keyStream, STREAM, writeMask } from './workload.js';
import { profiled } from './profile.js';

export type WorkerSystem =
  | 'plain-map'
  | 'apply-limit'
  | 'nr'
  | 'nr-combined'
  | 'nr-batch'
  | 'nr-cnr'
  | 'nr-node'
  | 'nr-client'
  | 'lmdb'
  | 'postmessage-client'
  | 'postmessage-owner';

export interface HashmapWorkerInput {
  system: WorkerSystem;
  index: number;
  /** Workers taking part in the coordination counters, and those of them measured. */
  participants: number;
  measured: number;
  keys: number;
  dist: Dist;
  writeRatio: number;
  durationMs: number;
  rounds: number;
  seed: number;
  coord: SharedArrayBuffer;
  handle?: NrHandle;
  /** nr-cnr: the hashmap on parallel logs. */
  cnrHandle?: CnrHandle;
  lmdbPath?: string;
  port?: MessagePort;
  ports?: MessagePort[];
  /**
   * Time one op in LATENCY_SAMPLE_EVERY. Off unless NR_BENCH_LATENCY=1: the
   * sampled synchronous loops cost ~50 machine instructions more per op
   * (an nr read 190 -> 238), which would move the throughput targets. The
   * asynchronous loops (µs per op) always sample.
   */
  sampleLatency: boolean;
}

export interface HashmapWorkerOutput {
  /** One entry per measured round. */
  rounds: Round[];
  /** Heap the replica (or map) occupies in this worker, after a full GC. */
  stateHeapBytes?: number;
  batches?: number;
  /** The replica's counters (nr systems; nr-cnr: summed over its logs' replicas). */
  stats?: ReplicaStats;
  /** Sampled op latencies, one entry per round (systems that sample: plain-map and the nr ones). */
  latency?: RoundLatency[];
}

const WINDOW = 64;
/** nr-batch: write ops per `writeBatch` call. */
export const NR_BATCH_OPS = 64;

const MASK = STREAM - 1;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

// One task runs at a time in a pool thread; these hold the current task's inputs.
let input: HashmapWorkerInput;
let coord: Int32Array;
let keys: Int32Array;
let writes: Uint8Array;

let sink = 0;

/**
 * Latency samples: every LATENCY_SAMPLE_EVERY-th op is timed (performance.now()
 * around a synchronous op; from issue to settle for an async one) into the
 * current round's histograms. The harness drops the warm-up rounds' ones.
 */
let latencyRounds: ReturnType<typeof newRoundLatency>[] = [];
function roundLatency(): ReturnType<typeof newRoundLatency> {
  const h = newRoundLatency();
  latencyRounds.push(h);
  return h;
}

async function runPlainMap(): Promise<HashmapWorkerOutput> {
  const base = heapUsed();
  const m = new Map<number, number>();
  for (let k = 0; k < input.keys; k++) m.set(k, k);
  const stateHeapBytes = heapUsed() - base;
  await ready(coord, input);
  let i = 0;
  // Two loops on purpose: the sampled one's shape costs instructions (sampleLatency).
  const unsampled = (end: number): number => {
    const from = i;
    for (;;) {
      for (let j = 0; j < 1024; j++, i++) {
        const k = keys[i & MASK]!;
        if (writes[i & MASK]) m.set(k, i);
        else sink += m.get(k) ?? 0;
      }
      if (performance.now() >= end) return i - from;
    }
  };
  const rounds = await measureRounds(coord, input, !input.sampleLatency ? unsampled : (end) => {
    const lat = roundLatency();
    const from = i;
    for (;;) {
      for (let j = 0; j < 1024; j++, i++) {
        const k = keys[i & MASK]!;
        // One call site per op (a second, sampled copy cost the nr loop its inlining).
        const t0 = (i & LATENCY_SAMPLE_MASK) === 0 ? performance.now() : -1;
        const isWrite = writes[i & MASK];
        if (isWrite) m.set(k, i);
        else sink += m.get(k) ?? 0;
        if (t0 >= 0) (isWrite ? lat.write : lat.read).recordMs(performance.now() - t0);
      }
      if (performance.now() >= end) return i - from;
    }
  });
  return { rounds, stateHeapBytes, latency: latencyOut() };
}

/** This task's latency histograms as raw counts, one pair per round. */
function latencyOut(): RoundLatency[] {
  return latencyRounds.map((h) => ({ read: h.read.counts, write: h.write.counts }));
}

/**
 * apply-limit: the work NR cannot avoid, with no log. Every thread walks the
 * same op stream (one seed for all) and applies every write of it to its
 * own map with the structure's own apply (HashMap's put, which also reads
 * the previous value), as every replica must; it does only its share of the reads
 * (every N-th). A round's ops are the stream ops it walked divided by N, so
 * the harness's sum over threads is the stream's rate: the ceiling for a
 * system in which every replica applies every write.
 */
async function runApplyLimit(): Promise<HashmapWorkerOutput> {
  const base = heapUsed();
  const m = HashMap.create() as Map<number, number>;
  for (let k = 0; k < input.keys; k++) m.set(k, k);
  const stateHeapBytes = heapUsed() - base;
  await ready(coord, input);
  const n = input.measured;
  const me = input.index;
  let i = 0;
  let share = me; // the next stream position whose read is this thread's
  // The structure's own apply functions, as every replica runs them (put returns the previous value).
  const put = HashMap.writeFns[HashMap.writeNames.indexOf('put')]! as (m: Map<number, number>, k: number, v: number) => unknown;
  const get = HashMap.readFns[HashMap.readNames.indexOf('get')]! as (m: Map<number, number>, k: number) => number | undefined;
  const rounds = await measureRounds(coord, input, (end) => {
    const from = i;
    for (;;) {
      for (let j = 0; j < 1024; j++, i++) {
        const k = keys[i & MASK]!;
        if (writes[i & MASK]) put(m, k, i);
        else if (i === share) sink += get(m, k) ?? 0;
        if (i === share) share += n;
      }
      if (performance.now() >= end) return (i - from) / n;
    }
  });
  return { rounds, stateHeapBytes };
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Worker 0 preloads the keys through the log, 1000 puts per combined batch; then every worker starts from all of them. */
async function preloadAndSync(r: { writeAsync(op: 'put', k: number, v: number): Promise<unknown>; sync(): void }): Promise<void> {
  if (input.index === 0) {
    for (let k = 0; k < input.keys; k += 1000) {
      let last: Promise<unknown> = Promise.resolve();
      for (let j = k; j < Math.min(input.keys, k + 1000); j++) last = r.writeAsync('put', j, j);
      await last;
    }
  }
  await ready(coord, input);
  r.sync();
}

/**
 * nr-batch: writes gathered into `writeBatch` calls of NR_BATCH_OPS puts
 * (one reused array of reused op tuples: writeBatch keeps neither), reads
 * on the synchronous local path as they come; the writes still gathered
 * at the end of a round are written before it ends. A read does not see
 * its own thread's gathered writes, as in nr-combined, but for up to 64
 * writes instead of one 64-op window's.
 */
async function runNrBatch(): Promise<HashmapWorkerOutput> {
  const base = heapUsed();
  const r = attach(input.handle!, HashMap);
  await preloadAndSync(r);
  const stateHeapBytes = heapUsed() - base;
  const ops = Array.from({ length: NR_BATCH_OPS }, () => ['put', 0, 0] as ['put', number, number]);
  let i = 0;
  const rounds = await measureRounds(coord, input, (end) => {
    const from = i;
    let n = 0;
    for (;;) {
      for (let j = 0; j < 1024; j++, i++) {
        const k = keys[i & MASK]!;
        if (writes[i & MASK]) {
          const op = ops[n]!;
          op[1] = k;
          op[2] = i;
          if (++n === NR_BATCH_OPS) {
            r.writeBatch(ops);
            n = 0;
          }
        } else sink += (r.reads.get(k) as number | undefined) ?? 0;
      }
      if (performance.now() >= end) {
        // The round's last gathered writes, in one shorter batch.
        if (n > 0) r.writeBatch(ops.slice(0, n));
        return i - from;
      }
    }
  });
  const stats = r.stats();
  r.detach();
  return { rounds, stateHeapBytes, batches: stats.batches, stats };
}

/**
 * nr: sync calls. nr-combined: async writes combined per window.
 * nr-node: nr-combined that also yields to its event loop after every
 * window, so that its clients' doorbell is answered even without writes.
 */
async function runNr(mode: 'sync' | 'combined' | 'node', cnr = false): Promise<HashmapWorkerOutput> {
  const base = heapUsed();
  // nr-cnr: the same loops on the hashmap's parallel logs (one replica per log in this thread).
  const r = cnr ? attachCnr(input.cnrHandle!, HashMapCnr) : attach(input.handle!, HashMap);
  await preloadAndSync(r);
  const stateHeapBytes = heapUsed() - base;
  let i = 0;
  const unsampledSyncWindow = (end: number): number => {
    const from = i;
    for (;;) {
      for (let j = 0; j < 1024; j++, i++) {
        const k = keys[i & MASK]!;
        if (writes[i & MASK]) r.writes.put(k, i);
        else sink += (r.reads.get(k) as number | undefined) ?? 0;
      }
      if (performance.now() >= end) return i - from;
    }
  };
  const sampledSyncWindow = (end: number): number => {
    const lat = roundLatency();
    const from = i;
    for (;;) {
      for (let j = 0; j < 1024; j++, i++) {
        const k = keys[i & MASK]!;
        const t0 = (i & LATENCY_SAMPLE_MASK) === 0 ? performance.now() : -1;
        const isWrite = writes[i & MASK];
        if (isWrite) r.writes.put(k, i);
        else sink += (r.reads.get(k) as number | undefined) ?? 0;
        if (t0 >= 0) (isWrite ? lat.write : lat.read).recordMs(performance.now() - t0);
      }
      if (performance.now() >= end) return i - from;
    }
  };
  // Async submission: the writes of each window are combined into one batch;
  // reads stay on the synchronous local path.
  const combinedWindow = async (end: number): Promise<number> => {
    const lat = roundLatency();
    const from = i;
    for (;;) {
      for (let w = 0; w < 16; w++) {
        let last: Promise<unknown> | null = null;
        for (let j = 0; j < WINDOW; j++, i++) {
          const k = keys[i & MASK]!;
          const t0 = (i & LATENCY_SAMPLE_MASK) === 0 ? performance.now() : -1;
          if (writes[i & MASK]) {
            last = r.writeAsync('put', k, i);
            if (t0 >= 0) void last.then(() => lat.write.recordMs(performance.now() - t0));
          } else {
            sink += (r.reads.get(k) as number | undefined) ?? 0;
            if (t0 >= 0) lat.read.recordMs(performance.now() - t0);
          }
        }
        if (last !== null) await last;
        if (mode === 'node') await yieldToEventLoop();
      }
      if (performance.now() >= end) return i - from;
    }
  };
  const rounds = await measureRounds(coord, input, mode !== 'sync' ? combinedWindow : input.sampleLatency ? sampledSyncWindow : unsampledSyncWindow);
  const stats = 'logs' in r ? sumStats(r.stats().logs) : r.stats();
  // Leave the log so a finished worker never holds back the others' head.
  r.detach();
  return { rounds, stateHeapBytes, batches: stats.batches, stats, latency: latencyOut() };
}

/** One thread's counters over its replicas of several logs (numbers summed; the first log's status). */
function sumStats(logs: ReplicaStats[]): ReplicaStats {
  const sum = { ...logs[0]! } as unknown as Record<string, unknown>;
  for (const l of logs.slice(1)) {
    for (const [k, v] of Object.entries(l)) if (typeof v === 'number' && k !== 'replica') sum[k] = (sum[k] as number) + v;
  }
  return sum as unknown as ReplicaStats;
}

/** A thread without a replica: every op goes to its node, CLIENT_WINDOW in flight. */
async function runNrClient(): Promise<HashmapWorkerOutput> {
  await ready(coord, input); // the nodes are attached and preloaded
  const c = connect(input.handle!, HashMap, { node: input.index % 2 });
  let i = 0;
  const rounds = await measureRounds(coord, input, async (end) => {
    const lat = roundLatency();
    const from = i;
    for (;;) {
      for (let w = 0; w < 8; w++) {
        let last: Promise<unknown> | null = null;
        for (let j = 0; j < CLIENT_WINDOW; j++, i++) {
          const k = keys[i & MASK]!;
          const t0 = (i & LATENCY_SAMPLE_MASK) === 0 ? performance.now() : -1;
          const isWrite = writes[i & MASK];
          last = isWrite ? c.writeAsync('put', k, i) : c.readAsync('get', k);
          if (t0 >= 0) {
            const h = isWrite ? lat.write : lat.read;
            void last.then(() => h.recordMs(performance.now() - t0));
          }
        }
        await last;
      }
      if (performance.now() >= end) return i - from;
    }
  });
  c.close();
  return { rounds, latency: latencyOut() };
}

async function runLmdb(): Promise<HashmapWorkerOutput> {
  const { open } = await import('lmdb');
  const db = open<number, number>({ path: input.lmdbPath!, noSync: true });
  await ready(coord, input);
  let i = 0;
  const rounds = await measureRounds(coord, input, async (end) => {
    const from = i;
    for (;;) {
      for (let w = 0; w < 16; w++) {
        let last: Promise<unknown> | null = null;
        for (let j = 0; j < WINDOW; j++, i++) {
          const k = keys[i & MASK]!;
          if (writes[i & MASK]) last = db.put(k, i);
          else sink += db.get(k) ?? 0;
        }
        if (last !== null) await last;
      }
      if (performance.now() >= end) return i - from;
    }
  });
  await db.close();
  return { rounds };
}

/** The owner thread of the postmessage baseline: a plain Map served over MessagePorts. */
async function runPostmessageOwner(): Promise<HashmapWorkerOutput> {
  const m = new Map<number, number>();
  for (let k = 0; k < input.keys; k++) m.set(k, k);
  for (const port of input.ports!) {
    port.on('message', (msg: [number, number, number, number]) => {
      const [id, isWrite, k, v] = msg;
      let result: number | undefined;
      if (isWrite) {
        result = m.get(k);
        m.set(k, v);
      } else result = m.get(k);
      port.postMessage([id, result]);
    });
  }
  await ready(coord, input);
  arrive(coord, PREPARED);
  // Serve until the harness terminates this worker.
  await new Promise(() => setInterval(() => {}, 1 << 30));
  return { rounds: [] };
}

/** A client of the postmessage baseline: keeps WINDOW requests in flight. */
async function runPostmessageClient(): Promise<HashmapWorkerOutput> {
  const port = input.port!;
  await ready(coord, input);
  let sent = 0;
  const send = (): void => {
    const i = sent++;
    port.postMessage([i, writes[i & MASK], keys[i & MASK], i]);
  };
  const rounds = await measurePipelined(coord, input, port, WINDOW, send);
  port.close();
  return { rounds };
}

const runners: Record<WorkerSystem, () => Promise<HashmapWorkerOutput>> = {
  'plain-map': runPlainMap,
  nr: () => runNr('sync'),
  'apply-limit': runApplyLimit,
  'nr-combined': () => runNr('combined'),
  'nr-batch': runNrBatch,
  'nr-cnr': () => runNr('sync', true),
  'nr-node': () => runNr('node'),
  'nr-client': runNrClient,
  lmdb: runLmdb,
  'postmessage-owner': runPostmessageOwner,
  'postmessage-client': runPostmessageClient,
};

/** The piscina task: one benchmark thread's whole part in one cell. */
export default async function runTask(task: HashmapWorkerInput): Promise<HashmapWorkerOutput> {
  input = task;
  latencyRounds = [];
  coord = new Int32Array(input.coord);
  keys = keyStream(input.dist, input.keys, input.seed);
  writes = writeMask(input.writeRatio, input.seed);
  // The postmessage owner serves until told to stop: not a measured worker.
  const run = runners[input.system];
  const output = await (input.system === 'postmessage-owner' ? run() : profiled(`${input.system}-${input.index}`, run));
  if (sink === -1) console.log(sink); // keeps the reads from being optimised away
  return output;
}
