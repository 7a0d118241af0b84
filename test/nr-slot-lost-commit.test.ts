/**
 * A replica whose slot is lost (declared dead by its manager, or reclaimed)
 * between appending its writes and applying them. The entries are sealed, so
 * every other replica applies them: the writes took effect. Before, the
 * async writes of that batch never settled (an await without end) and a
 * sync write threw DetachedError, which callers (the KV store, NrFS) read as
 * "never logged" and so free what the record references. Now each ends with
 * FencedError { committed: true }. The loss is injected at a fixed point
 * (the attach test hook after the reservation), so the verdicts are exact.
 */
import { describe, expect, it } from 'vitest';
import { declareDead, DetachedError, FencedError } from '../src/nr/index.js';
import { lossAfterReserve } from './support/slot-loss.js';
import { attachKv, createKv } from '../src/kv/index.js';

/** Resolves with the promise's outcome, or 'pending' after 2 s. */
const outcome = (p: Promise<unknown>): Promise<unknown> =>
  Promise.race([p.then((v) => ({ value: v }), (e: unknown) => e), new Promise((r) => setTimeout(() => r('pending'), 2000))]);

describe('a slot lost between append and apply', () => {
  it('async writes of the batch end with FencedError { committed: true } (they never settled), and took effect', async () => {
    const { node, other, arm } = lossAfterReserve();
    node.writes.put('before', 0);
    arm();
    const results = await Promise.all([outcome(node.writeAsync('put', 'x', 1)), outcome(node.writeAsync('put', 'y', 2))]);
    for (const r of results) {
      expect(r).toBeInstanceOf(FencedError);
      expect((r as FencedError).committed).toBe(true);
      expect((r as FencedError).message).toBe('the replica lost its slot during this write; the write took effect but its result is lost');
    }
    other.sync();
    expect([other.reads.get('x'), other.reads.get('y')]).toEqual([1, 2]);
    expect(() => node.writes.put('z', 3)).toThrow(DetachedError); // gone for good
  });

  it('a sync write throws FencedError { committed: true } (it threw DetachedError), and took effect', () => {
    const { node, other, arm } = lossAfterReserve();
    arm();
    let thrown: unknown;
    try {
      node.writes.put('x', 1);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(FencedError);
    expect((thrown as FencedError).committed).toBe(true);
    other.sync();
    expect(other.reads.get('x')).toBe(1);
  });

  it("a KV put in that batch keeps its value's block: another replica reads the value after the arena is reused (it was freed at once, and read back as IntegrityError)", () => {
    const KEY = new Uint8Array(32).fill(5);
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, replicas: 2 } });
    let armed = false;
    const victim = attachKv(h, { key: KEY, replica: { testHooks: { afterReserve: () => { if (armed) { armed = false; declareDead(h.nr, victim.replica.id); } } } } });
    const other = attachKv(h, { key: KEY });
    victim.put('a', 'first');
    armed = true;
    let thrown: unknown;
    try {
      victim.put('b', 'value of b');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(FencedError);
    expect((thrown as FencedError).committed).toBe(true);
    for (let i = 0; i < 16; i++) other.put(`other${i}`, `value of ${i % 10}`); // the same size class
    expect(other.getString('b')).toBe('value of b');
  });
});
