/**
 * The NrFS client table: which thread uses each client owner id. A client
 * (a thread without a replica, see client.ts) takes shared pages and holds
 * fds like a replica does, so it needs an id in the page pool's STATE words
 * and a region in the open table: ids [maxReplicas, maxReplicas + clients),
 * after the replica slots (both fit the pool's 64 owners).
 *
 * One SharedArrayBuffer of i32 words, each read and written with Atomics:
 *   0   MAGIC 'NRFC'
 *   1   FIRST: the first client owner id (the handle's maxReplicas)
 *   2   COUNT: client owner ids
 *   16  OWNER[COUNT]: 0 free, else `threadId << 2 | st`, st one of
 *       LIVE (a client of that thread uses it), DEAD (its client closed
 *       with pages in doubt, or its thread died: a replica sweeps it, see
 *       NrFs.releaseClients), SWEEPING (a replica is sweeping it).
 *   then, from the first line after OWNER, one line (16 words) per id, its
 *   **read fence** (counters wrap modulo 2^32):
 *     +0 SENT: read requests the id's client sent so far (its client writes it);
 *     +1 LOW: the number of the oldest read whose answer the client may
 *        still copy pages out of, SENT when there is none (its client writes it);
 *     +2 SERVED: one past the number of the last read its node began to
 *        serve (the node writes it, before the read looks at any page).
 *   A replica frees a retired page only once every LIVE id's LOW passed
 *   the SERVED it saw after stamping the page (read-grace.ts): no read that
 *   could name the page is still copying it. (Not SENT: a read sent and
 *   not yet served, say by a node that waits for pages itself, cannot name
 *   it, and must not hold it.)
 * Thread ids are kept to 29 bits, as NR's client slots keep them.
 */
import { MAX_OWNERS } from './pages/pool.js';

export const OWNER_LIVE = 1;
export const OWNER_DEAD = 2;
export const OWNER_SWEEPING = 3;
const MAGIC = 0x4346524e;
const H_FIRST = 1;
const H_COUNT = 2;
const OWNERS_AT = 16;
const THREAD_MASK = 0x1fffffff;
const LINE_WORDS = 16;
const FENCE_SENT = 0;
const FENCE_LOW = 1;
const FENCE_SERVED = 2;

/** Word index of id k's read fence (one line each: every client writes its own line only). */
function fenceAt(count: number, k: number): number {
  return Math.ceil((OWNERS_AT + count) / LINE_WORDS) * LINE_WORDS + k * LINE_WORDS;
}

export function createClientOwners(first: number, count: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(fenceAt(count, count) * 4);
  const w = new Int32Array(sab);
  w[0] = MAGIC;
  w[H_FIRST] = first;
  w[H_COUNT] = count;
  return sab;
}

export class ClientOwners {
  private readonly w: Int32Array;
  readonly first: number;
  readonly count: number;

  constructor(sab: SharedArrayBuffer) {
    const w = new Int32Array(sab);
    const first = Atomics.load(w, H_FIRST);
    const count = Atomics.load(w, H_COUNT);
    // Shared memory: the ids it hands out must stay clear of the replica slots' and inside the pool's owners.
    if (Atomics.load(w, 0) !== MAGIC || !(first > 0 && count > 0 && first + count <= MAX_OWNERS) || w.length < fenceAt(count, count)) {
      throw new TypeError('not an NrFS client table');
    }
    this.w = w;
    this.first = first;
    this.count = count;
  }

  /** Take a free owner id for thread `threadId`; -1 when every one is in use. */
  claim(threadId: number): number {
    const word = ClientOwners.liveWord(threadId);
    for (let k = 0; k < this.count; k++) {
      if (Atomics.compareExchange(this.w, OWNERS_AT + k, 0, word) === 0) return this.first + k;
    }
    return -1;
  }

  /** The owner word of id `owner` (0 for an id outside the table). */
  word(owner: number): number {
    const k = owner - this.first;
    return k >= 0 && k < this.count ? Atomics.load(this.w, OWNERS_AT + k) : 0;
  }

  /** Move id `owner` from word `from` to `to`; false if it was not `from`. */
  cas(owner: number, from: number, to: number): boolean {
    const k = owner - this.first;
    if (k < 0 || k >= this.count) return false;
    return Atomics.compareExchange(this.w, OWNERS_AT + k, from, to) === from;
  }

  /** Mark every id thread `threadId` uses as DEAD; returns those ids. */
  markDead(threadId: number): number[] {
    const live = ClientOwners.liveWord(threadId);
    const dead = ClientOwners.deadWord(threadId);
    const out: number[] = [];
    for (let k = 0; k < this.count; k++) {
      if (Atomics.compareExchange(this.w, OWNERS_AT + k, live, dead) === live) out.push(this.first + k);
    }
    return out;
  }

