/**
 * Chaos test task (one piscina task = one "life" of a replica on a pool
 * thread): a seeded mix of sync and async ops on a few keys until the STOP
 * word is set, every op recorded in shared memory before it starts and again
 * when it is answered, so that a thread killed at any instruction still
 * leaves an exact history (its last ops pending). Then it waits for FINAL
 * and returns its digest and final values.
 *
 * Record layout (Int32 × RECORD): kind (1 get, 2 put, 3 delete), key, value,
 * call stamp, ret stamp (0 = not answered), output tag (0 undefined,
 * 1 number, 2 false, 3 true), output number.
 */
import { attach } from '../../src/nr/index.js';
import { HashMap } from '../../src/nr/structures/index.js';
import type { ChaosInput, ChaosResult } from '../support/chaos-layout.js';
import { LifeHistory } from '../support/chaos-life.js';
import { mulberry32 } from '../support/prng.js';

export default async function chaosLife(input: ChaosInput): Promise<ChaosResult> {
  const replica = attach(input.handle, HashMap, { transferTimeoutMs: 2000 });
  const history = new LifeHistory(input, replica.id);
  const begin = (kind: number, key: number, value: number): number => history.begin(kind, key, value);
  const end = (at: number, output: unknown): void => history.end(at, output);
  const rand = mulberry32(input.life * 7919 + 1);
  let nextValue = input.life * 1_000_000;

  const op = (sync: boolean): Promise<void> | void => {
    const key = Math.floor(rand() * input.keys);
    const r = rand();
    if (r < 0.5) {
      const at = begin(1, key, 0);
      if (sync) return end(at, replica.reads.get(key));
      return replica.readAsync('get', key).then((o) => end(at, o));
    }
    if (r < 0.9) {
      const v = nextValue++;
      const at = begin(2, key, v);
      if (sync) return end(at, replica.writes.put(key, v));
      return replica.writeAsync('put', key, v).then((o) => end(at, o));
    }
    const at = begin(3, key, 0);
    if (sync) return end(at, replica.writes.delete(key));
    return replica.writeAsync('delete', key).then((o) => end(at, o));
  };

  while (!history.stopped && history.n + 16 <= input.capacity) {
    if (rand() < 0.3) {
      const ps: (Promise<void> | void)[] = [];
      for (let i = 0; i < 8; i++) ps.push(op(false));
      await Promise.all(ps);
    } else {
      op(true);
      if ((history.n & 31) === 0) await new Promise((r) => setImmediate(r)); // let nudges and snapshot requests in
    }
  }
  return history.finish(replica);
}
