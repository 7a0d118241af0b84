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
 */
export class GraceQueue<T> {
  private items: T[] = [];
  private times: number[] = [];
  private head = 0;

  constructor(private readonly graceMs: number) {}

  /** Items still held. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Hold `item` (freed now) until `graceMs` have passed; with no grace, free it at once. */
  push(item: T, free: (item: T) => void): void {
    if (this.graceMs <= 0) {
      free(item);
      return;
    }
    this.items.push(item);
    this.times.push(performance.now());
  }

  /** Free every item held for `graceMs` or more (every item when `all`), oldest first. */
  release(free: (item: T) => void, all = false): void {
    if (this.length === 0) return;
    const cutoff = all ? Infinity : performance.now() - this.graceMs;
    let i = this.head;
    while (i < this.items.length && this.times[i]! <= cutoff) free(this.items[i++]!);
    this.head = i;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.times.length = 0;
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.times.splice(0, this.head);
      this.head = 0;
    }
  }
}