  /** Ids marked DEAD, with their thread ids. */
  dead(): { owner: number; threadId: number; word: number }[] {
    const out: { owner: number; threadId: number; word: number }[] = [];
    for (let k = 0; k < this.count; k++) {
      const w = Atomics.load(this.w, OWNERS_AT + k);
      if ((w & 3) === OWNER_DEAD) out.push({ owner: this.first + k, threadId: w >>> 2, word: w });
    }
    return out;
  }

  /** Id `owner`'s read fence, for its client to write (see the layout). */
  fence(owner: number): ReadFence {
    const k = owner - this.first;
    if (k < 0 || k >= this.count) throw new RangeError(`client owner id ${owner} is not in the table`);
    return new ReadFence(this.w, fenceAt(this.count, k));
  }

  /** A snapshot for readsPassed: 2 words per id. */
  newSnapshot(): Int32Array {
    return new Int32Array(2 * this.count);
  }

  /**
   * A node begins to serve read number `n` of id `owner`'s client (before
   * it looks at any page). Reads of one client are served in its order;
   * an id outside the table (a forged argument) is ignored.
   */
  served(owner: unknown, n: unknown): void {
    const k = typeof owner === 'number' ? owner - this.first : -1;
    if (!(k >= 0 && k < this.count) || typeof n !== 'number') return;
    // Only forward (modulo 2^32): a late read of an earlier client of the id, served by another node, must not move it back.
    const at = fenceAt(this.count, k) + FENCE_SERVED;
    const to = (n + 1) | 0;
    for (let cur = Atomics.load(this.w, at); ((to - cur) | 0) > 0; cur = Atomics.load(this.w, at)) {
      if (Atomics.compareExchange(this.w, at, cur, to) === cur) return;
    }
  }

  /** Each LIVE id's SERVED now, into `out` (newSnapshot); an id not LIVE copies nothing and is skipped later. */
  readsServed(out: Int32Array): void {
    for (let k = 0; k < this.count; k++) {
      const live = (Atomics.load(this.w, OWNERS_AT + k) & 3) === OWNER_LIVE;
      out[2 * k] = live ? 1 : 0;
      out[2 * k + 1] = live ? Atomics.load(this.w, fenceAt(this.count, k) + FENCE_SERVED) : 0;
    }
  }

  /**
   * Every read served before the snapshot `sent` (readsServed) is done
   * copying: each id LIVE then is no longer LIVE, or its LOW reached its
   * SERVED of then. (An id claimed since was served after the snapshot.)
   */
  readsPassed(sent: Int32Array): boolean {
    for (let k = 0; k < this.count; k++) {
      if (sent[2 * k] === 0 || (Atomics.load(this.w, OWNERS_AT + k) & 3) !== OWNER_LIVE) continue;
      // Wrapping counters: LOW at or past the snapshot (a difference below 2^31).
      if (((Atomics.load(this.w, fenceAt(this.count, k) + FENCE_LOW) - sent[2 * k + 1]!) | 0) < 0) return false;
    }
    return true;
  }

  static liveWord(threadId: number): number {
    return ((threadId & THREAD_MASK) << 2) | OWNER_LIVE;
  }

  static deadWord(threadId: number): number {
    return ((threadId & THREAD_MASK) << 2) | OWNER_DEAD;
  }
}

/**
 * A client's read fence (its line in the table): `send()` before a read
 * request can reach the node, `low(n)` once no read sent before number n
 * will copy pages any more. Only the id's client writes it.
 */
export class ReadFence {
  private sentNo: number;

  constructor(private readonly w: Int32Array, private readonly at: number) {
    // A reused id continues its counters (the replicas' snapshots compare against them); nothing in flight yet.
    this.sentNo = Atomics.load(w, at + FENCE_SENT);
    Atomics.store(w, at + FENCE_SERVED, this.sentNo);
    Atomics.store(w, at + FENCE_LOW, this.sentNo);
  }

  /** Reads sent so far: the number the next one gets. */
  get sent(): number {
    return this.sentNo;
  }

  /** A read request is about to be sent: its number (published first, so a replica's snapshot counts it). */
  send(): number {
    const n = this.sentNo;
    this.sentNo = (n + 1) | 0;
    Atomics.store(this.w, this.at + FENCE_SENT, this.sentNo);
    return n;
  }

  /** No read numbered below `n` copies pages any more. */
  low(n: number): void {
    Atomics.store(this.w, this.at + FENCE_LOW, n);
  }
}
