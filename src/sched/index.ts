/**
 * node-replication/sched: a replicated task scheduler for worker threads.
 * See docs/sched.md.
 */
export { createScheduler, type SchedulerHandle, type SchedulerOptions } from './handle.js';
export { openScheduler, Scheduler, type SubmitOptions, type OpenOptions, type AwaitOptions } from './scheduler.js';
export { connectScheduler, SchedClient, type ConnectSchedulerOptions } from './client.js';
export type { RunnerHost } from './host.js';
export { Runner, type Handler, type TaskContext, type RunnerOptions, type RunnerStats } from './runner.js';
export { schedNow } from './bells.js';
export { coldStartTrace, type TraceResult } from './trace.js';
export type { Task, TaskState, Worker, WorkerStatus, Policy, Attempt, ClaimedTask, SchedSummary } from './state.js';
export {
  SchedError,
  UnknownKindError,
  UncloneablePayloadError,
  NegativeCapacityError,
  BadArgumentError,
  NotOwnerError,
  LeaseLostError,
  UnknownTaskError,
  UnknownWorkerError,
  WorkerGoneError,
  TaskFailedError,
  TaskCancelledError,
  DeadlineExceededError,
  SchedulerClosedError,
  PayloadTooLargeError,
  AwaitTimeoutError,
  ReplicaFailedError,
  type SchedErrorCode,
} from './errors.js';
