/**
 * CPU µs per put plus its replay on a second replica (overwrites of 1000
 * keys, 100 B values, the second replica syncing every 256 puts), after a
 * 20k-put warm-up: the cost of the write path including reclamation.
 *
 *   node bench/kv-put-replay-cost.mjs [path/to/dist/src/kv/index.js] [ops]
 *
 * Compare builds by passing another build's kv index.js (see bench/kv-cost.ts).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modulePath = process.argv[2] ?? 'dist/src/kv/index.js';
const N = Number(process.argv[3] ?? 100_000);
const kv = await import(pathToFileURL(path.resolve(modulePath)).href);
const KEY = new Uint8Array(32).fill(5);
const h = kv.createKv({ key: KEY, arenaBytes: 64 << 20, log: { replicas: 2, logBytes: 4 << 20 } });
const a = kv.attachKv(h, { key: KEY });
const b = kv.attachKv(h, { key: KEY });
const v = Buffer.alloc(100, 0x61);
const run = (n) => {
  for (let i = 0; i < n; i++) {
    a.put(`key-${i % 1000}`, v);
    if ((i & 255) === 255) b.sync();
  }
  b.sync();
};
run(20_000);
const c0 = process.cpuUsage();
run(N);
const d = process.cpuUsage(c0);
console.log(`${modulePath}: ${((d.user + d.system) / N).toFixed(2)} µs per put + replay (${N} ops)`);
a.detach();
b.detach();
