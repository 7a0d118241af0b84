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
 *
 * Modules: the records (records.ts), the steps every op shares (transitions.ts),
 * the claim op (claim.ts), the other ops (ops.ts), the reads (reads.ts). This
 * file holds the state's shape and re-exports the rest, so `import * as st
 * from './state.js'` sees the whole state machine.
 */
import { IdTable } from './idtable.js';
import { createLeaseRun, type LeaseRun } from './leases.js';
import type { ReadyQueue } from './ready.js';
import type { Policy, TaskRecord, Worker } from './records.js';

export type { TaskState, WorkerStatus, Policy, Attempt, Task, AttemptEnd, TaskRecord, Worker, ClaimedTask, ClaimedRecord, Claimed, TaskSpec, Completion } from './records.js';
export { claimedTasks, newTaskRecord } from './records.js';
export type { Effects } from './transitions.js';
export { claim } from './claim.js';
export { submit, join, setCapacity, drain, leave, finish, renew, cancel, tick, release } from './ops.js';

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

export { attemptLog, settledSince, settledTasksSince, summary, taskInfo, workerRoom, workerInfo, nextDue, digest, type Settled, type SchedSummary } from './reads.js';
