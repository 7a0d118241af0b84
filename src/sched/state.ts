/**
 * The scheduler's replicated state and its deterministic transitions.
 *
 * Every function here is an apply: it reads no clock (time is the op's `now`
 * argument, and the state keeps `clock = max(clock, now)` so time never runs
 * backwards), uses no randomness, and iterates only over arrays and
 * insertion-ordered Maps that every replica built by the same ops. It never
 * throws after mutating: per-task problems are returned as outcome codes.
 *
 * Each op first advances the clock, which (deterministically) expires leases
 * older than the clock (the task returns to its queue, or fails on its last
 * attempt), releases backed-off tasks whose not-before time has come, and
 * fails waiting tasks whose deadline has passed. A `tick` op does only that.
 */
import { FailCode, Outcome, type FailCodeValue, type OutcomeCode } from './errors.js';
import { IdTable } from './idtable.js';
import { CLAIM_RESULT_BYTES, CLAIMED_TASK_BYTES, packedBytes, type Packed } from './sizes.js';
import { deadlineAdd as addDeadline, deadlineRemove as removeDeadline } from './deadlines.js';
import { createLeaseRun, leaseEnd, leaseFirst, leasedTasks, leaseSet, type LeaseRun } from './leases.js';
import { createReadyQueue, readyHead, readyPop, readyPush, type ReadyQueue } from './ready.js';

export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type WorkerStatus = 'active' | 'draining' | 'gone';
export type Policy = 'fifo' | 'mws';

/** One attempt of a task: who held it, between which applied ops, how it ended. */
export interface Attempt {
  attempt: number;
  worker: number;
  /** State op counter when claimed, and when it ended (-1 while live). */
  from: number;
  to: number;
  end: 'running' | 'done' | 'failed' | 'expired' | 'evicted' | 'cancelled';
}

/** A task as callers see it (`Scheduler.task()`, `reads.taskInfo`): its replicated record with its attempt log. */
export interface Task {
  id: number;
  kind: string;
  payload: unknown;
  priority: number;
  /** Absolute time after which the task may no longer start (-1: none). */
  deadline: number;
  maxAttempts: number;
  backoffMs: number;
  state: TaskState;
  owner: number;
  leaseUntil: number;
  attempts: number;
  notBefore: number;
  submitter: number;
  submittedAt: number;
  result: unknown;
  error: string | null;
  /** Of a failed task: how it failed (which error its await gets). */
  failCode: FailCodeValue;
  /** Attempt log, for auditing exactly-once and single ownership. */
  log: Attempt[];
  /** Stamp of its entry in the lease run while running (leases.ts), else 0. */
  leaseStamp: number;
  /** Index in the deadline heap while it waits (queued or backed off) with a deadline, else -1. */
  deadlinePos: number;
}

/** How an attempt ended (or 'running'). */
export type AttemptEnd = Attempt['end'];

/**
 * A task's replicated record, in every replica. Its attempt log is kept
 * without an object per attempt for the common case: attempt 1 sits in the
 * record's own `first*` fields (most tasks run once), later attempts in
 * `later` (null until a second claim). So a claim allocates nothing per
 * task in the replicas that did not issue it. `reads.ts's `attemptLog` gives the log.
 */
export interface TaskRecord extends Omit<Task, 'log'> {
  /** Attempt 1: its worker (-1 before the first claim), the op counter when claimed and when it ended (-1 while live), how it ended. */
  firstWorker: number;
  firstFrom: number;
  firstTo: number;
  firstEnd: AttemptEnd;
  /** Attempts 2, 3, …; null while there were fewer than two. */
  later: Attempt[] | null;
}

/** The worker that held attempt `k` of `t`, or -1 if `t` had no attempt `k`. */
function attemptWorker(t: TaskRecord, k: number): number {
  if (k > t.attempts) return -1;
  return k === 1 ? t.firstWorker : (t.later?.[k - 2]?.worker ?? -1);
}

