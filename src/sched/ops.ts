/**
 * The scheduler's ops other than claim (claim.ts): submit, join,
 * setCapacity, drain, leave, finish, renew, cancel, tick, release. Each is an
 * apply: it starts with `begin` (transitions.ts), reads no clock, uses no
 * randomness, and never throws after mutating (per-task problems are
 * returned as outcome codes).
 */
import { Outcome, type OutcomeCode } from './errors.js';
import { leasedTasks, leaseSet } from './leases.js';
import type { ReadyQueue } from './ready.js';
import { attemptWorker, endCurrent, isTaskRecord, newTaskRecord, type Completion, type TaskRecord, type TaskSpec, type Worker } from './records.js';
import type { SchedState } from './state.js';
import {
  addLoad,
  begin,
  countLoad,
  deadlineAdd,
  effects,
  endAttempt,
  flushLoad,
  leaseRemove,
  markWork,
  pushReady,
  readyQueueOf,
  settle,
  type Effects,
} from './transitions.js';

/** Submit tasks (already validated by the caller); returns the first id (ids are consecutive). */
export function submit(s: SchedState, submitter: number, specs: readonly TaskSpec[], now: number): Effects<number> {
  begin(s, now);
  const first = s.nextTaskId;
  let kind: string | null = null;
  let q: ReadyQueue<TaskRecord> | null = null;
  for (const spec of specs) {
    // A decoded submit already carries its records (codecs.ts): adopted, not copied. The
    // issuing replica's specs are its caller's, made into new records here.
    const t = isTaskRecord(spec) ? spec : newTaskRecord(spec.kind, spec.payload, spec.priority ?? 0, spec.deadline ?? -1, spec.maxAttempts ?? 3, spec.backoffMs ?? 10);
    t.id = s.nextTaskId++;
    t.submitter = submitter;
    t.submittedAt = s.clock;
    s.tasks.set(t.id, t);
    s.counts.submitted++;
    if (t.kind !== kind || q === null) {
      kind = t.kind;
      q = readyQueueOf(s, kind);
    }
    countLoad(s, kind, 1);
    pushReady(q, t);
    deadlineAdd(s, t);
  }
  flushLoad(s);
  return effects(first);
}

/** Join with a capacity and the kinds this worker has handlers for; returns its id. */
export function join(s: SchedState, capacity: number, kinds: readonly string[], now: number): Effects<number> {
  begin(s, now);
  const id = s.nextWorkerId++;
  s.workers.set(id, { id, capacity, kinds: [...kinds], warm: [], status: 'active', running: 0 });
  markWork();
  return effects(id);
}

/** Worker `worker` unless it is unknown or gone (setCapacity, drain and leave answer UnknownWorker then). */
function liveWorker(s: SchedState, worker: number): Worker | undefined {
  const w = s.workers.get(worker);
  return w === undefined || w.status === 'gone' ? undefined : w;
}

export function setCapacity(s: SchedState, worker: number, capacity: number, now: number): Effects<OutcomeCode> {
  begin(s, now);
  const w = liveWorker(s, worker);
  if (w === undefined) return effects(Outcome.UnknownWorker);
  // Shrinking below `running` takes effect as tasks finish: nothing is preempted.
  if (capacity > w.capacity) markWork();
  w.capacity = capacity;
  return effects(Outcome.Ok);
}

/** The eviction warning: finish running tasks, claim nothing new. */
export function drain(s: SchedState, worker: number, now: number): Effects<OutcomeCode> {
  begin(s, now);
  const w = liveWorker(s, worker);
  if (w !== undefined) w.status = 'draining';
  return effects(w === undefined ? Outcome.UnknownWorker : Outcome.Ok);
}

/** Leave (or be evicted, or declared dead): running tasks return to the queue at once. */
export function leave(s: SchedState, worker: number, now: number): Effects<OutcomeCode> {
  begin(s, now);
  const w = liveWorker(s, worker);
  if (w === undefined) return effects(Outcome.UnknownWorker);
  w.status = 'gone';
  // Ids of running tasks owned by w, in id order (deterministic).
  const owned = leasedTasks(s.leases).filter((t) => t.owner === worker);
  owned.sort((a, b) => a.id - b.id);
  for (const t of owned) endAttempt(s, t, 'evicted', `worker ${worker} left`);
  w.running = 0;
  for (const set of s.warmSets.values()) {
    const i = set.indexOf(worker);
    if (i >= 0) set.splice(i, 1);
  }
  return effects(Outcome.Ok);
}


