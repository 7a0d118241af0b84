/**
 * Test worker (test/fs-pool-laggard.test.ts): attach an NrFS replica, read
 * '/f' once, then block its thread (Atomics.wait on control word 0, as a
 * thread stuck in a long computation would) until the test releases it;
 * then read '/f' again and report its first and last bytes, its size, and
 * the replica's status and state transfers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachFs, type NrFsHandle } from '../../src/fs/index.js';

const { handle, control } = workerData as { handle: NrFsHandle; control: SharedArrayBuffer };
const words = new Int32Array(control);
const fs = attachFs(handle);
const before = fs.readFile('/f');
parentPort!.postMessage({ ready: true, first: before[0] });
// Stuck: no event loop, no replay, no heartbeat, until released (bounded by the test's own deadline).
Atomics.wait(words, 0, 0, 60_000);
try {
  const after = fs.readFile('/f');
  const stats = fs.replica.stats();
  parentPort!.postMessage({ first: after[0], last: after[after.length - 1], size: after.length, status: stats.status, transfers: stats.stateTransfers });
} catch (e) {
  parentPort!.postMessage({ error: String((e as { code?: string }).code ?? e) });
}
fs.detach();
