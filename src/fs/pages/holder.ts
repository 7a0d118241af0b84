/**
 * One thread's share of the page pool: the pages it holds and the pages it
 * must free (see pool.ts for the STATE words).
 *
 * - A write takes fresh pages here (TAKEN by this slot), fills them, logs
 *   their refs; the first replica to apply the entry marks them LIVE.
 *   Pages of a write that did not install them (an error, a conflict) come
 *   back with `give` and are reused by this thread's next write.
 * - When an apply on this thread's replica displaces a page (overwrite,
 *   truncate, unlink, close of an unlinked file) and wins the CAS LIVE ->
 *   RETIRING, the page is this thread's to free: it is stamped with
 *   `logMark()` (lazily, at every STAMP_EVERY-th `flush` or the next
 *   reclaim: a later mark is a safe one)
 *   and freed once `appliedEverywhere(mark)`: no replica can still apply an
 *   entry that reads it, and fenced ones recover by state transfer (their
 *   reads re-check `holdsLog()` after copying, see NrFs).
 * - Freed pages first refill this thread's cache (TAKEN by it, gen + 1),
 *   the rest go to the shared stack.
 * - `sweep(slot)`: the pages a dead thread held (TAKEN: being filled or
 *   cached, never installed by an entry this replica applied; RETIRING: in
 *   its queue) become this thread's to free. Run after this replica synced
 *   to the log's tail, so every entry the dead thread logged was applied
 *   here and its pages are LIVE already.
 * - With NrFS clients, a page every replica passed still waits for the
 *   clients' reads that may be copying it (read-grace.ts) before reuse.
 */
import type { LogMarks } from '../../nr/index.js';
import { LogMarkQueue } from '../../nr/index.js';
import { genOf, genOfRef, indexOfRef, LIVE, ownerOf, refOf, RETIRING, type SharedPages, stOf, TAKEN, word } from './pool.js';
import type { ReadGrace } from './read-grace.js';

/** Cached pages a thread keeps for its own next writes before the rest go back to the stack. */
const CACHE_PAGES = 256;
/** Retired pages freed at most this often (per `flush` call) unless forced. */
const RECLAIM_EVERY = 32;
/**
 * Retired pages stamped with a log mark once per this many `flush` calls
 * (a later mark is a safe one): one mark for the pages of several writes
 * instead of one per write, and the reclaim's `appliedEverywhere` probes
 * search a quarter as many distinct marks.
 */
export const STAMP_EVERY = 4;

/** Marks for a state without replicas (structure tests): everything is applied everywhere at once. */
export const NO_REPLICAS: LogMarks = { logMark: () => 0, appliedEverywhere: () => true };

export class PageHolder {
  /** This thread's replica slot (set once attached: applies during the first replay retire later). */
  private slotNo = -1;
  private marks: LogMarks = NO_REPLICAS;
  private queue: LogMarkQueue<number> = new LogMarkQueue(NO_REPLICAS);
  /** Refs of pages TAKEN by this slot and not installed: the next writes use them. */
  private readonly cache: number[] = [];
  /** Refs this replica retired (won LIVE -> RETIRING) since the last flush. */
  private readonly pending: number[] = [];
  /** Refs displaced during the first replay, before the slot was known. */
  private early: number[] = [];
  /** Refs of a write whose outcome is unknown (the log entry may or may not stand). */
  private doubtful: number[] = [];
  private sinceReclaim = 0;
  private sinceStamp = 0;
  /** Pages freed by this thread, in all. */
  freed = 0;

  /** `grace`: the clients' read fences (null: a file system without clients, pages are freed at once). */
  constructor(
    readonly pool: SharedPages,
    private readonly grace: ReadGrace | null = null,
  ) {}

  get slot(): number {
    return this.slotNo;
  }

  /**
   * Bind to this thread's replica, once attached: its slot owns what it
   * takes and retires from now on. What an earlier owner of the slot held
   * (a thread that died) is taken over first: `sync` catches up to the tail
   * (applies retire nothing meanwhile: the slot is not set), then the sweep
   * takes the slot's TAKEN and RETIRING pages, then the pages this replica
   * displaced while it attached are retired (they are LIVE: no overlap).
   */
  bind(slot: number, marks: LogMarks, sync: () => void): void {
    sync();
    this.slotNo = slot;
    this.marks = marks;
    this.queue = new LogMarkQueue(marks);
    this.sweep(slot);
    const early = this.early;
    this.early = [];
    for (const ref of early) this.retire(ref);
  }

  /** A fresh page TAKEN by this slot: its ref, or -1 if none is free right now. */
  take(): number {
    const c = this.cache.pop();
    if (c !== undefined) return c;
    // Unbound (a structure used without threads, in tests), pages are taken as slot 0's.
    const owner = Math.max(0, this.slotNo);
    let ref = this.pool.take(owner);
    if (ref < 0) {
      this.reclaim(true);
      ref = this.cache.pop() ?? this.pool.take(owner);
    }
    return ref;
  }

  /** A page this thread took and no entry installed: keep it for the next write. */
  give(ref: number): void {
    this.cache.push(ref);
  }

  /** The pages of a write whose log entry may stand: resolved at `resolveDoubtful`, once synced past it. */
  doubt(refs: readonly number[]): void {
    for (const r of refs) this.doubtful.push(r);
  }

