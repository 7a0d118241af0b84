/**
 * Per-replica heap with a large amount of NrFS file data (issue 17: a
 * replica's heap must not grow with file data). Two workers attach; the
 * writer writes MIB MiB (default 1024) in 1 MiB writes, 64 MiB per file;
 * then both catch up, collect garbage, and report their V8 heap in use and
 * the ArrayBuffer memory they allocated, against what they were after
 * attaching, and the shared pool's touched bytes.
 *
 *   npx tsc -p tsconfig.json && node --expose-gc bench/fs-heap.mjs [MIB]
 *   FS=/tmp/base/dist/src/fs/index.js node --expose-gc bench/fs-heap.mjs 256   # another build
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
const fsPath = process.env.FS ? new URL(`file://${process.env.FS}`).href : new URL('../dist/src/fs/index.js', import.meta.url).href;
const { createFs, attachFs } = await import(fsPath);
const MIB = 1 << 20;
const gcNow = () => {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
};
const heap = () => process.memoryUsage().heapUsed;
// ArrayBuffer memory this thread allocated (a replica's private page slabs, before issue 17; shared buffers it did not create are not counted).
const buffers = () => process.memoryUsage().arrayBuffers;

if (isMainThread) {
  const mib = Number(process.argv[2] ?? 1024);
  const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: (mib + 64) * MIB, logBytes: 16 * MIB, fenceAfterMs: 60_000 });
  const done = new Int32Array(new SharedArrayBuffer(8));
  const out = await Promise.all(
    [0, 1].map(
      (index) =>
        new Promise((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), { workerData: { h, index, mib, done } });
          w.once('message', (m) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  for (const o of out) {
    console.log(
      `${o.role}: file data ${(o.dataBytes / MIB).toFixed(0)} MiB, heap growth ${(o.growth / MIB).toFixed(2)} MiB (${((o.growth / o.dataBytes) * 100).toFixed(2)} % of the data), private ArrayBuffer growth ${(o.buffersGrowth / MIB).toFixed(1)} MiB, heap ${(o.heap / MIB).toFixed(1)} MiB, shared pool touched ${(o.poolBytes / MIB).toFixed(0)} MiB`,
    );
  }
} else {
  const { h, index, mib, done } = workerData;
  const fs = attachFs(h);
  fs.replica.sync();
  gcNow();
  const base = heap();
  const baseBuffers = buffers();
  if (index === 0) {
    const chunk = Buffer.alloc(MIB, 0x5a);
    for (let at = 0; at < mib; at++) {
      if (at % 64 === 0) var fd = fs.open(`/f${at / 64}`, 'w');
      chunk[0] = at & 0xff;
      fs.pwrite(fd, chunk, 0, MIB, (at % 64) * MIB);
      if (at % 64 === 63 || at === mib - 1) fs.close(fd);
      // Let the reader keep up (it replays as it polls): a lagging replica holds displaced pages, not data.
    }
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  } else {
    while (Atomics.load(done, 0) === 0) {
      fs.replica.sync();
      Atomics.wait(done, 0, 0, 5);
    }
  }
  fs.replica.sync();
  gcNow();
  const u = fs.usage();
  const stats = typeof fs.pageStats === 'function' ? fs.pageStats() : { touchedPages: 0 };
  parentPort.postMessage({ role: index === 0 ? 'writer' : 'reader', dataBytes: u.dataBytes, growth: heap() - base, buffersGrowth: buffers() - baseBuffers, heap: heap(), poolBytes: stats.touchedPages * 4096 });
}
