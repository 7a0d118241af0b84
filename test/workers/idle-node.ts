/**
 * Test worker: attaches a replica and then does what the test says:
 * 'serve' (idle event loop, serving clients until told to stop),
 * 'block' (a long synchronous loop: serves nobody),
 * 'exit' (returns without detaching: the exit hook must clean up).
 * Messages: 'digest', { get: key }, 'detach'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NrHandle } from '../../src/nr/index.js';
import { HashMap } from '../../src/nr/structures/index.js';

const { handle, mode, blockMs } = workerData as { handle: NrHandle; mode: 'serve' | 'block' | 'exit'; blockMs?: number };
const replica = attach(handle, HashMap);
parentPort!.postMessage({ ready: true, slot: replica.id });
if (mode === 'block') {
  const end = Date.now() + (blockMs ?? 1000);
  while (Date.now() < end) {
    // a long synchronous computation
  }
  parentPort!.postMessage({ unblocked: true });
}
if (mode === 'serve' || mode === 'block') {
  parentPort!.on('message', (m: string | { get: string }) => {
    if (typeof m === 'object') parentPort!.postMessage({ value: replica.reads.get(m.get) ?? null, stats: replica.stats() });
    if (m === 'digest') parentPort!.postMessage({ digest: replica.digest(), stats: replica.stats() });
    if (m === 'detach') {
      replica.detach();
      parentPort!.postMessage({ detached: true });
      parentPort!.close();
    }
  });
}
