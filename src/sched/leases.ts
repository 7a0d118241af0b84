/**
 * The running tasks' leases, by expiry: one run of lease entries sorted by
 * (until, task id), with lazy removal.
 *
 * Why: with a heap, every finish (the common end of a lease) moved the last
 * entry into the hole and sifted it down, log2(in flight) levels of
 * comparisons over scattered task objects, in every replica, for every task
 * (a quarter of a replica's replay time at 512 tasks in flight). Here a new
 * lease (a claim or a renewal) is appended: its `until` is the clock (never
 * decreasing) plus a lease length, so it sorts last unless runners use
 * different lease lengths (then it is inserted in order by binary search).
 * A lease ends in O(1): its task's `leaseStamp` is set to 0; the entry, whose
 * stamp no longer matches, is skipped when it reaches the front. Stale
 * entries are bounded: once they outnumber the live ones (plus a slack), the
 * run is compacted (O(n), so amortised O(1) per ended lease). Live leases
 * expire in (until, id) order, as from a heap of live leases only.
 *
 * The entries' keys live in flat arrays (until, id, stamp beside the task),
 * so the comparisons never load a task object. Plain data (no class), so a
 * state snapshot (v8) carries it as is.
 */

/** The fields of a task this run reads and writes. */
export interface Leased {
  id: number;
  /** Stamp of the task's current lease entry; 0 while it holds no lease. */
  leaseStamp: number;
}

/** Entries `[head, until.length)`, sorted by (until, id); the one at `head` (if any) is live. */
export interface LeaseRun<T extends Leased> {
  until: number[];
  id: number[];
  stamp: number[];
  task: T[];
  head: number;
  /** Entries whose stamp matches their task's (the leases held now). */
  live: number;
  /** The last stamp given out (stamps start at 1). */
  lastStamp: number;
}

/** Stale entries tolerated beyond the live count before compacting. */
const SLACK = 1024;

export function createLeaseRun<T extends Leased>(): LeaseRun<T> {
  return { until: [], id: [], stamp: [], task: [], head: 0, live: 0, lastStamp: 0 };
}

const isLive = <T extends Leased>(h: LeaseRun<T>, i: number): boolean => h.task[i]!.leaseStamp === h.stamp[i];

/** Keep only the live entries, in order, from index 0. */
function compact<T extends Leased>(h: LeaseRun<T>): void {
  let k = 0;
  for (let i = h.head; i < h.until.length; i++) {
    if (!isLive(h, i)) continue;
    h.until[k] = h.until[i]!;
    h.id[k] = h.id[i]!;
    h.stamp[k] = h.stamp[i]!;
    h.task[k] = h.task[i]!;
    k++;
  }
  h.until.length = k;
  h.id.length = k;
  h.stamp.length = k;
  h.task.length = k;
  h.head = 0;
}

/** Skip stale entries at the front, so the front (if any) is a live lease. */
function skipStale<T extends Leased>(h: LeaseRun<T>): void {
  const n = h.until.length;
  while (h.head < n && !isLive(h, h.head)) h.task[h.head++] = undefined as unknown as T; // drop the reference
  if (h.head === n) {
    h.until.length = h.id.length = h.stamp.length = h.task.length = 0;
    h.head = 0;
  } else if (n - h.head > 2 * h.live + SLACK || (h.head >= SLACK && h.head * 2 >= n)) compact(h);
}

/** `t` holds a lease until `until` from now on (a claim, or a renewal replacing its current lease). */
export function leaseSet<T extends Leased>(h: LeaseRun<T>, t: T, until: number): void {
  if (t.leaseStamp === 0) h.live++;
  const stamp = ++h.lastStamp;
  t.leaseStamp = stamp;
  const n = h.until.length;
  const lastUntil = n > h.head ? h.until[n - 1]! : -Infinity;
  if (until > lastUntil || (until === lastUntil && t.id > h.id[n - 1]!)) {
    h.until.push(until);
    h.id.push(t.id);
    h.stamp.push(stamp);
    h.task.push(t);
  } else {
    // A shorter lease than the last one's: insert in (until, id) order.
    let lo = h.head;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (h.until[mid]! < until || (h.until[mid] === until && h.id[mid]! < t.id)) lo = mid + 1;
      else hi = mid;
    }
    h.until.splice(lo, 0, until);
    h.id.splice(lo, 0, t.id);
    h.stamp.splice(lo, 0, stamp);
    h.task.splice(lo, 0, t);
  }
  // A renewal made the task's old entry stale: it may be the front.
  skipStale(h);
}

/** `t`'s lease ends (settled, requeued, cancelled, evicted); idempotent. */
export function leaseEnd<T extends Leased>(h: LeaseRun<T>, t: T): void {
  if (t.leaseStamp === 0) return;
  t.leaseStamp = 0;
  h.live--;
  skipStale(h);
}

/** The live lease that expires first, or undefined. */
export function leaseFirst<T extends Leased>(h: LeaseRun<T>): T | undefined {
  return h.head < h.until.length ? h.task[h.head] : undefined;
}

/** Its expiry time (Infinity if none). */
export function leaseFirstUntil<T extends Leased>(h: LeaseRun<T>): number {
  return h.head < h.until.length ? h.until[h.head]! : Infinity;
}

/** The tasks holding a lease now, in expiry order. */
export function leasedTasks<T extends Leased>(h: LeaseRun<T>): T[] {
  const out: T[] = [];
  for (let i = h.head; i < h.until.length; i++) if (isLive(h, i)) out.push(h.task[i]!);
  return out;
}