/** Attempt `t.attempts` (just counted) starts under `worker`. */
function startAttempt(s: SchedState, t: TaskRecord, worker: number): void {
  if (t.attempts === 1) {
    t.firstWorker = worker;
    t.firstFrom = s.ops;
    t.firstTo = -1;
    t.firstEnd = 'running';
  } else (t.later ??= []).push({ attempt: t.attempts, worker, from: s.ops, to: -1, end: 'running' });
}

/** The current (last) attempt of `t` ends now, as `end`. */
function endCurrent(s: SchedState, t: TaskRecord, end: AttemptEnd): void {
  if (t.attempts === 1) {
    t.firstEnd = end;
    t.firstTo = s.ops;
  } else {
    const a = t.later![t.attempts - 2]!;
    a.end = end;
    a.to = s.ops;
  }
}

export interface Worker {
  id: number;
  capacity: number;
  /** Kinds this worker has handlers for. */
  kinds: string[];
  /** Kinds this worker has run (warm for), in first-run order. */
  warm: string[];
  status: WorkerStatus;
  running: number;
}

/** A task as handed to a claiming worker: the attempt number is its lease token. */
export interface ClaimedTask {
  id: number;
  attempt: number;
  kind: string;
  payload: unknown;
  leaseUntil: number;
}

/** What starting a claimed task needs: a replica's answer holds its task records, a client's these fields alone (answers.ts). */
export type ClaimedRecord = Pick<TaskRecord, 'id' | 'kind' | 'payload'>;

/**
 * What a claim op returns: the claimed task records (their id, kind and
 * payload never change), each one's attempt (its lease token), and the
 * lease end they share. Every replica applies every claim but only the
 * claiming one reads this, so it costs two appends per task, not a record;
 * `claimedTasks` makes the records for a caller that keeps them.
 */
export interface Claimed {
  readonly tasks: readonly ClaimedRecord[];
  readonly attempts: readonly number[];
  readonly leaseUntil: number;
}
const NOTHING_CLAIMED: Claimed = Object.freeze({ tasks: Object.freeze([]) as readonly ClaimedRecord[], attempts: Object.freeze([]) as readonly number[], leaseUntil: 0 });

/** A claim's tasks as records of their own (payloads still packed). */
export function claimedTasks(c: Claimed): ClaimedTask[] {
  return c.tasks.map((t, i) => ({ id: t.id, attempt: c.attempts[i]!, kind: t.kind, payload: t.payload, leaseUntil: c.leaseUntil }));
}

export interface TaskSpec {
  kind: string;
  payload: unknown;
  priority?: number;
  deadline?: number;
  maxAttempts?: number;
  backoffMs?: number;
}

/** What an op did beyond its value: submitters whose tasks settled, and whether queued work appeared. */
export interface Effects<T> {
  value: T;
  /** Submitter ids with newly settled tasks (ring their completion doorbells). */
  wake: readonly number[];
  /** Tasks became claimable (ring the work doorbell). */
  work: boolean;
}


export interface SchedState {
  policy: Policy;
  /** Cold workers may take a kind whose warm set has room once its oldest queued task waited this long (MWS). */
  spillAfterMs: number;
  clock: number;
  /** Applied ops, the logical time of attempt intervals. */
  ops: number;
  nextTaskId: number;
  nextWorkerId: number;
  tasks: IdTable<TaskRecord>;
  workers: Map<number, Worker>;
  /** Ready queues per kind, by (priority desc, id asc). Stale entries are skipped. */
  ready: Map<string, ReadyQueue<TaskRecord>>;
  /** Backed-off tasks by (notBefore, id) ascending. */
  delayed: TaskRecord[];
  /** Running tasks' leases by (leaseUntil, id) (leases.ts: a lease ends in O(1)). */
  leases: LeaseRun<TaskRecord>;
  /** Waiting (queued or backed-off) tasks with a deadline: a min-heap by (deadline, id), index in `deadlinePos`. */
  deadlines: TaskRecord[];
  /** Per submitter: ids settled since `outboxBase[s]`, in settle order. */
  outbox: Map<number, number[]>;
  outboxBase: Map<number, number>;
  /** Workers that have run each kind (its warm set), in first-run order. */
  warmSets: Map<string, number[]>;
  /** Per kind: tasks ready to run plus tasks running (the kind's demand, for MWS). */
  load: Map<string, number>;
  coldStarts: number;
  coldStartsByKind: Map<string, number>;
  counts: { submitted: number; done: number; failed: number; cancelled: number; expired: number; retried: number };
}

