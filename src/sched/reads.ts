/**
 * The scheduler's reads of its replicated state: a submitter's settled
 * tasks, summaries and records for callers, the runner's per-loop capacity
 * check, the next time a tick would change anything, and the digest every
 * replica must agree on. None of them mutates the state.
 */
import type { FailCodeValue } from './errors.js';
import { leaseFirstUntil } from './leases.js';
import type { Attempt, SchedState, Task, TaskRecord, Worker } from './state.js';

/** The attempt log of `t`: one entry per attempt, in order (copies). */
export function attemptLog(t: TaskRecord): Attempt[] {
  if (t.attempts === 0) return [];
  const log: Attempt[] = [{ attempt: 1, worker: t.firstWorker, from: t.firstFrom, to: t.firstTo, end: t.firstEnd }];
  if (t.later !== null) for (const a of t.later) log.push({ ...a });
  return log;
}

export interface Settled {
  id: number;
  state: 'done' | 'failed' | 'cancelled';
  result: unknown;
  error: string | null;
  failCode: FailCodeValue;
  attempts: number;
}

/** Entries of `submitter`'s outbox from absolute index `from`; `next` is the index after the last. */
export function settledSince(s: SchedState, submitter: number, from: number): { next: number; items: Settled[] } {
  const box = s.outbox.get(submitter);
  if (box === undefined) return { next: from, items: [] };
  const base = s.outboxBase.get(submitter)!;
  const items: Settled[] = [];
  for (let i = Math.max(0, from - base); i < box.length; i++) {
    const t = s.tasks.get(box[i]!)!;
    items.push({ id: t.id, state: t.state as Settled['state'], result: t.result, error: t.error, failCode: t.failCode, attempts: t.attempts });
  }
  return { next: base + box.length, items };
}

/**
 * Like `settledSince`, without copies: the settled task records themselves
 * (a settled record never changes again; release only drops it from the
 * map). For the owning thread's synchronous collect, which must not mutate them.
 */
export function settledTasksSince(s: SchedState, submitter: number, from: number): { next: number; items: readonly Settled[] } {
  const box = s.outbox.get(submitter);
  if (box === undefined) return { next: from, items: [] };
  const base = s.outboxBase.get(submitter)!;
  const start = Math.max(0, from - base);
  const items = new Array<Settled>(Math.max(0, box.length - start));
  for (let i = start; i < box.length; i++) items[i - start] = s.tasks.get(box[i]!)! as Settled;
  return { next: base + box.length, items };
}

export interface SchedSummary {
  clock: number;
  /** The id the next submitted task gets. */
  nextTaskId: number;
  ops: number;
  coldStarts: number;
  coldStartsByKind: Record<string, number>;
  /** Workers that have run each kind. */
  workersPerKind: Record<string, number>;
  counts: SchedState['counts'];
  queued: number;
  running: number;
}

export function summary(s: SchedState): SchedSummary {
  let queued = 0;
  let running = 0;
  for (const t of s.tasks.values()) {
    if (t.state === 'queued') queued++;
    else if (t.state === 'running') running++;
  }
  // Counted in a Map: a kind may be named like an Object.prototype member ('constructor', '__proto__').
  const workersPerKind = new Map<string, number>();
  for (const w of s.workers.values()) for (const k of w.warm) workersPerKind.set(k, (workersPerKind.get(k) ?? 0) + 1);
  return {
    clock: s.clock,
    nextTaskId: s.nextTaskId,
    ops: s.ops,
    coldStarts: s.coldStarts,
    coldStartsByKind: Object.fromEntries(s.coldStartsByKind),
    workersPerKind: Object.fromEntries(workersPerKind),
    counts: { ...s.counts },
    queued,
    running,
  };
}

/** A copy of one task's record (or undefined). */
export function taskInfo(s: SchedState, id: number): Task | undefined {
  const t = s.tasks.get(id);
  if (t === undefined) return undefined;
  return {
    id: t.id,
    kind: t.kind,
    payload: t.payload,
    priority: t.priority,
    deadline: t.deadline,
    maxAttempts: t.maxAttempts,
    backoffMs: t.backoffMs,
    state: t.state,
    owner: t.owner,
    leaseUntil: t.leaseUntil,
    attempts: t.attempts,
    notBefore: t.notBefore,
    submitter: t.submitter,
    submittedAt: t.submittedAt,
    result: t.result,
    error: t.error,
    failCode: t.failCode,
    log: attemptLog(t),
    leaseStamp: t.leaseStamp,
    deadlinePos: t.deadlinePos,
  };
}

/** A worker's capacity, or -1 if it is not active (draining, gone, unknown): the runner's per-loop check. */
export function workerRoom(s: SchedState, id: number): number {
  const w = s.workers.get(id);
  return w === undefined || w.status !== 'active' ? (w?.status === 'draining' ? -1 : -2) : w.capacity;
}

export function workerInfo(s: SchedState, id: number): Worker | undefined {
  const w = s.workers.get(id);
  return w === undefined ? undefined : { ...w, kinds: [...w.kinds], warm: [...w.warm] };
}

/**
 * The earliest time at which a tick would change the state (a lease
 * expires, a backed-off task is released, a deadline passes), or Infinity.
 * Threads that wait read it to know when to tick.
 */
export function nextDue(s: SchedState): number {
  let due = leaseFirstUntil(s.leases);
  if (s.delayed.length > 0) due = Math.min(due, s.delayed[0]!.notBefore);
  if (s.deadlines.length > 0) due = Math.min(due, s.deadlines[0]!.deadline + 1e-3);
  return due;
}

/** A payload or result as digest text: its exact bytes, or its exact value (JSON keeps lone surrogates apart). */
function valueKey(v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : v === undefined ? '(undefined)' : Object.is(v, -0) ? '(-0)' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/** Order-independent digest of the whole state (sorted by id), every replicated field of every task included. */
export function digest(s: SchedState): string {
  const tasks = [...s.tasks.values()]
    .sort((a, b) => a.id - b.id)
    .map((t) => [
      t.id,
      t.kind,
      t.state,
      t.owner,
      t.attempts,
      t.leaseUntil,
      t.notBefore,
      valueKey(t.priority),
      t.deadline,
      t.maxAttempts,
      t.backoffMs,
      t.submitter,
      t.submittedAt,
      t.failCode,
      t.error,
      valueKey(t.payload),
      valueKey(t.result),
      attemptLog(t).map((a) => `${a.attempt}/${a.worker}/${a.from}/${a.to}/${a.end}`).join(','),
    ]);
  const workers = [...s.workers.values()].sort((a, b) => a.id - b.id).map((w) => [w.id, w.capacity, w.status, w.running, w.warm.join('+')]);
  return JSON.stringify([s.clock, s.ops, s.nextTaskId, s.coldStarts, s.counts, tasks, workers]);
}
