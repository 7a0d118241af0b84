// Parallel logs when threads' keys are log-affine: N workers on 2 cores, 10 %
// writes (sync calls), each worker on its own 2 500 keys, chosen so that on 4
// logs they all hash to log (worker mod 4). The same keys and op stream for
// nr (one log) and nr-cnr (4 logs), alternated in one run.
//
//   node bench/cnr-affinity.mjs [threads=8] [ms=1500] [runs=2]
//
// Prints, per system and run: ops/s (sum over workers), read and write p50/p99
// (one op in 32 timed), and seal waits per worker (count, ms).
import { isMainThread, Worker, workerData, parentPort } from 'node:worker_threads';

const dist = new URL('../dist/', import.meta.url).href;
const LOGS = 4;
const KEYS_PER_THREAD = 2500;

async function worker({ mode, handle, index, threads, ms, barrier }) {
  const { attach, attachCnr, keyHash } = await import(dist + 'src/nr/index.js');
  const { HashMap, HashMapCnr } = await import(dist + 'src/nr/structures/index.js');
  const r = mode === 'cnr' ? attachCnr(handle, HashMapCnr) : attach(handle, HashMap);
  const keys = [];
  for (let k = 0; keys.length < KEYS_PER_THREAD; k++) {
    const key = index * 1_000_000 + k;
    if (keyHash(key) % LOGS === index % LOGS) keys.push(key);
  }
  for (const k of keys) r.writes.put(k, 0);
  const b = new Int32Array(barrier);
  Atomics.add(b, 0, 1);
  while (Atomics.load(b, 0) < threads) await new Promise((res) => setTimeout(res, 1));
  const reads = [];
  const writes = [];
  let x = index * 7919 + 1;
  let ops = 0;
  let sink = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    for (let j = 0; j < 256; j++, ops++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const k = keys[x % KEYS_PER_THREAD];
      const isWrite = (x >>> 8) % 10 === 0;
      const s = (ops & 31) === 0 ? performance.now() : -1;
      if (isWrite) r.writes.put(k, ops);
      else sink += r.reads.get(k) ?? 0;
      if (s >= 0) (isWrite ? writes : reads).push(performance.now() - s);
    }
  }
  const elapsed = performance.now() - t0;
  Atomics.add(b, 1, 1);
  while (Atomics.load(b, 1) < threads) await new Promise((res) => setTimeout(res, 1));
  const st = r.stats();
  const logs = 'logs' in st ? st.logs : [st];
  r.detach();
  return { rate: (ops / elapsed) * 1000, reads, writes, sealWaits: logs.reduce((s, l) => s + l.sealWaits, 0), sealWaitMs: logs.reduce((s, l) => s + l.sealWaitMs, 0), sink };
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

if (isMainThread) {
  const [tArg = '8', msArg = '1500', runsArg = '2'] = process.argv.slice(2);
  const threads = +tArg;
  const ms = +msArg;
  const { createHandle, createCnrHandle } = await import(dist + 'src/nr/index.js');
  const { HashMap, HashMapCnr } = await import(dist + 'src/nr/structures/index.js');
  for (let run = 0; run < +runsArg; run++) {
    for (const mode of ['nr', 'cnr']) {
      const handle = mode === 'cnr' ? createCnrHandle(HashMapCnr, { logs: LOGS, replicas: threads, logBytes: 512 * 1024 }) : createHandle(HashMap, { replicas: threads, logBytes: 2 * 1024 * 1024 });
      const barrier = new SharedArrayBuffer(8);
      const outs = await Promise.all(
        Array.from({ length: threads }, (_, index) => {
          const w = new Worker(new URL(import.meta.url), { workerData: { mode, handle, index, threads, ms, barrier } });
          return new Promise((res, rej) => {
            w.once('message', res);
            w.once('error', rej);
          });
        }),
      );
      const us = (v) => (v * 1000).toFixed(2);
      const reads = outs.flatMap((o) => o.reads);
      const writes = outs.flatMap((o) => o.writes);
      console.log(
        `run ${run} ${mode === 'cnr' ? 'nr-cnr' : 'nr'} ${threads} thr: ${Math.round(outs.reduce((s, o) => s + o.rate, 0))} ops/s, read p50/p99 ${us(pct(reads, 50))}/${us(pct(reads, 99))} µs, write p50/p99 ${us(pct(writes, 50))}/${us(pct(writes, 99))} µs, seal waits per worker ${(outs.reduce((s, o) => s + o.sealWaits, 0) / threads).toFixed(1)} (${Math.round(outs.reduce((s, o) => s + o.sealWaitMs, 0) / threads)} ms)`,
      );
    }
  }
} else {
  parentPort.postMessage(await worker(workerData));
}