export interface StateOptions {
  policy?: Policy;
  spillAfterMs?: number;
}

export const DEFAULT_SPILL_AFTER_MS = 50;

export function createState(options: StateOptions = {}): SchedState {
  return {
    policy: options.policy ?? 'mws',
    spillAfterMs: options.spillAfterMs ?? DEFAULT_SPILL_AFTER_MS,
    clock: 0,
    ops: 0,
    nextTaskId: 1,
    nextWorkerId: 1,
    tasks: new IdTable(),
    workers: new Map(),
    ready: new Map(),
    delayed: [],
    leases: createLeaseRun(),
    deadlines: [],
    outbox: new Map(),
    outboxBase: new Map(),
    warmSets: new Map(),
    load: new Map(),
    coldStarts: 0,
    coldStartsByKind: new Map(),
    counts: { submitted: 0, done: 0, failed: 0, cancelled: 0, expired: 0, retried: 0 },
  };
}

const NONE: readonly number[] = Object.freeze([]);

/** Per-op scratch for effects; reset by `begin`. Module-level is safe: applies never interleave. */
const wake: number[] = [];
let work = false;
/** The outbox `settle` appended to last in this op, and its submitter: most ops settle tasks of one submitter. */
let boxOwner = -1;
let box: number[] | null = null;

