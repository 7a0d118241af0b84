/**
 * Typed errors of the scheduler, each with a stable `code`. Call-site errors
 * (bad kind, uncloneable payload, bad capacity or argument) are thrown before
 * anything is written to the log. Apply-time outcomes (not the owner, lease
 * lost, unknown task or worker) are returned by the replicated ops as codes
 * and turned into these errors by the caller's runtime, so an apply never
 * throws after mutating state.
 */
import { inspect } from 'node:util';
import { DetachedError, ReplicationError } from '../nr/index.js';
export type SchedErrorCode =
  | 'SCHED_UNKNOWN_KIND'
  | 'SCHED_UNCLONEABLE_PAYLOAD'
  | 'SCHED_NEGATIVE_CAPACITY'
  | 'SCHED_BAD_ARGUMENT'
  | 'SCHED_NOT_OWNER'
  | 'SCHED_LEASE_LOST'
  | 'SCHED_UNKNOWN_TASK'
  | 'SCHED_UNKNOWN_WORKER'
  | 'SCHED_WORKER_GONE'
  | 'SCHED_TASK_FAILED'
  | 'SCHED_CANCELLED'
  | 'SCHED_DEADLINE'
  | 'SCHED_CLOSED'
  | 'SCHED_PAYLOAD_TOO_LARGE'
  | 'SCHED_AWAIT_TIMEOUT'
  | 'SCHED_REPLICA_FAILED';

/** Under the project-wide ReplicationError: a stable `code`, an optional `cause`, `name` the concrete class. */
export class SchedError extends ReplicationError<SchedErrorCode> {
  constructor(code: SchedErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** submit: no handler kind of that name was declared in the scheduler's `kinds`. */
export class UnknownKindError extends SchedError {
  constructor(kind: unknown) {
    super('SCHED_UNKNOWN_KIND', `unknown task kind ${JSON.stringify(String(kind))}`);
  }
}
/**
 * submit/complete: the payload (or result) cannot be structured-cloned (v8.serialize failed); nothing was
 * written. Also the rejection of an awaited task whose handler returned an uncloneable result (not retried).
 */
export class UncloneablePayloadError extends SchedError {
  constructor(cause: unknown, what = 'task payload') {
    super('SCHED_UNCLONEABLE_PAYLOAD', `${what} cannot be cloned: ${describeValue(cause)}`, { cause });
  }
}
/**
 * submit/complete: the packed payload (or result) is larger than the scheduler's `maxPayloadBytes`; nothing
 * was written. Also the rejection of an awaited task whose handler returned such a result (not retried).
 */
export class PayloadTooLargeError extends SchedError {
  readonly bytes: number;
  readonly limit: number;
  constructor(bytes: number, limit: number, what = 'task payload', message?: string) {
    super('SCHED_PAYLOAD_TOO_LARGE', message ?? `${what} is ${bytes} bytes packed, more than maxPayloadBytes (${limit})`);
    this.bytes = bytes;
    this.limit = limit;
  }
}
/** An await (submit's promise with `timeoutMs`, or `awaitTask`) that gave up; the task itself goes on. */
export class AwaitTimeoutError extends SchedError {
  readonly task: number;
  constructor(task: number, ms: number) {
    super('SCHED_AWAIT_TIMEOUT', `task ${task < 0 ? '(id not yet known)' : task} did not settle within ${ms} ms (it was not cancelled)`);
    this.task = task;
  }
}
/** The replica under this scheduler view failed an op (fenced, recovering, fail-stop); `cause` is the runtime's error. */
export class ReplicaFailedError extends SchedError {
  constructor(cause: unknown) {
    super('SCHED_REPLICA_FAILED', `the scheduler's replica failed the op: ${describeValue(cause)}`, { cause });
  }
}
/** join / setCapacity: capacity must be a non-negative integer. */
export class NegativeCapacityError extends SchedError {
  constructor(capacity: unknown) {
    super('SCHED_NEGATIVE_CAPACITY', `capacity must be a non-negative integer, got ${String(capacity)}`);
  }
}
/** Any other malformed argument (priority, attempts, batch size, ids, an unknown option). */
export class BadArgumentError extends SchedError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SCHED_BAD_ARGUMENT', message, options);
  }
}
/** complete/fail/renew of a task whose current attempt this worker never held. */
export class NotOwnerError extends SchedError {
  constructor(task: number, worker: number) {
    super('SCHED_NOT_OWNER', `worker ${worker} does not own task ${task}`);
  }
}
/** complete/fail/renew by a worker that held this attempt but lost its lease (expired, evicted, cancelled). */
export class LeaseLostError extends SchedError {
  constructor(task: number, worker: number) {
    super('SCHED_LEASE_LOST', `worker ${worker} lost its lease on task ${task}`);
  }
}
export class UnknownTaskError extends SchedError {
  constructor(task: number) {
    super('SCHED_UNKNOWN_TASK', `no task ${task} (never submitted, or already released)`);
  }
}
export class UnknownWorkerError extends SchedError {
  constructor(worker: number) {
    super('SCHED_UNKNOWN_WORKER', `no worker ${worker}`);
  }
}
export class WorkerGoneError extends SchedError {
  constructor(worker: number) {
    super('SCHED_WORKER_GONE', `worker ${worker} has left`);
  }
}
/** The rejection of a task that failed: its handler threw on every attempt, or its lease expired on the last one. */
export class TaskFailedError extends SchedError {
  readonly attempts: number;
  constructor(task: number, attempts: number, reason: string) {
    super('SCHED_TASK_FAILED', `task ${task} failed after ${attempts} attempt(s): ${reason}`);
    this.attempts = attempts;
  }
}
export class TaskCancelledError extends SchedError {
  constructor(task: number) {
    super('SCHED_CANCELLED', `task ${task} was cancelled`);
  }
}
/** The task's deadline passed while it waited (queued, or backed off between attempts): it never started again. */
export class DeadlineExceededError extends SchedError {
  readonly attempts: number;
  constructor(task: number, attempts = 0) {
    super('SCHED_DEADLINE', `task ${task} passed its deadline before it ${attempts === 0 ? 'started' : `could retry (after ${attempts} attempt(s))`}`);
    this.attempts = attempts;
  }
}
export class SchedulerClosedError extends SchedError {
  constructor() {
    super('SCHED_CLOSED', 'the scheduler was closed');
  }
}

