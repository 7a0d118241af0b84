// A secure KV store shared by two workers. Run: npm run build && node examples/kv.mjs
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { attachKv, createKv } from 'node-replication/kv';

if (isMainThread) {
  const key = randomBytes(32);                                  // the app's 256-bit key: never enters shared memory
  const handle = createKv({ key, log: { replicas: 2 } });       // header, value arena and log, for 2 replicas
  for (let id = 0; id < 2; id++) new Worker(new URL(import.meta.url), { workerData: { handle, key, id } });
} else {
  const { handle, key, id } = workerData;
  const kv = attachKv(handle, { key });                         // checks the key, builds this worker's private index
  kv.put(`user:${id}`, `worker ${id}`);                         // sealed into the shared arena, metadata through the log
  kv.batch([{ type: 'put', key: `count:${id}`, value: '1' }, { type: 'delete', key: 'missing' }]); // atomic
  while (kv.size() < 4) await new Promise((r) => setTimeout(r, 1)); // wait for the other worker's writes
  const cas = kv.compareAndSet('leader', undefined, `worker ${id}`); // only one worker wins
  const users = kv.scan({ prefix: 'user:' }).map((e) => e.value.toString()); // in key order, values verified
  console.log(`worker ${id}: users = ${users.join(', ')}${cas.ok ? ' (leader)' : ''}`);
  kv.detach();
}
