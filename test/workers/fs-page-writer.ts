/**
 * Test worker for NrFS's shared pages.
 *
 * - 'phase': one partial write across a page boundary of /f (4000..4200),
 *   or with `op: 'ftruncate'` a cut of /f to 4500 bytes (a copy of its tail page), stopped at `phase` (pages taken, filled, logged; or 'reserve': the log
 *   cell reserved, nothing in it) until the test kills the worker.
 * - 'register': random overlapping writes and reads of 16 bytes of /r
 *   around a page boundary ([4088, 4104)), each recorded in shared memory
 *   before it starts and when it returns, so a killed worker's history
 *   survives it (its last op pending).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachFs } from '../../src/fs/index.js';
import { waitUntilAtLeast } from '../../bench/sync.js';
import { arriveAndWait, DONE, READY, stamp } from '../support/barrier.js';
import { mulberry32 } from '../support/prng.js';
import { RECORD_WORDS, REG_AT, REG_BYTES, RELEASED, type PageWriterInput, type WritePhase } from '../support/fs-pages.js';

const input = workerData as PageWriterInput;
const words = new Int32Array(input.control);
const stop = new Int32Array(new SharedArrayBuffer(4));
let armed = false;
const halt = (phase: WritePhase) => (): void => {
  if (!armed || input.phase !== phase) return;
  parentPort!.postMessage({ stopped: phase, slot: fs.replica.id });
  // Bounded: a test that never kills this worker still ends.
  Atomics.wait(stop, 0, 0, 30_000);
};
const fs = attachFs(input.handle, {
  pageHooks: { afterTake: halt('afterTake'), afterStage: halt('afterStage'), afterLog: halt('afterLog') },
  testHooks: { afterReserve: halt('reserve') },
});

if (input.mode === 'phase') {
  const fd = fs.open('/f', 'r+');
  armed = true;
  if (input.op === 'ftruncate') fs.ftruncate(fd, 4500);
  else fs.pwrite(fd, Buffer.alloc(200, 0x6e), 0, 200, 4000);
  armed = false;
  parentPort!.postMessage({ done: true, slot: fs.replica.id });
  await new Promise(() => {});
} else {
  const rec = new Int32Array(input.records!, input.index * input.rounds * RECORD_WORDS * 4, input.rounds * RECORD_WORDS);
  const fd = fs.open('/r', 'r+');
  const rand = mulberry32(input.seed);
  const buf = Buffer.alloc(REG_BYTES);
  parentPort!.postMessage({ slot: fs.replica.id });
  await arriveAndWait(words, READY, input.workers);
  for (let k = 0; k < input.rounds; k++) {
    const at = k * RECORD_WORDS;
    const write = rand() < 0.6;
    const off = Math.floor(rand() * REG_BYTES);
    const len = 1 + Math.floor(rand() * (REG_BYTES - off));
    // A byte unique to this worker and op (mod 26 letters per worker band): lost or torn writes show.
    const byte = 0x41 + ((input.index * 7 + k) % 26);
    rec[at + 2] = write ? 1 : 0;
    rec[at + 3] = off;
    rec[at + 4] = len;
    rec[at + 5] = byte;
    rec[at + 1] = -1;
    Atomics.store(rec, at, stamp(words));
    if (write) {
      fs.pwrite(fd, Buffer.alloc(len, byte), 0, len, REG_AT + off);
    } else {
      fs.pread(fd, buf, 0, REG_BYTES, REG_AT);
      for (let i = 0; i < REG_BYTES; i++) rec[at + 6 + i] = buf[i]!;
    }
    Atomics.store(rec, at + 1, stamp(words));
    Atomics.store(words, 40 + input.index, k + 1);
  }
  fs.close(fd);
  // Every worker still alive is done writing (the killed one never arrives), and the test has
  // released the killed one's slot (word RELEASED): then the digests compare.
  await arriveAndWait(words, DONE, input.workers - 1);
  await waitUntilAtLeast(words, RELEASED, 1, 60_000);
  fs.replica.sync();
  parentPort!.postMessage({ done: true, digest: fs.replica.digest() });
  await new Promise(() => {});
}
