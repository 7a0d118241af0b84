/**
 * An ordered set of key ids for range scans: a list of sorted chunks (each at
 * most 2·CHUNK keys), found by binary search on the chunks' first keys. An
 * insert or delete moves at most one chunk's worth of entries, so it stays
 * cheap at 100k+ keys where one flat sorted array would move them all.
 * Key ids are latin1 strings of the key bytes, so JS string order is byte order.
 */
const CHUNK = 256;

export class SortedKeys {
  private chunks: string[][] = [];
  size = 0;

  /** Index of the chunk `k` belongs in: the last whose first key is <= k (0 if none). */
  private chunkFor(k: string): number {
    const cs = this.chunks;
    let lo = 0;
    let hi = cs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cs[mid]![0]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Insert `k`, which must be absent. */
  insert(k: string): void {
    this.size++;
    if (this.chunks.length === 0) {
      this.chunks.push([k]);
      return;
    }
    const ci = this.chunkFor(k);
    const c = this.chunks[ci]!;
    c.splice(lowerBound(c, k), 0, k);
    if (c.length > 2 * CHUNK) this.chunks.splice(ci + 1, 0, c.splice(CHUNK));
  }

  /** Remove `k`, which must be present. */
  remove(k: string): void {
    if (this.chunks.length === 0) return;
    const ci = this.chunkFor(k);
    const c = this.chunks[ci]!;
    const i = lowerBound(c, k);
    if (c[i] !== k) return;
    c.splice(i, 1);
    this.size--;
    if (c.length === 0) this.chunks.splice(ci, 1);
  }

  /** Visit keys in [start, end) in order (either bound may be absent) until `visit` returns false. */
  range(start: string | undefined, end: string | undefined, visit: (k: string) => boolean): void {
    const cs = this.chunks;
    if (cs.length === 0) return;
    let ci = start === undefined ? 0 : this.chunkFor(start);
    let i = start === undefined ? 0 : lowerBound(cs[ci]!, start);
    for (; ci < cs.length; ci++, i = 0) {
      const c = cs[ci]!;
      for (; i < c.length; i++) {
        const k = c[i]!;
        if (end !== undefined && k >= end) return;
        if (!visit(k)) return;
      }
    }
  }

  /** All keys in order. */
  all(): string[] {
    return this.chunks.flat();
  }

  static from(sorted: string[]): SortedKeys {
    const s = new SortedKeys();
    for (let i = 0; i < sorted.length; i += CHUNK) s.chunks.push(sorted.slice(i, i + CHUNK));
    s.size = sorted.length;
    return s;
  }
}

function lowerBound(a: string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
