/**
 * The issuing side of a data write (pwrite, write, writeFile, appendFile,
 * truncate, ftruncate): the bytes are copied once, into fresh pages of the
 * shared pool this thread takes; the logged op carries only their refs.
 *
 * 1. Take the pages (TAKEN by this slot; see pages/holder.ts).
 * 2. Fill them: the caller's bytes, and for a partial first or last page
 *    the rest of the page as this replica sees it (or zeros for a hole).
 * 3. If step 2 merged with a page of the file, check that this replica
 *    still holds the log: if it was fenced during the copy, that page may
 *    have been reused; recover and go back to 2. (A write of whole pages,
 *    or of zeros around a hole, read nothing shared: no check.)
 * 4. Log the op. Its apply installs the pages only if the file still holds
 *    the pages step 2 merged with (and, for an append, still ends where it
 *    did); otherwise it is a CONFLICT everywhere, nothing changed, and the
 *    writer catches up and goes back to 2 with the same pages. Two writers
 *    of one page therefore never lose each other's bytes, and a page, once
 *    installed, never changes (no reader sees a torn mix).
 *
 * A write that fails with an FsError (identically on every replica) or is
 * refused before it is logged gives its pages back for the next write; one
 * whose outcome is unknown (the log entry may stand) holds them as doubtful
 * until this replica has caught up past it.
 */
import { BackpressureError, DetachedError, EncodeError, FencedError, NodeGoneError, OpTooLargeError } from '../nr/index.js';
import { FsError } from './errors.js';
import { copyBytes, type SharedPages, indexOfRef, LAG_BACKOFF_MAX, LAG_PAGES, LAG_SLEEP_MS, LAG_SLEEPS, MAX_WRITE_ATTEMPTS, PAGE_BYTES, POOL_WAIT_MS, poolFull } from './pages/pool.js';
import { FsArgumentError } from './paths.js';
import { CONFLICT, edgeRef, HOLE, type Inode, pagesSpanned, WHOLE } from './state.js';

/** @internal Stop a write at a phase (tests kill workers there). */
export interface WriteHooks {
  /** Pages taken, nothing filled or logged. */
  afterTake?: () => void;
  /** Pages filled, nothing logged. */
  afterStage?: () => void;
  /** The op applied on this replica, nothing else done. */
  afterLog?: () => void;
}

/** What a write needs of its replica. */
export interface WriterReplica {
  sync(): void;
  holdsLog(): boolean;
  /** A replica's (not a client's node view): fence what holds `mark` back after fenceAfterMs of waiting (Replica.fenceHolding). */
  fenceHolding?(mark: number, waitingSince: number): boolean;
  /** A replica's: replay this thread's other replicas before sleeping in a wait (Replica.helpWhileWaiting). */
  helpWhileWaiting?(): void;
}

/** What a write needs of its thread's share of the pool (a replica's PageHolder, a client's ClientPages). */
export interface WriterPages {
  readonly pool: SharedPages;
  take(): number;
  give(ref: number): void;
  doubt(refs: readonly number[]): void;
  readonly hasDoubts: boolean;
  resolveDoubtful(): void;
  flush(): void;
  steal(): number;
  reclaim(force: boolean): number;
  held(): { retiring: number; cached: number };
  /** Retired pages this thread must still free (0 for a client: it retires none). */
  readonly backlog: number;
  /** The log mark the oldest of them waits for (none for a client). */
  oldestMark?(): number | undefined;
}

/** Where a write lands, as its replica (or its client's node) sees the file now. */
export interface Layout {
  at: number;
  /** The write replaces the whole file (O_TRUNC): nothing to merge with. */
  trunc: boolean;
  /** The refs the file has at the write's first and last page (HOLE: none, or no file, or the write covers that page whole): what a partial edge page merges with. */
  first: number;
  last: number;
}

/** Fill `out.first`/`out.last` for a write of `len` bytes at `out.at` into `node` as this replica has it. */
export function edgesOf(node: Inode | undefined, len: number, out: Layout): void {
  const has = node !== undefined && node.pages !== null && len > 0;
  out.first = has ? partialEdge(node, out.at, len, false) : HOLE;
  out.last = has ? partialEdge(node, out.at, len, true) : HOLE;
}

