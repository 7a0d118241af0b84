/**
 * Where the CPU of NrFS writes goes with several replica threads: T worker
 * threads, each a replica, run N ops each after a warm-up, and report their
 * own on-CPU time (/proc/thread-self/schedstat), run-queue time, and counts
 * of Atomics.wait / Atomics.notify calls (wrapped, counted per thread).
 * MODE: dwol (4 KiB pwrite of one page of a private file), dwom (one page
 * each of a shared file), mwcm (create+close in a shared directory), mix
 * (10 % writes to a shared 16 MiB file, 4 KiB preads the rest).
 *
 *   npx tsc -p tsconfig.json && node bench/fs-threads-cost.mjs dwol 2 200000
 *   strace -f -c -e trace=futex node bench/fs-threads-cost.mjs dwol 2 200000
 *   FS=/other/checkout/dist/src/fs/index.js node bench/fs-threads-cost.mjs …
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';

const fsPath = process.env.FS ? new URL(`file://${process.env.FS}`).href : new URL('../dist/src/fs/index.js', import.meta.url).href;
const PAGE = 4096;
const MIX_PAGES = 4096;

function sched() {
  const [cpu, runq] = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
  return [Number(cpu), Number(runq)];
}

if (isMainThread) {
  const [mode = 'dwol', tArg = '2', nArg = '200000'] = process.argv.slice(2);
  if (!['dwol', 'dwom', 'mwcm', 'mix'].includes(mode)) throw new Error(`unknown mode ${mode} (dwol, dwom, mwcm, mix)`);
  const T = +tArg;
  const N = +nArg;
  const { createFs } = await import(fsPath);
  const handle = createFs({ replicas: T, capacityBytes: 64 << 20 });
  const go = new Int32Array(new SharedArrayBuffer(12));
  const workers = Array.from({ length: T }, (_, index) => new Worker(new URL(import.meta.url), { workerData: { mode, index, T, N, handle, go: go.buffer, fsPath } }));
  const results = await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.on('message', resolve);
    w.on('error', reject);
  })));
  let cpu = 0;
  for (const r of results) {
    cpu += r.cpuNs;
    console.log(`thread ${r.index}: ${(r.cpuNs / N).toFixed(0)} ns CPU/op, runq ${(r.runqNs / N).toFixed(0)} ns/op, wall ${(r.wallNs / N).toFixed(0)} ns/op, waits ${(r.waits / N).toFixed(4)}/op (timed out ${(r.timedOut / N).toFixed(4)}), notifies ${(r.notifies / N).toFixed(4)}/op; pages ${JSON.stringify(r.pages)}`);
  }
  console.log(`${mode} ${T} threads: ${(cpu / N / T).toFixed(0)} ns CPU per op (mean over threads), N=${N} per thread`);
  await Promise.all(workers.map((w) => w.terminate()));
} else {
  const { mode, index, T, N, handle, go } = workerData;
  const counts = { waits: 0, timedOut: 0, notifies: 0 };
  const wait = Atomics.wait;
  const notify = Atomics.notify;
  const waitAsync = Atomics.waitAsync;
  Atomics.wait = (...a) => {
    counts.waits++;
    const r = wait(...a);
    if (r === 'timed-out') counts.timedOut++;
    return r;
  };
  Atomics.waitAsync = (...a) => {
    counts.waits++;
    return waitAsync(...a);
  };
  Atomics.notify = (...a) => {
    counts.notifies++;
    return notify(...a);
  };
  const { attachFs } = await import(workerData.fsPath);
  const fs = attachFs(handle);
  const g = new Int32Array(go);
  // Worker 0 makes the shared files (word 2: done); the others replay it as it goes.
  if (index === 0) {
    if (mode === 'dwom') {
      const fd = fs.open('/dwo', 'w+');
      fs.pwrite(fd, Buffer.alloc(PAGE * T, 1), 0, PAGE * T, 0);
      fs.close(fd);
    } else if (mode === 'mwcm') fs.mkdir('/mwc');
    else if (mode === 'mix') {
      const fd = fs.open('/mix', 'w+');
      for (let p = 0; p < MIX_PAGES; p += 64) fs.pwrite(fd, Buffer.alloc(PAGE * 64, 1), 0, PAGE * 64, p * PAGE);
      fs.close(fd);
    }
    Atomics.store(g, 2, 1);
    notify(g, 2);
  } else {
    while (Atomics.load(g, 2) === 0) {
      fs.replica.sync();
      wait(g, 2, 0, 2);
    }
    fs.replica.sync();
  }
  const buf = Buffer.alloc(PAGE, index + 1);
  let op;
  if (mode === 'dwol' || mode === 'dwom') {
    const path = mode === 'dwol' ? `/dwo${index}` : '/dwo';
    const fd = fs.open(path, mode === 'dwol' ? 'w+' : 'r+');
    const pos = mode === 'dwom' ? index * PAGE : 0;
    op = () => fs.pwrite(fd, buf, 0, PAGE, pos);
  } else if (mode === 'mwcm') {
    op = (k) => fs.close(fs.open(`/mwc/f${index}-${k}`, 'wx'));
  } else {
    const fd = fs.open('/mix', 'r+');
    let x = index * 7919 + 1;
    op = (k) => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const pos = (x % MIX_PAGES) * PAGE;
      if (k % 10 === 0) fs.pwrite(fd, buf, 0, PAGE, pos);
      else fs.pread(fd, buf, 0, PAGE, pos);
    };
  }
  for (let k = 0; k < Math.min(20000, N); k++) op(-1 - k);
  fs.replica.sync();
  // Start together: every thread warmed up.
  if (Atomics.add(g, 0, 1) + 1 === T) notify(g, 1);
  while (Atomics.load(g, 0) < T) {
    // Keep up with the others' warm-up: a replica idle here would hold their displaced pages.
    fs.replica.sync();
    wait(g, 1, 0, 1);
  }
  counts.waits = counts.timedOut = counts.notifies = 0;
  const [c0, q0] = sched();
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < N; k++) op(k);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const [c1, q1] = sched();
  // Stay attached until every thread is done (a replica that leaves changes the others' log).
  Atomics.add(g, 1, 1);
  while (Atomics.load(g, 1) < T) {
    fs.replica.sync();
    wait(g, 0, T, 1);
  }
  parentPort.postMessage({ index, cpuNs: c1 - c0, runqNs: q1 - q0, wallNs, ...counts, pages: fs.pageStats() });
}
