/**
 * Test worker for NrFS clients (test/fs-clients.test.ts).
 *
 * - 'node': attach a replica and serve clients from an idle event loop.
 *   Messages: 'sync' (catch up; answers { synced }), 'reclaim'
 *   (reclaimPages; answers { freed, retiring }), { write: n } (n
 *   partial writes of bytes [100, 200) of page 0 of /same, the byte the
 *   write's number; answers { wrote }).
 * - 'pipeline': connect as a client, issue 2000 pipelined whole-page writes
 *   of /k (page k % 8, every byte k % 250 + 1), let some go out, report
 *   { inFlight, threadId, owner } and block until the test kills the worker.
 * - 'reads': connect as a client, send 8 pipelined reads of page 0 of /g,
 *   report { threadId, owner } and block (Atomics.wait) before it can copy
 *   their answers, until the test kills the worker.
 * - 'client': connect as a client, do one partial write of /f
 *   (4000..4200), stopped at `phase` (pages taken, filled, or the op answered) until the test
 *   kills the worker.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attachFs, connectFs, type NrFsHandle } from '../../src/fs/index.js';

type Input = { handle: NrFsHandle; mode: 'node' | 'client' | 'pipeline' | 'reads'; phase?: 'afterTake' | 'afterStage' | 'afterLog' };
const input = workerData as Input;

if (input.mode === 'node') {
  const fs = attachFs(input.handle);
  parentPort!.postMessage({ ready: true, slot: fs.replica.id });
  parentPort!.on('message', (m: string | { write: number }) => {
    if (m === 'sync') {
      fs.replica.sync();
      parentPort!.postMessage({ synced: true });
    } else if (m === 'reclaim') {
      const freed = fs.reclaimPages();
      parentPort!.postMessage({ freed, retiring: fs.pageStats().retiring });
    } else if (typeof m === 'object') {
      const fd = fs.open('/same', 'r+');
      for (let k = 1; k <= m.write; k++) fs.pwrite(fd, Buffer.alloc(100, k & 0xff), 0, 100, 100);
      fs.close(fd);
      parentPort!.postMessage({ wrote: m.write });
    }
  });
} else if (input.mode === 'pipeline') {
  const fs = connectFs(input.handle);
  const fd = fs.open('/k', 'r+');
  for (let k = 0; k < 2000; k++) void fs.pwriteAsync(fd, Buffer.alloc(4096, (k % 250) + 1), 0, 4096, (k % 8) * 4096).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 5));
  parentPort!.postMessage({ inFlight: fs.pipeline.inFlight, threadId, owner: fs.ownerId });
  // Bounded: a test that never kills this worker still ends.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
} else if (input.mode === 'reads') {
  const fs = connectFs(input.handle);
  const fd = fs.open('/g', 'r');
  for (let k = 0; k < 8; k++) void fs.preadAsync(fd, Buffer.alloc(4096), 0, 4096, 0).catch(() => {});
  await null; // the requests go out at the end of the turn (one TAIL store)
  parentPort!.postMessage({ threadId, owner: fs.ownerId });
  // Bounded: a test that never kills this worker still ends.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
} else {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  let armed = false;
  const halt = (phase: string) => (): void => {
    if (!armed || input.phase !== phase) return;
    parentPort!.postMessage({ stopped: phase, threadId, owner: fs.ownerId });
    // Bounded: a test that never kills this worker still ends.
    Atomics.wait(stop, 0, 0, 30_000);
  };
  const fs = connectFs(input.handle, { pageHooks: { afterTake: halt('afterTake'), afterStage: halt('afterStage'), afterLog: halt('afterLog') } });
  const fd = fs.open('/f', 'r+');
  armed = true;
  fs.pwrite(fd, Buffer.alloc(200, 0x6e), 0, 200, 4000);
  armed = false;
  parentPort!.postMessage({ done: true });
  await new Promise(() => {});
}