function begin(s: SchedState, now: number): void {
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

function effects<T>(value: T): Effects<T> {
  return { value, wake: wake.length === 0 ? NONE : wake.slice(), work };
}

// ---------------------------------------------------------------------------
// Leases (leases.ts), deadlines (deadlines.ts), ready queues (ready.ts), per-kind load

/** Drop a task's lease (it stopped running); idempotent. */
const leaseRemove = (s: SchedState, t: TaskRecord): void => leaseEnd(s.leases, t);
/** A task with a deadline starts waiting (submitted, requeued or backed off). */
const deadlineAdd = (s: SchedState, t: TaskRecord): void => addDeadline(s.deadlines, t);
const deadlineRemove = (s: SchedState, t: TaskRecord): void => removeDeadline(s.deadlines, t);

function addLoad(s: SchedState, kind: string, d: number): void {
  s.load.set(kind, (s.load.get(kind) ?? 0) + d);
}

function readyQueueOf(s: SchedState, kind: string): ReadyQueue<TaskRecord> {
  let q = s.ready.get(kind);
  if (q === undefined) s.ready.set(kind, (q = createReadyQueue()));
  return q;
}

/** Queue `t` in `q` (its kind's queue); the caller counts its load. */
function pushReady(q: ReadyQueue<TaskRecord>, t: TaskRecord): void {
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
function countLoad(s: SchedState, kind: string, d: number): void {
  if (kind !== loadKind) {
    flushLoad(s);
    loadKind = kind;
  }
  loadDelta += d;
}
function flushLoad(s: SchedState): void {
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

function failDeadline(s: SchedState, t: TaskRecord): void {
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

function settle(s: SchedState, t: TaskRecord, state: 'done' | 'failed' | 'cancelled'): void {
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
function endAttempt(s: SchedState, t: TaskRecord, end: 'failed' | 'expired' | 'evicted', reason: string, final?: FailCodeValue): void {
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

// ---------------------------------------------------------------------------
// Ops

/**
 * A queued task's record before its submit applies (id, submitter and submission time are set
 * then). The submit decoder builds these directly, so a replica that decodes a submit allocates
 * one object per task, not a spec and then a record.
 */
export function newTaskRecord(kind: string, payload: unknown, priority: number, deadline: number, maxAttempts: number, backoffMs: number): TaskRecord {
  return {
    id: 0,
    kind,
    payload,
    priority,
    deadline,
    maxAttempts,
    backoffMs,
    state: 'queued',
    owner: -1,
    leaseUntil: 0,
    attempts: 0,
    notBefore: 0,
    submitter: -1,
    submittedAt: 0,
    result: undefined,
    error: null,
    failCode: FailCode.Attempts,
    leaseStamp: 0,
    deadlinePos: -1,
    firstWorker: -1,
    firstFrom: -1,
    firstTo: -1,
    firstEnd: 'running',
    later: null,
  };
}

/** A spec the decoder made as a fresh record (a caller's spec has no state). */
function isTaskRecord(spec: TaskSpec): spec is TaskRecord {
  return (spec as Partial<TaskRecord>).state !== undefined;
}

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
  work = true;
  return effects(id);
}

export function setCapacity(s: SchedState, worker: number, capacity: number, now: number): Effects<OutcomeCode> {
  begin(s, now);
  const w = s.workers.get(worker);
  if (w === undefined || w.status === 'gone') return effects(Outcome.UnknownWorker);
  // Shrinking below `running` takes effect as tasks finish: nothing is preempted.
  if (capacity > w.capacity) work = true;
  w.capacity = capacity;
  return effects(Outcome.Ok);
}

/** The eviction warning: finish running tasks, claim nothing new. */
export function drain(s: SchedState, worker: number, now: number): Effects<OutcomeCode> {
  begin(s, now);
  const w = s.workers.get(worker);
  if (w === undefined || w.status === 'gone') return effects(Outcome.UnknownWorker);
  w.status = 'draining';
  return effects(Outcome.Ok);
}

/** Leave (or be evicted, or declared dead): running tasks return to the queue at once. */
export function leave(s: SchedState, worker: number, now: number): Effects<OutcomeCode> {
  begin(s, now);
  const w = s.workers.get(worker);
  if (w === undefined || w.status === 'gone') return effects(Outcome.UnknownWorker);
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

/**
 * MWS: may worker `w`, cold for `kind`, start a task of it whose head is
 * `head`? Only when the kind's warm set is saturated: its demand (ready plus
 * running tasks) exceeds the capacity of its active warm workers. A task that
 * waited `spillAfterMs` may go anywhere (a hung or busy warm set cannot starve it).
 */
function coldAllowed(s: SchedState, w: Worker, kind: string, head: TaskRecord): boolean {
  if (s.policy === 'fifo') return true;
  if (s.clock - head.submittedAt >= s.spillAfterMs) return true;
  const set = s.warmSets.get(kind);
  if (set === undefined) return true;
  let room = 0;
  for (const id of set) {
    const o = s.workers.get(id)!;
    if (o.status === 'active') room += o.capacity;
  }
  return (s.load.get(kind) ?? 0) > room;
}

/**
 * Claim up to `n` tasks for `worker`, decided here, at apply time: the best
 * (priority, then submission order) among the kinds it handles and the
 * policy allows. Capped by the worker's free capacity; nothing while draining.
 */
/** Claim's per-op scratch (applies never interleave): the worker's kinds' ready queues and whether it is warm for each. */
const claimQueues: (ReadyQueue<TaskRecord> | undefined)[] = [];
const claimWarm: boolean[] = [];

/**
 * `maxBytes` bounds the claim's answer as answers.ts writes it (a client
 * runner's answer must fit its request slot): tasks are taken while their
 * encoded size fits, the first one always (a payload is at most
 * maxPayloadBytes, which a client's slot holds). A task that fails its
 * deadline here still counts (conservative, and the same in every replica).
 * Infinity: no bound.
 */
export function claim(s: SchedState, worker: number, n: number, leaseMs: number, now: number, maxBytes = Infinity): Effects<Claimed> {
  begin(s, now);
  const w = s.workers.get(worker);
  if (w === undefined || w.status !== 'active') return effects(NOTHING_CLAIMED);
  let tasks: TaskRecord[] | null = null;
  let attempts: number[] | null = null;
  let room = Math.min(n, w.capacity - w.running);
  if (room <= 0) return effects(NOTHING_CLAIMED);
  let bytes = CLAIM_RESULT_BYTES;
  // The worker's kinds' queues and warmth, looked up once per op, not per task (a claim creates
  // no queue; warmth changes only below).
  const kinds = w.kinds;
  claimQueues.length = 0;
  claimWarm.length = 0;
  for (const kind of kinds) {
    claimQueues.push(s.ready.get(kind));
    claimWarm.push(w.warm.includes(kind));
  }
  while (room > 0) {
    let best: TaskRecord | undefined;
    let bestAt = -1;
    for (let k = 0; k < kinds.length; k++) {
      const q = claimQueues[k];
      if (q === undefined) continue;
      const head = readyHead(q, s.clock);
      if (head === undefined) continue;
      if (best !== undefined && !(head.priority > best.priority || (head.priority === best.priority && head.id < best.id))) continue;
      if (!claimWarm[k] && !coldAllowed(s, w, kinds[k]!, head)) continue;
      best = head;
      bestAt = k;
    }
    if (best === undefined) break;
    if (maxBytes !== Infinity) {
      const b = CLAIMED_TASK_BYTES + packedBytes(best.payload as Packed, maxBytes);
      if (tasks !== null && bytes + b > maxBytes) break;
      bytes += b;
    }
    readyPop(claimQueues[bestAt]!);
    // (begin() already failed every waiting task past its deadline; this guards the invariant.)
    if (best.deadline >= 0 && s.clock > best.deadline) {
      addLoad(s, best.kind, -1);
      failDeadline(s, best);
      continue;
    }
    deadlineRemove(s, best);
    if (!claimWarm[bestAt]) {
      for (let k = 0; k < kinds.length; k++) if (kinds[k] === best.kind) claimWarm[k] = true; // a kind listed twice is one kind
      w.warm.push(best.kind);
      let set = s.warmSets.get(best.kind);
      if (set === undefined) s.warmSets.set(best.kind, (set = []));
      set.push(w.id);
      s.coldStarts++;
      s.coldStartsByKind.set(best.kind, (s.coldStartsByKind.get(best.kind) ?? 0) + 1);
    }
    best.state = 'running';
    best.owner = worker;
    best.attempts++;
    best.leaseUntil = s.clock + leaseMs;
    startAttempt(s, best, worker);
    leaseSet(s.leases, best, best.leaseUntil);
    w.running++;
    room--;
    if (tasks === null) {
      tasks = [];
      attempts = [];
    }
    tasks.push(best);
    attempts!.push(best.attempts);
  }
  claimQueues.length = 0; // no reference to this state's queues outlives the op
  return effects(tasks === null ? NOTHING_CLAIMED : { tasks, attempts: attempts!, leaseUntil: s.clock + leaseMs });
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

export interface Completion {
  id: number;
  attempt: number;
  /** Success (`result`) or a handler failure (`error`). */
  ok: boolean;
  result?: unknown;
  error?: string;
  /** A failure that retrying cannot fix (the result cannot be cloned, or is too large): the task fails at once with this code. */
  final?: FailCodeValue;
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

export { attemptLog, settledSince, settledTasksSince, summary, taskInfo, workerRoom, workerInfo, nextDue, digest, type Settled, type SchedSummary } from './reads.js';
