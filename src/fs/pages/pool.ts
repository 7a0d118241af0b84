/**
 * The shared page pool: NrFS file data, written once by the writing thread,
 * read in place by every replica.
 *
 * Two SharedArrayBuffers:
 *
 *   data: `pages` × 4 KiB. Page i is bytes [i·4096, (i+1)·4096).
 *
 *   meta (byte offsets; the words two threads write often each on their own 64-byte line):
 *     0    u32 magic 'NRPG'
 *     64   i32 BUMP: pages [0, BUMP) have been handed out at least once
 *     128  i64 STACK head: low 32 bits page index + 1 (0 = empty), high 32 bits ABA tag
 *     192  i32 pages on the stack (statistics only)
 *     256  i32 STATE[pages]: one word per page (below)
 *     256 + 4·pages  i32 NEXT[pages]: the stack's links (page index + 1, 0 = end)
 *
 * A STATE word is `gen << 8 | owner << 2 | st`: `gen` (24 bits) counts the
 * times the page was taken, `owner` is a replica slot (0..63), `st`:
 *   FREE     on the stack or never handed out (owner 0);
 *   TAKEN    held by the thread in slot `owner`: being filled, or cached
 *            for its next write; no replica's page table names it;
 *   LIVE     installed by an applied log entry (owner 0): page tables name it;
 *   RETIRING displaced by an applied entry; slot `owner` frees it once every
 *            replica has applied past that entry.
 * Every change is a compare-and-set on the whole word, so a thread acting
 * on a stale view (a fenced replica applying old entries, a reclaimer
 * racing a sweep) never lands. A page table names a page by its *ref*,
 * `gen · 2^22 + index`: a ref to a page that was freed and taken again
 * no longer matches its word.
 *
 * Nothing here is trusted: every index read from shared memory (stack head,
 * links, refs in log entries) is bounds-checked before use; a bad stack
 * link drops the rest of the stack (those pages leak) rather than hand out
 * a page twice, and a popped page whose word is not FREE is dropped too.
 */
import { FsError } from '../errors.js';
import { PAGE_BYTES } from '../state/inode.js';

export { PAGE_BYTES };
export const MAGIC = 0x4750524e;
export const MAX_POOL_PAGES = 1 << 22;
export const MAX_OWNERS = 64;
const GEN_MASK = 0xffffff;

/**
 * Pool pages for a capacity of `maxPages` in files: the capacity, plus room
 * for pages in flight (being written, cached by writers) and displaced
 * pages waiting for every replica to pass them. Untouched pages of a
 * SharedArrayBuffer cost no memory (the OS maps them on first write).
 */
export function poolPagesFor(maxPages: number): number {
  return Math.min(MAX_POOL_PAGES, maxPages + Math.max(1024, Math.ceil(maxPages / 4)));
}
/** How long a write waits for pool pages (catching up, reclaiming) before ENOSPC. */
export const POOL_WAIT_MS = 5_000;
/**
 * A writer whose retired pages waiting for a lagging replica reach
 * LAG_PAGES (512 KiB: half a core's L2 here) waits for it (writer.ts,
 * awaitLaggard): up to LAG_SLEEPS sleeps of LAG_SLEEP_MS, then backs off
 * (skips up to LAG_BACKOFF_MAX checks) if the backlog stayed at the mark.
 */
export const LAG_PAGES = 128;
export const LAG_SLEEPS = 4;
export const LAG_SLEEP_MS = 0.05;
export const LAG_BACKOFF_MAX = 16384;
/** Conflicting attempts of one write (each lost to a write that changed the same edge page) before EAGAIN. */
export const MAX_WRITE_ATTEMPTS = 10_000;

export const FREE = 0;
export const TAKEN = 1;
export const LIVE = 2;
export const RETIRING = 3;

/** Page views a thread keeps (about 100 bytes of heap each). */
const VIEW_SLOTS = 4096;

const H_MAGIC = 0;
const H_BUMP = 64 >> 2;
const H_STACK = 128 >> 3;
const H_STACKED = 192 >> 2;
const STATE_AT = 256 >> 2;

