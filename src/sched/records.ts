/**
 * The scheduler's records as every replica holds them: tasks (with their
 * attempt log kept without an object per attempt for the common case),
 * workers, what a claim returns, and what a submit or finish carries.
 */
import { FailCode, type FailCodeValue } from './errors.js';
import type { SchedState } from './state.js';

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
export function attemptWorker(t: TaskRecord, k: number): number {
  if (k > t.attempts) return -1;
  return k === 1 ? t.firstWorker : (t.later?.[k - 2]?.worker ?? -1);
}

/** Attempt `t.attempts` (just counted) starts under `worker`. */
export function startAttempt(s: SchedState, t: TaskRecord, worker: number): void {
  if (t.attempts === 1) {
    t.firstWorker = worker;
    t.firstFrom = s.ops;
    t.firstTo = -1;
    t.firstEnd = 'running';
  } else (t.later ??= []).push({ attempt: t.attempts, worker, from: s.ops, to: -1, end: 'running' });
}

/** The current (last) attempt of `t` ends now, as `end`. */
export function endCurrent(s: SchedState, t: TaskRecord, end: AttemptEnd): void {
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
export const NOTHING_CLAIMED: Claimed = Object.freeze({ tasks: Object.freeze([]) as readonly ClaimedRecord[], attempts: Object.freeze([]) as readonly number[], leaseUntil: 0 });

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

/** One item of a finish op: a task's attempt completed or failed. */
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
export function isTaskRecord(spec: TaskSpec): spec is TaskRecord {
  return (spec as Partial<TaskRecord>).state !== undefined;
}

