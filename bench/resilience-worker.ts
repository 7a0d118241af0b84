/**
 * Task of the `resilience` suite (a piscina task, one per pool thread):
 * attaches a HashMap replica and reports its thread, slot and join stats on
 * `port`; then (mode 'write') writes windows of 64 async puts until the STOP
 * word is set, adding its ops to the shared TOTAL, or (mode 'idle') stays
 * attached with a free event loop until its thread is terminated.
 * Layout of `control` (Int32, one line each): 0 TOTAL ops, 16 STOP.
 */
import { threadId, type MessagePort } from 'node:worker_threads';
import { attach, type NrHandle } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';

export interface ResilienceWorkerInput {
  handle: NrHandle;
  control: SharedArrayBuffer;
  mode: 'idle' | 'write';
  seed: number;
  port: MessagePort;
}

export default async function resilienceTask(input: ResilienceWorkerInput): Promise<void> {
  const ctl = new Int32Array(input.control);
  const t0 = performance.now();
  const r = attach(input.handle, HashMap);
  const joinMs = performance.now() - t0;
  input.port.postMessage({ ready: true, thread: threadId, slot: r.id, joinMs, stats: r.stats() });
  if (input.mode === 'idle') {
    await new Promise(() => setInterval(() => {}, 1 << 30)); // until the thread is terminated
  }
  let i = input.seed * 1_000_003;
  while (Atomics.load(ctl, 16) === 0) {
    let last: Promise<unknown> | null = null;
    for (let j = 0; j < 64; j++, i++) last = r.writeAsync('put', i % 100_000, i);
    await last;
    Atomics.add(ctl, 0, 64);
  }
  r.detach();
  input.port.close();
}
