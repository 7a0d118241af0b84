/**
 * The core's log-protocol tests run on one log (createHandle / attach /
 * declareDead, the hashmap) and on parallel logs (createCnrHandle with 4
 * logs / attachCnr / declareCnrDead, HashMapCnr), each through its own
 * public API. `describe.each(LOG_COUNTS)` runs a test on both; a worker
 * gets the handle and attaches with `attachMap`, which tells the two apart
 * by the handle's kind. With several logs, every log has its own fencing,
 * repair and state transfer, so the per-log counters are kept apart.
 */
import {
  attach,
  attachCnr,
  connect,
  connectCnr,
  createCnrHandle,
  createHandle,
  declareCnrDead,
  declareCnrThreadDead,
  declareDead,
  declareThreadDead,
  keyHash,
  type AttachOptions,
  type CnrHandle,
  type ConnectOptions,
  type HandleOptions,
  type NrHandle,
  type ReplicaStats,
} from '../../src/nr/index.js';
import { HashMap, HashMapCnr } from '../../src/nr/structures/index.js';

/** One log (plain NR), and parallel logs with several of them. */
export const LOG_COUNTS = [1, 4] as const;

export type MapHandle = NrHandle | CnrHandle;
type Key = string | number;
type Value = string | number;

/** A hashmap op by name: get/has (reads), put/delete (writes), with their key and value. */
type ByName = (op: string, ...args: (Key | Value)[]) => unknown;
type ByNameAsync = (op: string, ...args: (Key | Value)[]) => Promise<unknown>;

/** What the tests use of a hashmap node, on one log or several. */
export interface MapNode {
  /** The replica slot (the same on every log). */
  readonly slot: number;
  readonly reads: { get(key: Key): Value | undefined; has(key: Key): boolean };
  readonly writes: { put(key: Key, value: Value): Value | undefined; delete(key: Key): boolean };
  read: ByName;
  write: ByName;
  readAsync: ByNameAsync;
  writeAsync: ByNameAsync;
  sync(): void;
  digest(): string;
  /** One entry per log. */
  stats(): ReplicaStats[];
  detach(): void;
  /** The node left its slot (on any log): it serves no more ops. */
  readonly isDetached: boolean;
  /** One log only (parallel logs have no write batches): Replica.writeBatch. */
  readonly writeBatch?: (ops: readonly (readonly ['put', Key, Value] | readonly ['delete', Key])[]) => unknown[];
}

/** What the tests use of a hashmap client, on one log or several. */
export interface MapClient {
  readonly node: number;
  read: ByName;
  write: ByName;
  readAsync: ByNameAsync;
  writeAsync: ByNameAsync;
  close(): void;
}

export const isCnr = (h: MapHandle): h is CnrHandle => h.kind === 'node-replication/cnr';

export const systemName = (logs: number): string => (logs === 1 ? 'one log' : `${logs} parallel logs`);

/** A hashmap handle on `logs` logs: plain NR for 1, parallel logs otherwise (every option per log). */
export function createMapHandle(logs: number, options: HandleOptions): MapHandle {
  return logs === 1 ? createHandle(HashMap, options) : createCnrHandle(HashMapCnr, { ...options, logs });
}

/** The by-name surface of a replica, view or client (their typed signatures differ only in the op tables). */
function byName(x: object): { read: ByName; write: ByName; readAsync: ByNameAsync; writeAsync: ByNameAsync } {
  const o = x as { read: ByName; write: ByName; readAsync: ByNameAsync; writeAsync: ByNameAsync };
  return {
    read: (op, ...a) => o.read(op, ...a),
    write: (op, ...a) => o.write(op, ...a),
    readAsync: (op, ...a) => o.readAsync(op, ...a),
    writeAsync: (op, ...a) => o.writeAsync(op, ...a),
  };
}

export function attachMap(h: MapHandle, options: AttachOptions = {}): MapNode {
  if (!isCnr(h)) {
    const r = attach(h, HashMap, options);
    return {
      slot: r.id,
      reads: r.reads,
      writes: r.writes,
      ...byName(r),
      sync: () => r.sync(),
      digest: () => r.digest(),
      stats: () => [r.stats()],
      detach: () => r.detach(),
      get isDetached() {
        return r.isDetached;
      },
      writeBatch: (ops) => r.writeBatch(ops),
    };
  }
  const v = attachCnr(h, HashMapCnr, options);
  return {
    slot: v.slot,
    reads: v.reads,
    writes: v.writes,
    ...byName(v),
    sync: () => v.sync(),
    digest: () => v.digest(),
    stats: () => v.stats().logs,
    detach: () => v.detach(),
    get isDetached() {
      return v.isDetached;
    },
  };
}

export function connectMap(h: MapHandle, options: ConnectOptions = {}): MapClient {
  if (!isCnr(h)) {
    const c = connect(h, HashMap, options);
    return { node: c.node, ...byName(c), close: () => c.close() };
  }
  const c = connectCnr(h, HashMapCnr, options);
  return { node: c.node, ...byName(c), close: () => c.close() };
}

export function declareMapDead(h: MapHandle, slot: number): void {
  if (isCnr(h)) declareCnrDead(h, slot);
  else declareDead(h, slot);
}

export function declareMapThreadDead(h: MapHandle, threadId: number): number[] {
  return isCnr(h) ? declareCnrThreadDead(h, threadId) : declareThreadDead(h, threadId).replicas;
}

/** The handle's logs: itself for one log. */
export function logsOf(h: MapHandle): readonly NrHandle[] {
  return isCnr(h) ? h.logs : [h];
}

/** The index of the log a key's ops go to. */
export function logOfKey(h: MapHandle, key: Key): number {
  return isCnr(h) ? keyHash(key) % h.logs.length : 0;
}

/** Counters summed over a node's logs. */
export function total(stats: readonly ReplicaStats[], field: 'fences' | 'fenced' | 'stateTransfers' | 'snapshotsServed' | 'fullWaits' | 'sealWaits' | 'appends'): number {
  return stats.reduce((s, x) => s + x[field], 0);
}
