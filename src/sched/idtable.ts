/**
 * A table keyed by non-negative integer ids that are mostly added in
 * ascending order and removed roughly oldest first (task ids): a dense
 * array window `[base, base + slots.length)` instead of a hash map, so
 * adds and removes under churn neither rehash nor allocate per entry.
 *
 * Memory stays O(live entries): a few long-lived entries (a long task, an
 * unreleased record) would pin the window's start while ids move on, so
 * whenever the window's length doubles (from 4096 on) and it is
 * mostly holes, the live entries of its older half move to a side Map
 * (`old`) and the window drops that half (amortised O(1) per add).
 * Ids below the window live in `old` too. Iteration is in ascending id
 * order. Map-like API (the subset used).
 */
export class IdTable<T> {
  private slots: (T | undefined)[] = [];
  /** Id of slots[0]. */
  private base = 0;
  /** Index of the first slot that may be occupied. */
  private head = 0;
  /** Live entries in the window. */
  private inWindow = 0;
  /** Window length at which to look for holes next. */
  private check = 4096;
  /** Entries below the window. */
  private old: Map<number, T> | null = null;

  get size(): number {
    return this.inWindow + (this.old?.size ?? 0);
  }

  get(id: number): T | undefined {
    const i = id - this.base;
    if (i >= this.head) return i < this.slots.length ? this.slots[i] : undefined;
    return this.old === null ? undefined : this.old.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, v: T): this {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`IdTable: bad id ${id}`);
    if (this.inWindow === 0 && (this.old === null || id >= this.base + this.head)) {
      // Empty window: restart it at this id.
      this.slots.length = 0;
      this.base = id;
      this.head = 0;
    }
    const i = id - this.base;
    if (i < this.head) {
      (this.old ??= new Map()).set(id, v);
      return this;
    }
    if (i < this.slots.length) {
      if (this.slots[i] === undefined) this.inWindow++;
      this.slots[i] = v;
      return this;
    }
    while (this.slots.length < i) this.slots.push(undefined);
    this.slots.push(v);
    this.inWindow++;
    const len = this.slots.length - this.head;
    if (len >= this.check) {
      if (this.inWindow * 4 < len) this.spill(this.head + (len >> 1));
      this.check = Math.max(4096, 2 * (this.slots.length - this.head));
    }
    return this;
  }

  /** Move the live entries of slots[head..to) to `old` and start the window at `to`. */
  private spill(to: number): void {
    const old = (this.old ??= new Map());
    for (let i = this.head; i < to; i++) {
      const v = this.slots[i];
      if (v !== undefined) {
        old.set(this.base + i, v);
        this.inWindow--;
      }
    }
    this.slots = this.slots.slice(to);
    this.base += to;
    this.head = 0;
    this.skipHoles();
  }

  private skipHoles(): void {
    let h = this.head;
    while (h < this.slots.length && this.slots[h] === undefined) h++;
    this.head = h;
  }

  delete(id: number): boolean {
    const i = id - this.base;
    if (i < this.head) return this.old === null ? false : this.old.delete(id);
    if (i >= this.slots.length || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    this.inWindow--;
    if (i === this.head) {
      this.skipHoles();
      // Drop the dead prefix once it dominates the array.
      const h = this.head;
      if (h >= 1024 && h * 2 >= this.slots.length) {
        this.slots = this.slots.slice(h);
        this.base += h;
        this.head = 0;
        this.check = Math.max(4096, 2 * this.slots.length);
      }
    }
    return true;
  }

  clear(): void {
    this.slots.length = 0;
    this.head = 0;
    this.inWindow = 0;
    this.old = null;
  }

  /** Plain data for v8 serialisation (class instances lose their prototype); see `fromRaw`. */
  raw(): { slots: (T | undefined)[]; base: number; head: number; inWindow: number; check: number; old: Map<number, T> | null } {
    return { slots: this.slots, base: this.base, head: this.head, inWindow: this.inWindow, check: this.check, old: this.old };
  }

  static fromRaw<T>(r: ReturnType<IdTable<T>['raw']>): IdTable<T> {
    const t = new IdTable<T>();
    t.slots = r.slots;
    t.base = r.base;
    t.head = r.head;
    t.inWindow = r.inWindow;
    t.check = r.check;
    t.old = r.old;
    return t;
  }

  *keys(): IterableIterator<number> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): IterableIterator<T> {
    for (const [, v] of this.entries()) yield v;
  }

  /** Ascending id order: the (few) old entries, then the window. */
  *entries(): IterableIterator<[number, T]> {
    if (this.old !== null && this.old.size > 0) {
      const ids = [...this.old.keys()].sort((a, b) => a - b);
      for (const id of ids) yield [id, this.old.get(id)!];
    }
    for (let i = this.head; i < this.slots.length; i++) {
      const v = this.slots[i];
      if (v !== undefined) yield [this.base + i, v];
    }
  }
}
