/**
 * The KV client block table: which arena blocks each KV client (client.ts)
 * allocated for puts whose outcome it has not learned yet, so that the
 * blocks of a client killed mid-window are freed by a replica's sweep
 * (KvStore.releaseClients) instead of stranded.
 *
 * One SharedArrayBuffer (untrusted, like everything shared) of i32 words,
 * f64 words for 48-bit numbers; owner words change by Atomics CAS only, a
 * region's entries by plain stores of its client (a sweep reads them after
 * that thread died or closed):
 *   0   MAGIC 'NRKB'   1 COUNT: owner ids   2 CAP: entries per owner
 *   16  OWNER[COUNT]: 0 free, else `threadId << 2 | st`, st one of LIVE (a
 *       client of that thread uses it), DEAD (its thread was declared dead,
 *       or it closed with writes in doubt: a replica sweeps it), SWEEPING.
 *   then, from the first line after OWNER, one region per owner id
 *   (16 + 4·CAP words, only its client writes it while LIVE):
 *     +0  f64 WRITER: the client's writer id (its records' writer field)
 *     +16 + 4i  entry i: LOC (0: unused), BYTES (stored bytes), f64 SEQ
 *         (the sequence number of the record that names the block, 0
 *         while the put is not in a record yet).
 *
 * A client notes an entry right after it allocates a block and before it
 * seals into it, sets SEQ when it builds the record (before sending it),
 * and clears the entry when the outcome is known (answered, or never sent
 * and freed). The sweep runs once the thread is dead and no request of it
 * can reach the log (clientRequestsPending is 0), after the sweeper's
 * replica caught up to the log's tail. For each entry it frees the block
 * unless
 *   - SEQ is at or below the last sequence its replica applied for WRITER
 *     (a record at or after that sequence was logged: one writer's records
 *     reach the log in sequence order, so the block may be referenced), or
 *   - its private state references LOC (a live key's value, or a block in
 *     the displaced queue), or the entry is out of bounds, or it already
 *     freed LOC in this sweep.
 * In an honest run every freed block was named by no logged record, so
 * nothing references it: freed exactly once (the SWEEPING CAS lets one
 * sweeper take an owner). A forged table can make the sweep skip blocks
 * (a leak) or free a block some other writer holds unlogged, in flight, or
 * whose claim is being freed (a later read of that value fails its AEAD:
 * IntegrityError, as for any block the host overwrites); never a block a
 * live key or the displaced queue references, since that check uses this
 * replica's private state. What a kill can still strand: the block between
 * the allocation and its entry (at most one per kill), and entries of a
 * record the node dropped after logging a later one of the same client.
 */
import { KvConfigError, KvSizeError } from './errors.js';
import { MAX_BLOCK_BYTES } from './arena.js';
import { type LogItem, PUT } from './record.js';

export const BLOCKS_LIVE = 1;
export const BLOCKS_DEAD = 2;
export const BLOCKS_SWEEPING = 3;
const MAGIC = 0x424b524e;
const H_COUNT = 1;
const H_CAP = 2;
const OWNERS_AT = 16;
const LINE_WORDS = 16;
const ENTRY_WORDS = 4;
const E_LOC = 0;
const E_BYTES = 1;
const E_SEQ = 2;
const THREAD_MASK = 0x1fffffff;

/** Word index of owner k's region (its WRITER at +0, entries from +16). */
export function regionAt(count: number, cap: number, k: number): number {
  return Math.ceil((OWNERS_AT + count) / LINE_WORDS) * LINE_WORDS + k * (LINE_WORDS + ENTRY_WORDS * cap);
}

export function createClientBlocks(count: number, cap: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(regionAt(count, cap, count) * 4);
  const w = new Int32Array(sab);
  w[0] = MAGIC;
  w[H_COUNT] = count;
  w[H_CAP] = cap;
  return sab;
}

/** One entry of a dead owner's region, as read (untrusted). */
export interface BlockEntry {
  loc: number;
  bytes: number;
  seq: number;
}

export class ClientBlocks {
  private readonly w: Int32Array;
  private readonly f: Float64Array;
  readonly count: number;
  readonly cap: number;

  constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < 64) throw new KvConfigError('not a KV client block table');
    const w = new Int32Array(sab);
    const count = Atomics.load(w, H_COUNT);
    const cap = Atomics.load(w, H_CAP);
    // Shared memory: the sizes must describe this very buffer before any region is touched.
    if (Atomics.load(w, 0) !== MAGIC || !(count > 0 && count <= 4096 && cap > 0 && cap <= 1 << 16) || w.length < regionAt(count, cap, count)) {
      throw new KvConfigError('not a KV client block table');
    }
    this.w = w;
    this.f = new Float64Array(sab, 0, w.length >> 1);
    this.count = count;
    this.cap = cap;
  }

  /** Take a free owner id for thread `threadId`, writing `writer` and clearing its entries; -1 when every one is in use. */
  claim(threadId: number, writer: number): number {
    const word = ((threadId & THREAD_MASK) << 2) | BLOCKS_LIVE;
    for (let k = 0; k < this.count; k++) {
      if (Atomics.compareExchange(this.w, OWNERS_AT + k, 0, word) !== 0) continue;
      const at = regionAt(this.count, this.cap, k);
      this.w.fill(0, at, at + LINE_WORDS + ENTRY_WORDS * this.cap);
      this.f[at >> 1] = writer;
      return k;
    }
    return -1;
  }

  /**
   * Owner `k`'s client notes (i, loc, bytes): the block is its, not in a
   * record yet. Plain stores (here and below): only a sweep reads them, after
   * the thread died and its requests were answered (or it closed).
   */
  note(k: number, i: number, loc: number, bytes: number): void {
    const at = this.entryAt(k, i);
    this.f[(at + E_SEQ) >> 1] = 0;
    this.w[at + E_BYTES] = bytes;
    this.w[at + E_LOC] = loc;
  }

  /** Entry i is named by the record of sequence `seq` (set before the record is sent). */
  inRecord(k: number, i: number, seq: number): void {
    this.f[(this.entryAt(k, i) + E_SEQ) >> 1] = seq;
  }

  clear(k: number, i: number): void {
    this.w[this.entryAt(k, i) + E_LOC] = 0;
  }

  /** Move owner `k` from `st` (LIVE or SWEEPING) to free (0) or DEAD; false if it was not in `st`. */
  move(k: number, from: number, to: number): boolean {
    const cur = Atomics.load(this.w, OWNERS_AT + k);
    if ((cur & 3) !== from) return false;
    return Atomics.compareExchange(this.w, OWNERS_AT + k, cur, to === 0 ? 0 : (cur & ~3) | to) === cur;
  }

  /** Mark every owner id thread `threadId` holds LIVE as DEAD; returns how many. */
  markDead(threadId: number): number {
    const live = ((threadId & THREAD_MASK) << 2) | BLOCKS_LIVE;
    let n = 0;
    for (let k = 0; k < this.count; k++) {
      if (Atomics.compareExchange(this.w, OWNERS_AT + k, live, (live & ~3) | BLOCKS_DEAD) === live) n++;
    }
    return n;
  }

  /** Owner ids marked DEAD, with their thread ids. */
  dead(): { k: number; threadId: number }[] {
    const out: { k: number; threadId: number }[] = [];
    for (let k = 0; k < this.count; k++) {
      const word = Atomics.load(this.w, OWNERS_AT + k);
      if ((word & 3) === BLOCKS_DEAD) out.push({ k, threadId: word >>> 2 });
    }
    return out;
  }

  /** The writer id owner `k` wrote (untrusted: NaN or anything). */
  writerOf(k: number): number {
    return this.f[regionAt(this.count, this.cap, k) >> 1]!;
  }

  /** Owner `k`'s used entries, each read once (untrusted: the caller checks every field). */
  entries(k: number): BlockEntry[] {
    const out: BlockEntry[] = [];
    for (let i = 0; i < this.cap; i++) {
      const at = this.entryAt(k, i);
      const loc = Atomics.load(this.w, at + E_LOC);
      if (loc !== 0) out.push({ loc, bytes: Atomics.load(this.w, at + E_BYTES), seq: this.f[(at + E_SEQ) >> 1]! });
    }
    return out;
  }

  /** Zero every entry of owner `k` (after its sweep). */
  clearAll(k: number): void {
    const at = regionAt(this.count, this.cap, k);
    this.w.fill(0, at, at + LINE_WORDS + ENTRY_WORDS * this.cap);
  }

  private entryAt(k: number, i: number): number {
    return regionAt(this.count, this.cap, k) + LINE_WORDS + ENTRY_WORDS * i;
  }
}

