/** Shared-memory layout and inputs of the KV test worker (test/workers/kv-store-worker.ts). */
import type { KvHandle, KvPeer } from '../../src/kv/index.js';

export interface KvWorkerInput {
  mode: 'serve' | 'client' | 'raw-client' | 'history' | 'overwrite';
  handle: KvHandle;
  key: Uint8Array | null;
  /** serve/client: this thread's end of the freshness mesh, and the stale bound. */
  peer?: KvPeer;
  staleMs?: number;
  /** client: options of the NR client (node, timeoutMs). */
  connect?: { node?: number; timeoutMs?: number };
  /** history/overwrite */
  control?: SharedArrayBuffer;
  history?: SharedArrayBuffer;
  client?: number;
  base?: number;
  capacity?: number;
  ops?: number;
  keys?: number;
  asyncShare?: number;
  /** Participants of the final barrier. */
  finishers?: number;
  /** history: after this many ops, wait until K_KILLED is set (so that ops are left to run after a kill, however fast this worker ran). */
  holdAt?: number;
  valueBytes?: number;
}

/** Control words (Int32, one line each). */
export const K_CLOCK = 0;
export const K_DONE = 16;
export const K_STARTED = 32;
/** Per client: replica slot + 1, and ops recorded, at K_SLOTS + 16·client. */
export const K_SLOTS = 48;
/** Set by the test once it has killed a worker. */
export const K_KILLED = K_SLOTS + 16 * 16;
export const K_CONTROL_WORDS = K_KILLED + 16;
/** History record (Int32 × K_RECORD): kind, key, value, call, ret (0: pending), out tag, out value, expected. */
export const K_RECORD = 8;
/** kinds */
export const GET = 1;
export const XCHG = 2;
export const DEL = 3;
export const CAS = 4;

