/**
 * The structure the trust tests (issue 11) replicate: a map of string keys,
 * a counter per key, a deliberately slow write and a write that throws a
 * custom error. Everything a write computes is deterministic; only how long
 * `slow` and a snapshot take differs per thread (a loaded or descheduled
 * thread), set with `setSlowness` in the thread that should be slow.
 */
import { deserialize, serialize } from 'node:v8';
import { defineStructure, keyHash, withLogMapper } from '../../src/nr/index.js';

export interface TrustState {
  m: Map<string, unknown>;
}

/** An application error with its own class, code and a long message. */
export class QuotaError extends Error {
  override name = 'QuotaError';
  readonly code = 'EQUOTA';
}

interface Slowness {
  /** Whether `slow(ms)` really sleeps in this thread (in others it returns at once). */
  slowApplies: boolean;
  /** The next `snapshotsToDelay` snapshots taken in this thread each sleep this long first. */
  snapshotMs: number;
  snapshotsToDelay: number;
  /** Called when a slow apply or a delayed snapshot starts (a worker posts a message). */
  onSlowStart: ((what: 'apply' | 'snapshot') => void) | null;
}

const slowness: Slowness = { slowApplies: false, snapshotMs: 0, snapshotsToDelay: 0, onSlowStart: null };

export function setSlowness(s: Partial<Slowness>): void {
  Object.assign(slowness, s);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export const Trust = defineStructure({
  name: 'trust-map',
  create: (): TrustState => ({ m: new Map() }),
  reads: {
    get: (s: TrustState, k: string) => s.m.get(k),
    size: (s: TrustState) => s.m.size,
  },
  writes: {
    put: (s: TrustState, k: string, v: unknown) => {
      const prev = s.m.get(k);
      s.m.set(k, v);
      return prev;
    },
    inc: (s: TrustState, k: string) => {
      const n = ((s.m.get(k) as number | undefined) ?? 0) + 1;
      s.m.set(k, n);
      return n;
    },
    /** Takes `ms` in a thread marked slow; the same state change everywhere. */
    slow: (s: TrustState, ms: number) => {
      if (slowness.slowApplies) {
        slowness.onSlowStart?.('apply');
        sleep(ms);
      }
      const n = ((s.m.get('slow') as number | undefined) ?? 0) + 1;
      s.m.set('slow', n);
      return `slow-${n}`;
    },
    fail: (_s: TrustState, messageBytes: number) => {
      throw new QuotaError(`quota exceeded: ${'x'.repeat(messageBytes)}`);
    },
  },
  digest: (s: TrustState) => JSON.stringify([...s.m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))),
  snapshot: (s: TrustState) => {
    if (slowness.snapshotsToDelay > 0) {
      slowness.snapshotsToDelay--;
      slowness.onSlowStart?.('snapshot');
      sleep(slowness.snapshotMs);
    }
    return serialize([...s.m.entries()]);
  },
  restore: (bytes: Uint8Array): TrustState => ({ m: new Map(deserialize(bytes) as [string, unknown][]) }),
});

/**
 * Trust on parallel logs: each op by the hash of the key it touches (`slow`
 * touches the key 'slow', `fail` none); `size` on every log, summed. So an
 * op of log i touches only log i's partition, as CNR needs.
 */
export const TrustCnr = withLogMapper(Trust, {
  map: (op, args, logs) => (op === 'size' ? 'all' : keyHash(op === 'slow' || op === 'fail' ? op : args[0]) % logs),
  combine: { size: (sizes) => (sizes as number[]).reduce((a, b) => a + b, 0) },
});

/** The same shape without `digest`. */
export const NoDigest = defineStructure({
  name: 'trust-no-digest',
  create: () => ({ n: 0 }),
  reads: { n: (s: { n: number }) => s.n },
  writes: { add: (s: { n: number }, d: number) => (s.n += d) },
});
