/**
 * The steps every scheduler op shares: `begin` (count the op, advance the
 * clock, then deterministically expire leases older than the clock, release
 * backed-off tasks whose not-before time has come, and fail waiting tasks
 * whose deadline has passed), queueing a task, settling it, ending an attempt
 * without success, and the op's effects (submitters to wake, whether work
 * appeared). The effects live in module-level scratch that `begin` resets:
 * safe because applies never interleave.
 */
import { FailCode, type FailCodeValue } from './errors.js';
import { deadlineAdd as addDeadline, deadlineRemove as removeDeadline } from './deadlines.js';
import { leaseEnd, leaseFirst } from './leases.js';
import { createReadyQueue, readyPush, type ReadyQueue } from './ready.js';
import { endCurrent, type TaskRecord } from './records.js';
import type { SchedState } from './state.js';

/** What an op did beyond its value: submitters whose tasks settled, and whether queued work appeared. */
export interface Effects<T> {
  value: T;
  /** Submitter ids with newly settled tasks (ring their completion doorbells). */
  wake: readonly number[];
  /** Tasks became claimable (ring the work doorbell). */
  work: boolean;
}


const NONE: readonly number[] = Object.freeze([]);

/** Per-op scratch for effects; reset by `begin`. Module-level is safe: applies never interleave. */
const wake: number[] = [];
let work = false;
/** The outbox `settle` appended to last in this op, and its submitter: most ops settle tasks of one submitter. */
let boxOwner = -1;
let box: number[] | null = null;

/** A task became claimable where no runner may be awake for it (ring the work doorbell). */
export function markWork(): void {
  work = true;
}

export function begin(s: SchedState, now: number): void {
  wake.length = 0;
  work = false;
  boxOwner = -1;
  box = null;
  s.ops++;
  if (now > s.clock) s.clock = now;
  expireLeases(s);
  releaseDelayed(s);
  expireDeadlines(s);
}

export function effects<T>(value: T): Effects<T> {
  return { value, wake: wake.length === 0 ? NONE : wake.slice(), work };
}

// ---------------------------------------------------------------------------
// Leases (leases.ts), deadlines (deadlines.ts), ready queues (ready.ts), per-kind load

/** Drop a task's lease (it stopped running); idempotent. */
export const leaseRemove = (s: SchedState, t: TaskRecord): void => leaseEnd(s.leases, t);
/** A task with a deadline starts waiting (submitted, requeued or backed off). */
export const deadlineAdd = (s: SchedState, t: TaskRecord): void => addDeadline(s.deadlines, t);
export const deadlineRemove = (s: SchedState, t: TaskRecord): void => removeDeadline(s.deadlines, t);

export function addLoad(s: SchedState, kind: string, d: number): void {
  s.load.set(kind, (s.load.get(kind) ?? 0) + d);
}

export function readyQueueOf(s: SchedState, kind: string): ReadyQueue<TaskRecord> {
  let q = s.ready.get(kind);
  if (q === undefined) s.ready.set(kind, (q = createReadyQueue()));
  return q;
}

/** Queue `t` in `q` (its kind's queue); the caller counts its load. */
export function pushReady(q: ReadyQueue<TaskRecord>, t: TaskRecord): void {
  // Ring only when the kind's queue was empty: a runner sleeps only after a claim that found
  // too little, so while tasks of this kind wait, an earlier ring (or a chained one) is in flight.
  if (readyPush(q, t)) work = true;
}

function enqueueReady(s: SchedState, t: TaskRecord): void {
  addLoad(s, t.kind, 1);
  pushReady(readyQueueOf(s, t.kind), t);
}

/**
 * Per-kind load changes of one op, summed per run of one kind and written
 * once per run (a submit or finish op is mostly of one kind): a map update
 * per run instead of per task. Nothing reads `s.load` within those ops.
 */
let loadKind: string | null = null;
let loadDelta = 0;
export function countLoad(s: SchedState, kind: string, d: number): void {
  if (kind !== loadKind) {
    flushLoad(s);
    loadKind = kind;
  }
  loadDelta += d;
}
export function flushLoad(s: SchedState): void {
  if (loadKind !== null && loadDelta !== 0) addLoad(s, loadKind, loadDelta);
  loadKind = null;
  loadDelta = 0;
}


