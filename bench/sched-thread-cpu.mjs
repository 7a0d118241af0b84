// Where the CPU of a no-op task goes, by thread: the submitting main thread, the runner
// threads (each a replica), and the process's other threads (V8's platform workers: parallel
// scavenges, concurrent marking, compiles; libuv). Set up as bench/sched.ts's nr-sched cell
// (W runner threads of capacity 64, 512 tasks in flight), one warm-up round, then one
// measured round of N tasks. CPU from /proc/self/task/*/stat (10 ms ticks: use N >= 200k).
// Usage: node bench/sched-thread-cpu.mjs W N [R]   (after npm run build)
// With R, as the nr-sched-clients cell: R runner threads hold replicas, the other W - R are
// client runners served by them (connectScheduler); runnerMs lists the replica runners first.
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const dist = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;
const { createScheduler, openScheduler, schedNow } = await import(dist + '/src/sched/index.js');
const W = Number(process.argv[2] ?? 8);
const N = Number(process.argv[3] ?? 200000);
const R = process.argv[4] === undefined ? W : Number(process.argv[4]);
const TICK_MS = 10;

/** CPU ms (user + system) of every thread of this process, by OS thread id. */
function threadCpu() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * TICK_MS);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const before = new Set(threadCpu().keys());
const clients = W - R;
const handle = createScheduler({
  kinds: ['noop', '50us'],
  threads: R + 1,
  maxThreads: R + 1,
  policy: 'fifo',
  logBytes: 8 * 1024 * 1024,
  ...(clients > 0 ? { clients: Math.ceil(clients / R) + 1 } : {}),
});
const sched = openScheduler(handle);
async function start(n, client) {
  const ws = Array.from({ length: n }, () => new Worker(dist + '/bench/sched-worker.js', { workerData: { handle, capacity: 64, client } }));
  await Promise.all(ws.map((w) => new Promise((res) => w.on('message', (m) => m.ready && res()))));
  return ws;
}
// Nodes first (a client connects to a serving node); each group's thread ids in start order.
const workers = await start(R, false);
const nodeTids = [...threadCpu().keys()].filter((t) => !before.has(t));
workers.push(...(await start(clients, true)));
const clientTids = [...threadCpu().keys()].filter((t) => !before.has(t) && !nodeTids.includes(t));
const runnerTids = [...nodeTids, ...clientTids];

function round(n) {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const pump = () => {
      while (sent - done < 512 && sent < n) {
        sent++;
        sched.submit('noop', schedNow()).then(() => (++done === n ? resolve() : pump()), reject);
      }
    };
    pump();
  });
}

await round(N);
const c0 = threadCpu();
const t0 = performance.now();
await round(N);
const ms = performance.now() - t0;
const c1 = threadCpu();
const used = (tid) => (c1.get(tid) ?? 0) - (c0.get(tid) ?? 0);
const mainTid = String(process.pid);
const runners = runnerTids.map(used);
const all = [...c1.keys()].reduce((a, t) => a + used(t), 0);
const main = used(mainTid);
const runnerSum = runners.reduce((a, b) => a + b, 0);
const perTask = (x) => Math.round((x * 1e6) / N);
console.log(
  JSON.stringify({
    workers: W,
    replicaRunners: R,
    tasks: N,
    tasksPerSec: Math.round((N / ms) * 1000),
    nsPerTask: { all: perTask(all), main: perTask(main), runners: perTask(runnerSum), other: perTask(all - main - runnerSum) },
    runnerMs: { replicas: nodeTids.map(used).sort((a, b) => b - a), clients: clientTids.map(used).sort((a, b) => b - a) },
  }),
);
await Promise.all(workers.map((w) => w.terminate()));
sched.close();
