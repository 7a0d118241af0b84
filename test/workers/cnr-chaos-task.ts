/**
 * Chaos test task on parallel logs (test/cnr-chaos.test.ts), the twin of
 * chaos-task.ts: one life attaches the hashmap on every log (attachCnr) and
 * also issues multi-log ops (size, clear). One piscina task = one life on a pool
 * thread: a seeded mix of sync and async ops on a few keys until the STOP
 * word is set, every op recorded in shared memory before it starts and again
 * when it is answered, so that a thread killed at any instruction still
 * leaves an exact history (its last ops pending). Then it waits for FINAL
 * and returns its digest and final values.
 *
 * Record layout (Int32 × RECORD): kind (1 get, 2 put, 3 delete, 4 size, 5 clear), key, value,
 * call stamp, ret stamp (0 = not answered), output tag (0 undefined,
 * 1 number, 2 false, 3 true), output number.
 */
import { threadId } from 'node:worker_threads';
import { attachCnr, FencedError } from '../../src/nr/index.js';
import { HashMapCnr } from '../../src/nr/structures/index.js';
import { arriveAndWait } from '../support/barrier.js';
import { CLOCK, FINAL, LIVES_AT, RECORD, STOP, type ChaosResult, type CnrChaosInput } from '../support/chaos-layout.js';
import { mulberry32 } from '../support/prng.js';

export default async function cnrChaosLife(input: CnrChaosInput): Promise<ChaosResult> {
  const ctl = new Int32Array(input.control);
  const rec = new Int32Array(input.history);
  const replica = attachCnr(input.handle, HashMapCnr, { transferTimeoutMs: 2000 });
  // Tell the controller which thread and replica slot this life has.
  Atomics.store(ctl, LIVES_AT + 2 * input.life, threadId);
  Atomics.store(ctl, LIVES_AT + 2 * input.life + 1, replica.slot + 1);
  const rand = mulberry32(input.life * 7919 + 1);
  let n = 0;
  let nextValue = input.life * 1_000_000;

  const begin = (kind: number, key: number, value: number): number => {
    const at = (input.base + n++) * RECORD;
    rec[at + 1] = key;
    rec[at + 2] = value;
    rec[at + 3] = Atomics.add(ctl, CLOCK, 1);
    Atomics.store(rec, at, kind); // the record exists once its kind is set
    return at;
  };
  const end = (at: number, output: unknown): void => {
    if (output === undefined) rec[at + 5] = 0;
    else if (typeof output === 'number') {
      rec[at + 5] = 1;
      rec[at + 6] = output;
    } else rec[at + 5] = output ? 3 : 2;
    Atomics.store(rec, at + 4, Atomics.add(ctl, CLOCK, 1)); // the answer is published last
  };
  // A write the order table aborted (its issuer looked stalled) took effect nowhere: tag 9, dropped
  // from the history; one whose result was lost to a fence stays pending (it may have taken effect).
  const fail = (at: number, e: unknown): void => {
    if (!(e instanceof FencedError)) throw e;
    if (e.committed) return;
    rec[at + 5] = 9;
    Atomics.store(rec, at + 4, Atomics.add(ctl, CLOCK, 1));
  };
  const run = (at: number, sync: boolean, call: () => unknown, callAsync: () => Promise<unknown>): Promise<void> | void => {
    if (!sync) return callAsync().then((o) => end(at, o), (e: unknown) => fail(at, e));
    try {
      end(at, call());
    } catch (e) {
      fail(at, e);
    }
  };
  const op = (sync: boolean): Promise<void> | void => {
    const key = Math.floor(rand() * input.keys);
    const r = rand();
    if (r < input.multiShare) {
      if (rand() < 0.5) return run(begin(4, 0, 0), sync, () => replica.reads.size(), () => replica.readAsync('size'));
      return run(begin(5, 0, 0), sync, () => replica.writes.clear(), () => replica.writeAsync('clear'));
    }
    if (r < 0.5) return run(begin(1, key, 0), sync, () => replica.reads.get(key), () => replica.readAsync('get', key));
    if (r < 0.9) {
      const v = nextValue++;
      return run(begin(2, key, v), sync, () => replica.writes.put(key, v), () => replica.writeAsync('put', key, v));
    }
    return run(begin(3, key, 0), sync, () => replica.writes.delete(key), () => replica.writeAsync('delete', key));
  };

  while (Atomics.load(ctl, STOP) === 0 && n + 16 <= input.capacity) {
    // Bursts are short: the ops a killed life leaves pending are what the unpartitioned
    // check (size and clear see every key) has to place, and each one doubles its work.
    if (rand() < 0.2) {
      const ps: (Promise<void> | void)[] = [];
      for (let i = 0; i < 3; i++) ps.push(op(false));
      await Promise.all(ps);
    } else {
      op(true);
      if ((n & 31) === 0) await new Promise((r) => setImmediate(r)); // let nudges and snapshot requests in
    }
  }
  // A life that used up its op budget stays attached (a source of state for
  // joiners, answering nudges) until the controller stops everyone; then all
  // surviving lives read their final state.
  while (Atomics.load(ctl, STOP) === 0) await new Promise((r) => setTimeout(r, 5));
  await arriveAndWait(ctl, FINAL, input.survivors, 60_000);
  replica.sync();
  const values: (number | null)[] = [];
  for (let k = 0; k < input.keys; k++) {
    const v = replica.reads.get(k);
    values.push(typeof v === 'number' ? v : null);
  }
  const result: ChaosResult = { digest: replica.digest(), values, ops: n };
  replica.detach();
  return result;
}