/** The ref an edge page merges with; HOLE for one the write covers whole (fill merges nothing there: no page-table lookup). */
function partialEdge(node: Inode, at: number, len: number, last: boolean): number {
  const r = edgeRef(node, at, len, last);
  return r === WHOLE ? HOLE : r;
}

/** One data write (reused from call to call: no closures per write; see write-targets.ts). */
export interface WriteTarget {
  /** Where the write lands, as this replica sees the file now (asked again after each conflict). */
  layout(out: Layout): void;
  /** Log the op: its result, or CONFLICT to retry. */
  log(at: number, expFirst: number, expLast: number, refs: readonly number[]): number;
}

/** One truncate. */
export interface TruncateTarget {
  readonly len: number;
  /** The page the truncate cuts (its ref), or HOLE: none to rewrite (see tailToRewrite), as this replica sees the file now. */
  tail(): number;
  /** Log the op with the page it rewrites (HOLE for none) and its copy: 0, 1 (copy not needed) or CONFLICT. */
  log(expTail: number, tailRef: number): number;
}

/** An attempt that merged while this replica may have been fenced: redo it after catching up. */
const REDO = -3;

export class DataWriter {
  private readonly bytes: Uint8Array;
  private readonly refs: number[] = [];
  private readonly sleepCell = new Int32Array(new SharedArrayBuffer(4));
  private readonly at: Layout = { at: 0, trunc: false, first: HOLE, last: HOLE };
  /** The write in progress (fields, not closures: nothing allocated per write). */
  private src: Uint8Array = new Uint8Array(0);
  private target: WriteTarget | null = null;
  private resize: TruncateTarget | null = null;
  /** The last fill merged bytes from a page of the file (read through this replica's page table). */
  private merged = false;
  /** Attempts that lost to a write of the same pages (statistics). */
  conflicts = 0;
  /** Writes that waited for a lagging replica to free pages (statistics), and the sleeps they took. */
  lagWaits = 0;
  lagSleeps = 0;
  /** Backlog checks to skip before the next wait (a wait that freed nothing doubles it: an idle replica costs little). */
  private lagSkip = 0;
  private lagBackoff = 0;

  constructor(
    private readonly replica: WriterReplica,
    private readonly holder: WriterPages,
    private readonly hooks: WriteHooks = {},
  ) {
    this.bytes = holder.pool.bytes;
  }

  /** Write `src` where `target` says; returns what its op returned. */
  write(src: Uint8Array, target: WriteTarget): number {
    this.src = src;
    this.target = target;
    return this.attempts('write', this.writeOnce);
  }

  /**
   * Truncate to `target.len`: when that cuts a page of the file (as this
   * replica sees it), log a copy of it with the bytes past the end zeroed.
   */
  truncate(target: TruncateTarget): void {
    this.resize = target;
    this.attempts('open', this.truncateOnce);
  }

  /**
   * Run `once` until it neither lost a conflict nor merged while this
   * replica may have been fenced (REDO): catching up before each retry.
   */
  private attempts(syscall: string, once: () => number): number {
    try {
      for (let attempt = 1; ; attempt++) {
        this.settleDoubts();
        const r = once();
        if (r === REDO) {
          if (attempt >= MAX_WRITE_ATTEMPTS) throw new FsError('EAGAIN', syscall, undefined, undefined, 'this replica keeps being fenced during writes');
          this.replica.sync();
          continue;
        }
        if (r !== CONFLICT) {
          this.hooks.afterLog?.();
          return r;
        }
        this.conflicts++;
        if (attempt >= MAX_WRITE_ATTEMPTS) throw new FsError('EAGAIN', syscall, undefined, undefined, `lost ${attempt} times to writes of the same pages`);
        this.replica.sync();
      }
    } catch (e) {
      this.dropRefs(e);
      throw e;
    } finally {
      this.holder.flush();
      this.target = null;
      this.resize = null;
    }
  }

