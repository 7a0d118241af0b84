// Cost of one read on a replica of a 100k-key HashMap at 0 % writes (the
// hashmap suite's w0-uniform loop), against the same loop on a private Map.
//
//   node bench/read-cost.mjs <checkout with dist/ built> nr|cnr|map N [threads]
// (cnr: the hashmap on 4 parallel logs, HashMapCnr)
//
// Each thread (the main thread when threads is 1, else that many workers,
// each with its own replica or Map, started together) reads N keys and
// prints its own CPU time per read (/proc/thread-self/schedstat), and the
// whole process's CPU per read over the same span: the difference is
// other threads' work (GC helpers, the JIT).
// Instruction counts: one thread under callgrind at two N, the difference divided by the reads between them:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null --smc-check=all-non-file \
//     node --single-threaded bench/read-cost.mjs <checkout> nr 1000000   (then 3000000)
import { readFileSync } from 'node:fs';
import { isMainThread, Worker, workerData } from 'node:worker_threads';

const KEYS = 100_000;
const threadCpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
const processCpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

async function readLoop({ dir, mode, n, handle, index, barrier }) {
  const { attach, attachCnr } = await import(dir + '/dist/src/nr/index.js');
  const { HashMap, HashMapCnr } = await import(dir + '/dist/src/nr/structures/index.js');
  const { keyStream, STREAM } = await import(dir + '/dist/bench/workload.js');
  const keys = keyStream('uniform', KEYS, 1000 + index);
  const MASK = STREAM - 1;
  let get;
  let replica;
  if (mode === 'nr' || mode === 'cnr') {
    replica = mode === 'cnr' ? attachCnr(handle, HashMapCnr) : attach(handle, HashMap);
    if (index === 0) {
      for (let k = 0; k < KEYS; k += 1000) {
        let last;
        for (let j = k; j < k + 1000; j++) last = replica.writeAsync('put', j, j);
        await last;
      }
    }
  } else {
    const m = new Map();
    for (let k = 0; k < KEYS; k++) m.set(k, k);
    get = (k) => m.get(k);
  }
  if (barrier) {
    const b = new Int32Array(barrier);
    Atomics.add(b, 0, 1);
    while (Atomics.load(b, 0) < b[1]) await new Promise((r) => setTimeout(r, 1));
  }
  if (replica) {
    replica.sync();
    get = replica.reads.get;
  }
  let sink = 0;
  const c0 = threadCpuNs();
  const p0 = processCpuNs();
  for (let i = 0; i < n; i++) sink += get(keys[i & MASK]) ?? 0;
  const c1 = threadCpuNs();
  const p1 = processCpuNs();
  if (barrier) {
    // Stay attached until every thread is done (a detached replica's slot frees nothing we need, but keep the runs alike).
    const b = new Int32Array(barrier);
    Atomics.add(b, 2, 1);
    while (Atomics.load(b, 2) < b[1]) await new Promise((r) => setTimeout(r, 1));
  }
  replica?.detach();
  return { threadNsPerRead: (c1 - c0) / n, processNsPerRead: (p1 - p0) / n, sinkPositive: sink > 0 };
}

if (isMainThread) {
  const [dir, mode, nArg, tArg = '1'] = process.argv.slice(2);
  const n = +nArg;
  const threads = +tArg;
  if (!dir || (mode !== 'nr' && mode !== 'cnr' && mode !== 'map') || !(n > 0) || !(threads >= 1)) throw new Error('usage: read-cost.mjs <checkout dir> nr|cnr|map N [threads]');
  const { createHandle, createCnrHandle } = await import(dir + '/dist/src/nr/index.js');
  const { HashMap, HashMapCnr } = await import(dir + '/dist/src/nr/structures/index.js');
  const handle = mode === 'nr' ? createHandle(HashMap, { replicas: threads }) : mode === 'cnr' ? createCnrHandle(HashMapCnr, { logs: 4, replicas: threads, logBytes: 512 * 1024 }) : undefined;
  const fmt = (r) => `${mode}: ${r.threadNsPerRead.toFixed(1)} ns thread CPU per read, ${r.processNsPerRead.toFixed(1)} ns process CPU per read`;
  if (threads === 1) console.log(fmt(await readLoop({ dir, mode, n, handle, index: 0, barrier: null })));
  else {
    const barrier = new SharedArrayBuffer(16);
    new Int32Array(barrier)[1] = threads;
    const results = await Promise.all(
      Array.from({ length: threads }, (_, index) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { dir, mode, n, handle, index, barrier } });
        return new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        });
      }),
    );
    for (const [i, r] of results.entries()) console.log(`thread ${i} ${fmt(r)}`);
  }
} else {
  const { parentPort } = await import('node:worker_threads');
  parentPort.postMessage(await readLoop(workerData));
}
