/**
 * CPU per NrFS client op, synchronous against pipelined (session 13):
 * one replica in a worker that only serves (its idle event loop), the main
 * thread its client, N whole-page 4 KiB pwrites (or preads) at page
 * offsets of a 1 MiB file, first as synchronous calls, then with W
 * (default 64) pipelined ops in flight (pwriteAsync / preadAsync). Prints
 * the CPU time of every thread of the process per op
 * (/proc/self/task/./schedstat) and the answers the client consumed per
 * wake-up. The replica reclaims the pages its applies retire every 2 ms
 * (reclaimPages, as a serve-only node must), so the client's writes take
 * recycled pages, as in the fs suite, not fresh ones (each a page fault).
 * `mix`: every tenth op a write, the others reads, at random pages.
 * Build first (npm run build).
 *
 *   node bench/fs-client-cost.mjs [N=20000] [write|read|mix]
 *   ONLY=pipe|sync: one mode only (for callgrind: run at two N, take the difference)
 *   W=16: ops in flight
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';
import { attachFs, connectFs, createFs } from '../dist/src/fs/index.js';

if (!isMainThread) {
  const fs = attachFs(workerData.handle);
  parentPort.postMessage({ slot: fs.replica.id });
  setInterval(() => fs.reclaimPages(), 2); // serve (from the idle event loop) until terminated
  await new Promise(() => {}); // and run none of the main thread's code below
}

const N = Number(process.argv[2] ?? 20000);
const OP = process.argv[3] ?? 'write';
const WINDOW = Number(process.env.W ?? 64);
const cpuNs = () => readdirSync('/proc/self/task').reduce((s, t) => { try { return s + Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'latin1').split(' ')[0]); } catch { return s; } }, 0);
const h = createFs({ replicas: 1, clients: 1, capacityBytes: 64 << 20 });
const w = new Worker(new URL(import.meta.url), { workerData: { handle: h } });
const { slot } = await new Promise((r) => w.once('message', r));
const c = connectFs(h, { node: slot });
c.writeFile('/f', Buffer.alloc(1 << 20, 1));
const fd = c.open('/f', 'r+');
const buf = Buffer.alloc(4096, 7);
const bufs = Array.from({ length: WINDOW }, () => Buffer.alloc(4096));
// Answers consumed per wake-up of the client (the NR client's pump), read from its counters.
const nr = c.client;
const proto = Object.getPrototypeOf(nr);
const pump = proto.pump;
let pumps = 0;
let answers = 0;
proto.pump = function () {
  const before = this.consumed;
  pump.call(this);
  const d = (this.consumed - before) | 0;
  if (d > 0) (pumps++, (answers += d));
};
const run = async (pipelined, n) => {
  const c0 = cpuNs();
  // mix: a fixed pseudo-random page and write mask per k (the same stream in every pass).
  const at = (k) => (OP === 'mix' ? ((k * 2654435761) >>> 24) : k & 255) * 4096;
  const writes = (k) => OP === 'write' || (OP === 'mix' && (k * 40503) % 10 === 3);
  if (!pipelined) for (let k = 0; k < n; k++) writes(k) ? c.pwrite(fd, buf, 0, 4096, at(k)) : c.pread(fd, buf, 0, 4096, at(k));
  else {
    let k = 0;
    let inFlight = 0;
    await new Promise((resolve) => {
      const next = (slot) => {
        if (k >= n) return void (inFlight === 0 && resolve());
        const j = k++;
        inFlight++;
        (writes(j) ? c.pwriteAsync(fd, buf, 0, 4096, at(j)) : c.preadAsync(fd, bufs[slot], 0, 4096, at(j))).then(() => {
          inFlight--;
          next(slot);
        });
      };
      for (let j = 0; j < WINDOW; j++) next(j);
    });
  }
  return (cpuNs() - c0) / n;
};
const modes = process.env.ONLY === 'pipe' ? [true, true] : process.env.ONLY === 'sync' ? [false, false] : [false, true, false, true];
for (const m of new Set(modes)) await run(m, 2000); // warm-up
for (const m of modes) {
  pumps = answers = 0;
  const ns = await run(m, N);
  console.log(`${OP} ${m ? `pipelined (${WINDOW} in flight)` : 'sync'}: ${Math.round(ns)} ns CPU/op, ${(answers / Math.max(pumps, 1)).toFixed(1)} answers per wake-up`);
}
c.close(fd);
c.detach();
await w.terminate();
