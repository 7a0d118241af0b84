// NrFS: one file system, a replica in each of two workers. Run: npm run build && node examples/fs.mjs
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { attachFs, createFs, nodeFs } from 'node-replication/fs';

if (isMainThread) {
  const handle = createFs({ replicas: 2, capacityBytes: 16 << 20 }); // 16 MiB of file data at most
  for (let id = 0; id < 2; id++) new Worker(new URL(import.meta.url), { workerData: { handle, id } });
} else {
  const { handle, id } = workerData;
  const nrfs = attachFs(handle);                                // this worker's replica and its own fd table
  const fs = nodeFs(nrfs);                                      // node:fs-shaped calls: change one import to switch
  fs.mkdirSync('/logs', { recursive: true });
  fs.writeFileSync(`/logs/worker-${id}.txt`, `hello from ${id}\n`);
  fs.appendFileSync('/logs/all.txt', `${id} was here\n`);       // one atomic op, applied on both replicas
  while (fs.readdirSync('/logs').length < 3) await new Promise((r) => setTimeout(r, 1));
  try {
    fs.mkdirSync('/logs');                                      // errors carry node:fs's code, errno and message
  } catch (e) {
    console.log(`worker ${id}: ${e.code}; /logs =`, fs.readdirSync('/logs').join(' '));
  }
  nrfs.detach();                                                // closes this thread's fds, leaves the log
}
