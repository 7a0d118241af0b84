import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { attach, createHandle, defineStructure } from 'node-replication';

const Inventory = defineStructure({
  name: 'inventory',
  create: () => new Map(),                                      // one private copy per worker
  reads: { count: (m, item) => m.get(item) ?? 0 },              // must not mutate
  writes: { add: (m, item, n) => m.set(item, (m.get(item) ?? 0) + n).get(item) }, // deterministic
});

if (isMainThread) {
  const handle = createHandle(Inventory, { replicas: 2 });     // the shared log, sized for 2 replicas
  for (let id = 0; id < 2; id++) new Worker(new URL(import.meta.url), { workerData: { handle, id } });
} else {
  const inv = attach(workerData.handle, Inventory);            // this worker becomes a node
  inv.writes.add('apples', 1);                                  // appended to the log, applied here
  const ps = [inv.writeAsync('add', 'pears', 2), inv.writeAsync('add', 'pears', 3)]; // one combined batch
  console.log(`worker ${workerData.id}: pears after my adds =`, await Promise.all(ps));
  console.log(`worker ${workerData.id}: apples =`, inv.reads.count('apples')); // linearizable local read
  inv.detach();                                                 // leave the log before exiting
}
