/**
 * One kind's ready queue: the queued tasks a claim may take, best first
 * (higher priority, then lower id: submission order).
 *
 * Why runs and not a heap: every replica pays every submit and claim, and a
 * heap sifts log2(n) levels per op. Here each priority has a FIFO run of
 * task records (ids ascending: a submit appends, since ids only grow; an
 * older task that is requeued is inserted in order), and `prios` lists the
 * priorities with a non-empty run, highest first. A claim takes the head of
 * the first run, a submit appends: both O(1). Entries that went stale (the
 * task was cancelled, failed at its deadline, or re-queued under another
 * entry) are dropped lazily when they reach a head. Deterministic: only
 * replicated fields are compared. Plain data, so a state snapshot (v8)
 * carries it as is.
 */

/** The fields of a task the queue reads. */
export interface Queued {
  id: number;
  priority: number;
  state: string;
  /** Backoff: not claimable before this time. */
  notBefore: number;
}

/** A FIFO run of one priority: `items[head..tail)`, ascending ids (slots outside that range are free). */
export interface ReadyRun<T extends Queued> {
  items: (T | null)[];
  head: number;
  tail: number;
}

export interface ReadyQueue<T extends Queued> {
  /** Priorities with a non-empty run, highest first. */
  prios: number[];
  runs: Map<number, ReadyRun<T>>;
  /** The run of `prios[0]` (null when empty): a claim reads the head of the queue without a map lookup. */
  top: ReadyRun<T> | null;
  /** An emptied run kept for reuse (its array keeps its capacity). */
  spare: ReadyRun<T> | null;
  /** Entries across all runs, stale ones included. */
  size: number;
}

/** Compact a run's array once its free prefix is at least this long and half of it. */
const COMPACT_AFTER = 1024;

export function createReadyQueue<T extends Queued>(): ReadyQueue<T> {
  return { prios: [], runs: new Map(), top: null, spare: null, size: 0 };
}

/** Append `t` (or insert it in id order, if it is older than the run's tail); true if the queue was empty. */
export function readyPush<T extends Queued>(q: ReadyQueue<T>, t: T): boolean {
  const wasEmpty = q.size === 0;
  q.size++;
  let run = q.runs.get(t.priority);
  if (run === undefined) {
    run = q.spare ?? { items: [], head: 0, tail: 0 };
    q.spare = null;
    q.runs.set(t.priority, run);
    let i = 0;
    while (i < q.prios.length && q.prios[i]! > t.priority) i++;
    q.prios.splice(i, 0, t.priority);
    if (i === 0) q.top = run;
  }
  const items = run.items;
  if (run.head === run.tail || items[run.tail - 1]!.id < t.id) {
    if (run.tail === items.length) items.push(t);
    else items[run.tail] = t;
    run.tail++;
    return wasEmpty;
  }
  // A requeued (older) task: insert by id among the live entries.
  let lo = run.head;
  let hi = run.tail;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid]!.id < t.id) lo = mid + 1;
    else hi = mid;
  }
  items.splice(lo, 0, t);
  run.tail++;
  return wasEmpty;
}

/** Drop the head of run `run` (priority `prio`) of queue `q`. */
function shiftRun<T extends Queued>(q: ReadyQueue<T>, prio: number, run: ReadyRun<T>): void {
  run.items[run.head++] = null;
  q.size--;
  if (run.head === run.tail) {
    q.runs.delete(prio);
    q.prios.splice(q.prios.indexOf(prio), 1);
    if (q.top === run) q.top = q.prios.length > 0 ? q.runs.get(q.prios[0]!)! : null;
    run.head = 0;
    run.tail = 0;
    q.spare = run;
  } else if (run.head >= COMPACT_AFTER && run.head * 2 >= run.tail) {
    run.items.copyWithin(0, run.head, run.tail);
    run.items.fill(null, run.tail - run.head, run.tail);
    run.tail -= run.head;
    run.head = 0;
  }
}

/** The best claimable task of the queue at `clock`, dropping stale entries on the way. */
export function readyHead<T extends Queued>(q: ReadyQueue<T>, clock: number): T | undefined {
  for (let run = q.top; run !== null; run = q.top) {
    const prio = q.prios[0]!;
    const t = run.items[run.head]!;
    if (t.state === 'queued' && t.notBefore <= clock && t.priority === prio) return t;
    shiftRun(q, prio, run);
  }
  return undefined;
}

/** Take the head `readyHead` just returned. */
export function readyPop<T extends Queued>(q: ReadyQueue<T>): void {
  shiftRun(q, q.prios[0]!, q.top!);
}