  private readonly writeOnce = (): number => {
    const refs = this.refs;
    const l = this.at;
    const src = this.src;
    // Before the layout: the wait catches up, which may change the file.
    if (this.holder.backlog >= LAG_PAGES) this.awaitLaggard();
    this.target!.layout(l);
    this.takeInto(pagesSpanned(l.at, src.length));
    this.hooks.afterTake?.();
    const edges = this.fill(l, src);
    // Only a merge read pages of the file (which a fence may let be reused): a copy of the caller's bytes and zeros holds either way.
    if (this.merged && !this.replica.holdsLog()) return REDO;
    this.hooks.afterStage?.();
    const r = this.target!.log(l.at, edges === null ? WHOLE : edges[0], edges === null ? WHOLE : edges[1], refs);
    // pop, not `length = 0`: a length store is a runtime call and drops the backing store (the next push regrows it).
    if (r !== CONFLICT) while (refs.length > 0) refs.pop();
    return r;
  };

  private readonly truncateOnce = (): number => {
    const refs = this.refs;
    const t = this.resize!;
    if (this.holder.backlog >= LAG_PAGES) this.awaitLaggard();
    const old = t.tail();
    this.takeInto(old === HOLE ? 0 : 1);
    this.hooks.afterTake?.();
    if (old !== HOLE) {
      const to = indexOfRef(refs[0]!) * PAGE_BYTES;
      const from = indexOfRef(old) * PAGE_BYTES;
      const tail = t.len % PAGE_BYTES;
      this.bytes.copyWithin(to, from, from + tail);
      this.bytes.fill(0, to + tail, to + PAGE_BYTES);
      if (!this.replica.holdsLog()) return REDO;
    }
    this.hooks.afterStage?.();
    const r = t.log(old, old === HOLE ? HOLE : refs[0]!);
    if (r === 0 && old !== HOLE) refs.pop(); // installed
    if (r !== CONFLICT) this.giveBack(); // a copy the apply did not need
    return r;
  };

  /** Copy `src` into the pages, and merge partial edge pages; returns [expFirst, expLast], or null if none is partial. Sets `merged` when a merge copied from a page of the file. */
  private fill(l: Layout, src: Uint8Array): [number, number] | null {
    this.merged = false;
    const len = src.length;
    if (len === 0) return null;
    const bytes = this.bytes;
    const refs = this.refs;
    const first = Math.floor(l.at / PAGE_BYTES);
    const end = l.at + len;
    let edges: [number, number] | null = null;
    for (let k = 0; k < refs.length; k++) {
      const p = first + k;
      const base = indexOfRef(refs[k]!) * PAGE_BYTES;
      const lo = Math.max(l.at, p * PAGE_BYTES) - p * PAGE_BYTES;
      const hi = Math.min(end, (p + 1) * PAGE_BYTES) - p * PAGE_BYTES;
      const from = p * PAGE_BYTES + lo - l.at;
      if (lo === 0 && hi === PAGE_BYTES && from === 0 && len === PAGE_BYTES) copyBytes(bytes, src, base);
      else copyBytes(bytes, src.subarray(from, from + hi - lo), base + lo);
      if (lo === 0 && hi === PAGE_BYTES) continue;
      // A partial page: the rest as this replica has it (zeros past the end: the pages' invariant), or zeros.
      const old = l.trunc ? HOLE : k === 0 ? l.first : l.last;
      if (old === HOLE) {
        bytes.fill(0, base, base + lo);
        bytes.fill(0, base + hi, base + PAGE_BYTES);
      } else {
        this.merged = true;
        const o = indexOfRef(old) * PAGE_BYTES;
        bytes.copyWithin(base, o, o + lo);
        bytes.copyWithin(base + hi, o + hi, o + PAGE_BYTES);
      }
      // An edge page the write covers whole needs no merge (WHOLE), as edgeRef says on the apply side.
      edges ??= l.trunc
        ? [WHOLE, WHOLE]
        : [l.at % PAGE_BYTES === 0 && end >= (first + 1) * PAGE_BYTES ? WHOLE : l.first, end % PAGE_BYTES === 0 && l.at <= (first + refs.length - 1) * PAGE_BYTES ? WHOLE : l.last];
    }
    return edges;
  }

