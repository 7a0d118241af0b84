/**
 * A file's page table: page number -> ref of a page in the shared pool.
 *
 * Every replica updates it for every write (an install per page, a lookup
 * per partial edge page and per new page) and every read looks pages up
 * in it, so it is an array, not a Map: a `Map` get or set of a small
 * integer key is a hash-table probe (~50-100 instructions), a
 * Float64Array load or store a few. Refs are integers below 2^46, exact in
 * a float64; NONE (-1) marks a hole.
 *
 * Pages below the dense array's length live in it; it grows (doubling)
 * only while the table would stay at least a quarter full (so a sparse
 * file written far out costs a Map entry, not 8 bytes per page of its
 * hole), and never past DENSE_MAX_PAGES. Other pages go to a Map.
 * Iteration is by page number (dense part), then the Map's insertion order:
 * the same on every replica that applied the same ops, and after a
 * restore (the snapshot lists pages in that order).
 */

/** Largest dense part: 2^18 pages (1 GiB of file, 2 MiB of table). */
const DENSE_MAX_PAGES = 1 << 18;
const NONE = -1;
const EMPTY = new Float64Array(0);

export class PageTable {
  private dense: Float64Array = EMPTY;
  private sparse: Map<number, number> | null = null;
  /** Pages in the table. */
  size = 0;

  /** The ref at page `p`, or undefined for a hole. */
  get(p: number): number | undefined {
    if (p < this.dense.length) {
      const r = this.dense[p]!;
      return r === NONE ? undefined : r;
    }
    return this.sparse === null ? undefined : this.sparse.get(p);
  }

  has(p: number): boolean {
    return this.get(p) !== undefined;
  }

  /** Put `ref` at page `p`; returns the ref it replaced, or undefined. */
  swap(p: number, ref: number): number | undefined {
    if (p >= this.dense.length && !this.grow(p)) {
      const sparse = (this.sparse ??= new Map());
      const old = sparse.get(p);
      sparse.set(p, ref);
      if (old === undefined) this.size++;
      return old;
    }
    const d = this.dense;
    const old = d[p]!;
    d[p] = ref;
    if (old === NONE) {
      this.size++;
      return undefined;
    }
    return old;
  }

  set(p: number, ref: number): void {
    this.swap(p, ref);
  }

  delete(p: number): boolean {
    if (p < this.dense.length) {
      if (this.dense[p] === NONE) return false;
      this.dense[p] = NONE;
      this.size--;
      return true;
    }
    if (this.sparse === null || !this.sparse.delete(p)) return false;
    this.size--;
    return true;
  }

  clear(): void {
    this.dense = EMPTY;
    this.sparse = null;
    this.size = 0;
  }

  /** [page number, ref] of every page, in the table's order (see above). */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    const d = this.dense;
    for (let p = 0; p < d.length; p++) if (d[p] !== NONE) out.push([p, d[p]!]);
    if (this.sparse !== null) for (const e of this.sparse) out.push(e);
    return out;
  }

  /** Whether page `p` may go into the dense part (growing it); false: it belongs in the Map. */
  private grow(p: number): boolean {
    if (p >= DENSE_MAX_PAGES || p > 4 * (this.size + 16)) return false;
    const old = this.dense;
    let n = Math.max(16, old.length);
    while (n <= p) n *= 2;
    n = Math.min(n, DENSE_MAX_PAGES);
    const d = new Float64Array(n).fill(NONE);
    d.set(old);
    // Pages of the Map that now fall inside the dense part move into it.
    if (this.sparse !== null) {
      for (const [q, r] of this.sparse) {
        if (q < n) {
          d[q] = r;
          this.sparse.delete(q);
        }
      }
    }
    this.dense = d;
    return true;
  }
}

/** A table built from a snapshot's [page number, ref] list (checked by the caller). */
export function tableOf(pages: readonly (readonly [number, number])[]): PageTable {
  const t = new PageTable();
  for (const [p, ref] of pages) t.set(p, ref);
  return t;
}