/** How a failed task failed, in the replicated record (`failCode`): which error its await rejects with. */
export const FailCode = {
  /** Its handler threw or its lease was lost, on every attempt (TaskFailedError). */
  Attempts: 0,
  /** Its deadline passed before it could start (DeadlineExceededError). */
  Deadline: 1,
  /** Its handler's result cannot be cloned (UncloneablePayloadError); not retried. */
  Uncloneable: 2,
  /** Its handler's result is larger than maxPayloadBytes (PayloadTooLargeError); not retried. */
  TooLarge: 3,
} as const;
export type FailCodeValue = (typeof FailCode)[keyof typeof FailCode];

/** Longest reason (an error message, a thrown value's description) kept in the replicated state. */
export const MAX_REASON_CHARS = 2000;

/**
 * A readable, bounded, well-formed description of any value (a thrown value,
 * an error): never throws, whatever its shape (null prototype, throwing
 * getters, proxies, megabytes of message). Lone surrogates become U+FFFD, so
 * the string survives the log's UTF-8 unchanged and every replica holds the same.
 */
export function describeValue(v: unknown): string {
  let s: string;
  try {
    if (v instanceof Error) s = String(v.message);
    else if (typeof v === 'string') s = v;
    else s = inspect(v, { depth: 2, maxArrayLength: 16, maxStringLength: MAX_REASON_CHARS, breakLength: Infinity });
  } catch {
    s = 'a value that cannot be described';
  }
  if (s.length > MAX_REASON_CHARS) s = `${s.slice(0, MAX_REASON_CHARS)}… (${s.length} chars)`;
  return s.toWellFormed();
}

/** Apply-time outcome codes of per-task ops (0 = ok). */
export const Outcome = {
  Ok: 0,
  NotOwner: 1,
  LeaseLost: 2,
  UnknownTask: 3,
  UnknownWorker: 4,
  AlreadySettled: 5,
} as const;
export type OutcomeCode = (typeof Outcome)[keyof typeof Outcome];

export function outcomeError(code: OutcomeCode, task: number, worker: number): SchedError | null {
  switch (code) {
    case Outcome.Ok:
      return null;
    case Outcome.NotOwner:
      return new NotOwnerError(task, worker);
    case Outcome.LeaseLost:
      return new LeaseLostError(task, worker);
    case Outcome.UnknownTask:
      return new UnknownTaskError(task);
    case Outcome.UnknownWorker:
      return new UnknownWorkerError(worker);
    case Outcome.AlreadySettled:
      return new NotOwnerError(task, worker);
  }
}

/** A runtime error of a scheduler view's replica as a SchedError: detached means closed; the rest keep theirs as `cause`. */
export function toSchedError(e: unknown): SchedError {
  return e instanceof SchedError ? e : e instanceof DetachedError ? new SchedulerClosedError() : new ReplicaFailedError(e);
}
/** Rethrow `e` as a SchedError (`toSchedError`). */
export function asSchedError(e: unknown): never {
  throw toSchedError(e);
}
