/**
 * Test worker: a replica that dies between reserving log space and filling
 * it. The test hook runs right after the reservation; it reports and then
 * blocks until the test terminates this worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NrHandle } from '../../src/nr/index.js';
import { HashMap } from '../../src/nr/structures/index.js';

const { handle } = workerData as { handle: NrHandle };
const forever = new Int32Array(new SharedArrayBuffer(4));
const replica = attach(handle, HashMap, {
  testHooks: {
    afterReserve: (pos) => {
      parentPort!.postMessage({ reserved: pos });
      Atomics.wait(forever, 0, 0);
    },
  },
});
parentPort!.postMessage({ ready: true });
parentPort!.once('message', () => replica.writes.put('torn', 'never'));
