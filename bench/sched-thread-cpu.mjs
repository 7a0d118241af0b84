// Where the CPU of a no-op task goes, by thread: the submitting main thread, the runner
// threads (each a replica), and the process's other threads (V8's platform workers: parallel
// scavenges, concurrent marking, compiles; libuv). Set up as bench/sched.ts's nr-sched cell
// (W runner threads of capacity 64, 512 tasks in flight), one warm-up round, then one
// measured round of N tasks. CPU from /proc/self/task/*/stat (10 ms ticks: use N >= 200k).
// Usage: node bench/sched-thread-cpu.mjs W N   (after npm run build)
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const dist = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;
const { createScheduler, openScheduler, schedNow } = await import(dist + '/src/sched/index.js');
const W = Number(process.argv[2] ?? 8);
const N = Number(process.argv[3] ?? 200000);
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
const handle = createScheduler({ kinds: ['noop', '50us'], threads: W + 1, policy: 'fifo', logBytes: 8 * 1024 * 1024 });
const sched = openScheduler(handle);
const workers = Array.from({ length: W }, () => new Worker(dist + '/bench/sched-worker.js', { workerData: { handle, capacity: 64 } }));
await Promise.all(workers.map((w) => new Promise((res) => w.on('message', (m) => m.ready && res()))));
const runnerTids = [...threadCpu().keys()].filter((t) => !before.has(t));

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
    tasks: N,
    tasksPerSec: Math.round((N / ms) * 1000),
    nsPerTask: { all: perTask(all), main: perTask(main), runners: perTask(runnerSum), other: perTask(all - main - runnerSum) },
    runnerMs: runners.sort((a, b) => b - a),
  }),
);
await Promise.all(workers.map((w) => w.terminate()));
sched.close();