export const stOf = (w: number): number => w & 3;
export const ownerOf = (w: number): number => (w >>> 2) & 63;
export const genOf = (w: number): number => w >>> 8;
export const word = (gen: number, owner: number, st: number): number => ((gen & GEN_MASK) << 8) | (owner << 2) | st;
export const refOf = (index: number, gen: number): number => gen * MAX_POOL_PAGES + index;
// `>>> 0` is the ref modulo 2^32, exact for any ref (< 2^46): an integer op, where `%` on a double is a library call.
export const indexOfRef = (ref: number): number => (ref >>> 0) & (MAX_POOL_PAGES - 1);
export const genOfRef = (ref: number): number => (ref - indexOfRef(ref)) / MAX_POOL_PAGES;

/**
 * Copies of at least this many bytes go through `Buffer.prototype.fill`
 * (node's native fill: one memcpy); shorter ones through `set`. V8 copies
 * into or out of a SharedArrayBuffer with a relaxed per-word loop (about
 * 3.3k instructions for 4 KiB under callgrind, the same for `set`,
 * `copyWithin` and `Buffer#copy`); node's fill costs about 1.2k, most of it
 * the native call, so it wins only past ~1.5 KiB (bench/fs-write-cost.mjs).
 */
export const NATIVE_COPY_MIN = 2048;
const nativeFill = Buffer.prototype.fill;

/**
 * `dst.set(src, at)` for buffers that do not overlap (the pool and a
 * caller's buffer, or two distinct pool pages). A data race on a page is
 * excluded by the page protocol (a page being filled is TAKEN and named by
 * no table; an installed one never changes), as it is for `set`.
 */
export function copyBytes(dst: Uint8Array, src: Uint8Array, at: number): void {
  const n = src.length;
  if (n < NATIVE_COPY_MIN) dst.set(src, at);
  // fill with a view exactly as long as the range is one copy of it.
  else nativeFill.call(dst, src, at, at + n);
}

/** What the handle carries: structured-cloneable. */
export interface PoolBuffers {
  readonly data: SharedArrayBuffer;
  readonly meta: SharedArrayBuffer;
}

export function metaBytes(pages: number): number {
  return 256 + 8 * pages;
}

export function createPool(pages: number): PoolBuffers {
  if (!Number.isSafeInteger(pages) || pages < 1 || pages > MAX_POOL_PAGES) throw new RangeError(`pool pages must be 1..${MAX_POOL_PAGES}, got ${pages}`);
  const meta = new SharedArrayBuffer(metaBytes(pages));
  new Int32Array(meta)[H_MAGIC] = MAGIC;
  return { data: new SharedArrayBuffer(pages * PAGE_BYTES), meta };
}

/** One thread's view of the pool: the allocator's shared primitives. */
export class SharedPages {
  /** The whole data buffer, for copies in and out (offset of page i: i·4096). */
  readonly bytes: Uint8Array;
  /** Pages in the pool (from the data buffer's length, not from shared words). */
  readonly pages: number;
  private readonly words: Int32Array;
  private readonly big: BigInt64Array;
  /** Stack links or popped pages found bad (and dropped) by this thread. */
  repairs = 0;
  /** Views of recently read pages, direct-mapped by index (a whole-page read then allocates nothing). */
  private readonly views: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(VIEW_SLOTS);
  private readonly viewOf = new Int32Array(VIEW_SLOTS).fill(-1);

  constructor(buffers: PoolBuffers) {
    const { data, meta } = buffers;
    if (!(data instanceof SharedArrayBuffer) || !(meta instanceof SharedArrayBuffer)) throw new TypeError('not an NrFS page pool');
    this.pages = Math.floor(data.byteLength / PAGE_BYTES);
    if (this.pages < 1 || this.pages > MAX_POOL_PAGES || meta.byteLength < metaBytes(this.pages)) throw new TypeError('not an NrFS page pool');
    this.bytes = new Uint8Array(data);
    this.words = new Int32Array(meta);
    this.big = new BigInt64Array(meta, 0, H_STACK + 1);
  }

  /** The STATE word of page `i` (i in range: the caller checked). */
  state(i: number): number {
    return Atomics.load(this.words, STATE_AT + i);
  }

