/**
 * Test worker (test/kv-arena-laggard.test.ts): attach a KV replica, read
 * key 'k' once, then block its thread (Atomics.wait on control word 0, as a
 * thread stuck in a long computation would) until the test releases it;
 * then read 'k' again and report it with the replica's status and state
 * transfers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachKv, type KvHandle } from '../../src/kv/index.js';

const { handle, key, control } = workerData as { handle: KvHandle; key: Uint8Array; control: SharedArrayBuffer };
const words = new Int32Array(control);
const store = attachKv(handle, { key });
parentPort!.postMessage({ ready: true, value: store.get('k')?.toString() });
Atomics.wait(words, 0, 0, 60_000);
try {
  const value = store.get('k')?.toString();
  const stats = store.replica.stats();
  parentPort!.postMessage({ value, status: stats.status, transfers: stats.stateTransfers });
} catch (e) {
  parentPort!.postMessage({ error: String((e as { code?: string }).code ?? e) });
}
store.detach();
