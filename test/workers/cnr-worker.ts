/**
 * Test worker for parallel logs (test/cnr.test.ts): attaches the hashmap on
 * parallel logs and runs one of a few roles, reporting what it saw.
 * - 'mix': a seeded mix of get/put/delete (one log) and size/clear (every
 *   log), sync and async, stamped by the shared clock for the checker;
 * - 'stall': a put on log 0 that stops between reserve and seal (test hook)
 *   until the control word RELEASE is set (or forever: 'stall-forever');
 * - 'reader': once the staller is stalled, reads and writes keys of log 1
 *   and says whether they finished while the stall held, then releases it;
 * - 'idle': attaches, then blocks its thread (no replay, no nudges) until
 *   RELEASE, then reads every key back (it was fenced meanwhile);
 * - 'writer': writes keys 0..keys-1 of every log `rounds` times, then waits;
 * - 'serve': writes k0..k{keys-1} = 0.., sets STALLED (ready), and serves its
 *   clients from its event loop until RELEASE.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachCnr } from '../../src/nr/index.js';
import { HashMapCnr, type Value } from '../../src/nr/structures/index.js';
import { arriveAndWait, DONE, READY, stamp } from '../support/barrier.js';
import { mulberry32 } from '../support/prng.js';

import { RELEASE, STALLED, type CnrRecorded, type CnrWorkerInput, type CnrWorkerOutput } from '../support/cnr-layout.js';
import type { CnrOp } from '../support/cnr-model.js';

const input = workerData as CnrWorkerInput;
const words = new Int32Array(input.control);
let armed = false;
const view = attachCnr(input.handle, HashMapCnr, {
  testHooks: {
    afterReserve: () => {
      if (!armed) return;
      armed = false;
      Atomics.store(words, STALLED, 1);
      Atomics.notify(words, STALLED);
      if (input.role === 'stall-forever') for (;;) Atomics.wait(words, RELEASE, 0, 1000);
      Atomics.wait(words, RELEASE, 0, 15_000);
    },
  },
});
const history: CnrRecorded[] = [];
const out: CnrWorkerOutput = { client: input.client, slot: view.slot, history, digest: '' };

function call(op: CnrOp): Value | boolean | number | undefined {
  switch (op.op) {
    case 'get':
      return view.reads.get(op.key);
    case 'put':
      return view.writes.put(op.key, op.value);
    case 'delete':
      return view.writes.delete(op.key);
    case 'size':
      return view.reads.size();
    case 'clear':
      view.writes.clear();
      return undefined;
  }
}

function callAsync(op: CnrOp): Promise<Value | boolean | number | undefined> {
  switch (op.op) {
    case 'get':
      return view.readAsync('get', op.key);
    case 'put':
      return view.writeAsync('put', op.key, op.value);
    case 'delete':
      return view.writeAsync('delete', op.key);
    case 'size':
      return view.readAsync('size');
    case 'clear':
      return view.writeAsync('clear').then(() => undefined);
  }
}

async function mix(): Promise<void> {
  const rand = mulberry32(input.seed ?? 1);
  let next = input.client * 1_000_000;
  const pick = (): CnrOp => {
    if (rand() < (input.multiShare ?? 0.05)) return rand() < 0.5 ? { op: 'size' } : { op: 'clear' };
    const key = `k${Math.floor(rand() * (input.keys ?? 6))}`;
    if (rand() >= (input.writeRatio ?? 0.5)) return { op: 'get', key };
    return rand() < 0.8 ? { op: 'put', key, value: next++ } : { op: 'delete', key };
  };
  let done = 0;
  const ops = input.ops ?? 200;
  while (done < ops) {
    if (rand() < 0.3) {
      const burst = Math.min(ops - done, 1 + Math.floor(rand() * 6));
      await Promise.all(
        Array.from({ length: burst }, () => {
          const op = pick();
          const c = stamp(words);
          return callAsync(op).then((output) => {
            history.push({ client: input.client, call: c, ret: stamp(words), input: op, output });
          });
        }),
      );
      done += burst;
    } else {
      const op = pick();
      const c = stamp(words);
      const output = call(op);
      history.push({ client: input.client, call: c, ret: stamp(words), input: op, output });
      done++;
    }
  }
}

await arriveAndWait(words, READY, input.workers);
try {
  switch (input.role) {
    case 'mix':
      await mix();
      break;
    case 'stall':
    case 'stall-forever':
      armed = true;
      view.writes.put(input.log0Key!, 1);
      break;
    case 'reader': {
      view.writes.put(input.log1Key!, 5);
      while (Atomics.load(words, STALLED) === 0) Atomics.wait(words, STALLED, 0, 100);
      const t0 = performance.now();
      const a = view.reads.get(input.log1Key!);
      view.writes.put(input.log1Key!, 6);
      const b = view.reads.get(input.log1Key!);
      out.readMs = performance.now() - t0;
      out.finishedDuringStall = Atomics.load(words, RELEASE) === 0 && a === 5 && b === 6;
      Atomics.store(words, RELEASE, 1);
      Atomics.notify(words, RELEASE);
      break;
    }
    case 'idle':
      // Block this thread: no replay, no nudge, no heartbeat, until released.
      while (Atomics.load(words, RELEASE) === 0) Atomics.wait(words, RELEASE, 0, 100);
      out.readBack = Array.from({ length: input.keys! }, (_, k) => view.reads.get(`k${k}`));
      out.readBack.push(view.reads.size());
      break;
    case 'serve':
      for (let k = 0; k < input.keys!; k++) view.writes.put(`k${k}`, k);
      Atomics.store(words, STALLED, 1);
      while (Atomics.load(words, RELEASE) === 0) await new Promise((r) => setTimeout(r, 2));
      break;
    case 'writer':
      for (let r = 0; r < (input.rounds ?? 1); r++) for (let k = 0; k < input.keys!; k++) view.writes.put(`k${k}`, r * 1000 + k);
      break;
  }
} catch (e) {
  out.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
await arriveAndWait(words, DONE, input.workers);
view.sync();
out.digest = view.digest();
const st = view.stats();
out.stateTransfers = st.logs.reduce((s, l) => s + l.stateTransfers, 0);
out.fenced = st.logs.reduce((s, l) => s + l.fenced, 0);
view.detach();
parentPort!.postMessage(out);
