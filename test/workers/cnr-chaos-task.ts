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
import { attachCnr, FencedError } from '../../src/nr/index.js';
import { HashMapCnr } from '../../src/nr/structures/index.js';
import type { ChaosResult, CnrChaosInput } from '../support/chaos-layout.js';
import { LifeHistory } from '../support/chaos-life.js';
import { mulberry32 } from '../support/prng.js';

export default async function cnrChaosLife(input: CnrChaosInput): Promise<ChaosResult> {
  const replica = attachCnr(input.handle, HashMapCnr, { transferTimeoutMs: 2000 });
  const history = new LifeHistory(input, replica.slot);
  const begin = (kind: number, key: number, value: number): number => history.begin(kind, key, value);
  const end = (at: number, output: unknown): void => history.end(at, output);
  const rand = mulberry32(input.life * 7919 + 1);
  let nextValue = input.life * 1_000_000;

  // A write the order table aborted (its issuer looked stalled) took effect nowhere: tag 9, dropped
  // from the history; one whose result was lost to a fence stays pending (it may have taken effect).
  const fail = (at: number, e: unknown): void => {
    if (!(e instanceof FencedError)) throw e;
    if (e.committed) return;
    history.answer(at, 9);
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

  while (!history.stopped && history.n + 16 <= input.capacity) {
    // Bursts are short: the ops a killed life leaves pending are what the unpartitioned
    // check (size and clear see every key) has to place, and each one doubles its work.
    if (rand() < 0.2) {
      const ps: (Promise<void> | void)[] = [];
      for (let i = 0; i < 3; i++) ps.push(op(false));
      await Promise.all(ps);
    } else {
      op(true);
      if ((history.n & 31) === 0) await new Promise((r) => setImmediate(r)); // let nudges and snapshot requests in
    }
  }
  return history.finish(replica);
}
