/**
 * One benchmark thread of the `hashmap` suite. Every system runs the same
 * loop shape over the same precomputed key stream and write mask; time is
 * measured inside the worker, between the shared START flag and the end of
 * its run, and the harness sums the per-worker rates.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { attach, type NrHandle, type ReplicaStats } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { arrive, PREPARED, READY, START, waitUntilAtLeast } from './sync.js';
import { type Dist, keyStream, STREAM, writeMask } from './workload.js';

export type WorkerSystem = 'plain-map' | 'nr' | 'nr-combined' | 'lmdb' | 'postmessage-client' | 'postmessage-owner';

export interface HashmapWorkerInput {
  system: WorkerSystem;
  index: number;
  /** Workers taking part in the coordination counters. */
  participants: number;
  keys: number;
  dist: Dist;
  writeRatio: number;
  durationMs: number;
  seed: number;
  coord: SharedArrayBuffer;
  handle?: NrHandle;
  lmdbPath?: string;
  port?: MessagePort;
  ports?: MessagePort[];
}

export interface HashmapWorkerOutput {
  ops: number;
  elapsedMs: number;
  /** Heap the replica (or map) occupies in this worker, after a full GC. */
  stateHeapBytes?: number;
  batches?: number;
  /** The replica's counters (nr systems). */
  stats?: ReplicaStats;
}

const WINDOW = 64;
const MASK = STREAM - 1;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const input = workerData as HashmapWorkerInput;
const coord = new Int32Array(input.coord);
const keys = keyStream(input.dist, input.keys, input.seed);
const writes = writeMask(input.writeRatio, input.seed);

async function ready(): Promise<void> {
  arrive(coord, READY);
  await waitUntilAtLeast(coord, READY, input.participants);
}
async function prepared(): Promise<void> {
  arrive(coord, PREPARED);
  await waitUntilAtLeast(coord, START, 1);
}

async function runPlainMap(): Promise<HashmapWorkerOutput> {
  const base = heapUsed();
  const m = new Map<number, number>();
  for (let k = 0; k < input.keys; k++) m.set(k, k);
  const stateHeapBytes = heapUsed() - base;
  await ready();
  await prepared();
  const t0 = performance.now();
  const end = t0 + input.durationMs;
  let i = 0;
  let sink = 0;
  for (;;) {
    for (let j = 0; j < 1024; j++, i++) {
      const k = keys[i & MASK]!;
      if (writes[i & MASK]) m.set(k, i);
      else sink += m.get(k) ?? 0;
    }
    if (performance.now() >= end) break;
  }
  const elapsedMs = performance.now() - t0;
  if (sink === -1) console.log(sink);
  return { ops: i, elapsedMs, stateHeapBytes };
}

async function runNr(combined: boolean): Promise<HashmapWorkerOutput> {
  const base = heapUsed();
  const r = attach(input.handle!, HashMap);
  if (input.index === 0) {
    // Preload through the log, 1000 puts per combined batch.
    for (let k = 0; k < input.keys; k += 1000) {
      let last: Promise<unknown> = Promise.resolve();
      for (let j = k; j < Math.min(input.keys, k + 1000); j++) last = r.writeAsync('put', j, j);
      await last;
    }
  }
  await ready();
  r.sync();
  const stateHeapBytes = heapUsed() - base;
  await prepared();
  const t0 = performance.now();
  const end = t0 + input.durationMs;
  let i = 0;
  let sink = 0;
  if (!combined) {
    for (;;) {
      for (let j = 0; j < 1024; j++, i++) {
        const k = keys[i & MASK]!;
        if (writes[i & MASK]) r.writes.put(k, i);
        else sink += (r.reads.get(k) as number | undefined) ?? 0;
      }
      if (performance.now() >= end) break;
    }
  } else {
    // Async submission: the writes of each window are combined into one batch;
    // reads stay on the synchronous local path.
    for (;;) {
      for (let w = 0; w < 16; w++) {
        let last: Promise<unknown> | null = null;
        for (let j = 0; j < WINDOW; j++, i++) {
          const k = keys[i & MASK]!;
          if (writes[i & MASK]) last = r.writeAsync('put', k, i);
          else sink += (r.reads.get(k) as number | undefined) ?? 0;
        }
        if (last !== null) await last;
      }
      if (performance.now() >= end) break;
    }
  }
  const elapsedMs = performance.now() - t0;
  if (sink === -1) console.log(sink);
  const stats = r.stats();
  // Leave the log so a finished worker never holds back the others' head.
  r.detach();
  return { ops: i, elapsedMs, stateHeapBytes, batches: stats.batches, stats };
}

async function runLmdb(): Promise<HashmapWorkerOutput> {
  const { open } = await import('lmdb');
  const db = open<number, number>({ path: input.lmdbPath!, noSync: true });
  await ready();
  await prepared();
  const t0 = performance.now();
  const end = t0 + input.durationMs;
  let i = 0;
  let sink = 0;
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
    if (performance.now() >= end) break;
  }
  const elapsedMs = performance.now() - t0;
  if (sink === -1) console.log(sink);
  await db.close();
  return { ops: i, elapsedMs };
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
  await ready();
  await prepared();
  // Serve until the harness terminates this worker.
  await new Promise(() => setInterval(() => {}, 1 << 30));
  return { ops: 0, elapsedMs: 0 };
}

/** A client of the postmessage baseline: keeps WINDOW requests in flight. */
async function runPostmessageClient(): Promise<HashmapWorkerOutput> {
  const port = input.port!;
  await ready();
  await prepared();
  const t0 = performance.now();
  const end = t0 + input.durationMs;
  let sent = 0;
  let done = 0;
  return await new Promise<HashmapWorkerOutput>((resolve) => {
    const send = (): void => {
      const i = sent++;
      port.postMessage([i, writes[i & MASK], keys[i & MASK], i]);
    };
    port.on('message', () => {
      done++;
      if ((done & 63) === 0 && performance.now() >= end) {
        const elapsedMs = performance.now() - t0;
        port.close();
        resolve({ ops: done, elapsedMs });
        return;
      }
      send();
    });
    for (let j = 0; j < WINDOW; j++) send();
  });
}

const runners: Record<WorkerSystem, () => Promise<HashmapWorkerOutput>> = {
  'plain-map': runPlainMap,
  nr: () => runNr(false),
  'nr-combined': () => runNr(true),
  lmdb: runLmdb,
  'postmessage-owner': runPostmessageOwner,
  'postmessage-client': runPostmessageClient,
};

/**
 * NR_BENCH_PROFILE=DIR writes a CPU profile of each measured worker to DIR
 * (open it in Chrome DevTools): the way to see where a worker's time goes.
 */
async function profiled<T>(run: () => Promise<T>): Promise<T> {
  const dir = process.env.NR_BENCH_PROFILE;
  if (!dir || input.system === 'postmessage-owner') return run();
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync, mkdirSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const out = await run();
  const { profile } = await session.post('Profiler.stop');
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${input.system}-${input.index}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
  session.disconnect();
  return out;
}

parentPort!.postMessage(await profiled(runners[input.system]));
