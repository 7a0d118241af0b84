/**
 * Test worker: attaches a replica (one log or parallel logs: support/log-systems) and then does what the test says:
 * 'serve' (idle event loop, serving clients until told to stop),
 * 'block' (a long synchronous loop, or a wait until the test releases it: serves nobody),
 * 'exit' (returns without detaching: the exit hook must clean up).
 * Messages: 'digest', { get: key }, 'detached' (whether the node left its slot), 'detach'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachMap, type MapHandle } from '../support/log-systems.js';

const { handle, mode, blockMs, release } = workerData as { handle: MapHandle; mode: 'serve' | 'block' | 'exit'; blockMs?: number; release?: SharedArrayBuffer };
const replica = attachMap(handle);
parentPort!.postMessage({ ready: true, slot: replica.slot });
if (mode === 'block') {
  if (release !== undefined) {
    // Blocked (no timers, no heartbeats) until the test sets word 0, or blockMs at most.
    Atomics.wait(new Int32Array(release), 0, 0, blockMs ?? 1000);
  } else {
    const end = Date.now() + (blockMs ?? 1000);
    while (Date.now() < end) {
      // a long synchronous computation
    }
  }
  parentPort!.postMessage({ unblocked: true });
}
if (mode === 'serve' || mode === 'block') {
  parentPort!.on('message', (m: string | { get: string }) => {
    if (typeof m === 'object') parentPort!.postMessage({ value: replica.reads.get(m.get) ?? null, stats: replica.stats() });
    if (m === 'detached') parentPort!.postMessage({ isDetached: replica.isDetached });
    if (m === 'digest') parentPort!.postMessage({ digest: replica.digest(), stats: replica.stats() });
    if (m === 'detach') {
      replica.detach();
      parentPort!.postMessage({ detached: true });
      parentPort!.close();
    }
  });
}
