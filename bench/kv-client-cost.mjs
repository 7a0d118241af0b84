/**
 * CPU µs per op of a KV client and its node (thread CPU time from
 * /proc/thread-self/schedstat, Linux only): the main thread is a KV client
 * (connectKv) with 64 ops in flight, a worker is its node (one replica).
 * 1000 keys, 100 B values (VB=), N=20000 ops per round, 5 rounds;
 * MIX=A (half gets, half puts, default), C (gets) or P (puts).
 *
 *   npx tsc -p tsconfig.json && node bench/kv-client-cost.mjs
 *   KV=/tmp/base/dist/src/kv/index.js node bench/kv-client-cost.mjs   # another build
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
const kvPath = process.env.KV ? new URL(`file://${process.env.KV}`).href : new URL('../dist/src/kv/index.js', import.meta.url).href;
const kv = await import(kvPath);
const cpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const KEY = new Uint8Array(32).fill(5);
const KEYS = 1000, N = +(process.env.N ?? 20000), WINDOW = 64;
const VB = +(process.env.VB ?? 100);
if (isMainThread) {
  const h = kv.createKv({ key: KEY, arenaBytes: 64 << 20, log: { replicas: 1, logBytes: 4 << 20, clients: 1 } });
  const w = new Worker(new URL(import.meta.url), { workerData: { h } });
  const msgs = [];
  w.on('message', (m) => msgs.push(m));
  await new Promise((r) => { const t = setInterval(() => { if (msgs.length) { clearInterval(t); r(); } }, 5); });
  const c = kv.connectKv(h, { key: KEY });
  const value = Buffer.alloc(VB, 0x61);
  for (let k = 0; k < KEYS; k++) await c.putAsync(`user${k}`, value);
  const mix = process.env.MIX ?? 'A';
  for (let round = 0; round < 5; round++) {
    w.postMessage('start');
    const c0 = cpuNs(), t0 = performance.now();
    let i = 0, answered = 0, inFlight = 0;
    await new Promise((resolve) => {
      const next = () => {
        inFlight++;
        const k = `user${(i * 7919) % KEYS}`;
        const p = (mix === 'C' || (mix === 'A' && (i & 1))) ? c.getAsync(k) : c.putAsync(k, value);
        i++;
        p.then(done, (e) => { console.error(e); process.exit(1); });
      };
      const done = () => { inFlight--; answered++; if (i < N) next(); else if (inFlight === 0) resolve(); };
      for (let j = 0; j < WINDOW; j++) next();
    });
    const cl = (cpuNs() - c0) / 1000 / N, wall = (performance.now() - t0) * 1000 / N;
    w.postMessage('stop');
    await new Promise((r) => { const t = setInterval(() => { if (msgs.length > 1 + round) { clearInterval(t); r(); } }, 5); });
    const node = msgs[1 + round];
    console.log(`mix ${mix} ${VB}B: client ${cl.toFixed(2)} µs/op, node ${(node.cpu / 1000 / N).toFixed(2)} µs/op (${(node.commits / N * 64).toFixed(1)} commits per 64 ops), wall ${wall.toFixed(2)} µs/op`);
  }

  c.close();
  process.exit(0);
} else {
  const s = kv.attachKv(workerData.h, { key: KEY });
  let c0 = 0; let st0 = 0;
  parentPort.on('message', (m) => {
    if (m === 'start') { c0 = cpuNs(); st0 = s.stats().replica.batches; }
    else parentPort.postMessage({ cpu: cpuNs() - c0, commits: s.stats().replica.batches - st0 });
  });
  parentPort.postMessage('ready');
}