// ---------------------------------------------------------------------------
// Time

function expireLeases(s: SchedState): void {
  for (let t = leaseFirst(s.leases); t !== undefined && t.leaseUntil <= s.clock; t = leaseFirst(s.leases)) {
    s.counts.expired++;
    endAttempt(s, t, 'expired', 'lease expired');
  }
}

/**
 * Waiting tasks whose deadline has passed (clock > deadline) fail: they may
 * no longer start. Runs after releaseDelayed, so a waiting task with
 * notBefore <= clock is in its ready queue (its load counted), any other is backed off.
 */
function expireDeadlines(s: SchedState): void {
  const h = s.deadlines;
  while (h.length > 0 && h[0]!.deadline < s.clock) {
    const t = h[0]!;
    deadlineRemove(s, t);
    if (t.notBefore <= s.clock) addLoad(s, t.kind, -1); // its ready-queue entry goes stale
    failDeadline(s, t);
  }
}

export function failDeadline(s: SchedState, t: TaskRecord): void {
  t.error = t.attempts === 0 ? 'deadline passed before start' : 'deadline passed before a retry';
  t.failCode = FailCode.Deadline;
  settle(s, t, 'failed');
}

function releaseDelayed(s: SchedState): void {
  let n = 0;
  while (n < s.delayed.length) {
    const t = s.delayed[n]!;
    if (t.notBefore > s.clock) break;
    n++;
    if (t.state === 'queued') enqueueReady(s, t);
  }
  if (n > 0) s.delayed.splice(0, n);
}

function delay(s: SchedState, t: TaskRecord): void {
  const d = s.delayed;
  let lo = 0;
  let hi = d.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const o = d[mid]!;
    if (o.notBefore < t.notBefore || (o.notBefore === t.notBefore && o.id < t.id)) lo = mid + 1;
    else hi = mid;
  }
  d.splice(lo, 0, t);
}

// ---------------------------------------------------------------------------
// Settling

export function settle(s: SchedState, t: TaskRecord, state: 'done' | 'failed' | 'cancelled'): void {
  t.state = state;
  t.owner = -1;
  t.leaseUntil = 0;
  deadlineRemove(s, t);
  s.counts[state === 'done' ? 'done' : state === 'failed' ? 'failed' : 'cancelled']++;
  if (t.submitter !== boxOwner || box === null) {
    let b = s.outbox.get(t.submitter);
    if (b === undefined) {
      s.outbox.set(t.submitter, (b = []));
      s.outboxBase.set(t.submitter, 0);
    }
    box = b;
    boxOwner = t.submitter;
    if (!wake.includes(t.submitter)) wake.push(t.submitter);
  }
  box.push(t.id);
}

/**
 * The running attempt of `t` ends without success: the worker's slot frees,
 * and the task retries (after backoff for handler failures, at once for lost
 * leases) or, on its last attempt, fails.
 */
export function endAttempt(s: SchedState, t: TaskRecord, end: 'failed' | 'expired' | 'evicted', reason: string, final?: FailCodeValue): void {
  leaseRemove(s, t);
  const w = s.workers.get(t.owner);
  if (w !== undefined && w.running > 0) w.running--;
  addLoad(s, t.kind, -1);
  endCurrent(s, t, end);
  t.error = reason;
  if (final !== undefined || t.attempts >= t.maxAttempts) {
    t.failCode = final ?? FailCode.Attempts;
    settle(s, t, 'failed');
    return;
  }
  if (t.deadline >= 0 && t.deadline < s.clock) {
    failDeadline(s, t);
    return;
  }
  s.counts.retried++;
  t.state = 'queued';
  t.owner = -1;
  t.leaseUntil = 0;
  if (end === 'failed' && t.backoffMs > 0) {
    t.notBefore = s.clock + t.backoffMs * 2 ** Math.min(t.attempts - 1, 16);
    delay(s, t);
  } else {
    t.notBefore = 0;
    enqueueReady(s, t);
  }
  deadlineAdd(s, t);
}

