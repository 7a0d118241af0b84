// A replicated task scheduler: the main thread submits, two workers run. Run: npm run build && node examples/sched.mjs
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createScheduler, openScheduler, Runner } from 'node-replication/sched';

if (isMainThread) {
  const handle = createScheduler({ kinds: ['square', 'greet'], threads: 3, policy: 'mws' }); // 3 replicas: main + 2 runners
  const sched = openScheduler(handle);                          // the main thread holds a replica too
  const workers = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: { handle } }));
  const squares = await Promise.all([1, 2, 3, 4].map((x) => sched.submit('square', x)));
  const greeting = await sched.submit('greet', 'world', { priority: 5, maxAttempts: 3 }); // retried if it throws
  console.log('squares:', squares.join(' '), '|', greeting, '| cold starts:', sched.summary().coldStarts);
  for (const w of workers) w.postMessage('stop');
  sched.close();
} else {
  const sched = openScheduler(workerData.handle);
  const runner = new Runner(sched, {                            // claims tasks of these kinds, runs them, completes them
    square: (x) => x * x,
    greet: async (name) => `hello, ${name}`,
  }, { capacity: 4 });
  parentPort.once('message', () => runner.stop().then(() => sched.close()));
}
