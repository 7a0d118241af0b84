// The README's example. Compiled by test/readme-types.test.ts; run the JS twin: node examples/quickstart.mjs
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { attach, createHandle, defineStructure, type NrHandle } from 'node-replication';

type Stock = Map<string, number>;
const Inventory = defineStructure({
  name: 'inventory',
  create: (): Stock => new Map(),                                         // one private copy per worker
  reads: { count: (m: Stock, item: string): number => m.get(item) ?? 0 }, // must not mutate
  writes: {
    add: (m: Stock, item: string, n: number): number => m.set(item, (m.get(item) ?? 0) + n).get(item)!, // deterministic
  },
});

if (isMainThread) {
  const handle = createHandle(Inventory, { replicas: 2 });                // the shared log, sized for 2 replicas
  for (let id = 0; id < 2; id++) new Worker(new URL(import.meta.url), { workerData: { handle, id } });
} else {
  const { handle, id } = workerData as { handle: NrHandle; id: number };
  const inv = attach(handle, Inventory);                                  // this worker becomes a node
  inv.writes.add('apples', 1);                                            // appended to the log, applied here
  const ps = [inv.writeAsync('add', 'pears', 2), inv.writeAsync('add', 'pears', 3)]; // one combined batch
  console.log(`worker ${id}: pears after my adds =`, await Promise.all(ps));
  console.log(`worker ${id}: apples =`, inv.reads.count('apples'));       // linearizable local read
  inv.detach();                                                           // leave the log before exiting
}
