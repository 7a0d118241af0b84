/**
 * Worker of the `resilience` suite: attaches a HashMap replica, reports
 * its slot and join stats, then (mode 'write') writes windows of 64 async
 * puts until the STOP word is set, adding its ops to the shared TOTAL.
 * Layout of `control` (Int32, one line each): 0 TOTAL ops, 16 STOP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NrHandle } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';

export interface ResilienceWorkerInput {
  handle: NrHandle;
  control: SharedArrayBuffer;
  mode: 'idle' | 'write';
  seed: number;
}

const input = workerData as ResilienceWorkerInput;
const ctl = new Int32Array(input.control);
const t0 = performance.now();
const r = attach(input.handle, HashMap);
const joinMs = performance.now() - t0;
parentPort!.postMessage({ ready: true, slot: r.id, joinMs, stats: r.stats() });
if (input.mode === 'write') {
  let i = input.seed * 1_000_003;
  while (Atomics.load(ctl, 16) === 0) {
    let last: Promise<unknown> | null = null;
    for (let j = 0; j < 64; j++, i++) last = r.writeAsync('put', i % 100_000, i);
    await last;
    Atomics.add(ctl, 0, 64);
  }
  r.detach();
  parentPort!.postMessage({ done: true });
} else {
  // Stay attached and idle (event loop free) until terminated.
  setInterval(() => {}, 1 << 30);
}
