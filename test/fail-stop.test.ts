/**
 * An apply that finds shared state inauthentic throws FailStopError: the
 * replica halts for good, publishes nothing after it, and every later op on
 * it throws the same error; other replicas of the log are unaffected until
 * they apply the same entry themselves. On parallel logs (4, through
 * attachCnr) the failing entry is in its key's log: that log's CTAIL does not
 * move, and the whole view halts, ops of the other logs included.
 */
import { describe, expect, it } from 'vitest';
import { attach, attachCnr, createCnrHandle, createHandle, defineStructure, FailStopError, keyHashMapper, withLogMapper, type NrHandle } from '../src/nr/index.js';
import { CTAIL } from '../src/nr/log/layout.js';
import { LOG_COUNTS, logsOf, systemName, type MapHandle } from './support/log-systems.js';

interface Counters {
  m: Map<string, number>;
}
const Guarded = defineStructure({
  name: 'test.guarded',
  version: 1,
  create: (): Counters => ({ m: new Map() }),
  reads: { get: (s: Counters, key: string): number => s.m.get(key) ?? 0 },
  writes: {
    add: (s: Counters, key: string, by: number): number => {
      if (by < 0) throw new FailStopError(`record rejected: ${by}`);
      const n = (s.m.get(key) ?? 0) + by;
      s.m.set(key, n);
      return n;
    },
  },
});
const GuardedCnr = withLogMapper(Guarded, keyHashMapper());

/** What the tests use of a replica (one log) or a view (parallel logs). */
interface GuardedNode {
  reads: { get(key: string): number };
  writes: { add(key: string, by: number): number };
  writeAsync(op: 'add', key: string, by: number): Promise<number>;
  sync(): void;
  /** Whether the node gave up its slot (a plain replica says; a view has no such flag). */
  isDetached: boolean;
}
function createGuarded(logs: number, replicas: number): MapHandle {
  return logs === 1 ? createHandle(Guarded, { replicas }) : createCnrHandle(GuardedCnr, { replicas, logs });
}
function attachGuarded(h: MapHandle): GuardedNode {
  if (h.kind !== 'node-replication/cnr') {
    const r = attach(h, Guarded);
    return { reads: r.reads, writes: r.writes, writeAsync: (op, k, by) => r.writeAsync(op, k, by), sync: () => r.sync(), get isDetached() { return r.isDetached; } };
  }
  const v = attachCnr(h, GuardedCnr);
  return { reads: v.reads, writes: v.writes, writeAsync: (op, k, by) => v.writeAsync(op, k, by), sync: () => v.sync(), get isDetached() { return v.isDetached; } };
}
const ctails = (h: MapHandle): number[] => logsOf(h).map((l: NrHandle) => Atomics.load(new Int32Array(l.memory.buffer), CTAIL));

describe.each(LOG_COUNTS)('FailStopError from an apply (%i log(s))', (logs) => {
  it(`${systemName(logs)}: halts the replica for good and publishes nothing past the failing entry`, async () => {
    const handle = createGuarded(logs, 2);
    const a = attachGuarded(handle);
    const b = attachGuarded(handle);
    // A key on every log, so the halted view is asked on logs other than the failing one.
    const keys = Array.from({ length: 16 }, (_, i) => `k${i}`);
    for (const k of keys) expect(a.writes.add(k, 2)).toBe(2);
    const ctailsBefore = ctails(handle);
    expect(() => a.writes.add('k0', -1)).toThrow(FailStopError);
    // Nothing a halted replica replayed is published as complete, on any log.
    expect(ctails(handle)).toEqual(ctailsBefore);
    for (const k of keys) expect(() => a.reads.get(k)).toThrow(FailStopError);
    expect(() => a.writes.add('k1', 1)).toThrow(FailStopError);
    await expect(a.writeAsync('add', 'k1', 1)).rejects.toBeInstanceOf(FailStopError);
    expect(a.isDetached).toBe(true);
    // The other replica halts too once it reaches the same entry.
    expect(() => b.sync()).toThrow(FailStopError);
    expect(() => b.reads.get('k0')).toThrow(/record rejected: -1/);
  });

  it(`${systemName(logs)}: rejects every async op of a combined batch that hits the failing entry`, async () => {
    const handle = createGuarded(logs, 1);
    const a = attachGuarded(handle);
    const ops = [a.writeAsync('add', 'k', 1), a.writeAsync('add', 'k', -5), a.writeAsync('add', 'k', 1)];
    const settled = await Promise.allSettled(ops);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(FailStopError);
    }
  });
});
