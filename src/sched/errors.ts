/**
 * Typed errors of the scheduler, each with a stable `code`. Call-site errors
 * (bad kind, uncloneable payload, bad capacity or argument) are thrown before
 * anything is written to the log. Apply-time outcomes (not the owner, lease
 * lost, unknown task or worker) are returned by the replicated ops as codes
 * and turned into these errors by the caller's runtime, so an apply never
 * throws after mutating state.
 */
import { ReplicationError } from '../nr/index.js';
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
  | 'SCHED_CLOSED';

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
/** submit: the payload cannot be structured-cloned (v8.serialize failed); nothing was written. */
export class UncloneablePayloadError extends SchedError {
  constructor(cause: unknown) {
    super('SCHED_UNCLONEABLE_PAYLOAD', `task payload cannot be cloned: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
/** join / setCapacity: capacity must be a non-negative integer. */
export class NegativeCapacityError extends SchedError {
  constructor(capacity: unknown) {
    super('SCHED_NEGATIVE_CAPACITY', `capacity must be a non-negative integer, got ${String(capacity)}`);
  }
}
/** Any other malformed argument (priority, attempts, batch size, ids). */
export class BadArgumentError extends SchedError {
  constructor(message: string) {
    super('SCHED_BAD_ARGUMENT', message);
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
export class DeadlineExceededError extends SchedError {
  constructor(task: number) {
    super('SCHED_DEADLINE', `task ${task} passed its deadline before it started`);
  }
}
export class SchedulerClosedError extends SchedError {
  constructor() {
    super('SCHED_CLOSED', 'the scheduler was closed');
  }
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