/** Check that `worker` holds attempt `attempt` of task `id` right now. */
function holds(s: SchedState, worker: number, id: number, attempt: number): OutcomeCode {
  const t = s.tasks.get(id);
  if (t === undefined) return Outcome.UnknownTask;
  if (t.state === 'running' && t.owner === worker && t.attempts === attempt) return Outcome.Ok;
  // It held that attempt once (the attempt log says so), and lost it since.
  const held = attemptWorker(t, attempt);
  if (held >= 0 && held === worker) return Outcome.LeaseLost;
  return Outcome.NotOwner;
}

/** Complete or fail tasks held by `worker`; one outcome code per item. */
export function finish(s: SchedState, worker: number, items: readonly Completion[], now: number): Effects<OutcomeCode[]> {
  begin(s, now);
  const codes: OutcomeCode[] = [];
  const w = s.workers.get(worker);
  for (const it of items) {
    const found = s.tasks.get(it.id);
    const code = found !== undefined && found.state === 'running' && found.owner === worker && found.attempts === it.attempt ? Outcome.Ok : holds(s, worker, it.id, it.attempt);
    codes.push(code);
    if (code !== Outcome.Ok) continue;
    const t = found!;
    if (it.ok) {
      leaseRemove(s, t);
      if (w !== undefined && w.running > 0) w.running--;
      countLoad(s, t.kind, -1);
      endCurrent(s, t, 'done');
      t.result = it.result;
      settle(s, t, 'done');
    } else {
      flushLoad(s);
      endAttempt(s, t, 'failed', it.error ?? 'failed', it.final);
    }
  }
  flushLoad(s);
  return effects(codes);
}

/** Extend the leases of tasks `worker` holds. */
export function renew(s: SchedState, worker: number, items: readonly { id: number; attempt: number }[], leaseMs: number, now: number): Effects<OutcomeCode[]> {
  begin(s, now);
  const codes: OutcomeCode[] = [];
  for (const it of items) {
    const code = holds(s, worker, it.id, it.attempt);
    codes.push(code);
    if (code !== Outcome.Ok) continue;
    const t = s.tasks.get(it.id)!;
    t.leaseUntil = s.clock + leaseMs;
    leaseSet(s.leases, t, t.leaseUntil);
  }
  return effects(codes);
}

/** Cancel queued or running tasks (a running one's worker loses its lease). */
export function cancel(s: SchedState, ids: readonly number[], now: number): Effects<OutcomeCode[]> {
  begin(s, now);
  const codes: OutcomeCode[] = [];
  for (const id of ids) {
    const t = s.tasks.get(id);
    if (t === undefined) {
      codes.push(Outcome.UnknownTask);
      continue;
    }
    if (t.state !== 'queued' && t.state !== 'running') {
      codes.push(Outcome.AlreadySettled);
      continue;
    }
    // A queued task is in a ready queue unless it is backed off (releaseDelayed already ran).
    if (t.state === 'running' || t.notBefore <= s.clock) addLoad(s, t.kind, -1);
    if (t.state === 'running') {
      leaseRemove(s, t);
      const w = s.workers.get(t.owner);
      if (w !== undefined && w.running > 0) w.running--;
      endCurrent(s, t, 'cancelled');
    }
    t.error = 'cancelled';
    settle(s, t, 'cancelled');
    codes.push(Outcome.Ok);
  }
  return effects(codes);
}

/** Advance the clock only (expires leases, releases backed-off tasks, fails waiting tasks past their deadline). */
export function tick(s: SchedState, now: number): Effects<null> {
  begin(s, now);
  return effects(null);
}

/**
 * The submitter has taken its outbox up to `upto` (an absolute index): drop
 * those entries, and (unless `retain`) the settled task records themselves.
 */
export function release(s: SchedState, submitter: number, upto: number, retain: boolean, now: number): Effects<null> {
  begin(s, now);
  const box = s.outbox.get(submitter);
  if (box === undefined) return effects(null);
  const base = s.outboxBase.get(submitter)!;
  const n = Math.max(0, Math.min(upto - base, box.length));
  if (!retain) for (let i = 0; i < n; i++) s.tasks.delete(box[i]!);
  box.splice(0, n);
  s.outboxBase.set(submitter, base + n);
  return effects(null);
}