/**
 * A client's private side of its region: which entry holds which of its
 * blocks. Entries are taken before the block is allocated (a full region
 * refuses the put, KvSizeError, before anything is written).
 */
export class ClientBlockList {
  private readonly freeEntries: number[] = [];
  private readonly byLoc = new Map<number, number>();
  /** The client closed: its owner id is no longer its own (an answer arriving later must not touch it). */
  private detached = false;

  constructor(private readonly table: ClientBlocks, readonly k: number) {
    for (let i = table.cap - 1; i >= 0; i--) this.freeEntries.push(i);
  }

  /** Blocks whose outcome this client has not learned. */
  get size(): number {
    return this.byLoc.size;
  }

  /**
   * The client closed: its owner id goes back free if every put settled,
   * else DEAD for a replica's sweep (once no request of the thread can
   * reach the log).
   */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.table.move(this.k, BLOCKS_LIVE, this.byLoc.size === 0 ? 0 : BLOCKS_DEAD);
  }

  /** Allocate with `alloc` and note the block (KvSizeError when CAP puts are unsettled). */
  allocate(stored: number, alloc: (stored: number) => number): number {
    const i = this.freeEntries.pop();
    if (i === undefined) throw new KvSizeError(`this KV client has ${this.table.cap} puts whose outcome it has not learned: wait for some to settle`);
    let loc: number;
    try {
      loc = alloc(stored);
    } catch (e) {
      this.freeEntries.push(i);
      throw e;
    }
    this.table.note(this.k, i, loc, stored);
    this.byLoc.set(loc, i);
    return loc;
  }

  /** The puts' blocks are named by the record of sequence `seq` (before it is sent). */
  inRecord(items: readonly LogItem[], seq: number): void {
    if (this.detached) return;
    for (const item of items) {
      const i = item.op === PUT ? this.byLoc.get(item.loc) : undefined;
      if (i !== undefined) this.table.inRecord(this.k, i, seq);
    }
  }

  /** The blocks' outcome is known (referenced by the log, or freed): forget them (before a freed one is freed). */
  settle(blocks: readonly number[]): void {
    if (this.detached) return;
    for (let j = 0; j < blocks.length; j += 2) {
      const i = this.byLoc.get(blocks[j]!);
      if (i === undefined) continue;
      this.byLoc.delete(blocks[j]!);
      this.table.clear(this.k, i);
      this.freeEntries.push(i);
    }
  }
}

/** What a sweep needs from a replica that has caught up to the log's tail. */
export interface SweepView {
  /**
   * The last sequence applied for writer `writer` (0: none; `writer` 0 when
   * the table's is not a writer id), and the offsets its private state
   * references: live values and displaced blocks.
   */
  state(writer: number): { last: number; refs: Set<number> };
  free(loc: number, bytes: number): void;
}

/** Free what dead owner `k`'s entries name and no logged record, live key or displaced entry references. */
export function sweepOwner(table: ClientBlocks, k: number, view: SweepView): { freed: number; kept: number } {
  const entries = table.entries(k);
  let freed = 0;
  let kept = 0;
  if (entries.length > 0) {
    // The writer word is read once (shared memory): one that is no writer id makes every sequenced entry count as logged.
    const writer = table.writerOf(k);
    const valid = Number.isSafeInteger(writer) && writer > 0;
    const { last: applied, refs } = view.state(valid ? writer : 0);
    const last = valid ? applied : Infinity;
    const done = new Set<number>();
    for (const e of entries) {
      const logged = !(Number.isFinite(e.seq) && e.seq >= 0) || (e.seq !== 0 && e.seq <= last);
      const sane = Number.isInteger(e.bytes) && e.bytes > 0 && e.bytes <= MAX_BLOCK_BYTES && !done.has(e.loc);
      if (logged || !sane || refs.has(e.loc)) {
        kept++;
        continue;
      }
      done.add(e.loc);
      view.free(e.loc, e.bytes); // the arena bounds-checks the offset (out of range: nothing freed)
      freed++;
    }
  }
  table.clearAll(k);
  return { freed, kept };
}
