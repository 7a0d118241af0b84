/**
 * Test worker: a replica whose n-th log reservation stalls, right after its
 * TAIL CAS and before it copies or seals, until the test sets word n of the
 * gate (a writer descheduled at the worst moment, then woken late). It
 * answers each `put` (or `batch` of puts, one log only) with its outcome
 * (value, or error name/code/committed).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachMap, type MapHandle } from '../support/log-systems.js';
import { describeError } from '../support/trust-protocol.js';

// One log, or parallel logs: the hook then stalls the n-th reservation on any of them.
const { handle, gate } = workerData as { handle: MapHandle; gate: SharedArrayBuffer };
const g = new Int32Array(gate);
let reservations = 0;
const replica = attachMap(handle, {
  testHooks: {
    afterReserve: (pos) => {
      const n = reservations++;
      parentPort!.postMessage({ reserved: pos, n });
      // Bounded: a test that never opens the gate still ends.
      Atomics.wait(g, n, 0, 20_000);
    },
  },
});
type Request = { id: number; key: string; value: string } | { id: number; digest: true } | { id: number; batch: [string, string][] };
parentPort!.on('message', (m: Request) => {
  try {
    if ('digest' in m) parentPort!.postMessage({ id: m.id, ok: true, value: replica.digest() });
    else if ('batch' in m) parentPort!.postMessage({ id: m.id, ok: true, value: replica.writeBatch!(m.batch.map(([k, v]) => ['put', k, v] as const)) });
    else parentPort!.postMessage({ id: m.id, ok: true, value: replica.writes.put(m.key, m.value) ?? null });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, error: describeError(e) });
  }
});
parentPort!.postMessage({ ready: true });