  get hasDoubts(): boolean {
    return this.doubtful.length > 0;
  }

  /** Call after this replica synced to the tail: still TAKEN by this slot means no entry installed it. */
  resolveDoubtful(): void {
    const d = this.doubtful;
    this.doubtful = [];
    for (const ref of d) {
      const i = indexOfRef(ref);
      if (this.pool.state(i) === word(genOfRef(ref), this.slotNo, TAKEN)) this.cache.push(ref);
    }
  }

  /** An apply on this replica displaced `ref`: if this replica is the first, the page is this thread's to free. */
  retire(ref: number): void {
    if (this.slotNo < 0) {
      this.early.push(ref);
      return;
    }
    const i = indexOfRef(ref);
    if (this.pool.cas(i, word(genOfRef(ref), 0, LIVE), word(genOfRef(ref), this.slotNo, RETIRING))) this.pending.push(ref);
  }

  /**
   * After a write (or close, unlink...): every STAMP_EVERY calls, stamp
   * what this replica retired with the log as it stands; now and then free
   * what every replica passed.
   */
  flush(): void {
    if (this.pending.length > 0 && ++this.sinceStamp >= STAMP_EVERY) this.stamp();
    if (++this.sinceReclaim >= RECLAIM_EVERY && (this.queue.length > 0 || (this.grace?.length ?? 0) > 0)) this.reclaim(false);
  }

  /**
   * Stamp the retired pages with `logMark()` now. The entries that
   * displaced them were applied on this replica before this call, so they
   * lie before the mark: once `appliedEverywhere(mark)`, no replica can
   * still apply an entry that reads them.
   */
  private stamp(): void {
    this.sinceStamp = 0;
    const pending = this.pending;
    const mark = this.marks.logMark();
    // Drained by pop (no new array per write; the order within one mark does not matter).
    while (pending.length > 0) this.queue.push(pending.pop()!, mark);
  }

  /** Free retired pages that no replica can still read (all of them that qualify when `force`). */
  reclaim(force: boolean): number {
    this.sinceReclaim = 0;
    if (this.pending.length > 0) this.stamp();
    const grace = this.grace;
    if (grace === null) return this.queue.reclaim(this.free, force ? Infinity : 4096);
    this.queue.reclaim(grace.add, force ? Infinity : 4096);
    // Snapshot after the stamps (flush above): reads sent from here on cannot name these pages.
    grace.seal();
    return grace.release(this.free);
  }

  /**
   * The thread is leaving (detach): free what every replica passed, give
   * cached pages back to every thread. Retired pages some replica may still
   * read stay RETIRING under this slot: the slot's next owner sweeps them
   * (`bind`), a starved writer steals them.
   */
  leave(): void {
    this.reclaim(true);
    for (const ref of this.cache) {
      const i = indexOfRef(ref);
      this.pool.release(i, word(genOfRef(ref), this.slotNo, TAKEN));
    }
    this.cache.length = 0;
  }

  /** The log mark the oldest retired page waits for (stamping what is not stamped yet), if any. */
  oldestMark(): number | undefined {
    if (this.pending.length > 0) this.stamp();
    return this.queue.oldestMark();
  }

  /** Retired pages this thread must still free (waiting for every replica to pass them): no object, for the write path. */
  get backlog(): number {
    return this.queue.length + this.pending.length + (this.grace?.length ?? 0);
  }

  /** Retired pages waiting for every replica to pass them, and cached pages. */
  held(): { retiring: number; cached: number } {
    return { retiring: this.queue.length + this.pending.length + (this.grace?.length ?? 0), cached: this.cache.length };
  }

  /**
   * Take over what slot `dead` held (TAKEN or RETIRING by it): this
   * replica must have synced to the tail after that thread died. Returns
   * the pages taken over; they are freed like retired ones.
   */
  sweep(dead: number): number {
    return this.adopt((w) => ownerOf(w) === dead && stOf(w) !== LIVE);
  }

  /** When starved: take over RETIRING pages other live threads have not freed yet (a later mark is a safe one). */
  steal(): number {
    return this.adopt((w) => stOf(w) === RETIRING && ownerOf(w) !== this.slotNo);
  }

  private adopt(match: (w: number) => boolean): number {
    let n = 0;
    const pool = this.pool;
    const end = pool.touched();
    for (let i = 0; i < end; i++) {
      const w = pool.state(i);
      if ((stOf(w) !== TAKEN && stOf(w) !== RETIRING) || !match(w)) continue;
      if (pool.cas(i, w, word(genOf(w), this.slotNo, RETIRING))) {
        this.pending.push(refOf(i, genOf(w)));
        n++;
      }
    }
    this.flush();
    return n;
  }

  private readonly free = (ref: number): void => {
    const i = indexOfRef(ref);
    const gen = genOfRef(ref);
    const w = word(gen, this.slotNo, RETIRING);
    this.freed++;
    if (this.cache.length < CACHE_PAGES) {
      // Gen + 1: a stale page table (a fenced replica's) that still names this page no longer matches it.
      const taken = word(gen + 1, this.slotNo, TAKEN);
      if (this.pool.cas(i, w, taken)) this.cache.push(refOf(i, genOf(taken)));
      return;
    }
    this.pool.release(i, w);
  };
}
