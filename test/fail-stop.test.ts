/**
 * An apply that finds shared state inauthentic throws FailStopError: the
 * replica halts for good, publishes nothing after it, and every later op on
 * it throws the same error; other replicas of the log are unaffected until
 * they apply the same entry themselves.
 */
import { describe, expect, it } from 'vitest';
import { attach, createHandle, defineStructure, FailStopError } from '../src/nr/index.js';
import { CTAIL } from '../src/nr/log/layout.js';

const Guarded = defineStructure({
  name: 'test.guarded',
  version: 1,
  create: () => ({ n: 0 }),
  reads: { get: (s: { n: number }): number => s.n },
  writes: {
    add: (s: { n: number }, by: number): number => {
      if (by < 0) throw new FailStopError(`record rejected: ${by}`);
      return (s.n += by);
    },
  },
});

describe('FailStopError from an apply', () => {
  it('halts the replica for good and publishes nothing past the failing entry', async () => {
    const handle = createHandle(Guarded, { replicas: 2 });
    const a = attach(handle, Guarded);
    const b = attach(handle, Guarded);
    expect(a.writes.add(2)).toBe(2);
    const ctailBefore = Atomics.load(new Int32Array(handle.memory.buffer), CTAIL);
    expect(() => a.writes.add(-1)).toThrow(FailStopError);
    // Nothing a halted replica replayed is published as complete.
    expect(Atomics.load(new Int32Array(handle.memory.buffer), CTAIL)).toBe(ctailBefore);
    expect(() => a.reads.get()).toThrow(FailStopError);
    expect(() => a.writes.add(1)).toThrow(FailStopError);
    await expect(a.writeAsync('add', 1)).rejects.toBeInstanceOf(FailStopError);
    expect(a.isDetached).toBe(true);
    // The other replica halts too once it reaches the same entry.
    expect(() => b.sync()).toThrow(FailStopError);
    expect(() => b.reads.get()).toThrow(/record rejected: -1/);
  });

  it('rejects every async op of a combined batch that hits the failing entry', async () => {
    const handle = createHandle(Guarded, { replicas: 1 });
    const a = attach(handle, Guarded);
    const ops = [a.writeAsync('add', 1), a.writeAsync('add', -5), a.writeAsync('add', 1)];
    const settled = await Promise.allSettled(ops);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(FailStopError);
    }
  });
});
