/**
 * Blocks that overwrites and deletes displaced, waiting to be reused.
 *
 * The queue is part of every replica's state, the same entries in log
 * order on every replica (apply pushes them, and nothing else changes
 * them), so any writer can reclaim them, not only the one whose write
 * displaced them: a writer killed before it reclaimed its own leaked them
 * until session 17.
 *
 * A block may be reused once no replica can still read it: every replica
 * has applied past the record that displaced it and, on stores with client
 * slots, `graceMs` have passed since (a client opens a block after its
 * node answered where it is). Each replica notes privately, per entry, a
 * log mark taken when it applied that record (`logMark`: every entry
 * before it, this one included) and the time it first found that mark
 * applied everywhere. A writer puts into its record the chain count up to
 * which every entry is ready by its own notes (`claimable`); applying the
 * record takes the entries up to that count still queued (`claim`) and
 * hands them to the record's issuer, which frees them. Records are totally
 * ordered, so each entry goes to exactly one record; a record whose claim
 * an earlier one already took gets nothing. A writer killed after its
 * claiming record was appended and before it freed the blocks strands that
 * one claim; nothing else.
 */
export class Displaced {
  // Replicated (snapshotted): chain count of the displacing record, block offset, stored bytes.
  private counts: number[] = [];
  private locs: number[] = [];
  private lens: number[] = [];
  private head = 0;
  /** Stored bytes queued. */
  bytes = 0;
  // Private notes of this replica: the log mark at apply (NaN: unknown, e.g. restored from a snapshot)
  // and when it was first seen applied everywhere; entries [head, ready) have one.
  private marks: number[] = [];
  private readyAt: number[] = [];
  private ready = 0;

  get length(): number {
    return this.counts.length - this.head;
  }

  /** Add the offset of every block still queued to `out` (a dead client's sweep must not free them). */
  locsInto(out: Set<number>): void {
    for (let i = this.head; i < this.locs.length; i++) out.add(this.locs[i]!);
  }

  /** A block displaced by the record at chain count `count` (apply). */
  push(count: number, loc: number, stored: number, mark: number): void {
    this.counts.push(count);
    this.locs.push(loc);
    this.lens.push(stored);
    this.marks.push(mark);
    this.readyAt.push(NaN);
    this.bytes += stored;
  }

  /** Take every entry displaced at or before chain count `upTo` (apply): (offset, stored bytes) pairs into `out`. */
  claim(upTo: number, out: number[]): void {
    while (this.head < this.counts.length && this.counts[this.head]! <= upTo) {
      out.push(this.locs[this.head]!, this.lens[this.head]!);
      this.bytes -= this.lens[this.head]!;
      this.head++;
    }
    if (this.ready < this.head) this.ready = this.head;
    this.compact();
  }

  /**
   * Note which entries every replica has passed (private). Stops at the first
   * that is not: `appliedEverywhere` may scan the replica slots, so it runs
   * once per entry that becomes ready, plus once.
   */
  advance(appliedEverywhere: (mark: number) => boolean, logMark: () => number, now: number): void {
    let markNow = NaN;
    for (; this.ready < this.counts.length; this.ready++) {
      let m = this.marks[this.ready]!;
      if (Number.isNaN(m)) {
        // Applied before this replica could take marks: the log as it stands now is past it.
        if (Number.isNaN(markNow)) markNow = logMark();
        m = this.marks[this.ready] = markNow;
      }
      if (!appliedEverywhere(m)) return;
      this.readyAt[this.ready] = now;
    }
  }

  /** The log mark the oldest entry not yet ready waits for (advance has given it one), if any: what a writer short of room waits on. */
  waitingMark(): number | undefined {
    return this.ready < this.counts.length ? this.marks[this.ready] : undefined;
  }

  /**
   * The chain count up to which every queued entry was ready at least
   * `graceMs` before `now` (0: nothing to claim). Whole records only: a
   * record's entries go together.
   */
  claimable(now: number, graceMs: number): number {
    const cutoff = now - graceMs;
    // readyAt grows along the queue: the entries ready long enough are a prefix of [head, ready).
    let lo = this.head;
    let hi = this.ready;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.readyAt[mid]! <= cutoff) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.head) return 0;
    const last = this.counts[lo - 1]!;
    if (lo === this.counts.length || this.counts[lo]! !== last) return last;
    // The next entry belongs to the same record: stop before that record.
    const before = this.counts[lo]! - 1;
    return before >= this.counts[this.head]! ? before : 0;
  }

  /** The replicated part, for a snapshot: [count, offset, stored bytes] flattened. */
  entries(): number[] {
    const out: number[] = [];
    for (let i = this.head; i < this.counts.length; i++) out.push(this.counts[i]!, this.locs[i]!, this.lens[i]!);
    return out;
  }

  /**
   * From a snapshot's entries, all displaced before the log position `mark`
   * the snapshot was taken at (NaN: unknown); null if they are not
   * well-formed up to chain count `count`.
   */
  static from(flat: unknown, count: number, mark: number): Displaced | null {
    if (!Array.isArray(flat) || flat.length % 3 !== 0) return null;
    const d = new Displaced();
    let prev = 0;
    for (let i = 0; i < flat.length; i += 3) {
      const [c, loc, len] = [flat[i], flat[i + 1], flat[i + 2]] as unknown[];
      if (!isCount(c) || c < prev || c > count || !isCount(loc) || !isCount(len)) return null;
      d.push(c, loc, len, mark);
      prev = c;
    }
    return d;
  }

  private compact(): void {
    if (this.head < 1024 || this.head * 2 < this.counts.length) return;
    const h = this.head;
    for (const a of [this.counts, this.locs, this.lens, this.marks, this.readyAt]) a.splice(0, h);
    this.ready -= h;
    this.head = 0;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