  /** Hold exactly `n` taken pages in `refs` (keeping those of the last attempt). */
  private takeInto(n: number): void {
    const refs = this.refs;
    while (refs.length > n) this.holder.give(refs.pop()!);
    let deadline = 0;
    let waitingSince = 0;
    while (refs.length < n) {
      const ref = this.holder.take();
      if (ref >= 0) {
        refs.push(ref);
        continue;
      }
      // Exhausted: catch up (so retired pages can pass), take over what other threads retired, wait a little.
      if (deadline === 0) {
        deadline = Date.now() + POOL_WAIT_MS;
        waitingSince = performance.now();
      } else if (Date.now() > deadline) throw poolFull('write');
      this.replica.sync();
      this.holder.steal();
      this.holder.reclaim(true);
      // A replica that holds our retired pages back for fenceAfterMs is fenced, as one that holds the log's
      // head: a stuck thread must not fill the pool for everyone (its pages come back, it recovers by transfer).
      const mark = this.holder.oldestMark?.();
      if (mark !== undefined && this.replica.fenceHolding?.(mark, waitingSince) === true) {
        deadline = Date.now() + POOL_WAIT_MS;
        waitingSince = performance.now();
        this.holder.reclaim(true);
        continue;
      }
      if (this.holder.held().cached === 0) {
        this.replica.helpWhileWaiting?.();
        Atomics.wait(this.sleepCell, 0, 0, 1);
      }
    }
  }

  /**
   * This thread retired LAG_PAGES pages that some replica has not passed
   * yet (usually one that is descheduled: on a loaded machine for a whole
   * time slice). Writing on would take a fresh page per write, each one
   * cold in the cache (the 4 KiB copy into it then costs about 5x a warm
   * one; BENCHMARKS.md, "Session 17"), and hand the laggard more to apply.
   * So catch up (the laggard may be waiting for this replica's marks), free
   * what passed, and while the backlog is still at the mark, sleep a little
   * (giving up the core, perhaps to the laggard) a few times. A wait that
   * did not bring it below backs off: the next checks are skipped, twice as
   * many each time (an idle replica holds pages until it is fenced; writers
   * must not sleep on it at every write). Never required for progress:
   * afterwards the write takes pages as before.
   */
  private awaitLaggard(): void {
    if (this.lagSkip > 0) {
      this.lagSkip--;
      return;
    }
    this.lagWaits++;
    for (let i = 0; ; i++) {
      this.replica.sync();
      this.holder.reclaim(true);
      // Below the mark again, not merely some freed: else with many replicas, one of them always
      // off-core, every write would catch up and reclaim here.
      if (this.holder.backlog < LAG_PAGES) {
        this.lagBackoff = 0;
        return;
      }
      if (i === LAG_SLEEPS) break;
      this.lagSleeps++;
      this.replica.helpWhileWaiting?.();
      Atomics.wait(this.sleepCell, 0, 0, LAG_SLEEP_MS);
    }
    this.lagBackoff = Math.min(LAG_BACKOFF_MAX, Math.max(1, this.lagBackoff * 2));
    this.lagSkip = this.lagBackoff;
  }

  private settleDoubts(): void {
    if (!this.holder.hasDoubts) return;
    this.replica.sync();
    this.holder.resolveDoubtful();
  }

  private giveBack(): void {
    const refs = this.refs;
    while (refs.length > 0) this.holder.give(refs.pop()!);
  }

  /** After a failed write: its pages are ours again unless its entry may stand. */
  private dropRefs(e: unknown): void {
    if (!mayStand(e)) this.giveBack();
    else {
      this.holder.doubt(this.refs);
      while (this.refs.length > 0) this.refs.pop();
    }
  }
}

/** Whether the entry of a write that failed with `e` may stand (its pages may be installed): only errors raised before or instead of logging it say it does not. */
export function mayStand(e: unknown): boolean {
  const notLogged = e instanceof FsError || e instanceof FsArgumentError || e instanceof OpTooLargeError || e instanceof EncodeError || e instanceof DetachedError || e instanceof BackpressureError || ((e instanceof FencedError || e instanceof NodeGoneError) && e.committed === false);
  return !notLogged;
}
