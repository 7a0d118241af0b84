/**
 * Blocks that every replica has passed but a KV client may still be about
 * to open. A client reads in two steps: its node answers a key's metadata
 * (where the block is), then the client opens the block from the arena. A
 * block displaced and freed in between can be reused by the next put, and
 * the client's open then fails verification and costs it another round
 * trip (safe, but slow on hot keys). Stores with client slots therefore
 * keep freed blocks here for `graceMs` more before they go back to the
 * allocator. Only timing depends on this (the AEAD still catches a reuse),
 * so a clock is fine here; apply never sees it.
 *
 * The queue is the core's LogMarkQueue with a clock for marks: an item is
 * "applied everywhere" once `graceMs` have passed since it was pushed
 * (performance.now() never goes back, so marks grow in push order).
 */
import { LogMarkQueue } from '../nr/index.js';

export class GraceQueue<T> {
  private readonly queue: LogMarkQueue<T>;
  /** Items pushed at or before this time may go (set by each release). */
  private cutoff = -Infinity;

  constructor(private readonly graceMs: number) {
    this.queue = new LogMarkQueue<T>({ logMark: () => performance.now(), appliedEverywhere: (pushedAt) => pushedAt <= this.cutoff });
  }

  /** Items still held. */
  get length(): number {
    return this.queue.length;
  }

  /** Hold `item` (freed now) until `graceMs` have passed; with no grace, free it at once. */
  push(item: T, free: (item: T) => void): void {
    if (this.graceMs <= 0) free(item);
    else this.queue.push(item);
  }

  /** Free every item held for `graceMs` or more (every item when `all`), oldest first. */
  release(free: (item: T) => void, all = false): void {
    if (this.queue.length === 0) return;
    this.cutoff = all ? Infinity : performance.now() - this.graceMs;
    this.queue.reclaim(free);
  }
}
