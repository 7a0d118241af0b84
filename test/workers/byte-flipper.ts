/**
 * Test worker: the attacker of a time-of-check-to-time-of-use test. Flips
 * bit 0 of each byte at `offsets` in `buffer`, holds it flipped for `holdSpins`
 * iterations, flips it back, and repeats until stop[0] is set; then leaves
 * every byte as it found it and reports how many flips it made.
 */
import { parentPort, workerData } from 'node:worker_threads';

const { buffer, offsets, stop, holdSpins } = workerData as { buffer: SharedArrayBuffer; offsets: number[]; stop: SharedArrayBuffer; holdSpins: number };
const bytes = new Uint8Array(buffer);
const flag = new Int32Array(stop);
let flips = 0;
let sink = 0;
parentPort!.postMessage({ started: true });
while (Atomics.load(flag, 0) === 0) {
  for (const at of offsets) bytes[at]! ^= 1;
  for (let i = 0; i < holdSpins; i++) sink += i;
  for (const at of offsets) bytes[at]! ^= 1;
  for (let i = 0; i < holdSpins; i++) sink += i;
  flips++;
}
parentPort!.postMessage({ flips, sink: sink & 1 });
