// The whole cost of one task in one thread: submit, claim, run a no-op handler that returns an
// object, finish, settle the await; a runner over the main thread's own replica (no workers).
// Usage: DIST=<dist dir> node bench/sched-handler-cost.mjs N   (run under callgrind at two N for instructions/task)
const dist = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;
const { createScheduler, openScheduler, Runner } = await import(dist + '/src/sched/index.js');
const N = Number(process.argv[2] ?? 2000);
const sched = openScheduler(createScheduler({ kinds: ['w'], threads: 1 }));
const runner = new Runner(sched, { w: (p) => ({ v: p }) }, { capacity: 64, maxClaim: 64, idleMs: 5 });
const t0 = performance.now();
const all = [];
for (let i = 0; i < N; i++) all.push(sched.submit('w', i));
await Promise.all(all);
console.log(`${(((performance.now() - t0) * 1e6) / N).toFixed(0)} ns/task`);
await runner.stop();
sched.close();
process.exit(0);
