/**
 * The `nats-kv` baseline of the cluster suite: a JetStream KV bucket used
 * directly from one worker (`get`/`put`, `inflight` ops in flight), for
 * `ms` milliseconds after a shared start. workerData: { servers, bucket, keys, writeRatio, inflight, ms, seed }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { mulberry32 } from './workload.js';

const w = workerData as { servers: string[]; bucket: string; keys: number; writeRatio: number; inflight: number; ms: number; seed: number };
const nc = await connect({ servers: w.servers });
const kv = await new Kvm(nc).open(w.bucket);
const rand = mulberry32(w.seed);
parentPort!.postMessage({ ready: true });
await new Promise<void>((r) => parentPort!.once('message', () => r()));
const end = performance.now() + w.ms;
let ops = 0;
let errors = 0;
const one = async (): Promise<void> => {
  while (performance.now() < end) {
    const key = `k${Math.floor(rand() * w.keys)}`;
    try {
      if (rand() < w.writeRatio) await kv.put(key, 'v');
      else await kv.get(key);
      ops++;
    } catch {
      errors++;
    }
  }
};
await Promise.all(Array.from({ length: w.inflight }, one));
parentPort!.postMessage({ ops, errors });
await nc.close();
