/**
 * The enclave's state: each replica's private index of keys to metadata,
 * the writers' sequences and the chain, and the liveness check every op
 * runs first (a failed replica serves nothing; heads learned from peers are
 * compared as soon as this replica passes their counts).
 */
import { FailStopError } from '../nr/index.js';
import type { Arena } from './arena.js';
import { Chain } from './chain.js';
import { Displaced } from './displaced.js';
import type { Cipher } from './crypto.js';
import type { Freshness } from './freshness.js';
import { SortedKeys } from './sorted-keys.js';

/** What an apply returns to the issuer. */
export interface ApplyResult {
  /** False when the condition failed (nothing changed). */
  ok: boolean;
  /** The condition key's version when the condition failed, else 0. */
  current: number;
  /** Blocks this record displaced (queued in the state's Displaced for a later claim). */
  displaced: number;
  /** Blocks this record's claim took: (offset, stored bytes) pairs its issuer frees (displaced.ts). */
  claimed: number[];
  /** Per item: the key's metadata before it (null: absent). Meta objects are never mutated. */
  prev: (Meta | null)[];
  /** Per item: the version it got (0 for a delete or a get). */
  versions: number[];
  /** Per get item, in order: the key's metadata at this record (null: absent). */
  reads: (Meta | null)[];
  /** Issuer of an exchange only: the value item 0 displaced, opened while applying (or why it did not open). */
  prevValue?: Buffer | undefined;
  prevError?: unknown;
  /** The record's writer and sequence, and the chain after it: a client's authenticated answer names them. */
  writer: number;
  seq: number;
  count: number;
  head: string;
}

/** Enclave metadata of one key; replaced, never mutated, on overwrite. */
export interface Meta {
  /** Enclave-assigned (chain count × 4096 + item index). */
  readonly version: number;
  /** The seal id of its ciphertext's AD. */
  readonly sealId: number;
  readonly loc: number;
  readonly len: number;
  /**
   * The AEAD tag as a 16-char latin1 string ('' in a plaintext store): an
   * on-heap string, not one small ArrayBuffer per key (100k of those cost GC
   * and malloc time in every replica).
   */
  readonly tag: string;
}

export interface KvEntry {
  key: Buffer;
  value: Buffer;
  version: number;
}

export interface KvState {
  readonly map: Map<string, Meta>;
  readonly order: SortedKeys;
  /** Last sequence number applied per writer id. */
  readonly writers: Map<number, number>;
  readonly chain: Chain;
  failure: string | null;
  /** Sum of stored bytes of live values. */
  liveBytes: number;
  /** Blocks displaced and not yet claimed by a writer's record (displaced.ts). */
  readonly displaced: Displaced;
  readonly ctx: StoreContext;
}

/** What a replica's structure closes over: private keys and the shared arena. */
export interface StoreContext {
  readonly cipher: Cipher;
  readonly arena: Arena;
  /** Heads learned from peers (null: none), checked when this replica reaches their counts. */
  readonly fresh: Freshness | null;
  /** The chain (count, head) this thread's replica reached last (apply and restore update it): a snapshot must not go back behind it. */
  applied: { count: number; head: string };
  /** On a node: a client's write it just answered displaced blocks (the node may claim them: store.ts). */
  onClientDisplaced?: () => void;
  /** This thread's replica's log mark (displaced.ts), once attached. */
  logMark?: () => number;
  /** The displaced-block queue of this thread's current state (create and restore set it): what its writes may claim. */
  displaced?: Displaced;
}

export function emptyState(ctx: StoreContext, displaced = new Displaced()): KvState {
  ctx.displaced = displaced;
  return { map: new Map(), order: new SortedKeys(), writers: new Map(), chain: new Chain(), failure: null, liveBytes: 0, displaced, ctx };
}

export function failStop(state: KvState, reason: string): never {
  state.failure = reason;
  throw new FailStopError(`replica fail-stopped: ${reason}`);
}

export function checkLive(state: KvState): void {
  if (state.failure !== null) throw new FailStopError(`replica fail-stopped: ${state.failure}`);
  const f = state.ctx.fresh;
  if (f !== null && f.unchecked.length !== 0) checkLearned(state, f);
}

/**
 * Heads learned from peers since the last op: each one for a count this
 * replica has already passed must equal its own head there (apply checks
 * the rest when it gets there). A head that differs, or two peers that
 * disagree, mean the log was forked under this replica or another: both
 * sides served authentic records in different orders, and only one of them
 * can be the store's history. Halt rather than keep serving either.
 */
function checkLearned(state: KvState, f: Freshness): void {
  const chain = state.chain;
  const counts = f.unchecked.splice(0);
  for (const c of counts) {
    if (c > chain.count) continue;
    const want = f.expected.get(c);
    f.expected.delete(c);
    const have = chain.headAt(c);
    if (want !== undefined && have !== undefined && want !== have) {
      failStop(state, `chain head at record ${c} differs from the one a peer announced: the log was forked or tampered with under this replica`);
    }
  }
  if (f.conflict !== null) failStop(state, f.conflict);
}


export function openValue(state: KvState, key: string, m: Meta): Buffer {
  return state.ctx.cipher.open(key, m.sealId, m.tag, state.ctx.arena.bytes, m.loc, m.len);
}