  cas(i: number, from: number, to: number): boolean {
    return Atomics.compareExchange(this.words, STATE_AT + i, from, to) === from;
  }

  /** Page `i` (in range: the caller checked) as its own view. */
  page(i: number): Uint8Array {
    const k = i & (VIEW_SLOTS - 1);
    if (this.viewOf[k] === i) return this.views[k]!;
    const v = this.bytes.subarray(i * PAGE_BYTES, (i + 1) * PAGE_BYTES);
    this.views[k] = v;
    this.viewOf[k] = i;
    return v;
  }

  /** A page that no thread holds, as TAKEN by `owner`; its ref, or -1 when the pool is exhausted. */
  take(owner: number): number {
    for (let attempt = 0; attempt < 64; attempt++) {
      const i = this.pop();
      if (i < 0) break;
      const w = this.state(i);
      // A page on the stack is FREE; anything else means a forged link or a double push: drop it.
      if (stOf(w) === FREE) {
        const gen = (genOf(w) + 1) & GEN_MASK;
        if (this.cas(i, w, word(gen, owner, TAKEN))) return refOf(i, gen);
      }
      this.repairs++;
    }
    return this.bump(owner);
  }

  /** Give a page that this thread holds (word `w`, TAKEN or RETIRING by it) back to every thread. */
  release(i: number, w: number): boolean {
    if (!this.cas(i, w, word(genOf(w), 0, FREE))) return false;
    const at = H_STACK;
    for (;;) {
      const h = Atomics.load(this.big, at);
      Atomics.store(this.words, STATE_AT + this.pages + i, Number(h & 0xffffffffn));
      const tag = ((h >> 32n) + 1n) & 0x7fffffffn;
      if (Atomics.compareExchange(this.big, at, h, BigInt(i + 1) | (tag << 32n)) === h) break;
    }
    Atomics.add(this.words, H_STACKED, 1);
    return true;
  }

  /** Pages handed out at least once (the part of `data` that was ever touched). */
  touched(): number {
    return Math.min(this.pages, Math.max(0, Atomics.load(this.words, H_BUMP)));
  }

  /** Pages on the shared stack (statistics). */
  stacked(): number {
    return Atomics.load(this.words, H_STACKED);
  }

  private pop(): number {
    const at = H_STACK;
    // Each failed CAS means another thread made progress; the bound only guards against a livelock we cannot rule out.
    for (let attempt = 0; attempt < 1000; attempt++) {
      const h = Atomics.load(this.big, at);
      const top = Number(h & 0xffffffffn);
      if (top === 0) return -1;
      const tag = ((h >> 32n) + 1n) & 0x7fffffffn;
      const i = top - 1;
      if (i >= this.touched()) {
        // A corrupted head: drop the stack (its pages leak) rather than trust it.
        this.repairs++;
        Atomics.compareExchange(this.big, at, h, tag << 32n);
        return -1;
      }
      let next = Atomics.load(this.words, STATE_AT + this.pages + i) >>> 0;
      if (next > this.touched()) next = 0; // a corrupted link: drop the rest (or a racing pop: the CAS decides)
      if (Atomics.compareExchange(this.big, at, h, BigInt(next) | (tag << 32n)) === h) {
        Atomics.sub(this.words, H_STACKED, 1);
        return i;
      }
    }
    return -1;
  }

  private bump(owner: number): number {
    const i = Atomics.add(this.words, H_BUMP, 1);
    if (i < 0 || i >= this.pages) {
      // Exhausted (or a forged word): put it back so the counter cannot wrap.
      Atomics.sub(this.words, H_BUMP, 1);
      return -1;
    }
    const w = this.state(i);
    if (stOf(w) !== FREE || !this.cas(i, w, word(genOf(w) + 1, owner, TAKEN))) {
      this.repairs++;
      return -1;
    }
    return refOf(i, (genOf(w) + 1) & GEN_MASK);
  }
}

/** ENOSPC for a write that found no page in the pool. */
export function poolFull(syscall: string): FsError {
  return new FsError('ENOSPC', syscall, undefined, undefined, 'the shared page pool is exhausted (pages still held by replicas that have not caught up)');
}
