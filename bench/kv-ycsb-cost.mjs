/**
 * CPU per YCSB-A op over every thread of the 8-thread kv cells, shrunk to a
 * fixed op count: SYS=clients is nr-kv-clients (2 serving replicas, CLIENTS
 * KV client workers, node = client index % 2), SYS=postmessage is its
 * baseline (one owner worker, CLIENTS client workers over MessagePorts).
 * Every client keeps 64 ops in flight over the kv suite's YCSB streams
 * (zipfian keys, half gets, half puts) and runs WARM unmeasured ops, then N
 * measured ones. Prints per-thread CPU µs per op (Linux schedstat) and the
 * whole process's (process.cpuUsage). Instructions per op: callgrind at two N,
 * subtract (postmessage: N 1000 / 3000 suffice; nr-kv-clients needs N of 10k
 * and more, and SYNC_MS=0 TIMEOUT_MS=3600000, or V8 tiering up and the run's
 * timers, ~100x more frequent per op under valgrind, dominate the difference):
 *
 *   npx tsc -p tsconfig.json
 *   for n in 1000 3000; do SYS=postmessage N=$n valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     --smc-check=all-non-file node --single-threaded bench/kv-ycsb-cost.mjs 2>&1 | grep Collected; done
 *   # (Ir(3000) - Ir(1000)) / (2000 * CLIENTS) = instructions per op, every thread included
 *
 * Env: SYS (clients), CLIENTS (6 for clients, 8 for postmessage: the 8-thread cells), N (4000 per client),
 * WARM (2000), KEYS (10000), VB (100), SYNC_MS (2: the bench node's setInterval(sync); 0 = none),
 * KV (another build's dist/src/kv/index.js), TIMEOUT_MS (the KV clients' op bound, default 30 000).
 * Diagnostics: COUNT=1 (per 64 ops: Atomics.notify / waitAsync calls, GC pauses, values that failed to open;
 * COUNT=2 also GC pauses by kind and the first failures), TASKS=1 (every thread's CPU over the span, V8's
 * platform threads included), PROFILE=DIR (V8 CPU profiles of clients 0-1 and the servers' measured spans).
 */
import { Worker, isMainThread, parentPort, workerData, MessageChannel } from 'node:worker_threads';
import { readdirSync, readFileSync, writeSync } from 'node:fs';

const env = process.env;
const SYS = env.SYS ?? 'clients';
if (SYS !== 'clients' && SYS !== 'postmessage') throw new Error(`SYS is clients or postmessage, got ${SYS}`);
const CLIENTS = +(env.CLIENTS ?? (SYS === 'clients' ? 6 : 8));
const N = +(env.N ?? 4000), WARM = +(env.WARM ?? 2000), KEYS = +(env.KEYS ?? 10000), VB = +(env.VB ?? 100);
const SYNC_MS = +(env.SYNC_MS ?? 2);
const WINDOW = 64;
const kvPath = env.KV ? new URL(`file://${env.KV}`).href : new URL('../dist/src/kv/index.js', import.meta.url).href;
const SECRET = new Uint8Array(32).fill(0x42);
const cpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const keyName = (n) => `user${String(n).padStart(9, '0')}`;
// Coordination words: 0 workers ready, 1 go (measured span started), 2 clients finished, 3 clients warmed up.
const READY = 0, GO = 1, FINISHED = 2, WARMED = 3;

async function waitAtLeast(words, i, v) {
  // A pending waitAsync alone does not keep a worker's event loop alive: the timer does.
  const alive = setInterval(() => {}, 1000);
  for (let seen; (seen = Atomics.load(words, i)) < v; ) {
    const r = Atomics.waitAsync(words, i, seen, 50);
    if (r.async) await r.value;
  }
  clearInterval(alive);
}

