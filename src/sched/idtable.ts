/**
 * A table keyed by non-negative integer ids that are mostly added in
 * ascending order and removed roughly oldest first (task ids): a dense
 * array window `[base, base + slots.length)` instead of a hash map, so
 * adds and removes under churn neither rehash nor allocate per entry.
 * Iteration is in ascending id order. Map-like API (the subset used).
 */
export class IdTable<T> {
  private slots: (T | undefined)[] = [];
  /** Id of slots[head]. */
  private base = 0;
  /** Index of the first slot that may be occupied. */
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const i = id - this.base;
    return i >= this.head && i < this.slots.length ? this.slots[i] : undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, v: T): this {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`IdTable: bad id ${id}`);
    if (this.count === 0) {
      // Empty: restart the window at this id.
      this.slots.length = 0;
      this.base = id;
      this.head = 0;
    } else if (id < this.base + this.head) {
      // Below the window (rare): grow it downwards.
      const gap = this.base + this.head - id;
      const live = this.slots.slice(this.head);
      this.slots = new Array<T | undefined>(gap).fill(undefined).concat(live);
      this.base = id;
      this.head = 0;
    }
    const i = id - this.base;
    while (this.slots.length < i) this.slots.push(undefined);
    if (i === this.slots.length) {
      this.slots.push(v);
      this.count++;
    } else {
      if (this.slots[i] === undefined) this.count++;
      this.slots[i] = v;
    }
    return this;
  }

  delete(id: number): boolean {
    const i = id - this.base;
    if (i < this.head || i >= this.slots.length || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    this.count--;
    if (this.count === 0) {
      this.slots.length = 0;
      this.base += i + 1;
      this.head = 0;
      return true;
    }
    if (i === this.head) {
      let h = this.head + 1;
      while (this.slots[h] === undefined) h++;
      this.head = h;
      // Drop the dead prefix once it dominates the array.
      if (h >= 1024 && h * 2 >= this.slots.length) {
        this.slots = this.slots.slice(h);
        this.base += h;
        this.head = 0;
      }
    }
    return true;
  }

  /** Plain data for v8 serialisation (class instances lose their prototype); see `fromRaw`. */
  raw(): { slots: (T | undefined)[]; base: number; head: number; count: number } {
    return { slots: this.slots, base: this.base, head: this.head, count: this.count };
  }

  static fromRaw<T>(r: { slots: (T | undefined)[]; base: number; head: number; count: number }): IdTable<T> {
    const t = new IdTable<T>();
    t.slots = r.slots;
    t.base = r.base;
    t.head = r.head;
    t.count = r.count;
    return t;
  }

  clear(): void {
    this.slots.length = 0;
    this.head = 0;
    this.count = 0;
  }

  *keys(): IterableIterator<number> {
    for (let i = this.head; i < this.slots.length; i++) if (this.slots[i] !== undefined) yield this.base + i;
  }

  *values(): IterableIterator<T> {
    for (let i = this.head; i < this.slots.length; i++) {
      const v = this.slots[i];
      if (v !== undefined) yield v;
    }
  }
}
