/**
 * Test worker: attaches a HashMap replica (on one log or parallel logs: support/log-systems), runs a seeded random mix of sync
 * and async ops against a few keys, records a history stamped by the shared
 * logical clock, then reports its history, digest and stats.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Value } from '../../src/nr/structures/index.js';
import { attachMap, connectMap, type MapHandle } from '../support/log-systems.js';
import { arriveAndWait, DONE, READY, stamp } from '../support/barrier.js';
import type { HashMapInput, HashMapOperation } from '../../src/lincheck/index.js';
import { mulberry32 } from '../support/prng.js';

export interface KvWorkerInput {
  handle: MapHandle;
  control: SharedArrayBuffer;
  client: number;
  workers: number;
  seed: number;
  ops: number;
  keys: number;
  /** 0..1 share of writes (puts and deletes). */
  writeRatio: number;
  /** 0..1 share of ops issued as async bursts. */
  asyncShare: number;
  record: boolean;
  /** 'node' (default) attaches a replica; 'client' connects to node `node`. */
  role?: 'node' | 'client';
  node?: number;
  /** How many participants are nodes (they wait for everyone before leaving). */
}

export interface KvWorkerOutput {
  client: number;
  history: HashMapOperation<Value>[];
  digest: string;
  opsDone: number;
  batches: number;
  appends: number;
}

const input = workerData as KvWorkerInput;
const words = new Int32Array(input.control);
const isClient = input.role === 'client';
const replica = isClient ? connectMap(input.handle, { node: input.node }) : attachMap(input.handle);
const rand = mulberry32(input.seed);
const history: HashMapOperation<Value>[] = [];
let nextValue = input.client * 1_000_000;

function pickOp(): HashMapInput<Value> {
  const key = `k${Math.floor(rand() * input.keys)}`;
  if (rand() >= input.writeRatio) return { op: 'get', key };
  if (rand() < 0.8) return { op: 'put', key, value: nextValue++ };
  return { op: 'delete', key };
}

function runSync(op: HashMapInput<Value>): void {
  const call = stamp(words);
  let output: Value | boolean | undefined;
  if (op.op === 'get') output = replica.read('get', op.key) as Value | undefined;
  else if (op.op === 'put') output = replica.write('put', op.key, op.value) as Value | undefined;
  else output = replica.write('delete', op.key) as boolean;
  const ret = stamp(words);
  if (input.record) history.push({ client: input.client, call, ret, input: op, output });
}

function runAsync(op: HashMapInput<Value>): Promise<void> {
  const call = stamp(words);
  const p = (
    op.op === 'get'
      ? replica.readAsync('get', op.key)
      : op.op === 'put'
        ? replica.writeAsync('put', op.key, op.value)
        : replica.writeAsync('delete', op.key)) as Promise<Value | boolean | undefined>;
  return p.then((output) => {
    const ret = stamp(words);
    if (input.record) history.push({ client: input.client, call, ret, input: op, output });
  });
}

await arriveAndWait(words, READY, input.workers);
let done = 0;
while (done < input.ops) {
  if (rand() < input.asyncShare) {
    const burst = Math.min(input.ops - done, 1 + Math.floor(rand() * 16));
    const ps: Promise<void>[] = [];
    for (let i = 0; i < burst; i++) ps.push(runAsync(pickOp()));
    await Promise.all(ps);
    done += burst;
  } else {
    runSync(pickOp());
    done++;
  }
}
// Stay attached (nudgeable, and serving clients) until every worker has finished.
await arriveAndWait(words, DONE, input.workers);
let out: KvWorkerOutput;
if ('sync' in replica) {
  replica.sync();
  const stats = replica.stats();
  const sum = (f: 'batches' | 'appends'): number => stats.reduce((a, x) => a + x[f], 0);
  out = { client: input.client, history, digest: replica.digest(), opsDone: done, batches: sum('batches'), appends: sum('appends') };
} else {
  replica.close();
  out = { client: input.client, history, digest: '', opsDone: done, batches: 0, appends: 0 };
}
parentPort!.postMessage(out);