/** A client's op stream: the kv suite's (bench/workload.ts and kv-worker.ts streams(): same seeds). */
async function stream(index) {
  const { keyStream, mulberry32, STREAM } = await import(new URL('../dist/bench/workload.js', import.meta.url).href);
  const seed = 2000 + index;
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const ops = new Uint8Array(STREAM);
  for (let i = 0; i < STREAM; i++) {
    ops[i] = rand() < 0.5 ? 0 : 1;
    rand();
  }
  return { ops, keys: keyStream('zipfian', KEYS, seed), mask: STREAM - 1 };
}

/** Run `count` ops with WINDOW in flight; `one(i)` starts op i and returns its promise (or calls back). */
let pipelined = (count, one) => {
  return new Promise((resolve, reject) => {
    let started = 0, answered = 0;
    const done = () => {
      answered++;
      if (started < count) next();
      else if (answered === count) resolve();
    };
    const next = () => one(started++).then(done, reject);
    for (let j = 0; j < Math.min(WINDOW, count); j++) next();
  });
};

/** PROFILE=DIR: a V8 CPU profile of this thread's measured span (clients 0-1, nodes, owner) into DIR. */
async function profile(name) {
  if (!env.PROFILE || /^client-[2-9]/.test(name)) return async () => {};
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(env.PROFILE, { recursive: true });
    writeFileSync(`${env.PROFILE}/${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

/** CPU ns of every thread of this process, by tid. */
function taskCpu() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, { comm: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), ns: Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) });
    } catch {}
  }
  return out;
}

if (isMainThread) {
  const words = new Int32Array(new SharedArrayBuffer(64));
  const workers = [];
  const reports = [];
  const spawn = (data, transfer = []) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { ...data, words }, transferList: transfer });
    w.on('message', (m) => reports.push(m));
    w.on('error', (e) => {
      console.error(e);
      process.exit(1);
    });
    workers.push(w);
    return w;
  };
  let servers;
  if (SYS === 'clients') {
    const kv = await import(kvPath);
    const block = VB <= 100 ? 144 : 1280;
    const handle = kv.createKv({ key: SECRET, arenaBytes: Math.ceil((KEYS * block * 4) / 4096) * 4096 + (64 << 20), log: { replicas: 2, logBytes: 4 << 20, clients: CLIENTS + 2 } });
    servers = [0, 1].map((node) => spawn({ role: 'node', node, handle }));
    await waitAtLeast(words, READY, 2);
    for (let i = 0; i < CLIENTS; i++) spawn({ role: 'kv-client', index: i, node: i % 2, handle });
  } else {
    const ports = [];
    const clientPorts = [];
    for (let i = 0; i < CLIENTS; i++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      clientPorts.push(port2);
    }
    servers = [spawn({ role: 'owner', ports }, ports)];
    await waitAtLeast(words, READY, 1);
    for (let i = 0; i < CLIENTS; i++) spawn({ role: 'pm-client', index: i, port: clientPorts[i] }, [clientPorts[i]]);
  }
  const serverCount = servers.length;
  await waitAtLeast(words, READY, serverCount + CLIENTS);
  await waitAtLeast(words, WARMED, CLIENTS);
  for (const s of servers) s.postMessage('start');
  const tasks0 = taskCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  Atomics.store(words, GO, 1);
  Atomics.notify(words, GO);
  await waitAtLeast(words, FINISHED, CLIENTS);
  const cpu = process.cpuUsage(cpu0);
  if (env.TASKS) {
    // Every thread's CPU over the span, by name (NR_... worker threads are 'node' too: see the tid order).
    const tasks1 = taskCpu();
    for (const [tid, t] of tasks1) console.log(`  task ${tid} ${t.comm}: ${((t.ns - (tasks0.get(tid)?.ns ?? 0)) / 1e6).toFixed(0)} ms`);
  }
  const wall = performance.now() - t0;
  for (const s of servers) s.postMessage('stop');
  while (reports.length < CLIENTS + serverCount) await new Promise((r) => setTimeout(r, 5));
  const ops = N * CLIENTS;
  const per = (ns) => (ns / 1000 / ops).toFixed(2);
  const clientNs = reports.filter((r) => r.role.endsWith('client')).reduce((s, r) => s + r.cpu, 0);
  const serverNs = reports.filter((r) => !r.role.endsWith('client')).reduce((s, r) => s + r.cpu, 0);
  const extra = reports.filter((r) => r.commits !== undefined).map((r) => `node ${r.node}: ${(r.commits / ops * 64).toFixed(2)} commits per 64 ops`).join(', ');
  console.log(`${SYS} ${CLIENTS} clients ${VB} B, ${N} ops each: µs CPU per op: clients ${per(clientNs)}, ${SYS === 'clients' ? 'nodes' : 'owner'} ${per(serverNs)}, ` +
    `threads ${per(clientNs + serverNs)}, whole process ${((cpu.user + cpu.system) / ops).toFixed(2)}; wall ${(wall * 1000 / ops).toFixed(2)} µs per op${extra ? `; ${extra}` : ''}`);
  if (env.COUNT) {
    for (const kind of ['client', 'server']) {
      const rs = reports.filter((r) => r.role.endsWith('client') === (kind === 'client'));
      const sum = (f) => (rs.reduce((s, r) => s + (r.calls[f] ?? 0), 0) / ops * 64).toFixed(2);
      const gcUs = (rs.reduce((s, r) => s + (r.calls.gcMs ?? 0), 0) * 1000 / ops).toFixed(2);
      if (env.COUNT === '2') for (const k of [1, 2, 4, 8]) console.log(`    gc kind ${k}: ${(rs.reduce((s, r) => s + (r.calls[`gc${k}`] ?? 0), 0) * 1000 / ops).toFixed(2)} µs per op`);
      console.log(`  ${kind}s, per 64 ops: notify ${sum('notify')} (woke a waiter ${sum('woke')}), waitAsync ${sum('waitAsync')}, GCs ${sum('gc')} (${gcUs} µs per op)${kind === 'client' && SYS === 'clients' ? `, failed opens ${sum('failedOpen')}` : ''}`);
    }
  }
  process.exit(0);
} else {
  const { role, words } = workerData;
  // COUNT=1: count this thread's Atomics.notify / waitAsync calls and notifies that woke someone over the span.
  const calls = { notify: 0, woke: 0, waitAsync: 0 };
  if (env.COUNT) {
    const { notify, waitAsync } = Atomics;
    Atomics.notify = (...a) => {
      calls.notify++;
      const n = notify(...a);
      calls.woke += n > 0 ? 1 : 0;
      return n;
    };
    Atomics.waitAsync = (...a) => {
      calls.waitAsync++;
      return waitAsync(...a);
    };
  }
  if (env.COUNT) {
    const { PerformanceObserver } = await import('node:perf_hooks');
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        calls.gc = (calls.gc ?? 0) + 1;
        calls.gcMs = (calls.gcMs ?? 0) + e.duration;
        const k = `gc${e.detail?.kind}`;
        calls[k] = (calls[k] ?? 0) + e.duration;
      }
    }).observe({ entryTypes: ['gc'] });
  }
  const counted = () => {
    const c = { ...calls };
    for (const k of Object.keys(calls)) calls[k] = 0;
    return c;
  };
  const report = (m) => parentPort.postMessage({ role, ...m });
  if (role === 'node') {
    const kv = await import(kvPath);
    const s = kv.attachKv(workerData.handle, { key: SECRET });
    if (workerData.node === 0) {
      const value = Buffer.alloc(VB, 0x5a);
      for (let k = 0; k < KEYS; k += 250) {
        const ops = [];
        for (let j = k; j < Math.min(KEYS, k + 250); j++) ops.push({ type: 'put', key: keyName(j), value });
        await s.batchAsync(ops);
      }
    } else await waitAtLeast(words, READY, 1);
    s.sync();
    Atomics.add(words, READY, 1);
    if (SYNC_MS > 0) setInterval(() => s.sync(), SYNC_MS);
    else setInterval(() => {}, 1 << 30);
    let c0 = 0, b0 = 0;
    let stopProfile = async () => {};
    parentPort.on('message', (m) => {
      if (m === 'start') {
        counted();
        void profile(`node-${workerData.node}`).then((stop) => (stopProfile = stop));
        c0 = cpuNs();
        b0 = s.stats().replica.batches;
      } else {
        const cpu = cpuNs() - c0;
        void stopProfile().then(() => report({ node: workerData.node, cpu, commits: s.stats().replica.batches - b0, calls: counted() }));
      }
    });
  } else if (role === 'owner') {
    const m = new Map();
    const value = Buffer.alloc(VB, 0x5a);
    for (let k = 0; k < KEYS; k++) m.set(keyName(k), value);
    for (const port of workerData.ports) {
      // The kv suite's owner (kv-worker.ts runPostmessageOwner), YCSB-A's ops only.
      port.on('message', (msg) => {
        const [id, op, key, , v] = msg;
        let result;
        if (op === 0) result = m.get(key);
        else m.set(key, Buffer.from(v));
        port.postMessage([id, result]);
      });
    }
    Atomics.add(words, READY, 1);
    let c0 = 0;
    parentPort.on('message', (msg) => {
      if (msg === 'start') {
        counted();
        c0 = cpuNs();
      } else report({ cpu: cpuNs() - c0, calls: counted() });
    });
  } else {
    const { ops, keys, mask } = await stream(workerData.index);
    const value = Buffer.alloc(VB, 0x61 + workerData.index);
    let one;
    let sink = 0;
    let close = () => {};
    if (role === 'kv-client') {
      const kv = await import(kvPath);
      // Under valgrind (~100x slower) an op can take longer than the client's default 30 s bound: TIMEOUT_MS raises it.
      const client = env.TIMEOUT_MS ? { node: workerData.node, timeoutMs: +env.TIMEOUT_MS } : { node: workerData.node };
      const c = kv.connectKv(workerData.handle, { key: SECRET, client });
      if (env.COUNT) {
        // Values that failed to open (their block reused after the node's answer): each is asked for again alone.
        const open = c.open;
        c.open = function (...a) {
          const v = open.apply(this, a);
          if (v === null) {
            calls.failedOpen = (calls.failedOpen ?? 0) + 1;
            if (env.COUNT === '2' && calls.failedOpen < 4) writeSync(2, `failed open: ${this.lastOpenError?.message} ${JSON.stringify(a.slice(1))}\n`);
          }
          return v;
        };
      }
      one = (i) => {
        const at = i & mask;
        const k = keyName(keys[at]);
        return ops[at] === 0 ? c.getAsync(k).then((b) => (sink += b?.length ?? 0)) : c.putAsync(k, value);
      };
      close = () => c.close();
    } else {
      // As the kv suite's postmessage client (bench/sync.ts measurePipelined): each answer sends the next request.
      const port = workerData.port;
      let answered = () => {};
      port.on('message', () => answered());
      const send = (i) => {
        const at = i & mask;
        const op = ops[at];
        port.postMessage([i, op, keyName(keys[at]), 0, op === 0 ? null : value]);
      };
      let sent = 0;
      pipelined = (count) => new Promise((resolve) => {
        let got = 0;
        const end = sent + count;
        answered = () => {
          if (++got === count) resolve();
          else if (sent < end) send(sent++);
        };
        for (let j = 0; j < Math.min(WINDOW, count); j++) send(sent++);
      });
      one = null;
    }
    Atomics.add(words, READY, 1);
    await pipelined(WARM, one);
    Atomics.add(words, WARMED, 1);
    await waitAtLeast(words, GO, 1);
    counted();
    const stopProfile = await profile(`client-${workerData.index}`);
    const c0 = cpuNs();
    await pipelined(N, one && ((j) => one(WARM + j)));
    const cpu = cpuNs() - c0;
    await stopProfile();
    report({ cpu, sink, calls: counted() });
    Atomics.add(words, FINISHED, 1);
    Atomics.notify(words, FINISHED);
    close();
  }
}
