/**
 * Test worker: a replica that dies between reserving log space and filling
 * it. The test hook runs right after the reservation; it reports and then
 * blocks until the test terminates this worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachMap, type MapHandle } from '../support/log-systems.js';

const { handle } = workerData as { handle: MapHandle };
const forever = new Int32Array(new SharedArrayBuffer(4));
// On parallel logs the hook is on every log's replica; the put reserves on its key's log only.
const replica = attachMap(handle, {
  testHooks: {
    afterReserve: (pos) => {
      parentPort!.postMessage({ reserved: pos });
      Atomics.wait(forever, 0, 0);
    },
  },
});
parentPort!.postMessage({ ready: true });
parentPort!.once('message', () => replica.writes.put('torn', 'never'));
