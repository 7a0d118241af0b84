/**
 * Lapping inside a multi-log op's barrier: replica R meets a multi-log op
 * (size) in one log and, bringing its other partition up to the op, replays
 * a deliberately slow apply there that outlasts fenceAfterMs (5 ms) many
 * times while writer W laps every 4 KiB log. R is fenced on every log in
 * the middle of the barrier. Asserted: W never waits for R (its puts all
 * return); R recovers by state transfer on every log and serves the latest
 * values; its own multi-log op (when R issued it) returns the exact size at
 * its cut or FencedError(committed: true), never a wrong size; digests agree.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCnrHandle, keyHash } from '../src/nr/index.js';
import { TrustCnr } from './support/trust-structure.js';
import { startTrustNode, terminateAll, valueOf, withDeadline, type TrustNode } from './support/trust-worker.js';
import type { CnrHandle } from '../src/nr/index.js';

afterEach(terminateAll);

/** Three logs: the slow op's key maps to log 1, so even R's own op (whose replay starts at log 0) meets it while driving. */
const LOGS = 3;
const slowLog = keyHash('slow') % LOGS;
/** A key whose ops go to the log that does not hold the slow op. */
const otherKey = ((): string => {
  for (let i = 0; ; i++) if (keyHash(`o${i}`) % LOGS !== slowLog) return `o${i}`;
})();

async function replica(handle: CnrHandle): Promise<TrustNode> {
  const node = await startTrustNode(handle);
  valueOf(await node.call({ cmd: 'attach', options: { transferTimeoutMs: 5000 } }, 15_000));
  return node;
}

describe('parallel logs: a replica lapped inside a multi-log barrier', () => {
  for (const issuer of ['W', 'R'] as const) {
    it(`${issuer} issues the size; R's drive of the slow log outlasts fenceAfterMs while W laps every log: W goes on, R recovers on every log${issuer === 'R' ? ', its size exact or FencedError(committed: true)' : ''}`, async () => {
      expect(slowLog).toBe(1);
      const handle = createCnrHandle(TrustCnr, { logs: LOGS, replicas: 2, logBytes: 4096, fenceAfterMs: 5 });
      const r = await replica(handle);
      const w = await replica(handle);
      valueOf(await w.call({ cmd: 'puts', entries: [[otherKey, 'first'], ['a', 1], ['b', 2]] }));
      valueOf(await r.call({ cmd: 'sync' }));
      valueOf(await r.call({ cmd: 'slowness', slowness: { slowApplies: true } }));
      // On the slow log: the slow op (fast in W's thread), then the multi-log op after it.
      valueOf(await w.call({ cmd: 'write', op: 'slow', args: [300] }));
      const sizeAtCut = valueOf(await w.call({ cmd: 'read', op: 'size', args: [] })) as number;
      const slowStarted = r.event((e) => e.event === 'slowStart', 10_000);
      // R meets W's size on the other log (its read) or issues its own (then nothing is written between).
      const rOp = issuer === 'W' ? r.send({ cmd: 'read', op: 'get', args: [otherKey] }) : r.send({ cmd: 'read', op: 'size', args: [] });
      await slowStarted;
      const entries: [string, string][] = [];
      for (let i = 0; i < 60 * LOGS; i++) entries.push([`w${i}`, 'y'.repeat(120 + ((i * 37) % 160))]);
      entries.push([otherKey, 'last']);
      valueOf(await w.call({ cmd: 'puts', entries }, 10_000)); // never waits for R: R is fenced
      const got = await withDeadline(rOp, 10_000, "R's op");
      if (issuer === 'W') {
        // R's read, begun before W's later puts: the value at or after its start.
        expect(got.ok, JSON.stringify(got)).toBe(true);
        expect(['first', 'last']).toContain(got.value);
      } else if (got.ok) {
        expect(got.value).toBe(sizeAtCut);
      } else {
        expect(got.error).toMatchObject({ name: 'FencedError', code: 'ERR_NR_FENCED', committed: true });
      }
      const stats = valueOf(await r.call({ cmd: 'stats' }, 10_000)) as { logs: { fenced: number; stateTransfers: number }[] };
      valueOf(await r.call({ cmd: 'sync' }, 10_000));
      expect(valueOf(await r.call({ cmd: 'status' }))).toBe('live');
      const after = valueOf(await r.call({ cmd: 'stats' }, 10_000)) as { logs: { fenced: number; stateTransfers: number }[] };
      expect(after.logs.every((l) => l.fenced >= 1 && l.stateTransfers >= 1), JSON.stringify({ stats, after })).toBe(true);
      expect(valueOf(await r.call({ cmd: 'values', keys: [otherKey, 'a', 'w0', `w${60 * LOGS - 1}`] }))).toEqual(['last', 1, entries[0]![1], entries[60 * LOGS - 1]![1]]);
      expect(valueOf(await r.call({ cmd: 'read', op: 'size', args: [] }, 10_000))).toBe(valueOf(await w.call({ cmd: 'read', op: 'size', args: [] }, 10_000)));
      valueOf(await w.call({ cmd: 'sync' }, 10_000));
      expect(valueOf(await r.call({ cmd: 'digest' }))).toBe(valueOf(await w.call({ cmd: 'digest' })));
    }, 60_000);
  }

  it("R blocked while W issues a size and then laps only log 1: R, still holding log 0, meets the size there, and its drive of log 1 recovers it by transfer past the op's entry: R goes on (the barrier counts that partition as reached)", async () => {
    const handle = createCnrHandle(TrustCnr, { logs: LOGS, replicas: 2, logBytes: 4096, fenceAfterMs: 5 });
    const r = await replica(handle);
    const w = await replica(handle);
    const on = (log: number, n: number): string[] => {
      const out: string[] = [];
      for (let i = 0; out.length < n; i++) if (keyHash(`z${i}`) % LOGS === log) out.push(`z${i}`);
      return out;
    };
    const [k0] = on(0, 1);
    valueOf(await w.call({ cmd: 'puts', entries: [[k0!, 'before']] }));
    valueOf(await r.call({ cmd: 'sync' }));
    const blocked = r.send({ cmd: 'block', ms: 1500 });
    const size = valueOf(await w.call({ cmd: 'read', op: 'size', args: [] })) as number;
    const ones = on(1, 80);
    valueOf(await w.call({ cmd: 'puts', entries: ones.map((k) => [k, 'y'.repeat(150)]) }, 10_000)); // laps log 1 only
    valueOf(await withDeadline(blocked, 10_000, "R's block"));
    expect(valueOf(await r.call({ cmd: 'read', op: 'get', args: [k0] }, 10_000))).toBe('before');
    const stats = valueOf(await r.call({ cmd: 'stats' })) as { logs: { fenced: number; stateTransfers: number }[] };
    expect(stats.logs[0]!.fenced).toBe(0);
    expect(stats.logs[1]!.stateTransfers).toBeGreaterThanOrEqual(1);
    expect(valueOf(await r.call({ cmd: 'status' }))).toBe('live');
    expect(valueOf(await r.call({ cmd: 'read', op: 'size', args: [] }, 10_000))).toBe(size + ones.length);
    valueOf(await w.call({ cmd: 'sync' }, 10_000));
    valueOf(await r.call({ cmd: 'sync' }, 10_000));
    expect(valueOf(await r.call({ cmd: 'digest' }))).toBe(valueOf(await w.call({ cmd: 'digest' })));
  }, 60_000);
});
