/**
 * Reclaiming shared memory by log position, for structures that keep data
 * out of line (the secure KV's value arena, NrFS's write payloads): an
 * item (a block, an allocation) stamped with `replica.logMark()` may be
 * reused once `replica.appliedEverywhere(mark)` says no replica can still
 * apply an entry that references it.
 *
 * Marks grow in push order, so the reclaimable items are always a prefix:
 * `reclaim` finds its end with O(log n) questions (each may scan the replica
 * slots and touch the shared head word), not one per item.
 */

/** What a queue needs of its replica. */
export interface LogMarks {
  logMark(): number;
  appliedEverywhere(mark: number): boolean;
}

/** An emptied queue keeps arrays up to this long for its next pushes (a longer one is let go). */
const KEEP_WHEN_EMPTY = 4096;

export class LogMarkQueue<T> {
  private items: T[] = [];
  private marks: number[] = [];
  private head = 0;
  /**
   * End of the queued items. The arrays outlive an emptying (up to
   * KEEP_WHEN_EMPTY slots, holding freed items until overwritten): a
   * `length = 0` store drops their backing stores and the next pushes grow
   * them again, a runtime call and a copy each time.
   */
  private tail = 0;

  constructor(private readonly replica: LogMarks) {}

  /** Queue `item`, referenced by entries before `mark` (default: the log as it stands now). */
  push(item: T, mark: number = this.replica.logMark()): void {
    // Marks are compared by the replica (wrapping log positions, or a clock for a custom LogMarks): a NaN never compares.
    if (typeof mark !== 'number' || Number.isNaN(mark)) throw new TypeError(`LogMarkQueue.push: mark must be a number (a logMark()), got ${String(mark)}`);
    const t = this.tail;
    if (t < this.items.length) {
      this.items[t] = item;
      this.marks[t] = mark;
    } else {
      this.items.push(item);
      this.marks.push(mark);
    }
    this.tail = t + 1;
  }

  /** Items still queued. */
  get length(): number {
    return this.tail - this.head;
  }

  /** The mark of the oldest item still queued, if any: what a caller short of memory waits for. */
  oldestMark(): number | undefined {
    return this.head < this.tail ? this.marks[this.head] : undefined;
  }

  /** The oldest item still queued, if any. */
  oldest(): T | undefined {
    return this.head < this.tail ? this.items[this.head] : undefined;
  }

  /**
   * Hand every item that no replica can still need to `free`, oldest first
   * (at most `limit` of them). Returns how many were freed.
   */
  reclaim(free: (item: T) => void, limit = Infinity): number {
    let lo = this.head;
    let hi = Math.min(this.tail, this.head + limit);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.replica.appliedEverywhere(this.marks[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    const n = lo - this.head;
    // Head moves before each free: a free that throws leaves no item to be handed out again.
    while (this.head < lo) free(this.items[this.head++]!);
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      if (this.items.length > KEEP_WHEN_EMPTY) {
        this.items.length = 0;
        this.marks.length = 0;
      }
    } else if (this.head > 4096 && this.head * 2 > this.tail) {
      this.items.splice(0, this.head);
      this.marks.splice(0, this.head);
      this.tail -= this.head;
      this.head = 0;
    }
    return n;
  }
}
