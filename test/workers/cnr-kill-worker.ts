/**
 * Test worker of test/cnr-kill.test.ts: attaches the hashmap on parallel
 * logs, reports ready, and on GO issues one multi-log clear that stops for
 * good at `phase` (it sets STALLED and sleeps until terminated):
 * - 'reserve-1': after reserving its entry on log 1, log 0's entry sealed (log 1's torn, later logs untouched);
 * - 'appended': every log's entry sealed, the row still pending;
 * - 'committed': the row committed, the order still held;
 * - 'released': the order given back, before its own replay applied the op anywhere.
 * With `resume` it stops only until GO turns 2, and then reports how the clear ended.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachCnr } from '../../src/nr/index.js';
import { HashMapCnr } from '../../src/nr/structures/index.js';
import { GO, STALLED, type KillInput } from '../support/cnr-kill-layout.js';

const input = workerData as KillInput;
const words = new Int32Array(input.control);
let armed = false;
let reserves = 0;
/** Stop: for good, or (input.resume) until GO turns 2. */
const stopHere = (): void => {
  Atomics.store(words, STALLED, 1);
  Atomics.notify(words, STALLED);
  while (!input.resume || Atomics.load(words, GO) !== 2) Atomics.wait(words, GO, 1, 1000);
};
const view = attachCnr(input.handle, HashMapCnr, {
  testHooks: {
    afterReserve: () => {
      if (armed && input.phase === 'reserve-1' && ++reserves === 2) stopHere();
    },
    multiLogPhase: (phase) => {
      if (armed && phase === input.phase) stopHere();
    },
  },
});
view.sync();
parentPort!.postMessage({ slot: view.slot });
while (Atomics.load(words, GO) === 0) Atomics.wait(words, GO, 0, 100);
armed = true;
try {
  view.writes.clear();
  parentPort!.postMessage({ outcome: 'returned', stalled: Atomics.load(words, STALLED) === 1 });
} catch (e) {
  parentPort!.postMessage({ outcome: (e as Error).name, committed: (e as { committed?: boolean }).committed, stalled: Atomics.load(words, STALLED) === 1 });
}
view.detach();
