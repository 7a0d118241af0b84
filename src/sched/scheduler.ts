/**
 * The scheduler's per-thread view.
 *
 * `openScheduler(handle)` in each thread (the main thread too) attaches a
 * replica: through it the
 * thread submits tasks and awaits their results, manages workers, and may
 * start a runner (runner.ts) that executes tasks.
 *
 * Payloads and results travel packed (codecs.ts): a payload is packed once
 * at submit (an uncloneable or oversized one throws there, before anything
 * is written) and unpacked once by the runner that runs it. Every argument
 * is checked against what its codec carries (validate.ts), so no replica
 * applies a value another decoded differently.
 *
 * Here: submit and await (a submit's checks and cutting in submits.ts). The
 * view's other ops and reads (worker management, a worker driven by hand,
 * the state's records) are in view-ops.ts.
 */
import { attach, type Replica } from '../nr/index.js';
import type { SchedulerHandle } from './handle.js';
import { armTimeout, Awaits, outcomeOf, type Waiter } from './awaits.js';
import { doneIndex, ringDone, ringWork, schedNow, sleepOn } from './bells.js';
import { BadArgumentError, ReplicaFailedError, SchedulerClosedError, toSchedError, UnknownTaskError, type SchedError } from './errors.js';
import type { ClaimedTask, Effects, SchedSummary, Settled, Task, Worker } from './state.js';
import { schedStructure, type SchedStructure } from './structure.js';
import type { RunnerHost, SchedOps } from './host.js';
import { batchEnd, queuedTask, rejectAll, taskIdOf, type AwaitOptions, type QueuedTask, type SubmitOptions } from './submits.js';
import { integerIn, I32_MAX, options as checkOptions, taskId, timeoutMs } from './validate.js';
import * as viewOps from './view-ops.js';

export type { AwaitOptions, SubmitOptions } from './submits.js';

export interface OpenOptions {
  /** Keep settled task records in the state (audits, tests) instead of releasing them. Default false. */
  retain?: boolean;
  /** Longest single sleep while waiting for results (the wait re-checks, and ticks the clock when due, after it). Default 50 ms. */
  idleMs?: number;
}

/** Settled tasks between release ops. */
const RELEASE_EVERY = 256;

/** A thread's view of the scheduler, over its own replica. */
export class Scheduler implements RunnerHost {
  readonly handle: SchedulerHandle;
  readonly replica: Replica<ReturnType<SchedStructure['create']>, SchedStructure['reads'], SchedStructure['writes']>;
  /** This thread's submitter id (its replica slot). */
  readonly submitter: number;
  /** @internal */ readonly bells: Int32Array;
  /** Largest packed payload or result (the handle's). */
  readonly maxPayloadBytes: number;
  /** @internal Most bytes one op of this scheduler is cut to (well under a log entry). */
  readonly opBudget: number;
  private readonly kinds: ReadonlySet<string>;
  private readonly retain: boolean;
  private readonly idleMs: number;
  private readonly awaits: Awaits;
  private queued: QueuedTask[] = [];
  private flushScheduled = false;
  private cursor: number;
  /** Outbox index up to which settled records were released. */
  private released = 0;
  private waiterRunning = false;
  private ticking = false;
  private closed = false;

  constructor(handle: SchedulerHandle, options: OpenOptions = {}) {
    if (handle?.kind !== 'nr-sched') throw new BadArgumentError('not a scheduler handle');
    const o = checkOptions(options, ['retain', 'idleMs'], 'openScheduler');
    if (o.retain !== undefined && typeof o.retain !== 'boolean') throw new BadArgumentError('retain must be a boolean');
    this.idleMs = o.idleMs === undefined ? 50 : integerIn(o.idleMs, 1, I32_MAX, 'idleMs');
    this.handle = handle;
    this.replica = attach(handle.nr, schedStructure(handle.kinds, { policy: handle.policy, spillAfterMs: handle.spillAfterMs }));
    this.submitter = this.replica.id;
    this.bells = new Int32Array(handle.bells);
    this.kinds = new Set(handle.kinds);
    this.retain = o.retain ?? false;
    this.maxPayloadBytes = handle.maxPayloadBytes;
    this.opBudget = 2 * this.maxPayloadBytes + Math.min(4096, this.maxPayloadBytes);
    // A previous thread in this slot may have left settled tasks behind: skip them.
    this.cursor = this.replica.reads.settledSince(this.submitter, 0).next;
    this.awaits = new Awaits(this.replica.reads.summary().nextTaskId);
  }

  /** @internal The runner's view of this replica (host.ts). */
  get ops(): SchedOps {
    return this.replica;
  }
  /** @internal A runner over this view sleeps on its replica slot's wake word. */
  get wakeSlot(): number {
    return this.submitter;
  }
  /** @internal A replica reads its claim's result object: no bound. */
  readonly claimBytes = Infinity;
  /** @internal */
  failedForGood(): boolean {
    return this.replica.isDetached;
  }
  /** @internal */
  roomOf(worker: number): number {
    return this.replica.reads.workerRoom(worker);
  }

  /** The clock every op of this thread carries. */
  now(): number {
    return schedNow();
  }

  /**
   * Submit a task; resolves with its handler's result, rejects with a typed
   * error (TaskFailedError, TaskCancelledError, DeadlineExceededError,
   * UncloneablePayloadError or PayloadTooLargeError for a bad result,
   * AwaitTimeoutError, SchedulerClosedError, ReplicaFailedError). Bad input
   * throws here (a SchedError), nothing written. Tasks submitted in one tick
   * share one log entry.
   */
  submit<T = unknown>(kind: string, payload: unknown, options?: SubmitOptions): Promise<T> {
    const q = this.validate(kind, payload, options);
    return this.enqueue<T>(q);
  }

  /** Submit several tasks at once (validated together: one bad task throws, nothing written). */
  submitMany<T = unknown>(tasks: readonly { kind: string; payload: unknown; options?: SubmitOptions }[]): Promise<T>[] {
    if (!Array.isArray(tasks)) throw new BadArgumentError('submitMany takes an array');
    const qs = tasks.map((t, i) => {
      if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new BadArgumentError(`submitMany entry ${i} must be a { kind, payload, options? } object`);
      return this.validate(t.kind, t.payload, t.options);
    });
    return qs.map((q) => this.enqueue<T>(q));
  }

  private enqueue<T>(q: QueuedTask): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
      q.resolve = resolve as (v: unknown) => void;
      q.reject = reject;
    });
    if (q.timeoutMs !== undefined) armTimeout(q, q.timeoutMs, taskIdOf(q));
    this.queued.push(q);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushSubmits);
    }
    return p;
  }

  private validate(kind: string, payload: unknown, options: SubmitOptions | undefined): QueuedTask {
    if (this.closed) throw new SchedulerClosedError();
    return queuedTask(this.kinds, this.maxPayloadBytes, kind, payload, options);
  }

  private readonly flushSubmits = (): void => {
    this.flushScheduled = false;
    const queued = this.queued;
    this.queued = [];
    // Cut into ops that each fit one log entry (every payload is at most maxPayloadBytes).
    let from = 0;
    while (from < queued.length) {
      const to = batchEnd(queued, from, this.opBudget);
      this.submitBatch(queued.slice(from, to));
      from = to;
    }
  };

  private submitBatch(batch: QueuedTask[]): void {
    const specs = batch.map((b) => b.spec);
    let sent: Promise<Effects<number>>;
    try {
      sent = this.replica.writeAsync('submit', this.submitter, specs, schedNow());
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(
      (eff) => {
        // Closed while the op was in flight (detach commits queued writes): it was applied, but no
        // result will reach this view: its awaits end now, like every other await of the view.
        if (this.closed) {
          this.effects(eff); // the runners still learn of the new tasks
          rejectAll(batch, new SchedulerClosedError());
          return;
        }
        for (let i = 0; i < batch.length; i++) {
          const q = batch[i]!;
          q.id = eff.value + i;
          this.awaits.add(q.id, q);
        }
        // Every task of the batch is awaited before any callback runs: one that closes the view
        // (or throws) then ends all of them alike.
        for (const q of batch) {
          try {
            q.onId?.(q.id);
          } catch (thrown) {
            // The caller's bug, not the task's failure: reported as node reports a throwing callback (an uncaught exception).
            queueMicrotask(() => {
              throw thrown;
            });
          }
        }
        this.effects(eff);
        this.startWaiter();
      },
      (e: unknown) => rejectAll(batch, this.closed ? new SchedulerClosedError() : toSchedError(e)),
    );
  }

  /**
   * Await task `id` (submitted through this view) again, e.g. after an
   * await timed out; bounded by `timeoutMs` if given. A task whose record
   * the state still holds settled is answered from it (any submitter's);
   * UnknownTaskError if neither.
   */
  awaitTask<T = unknown>(id: number, options?: AwaitOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) throw new SchedulerClosedError();
      const o = checkOptions(options, ['timeoutMs'], 'awaitTask');
      taskId(id);
      if (o.timeoutMs !== undefined) timeoutMs(o.timeoutMs);
      const w: Waiter = { resolve: resolve as (v: unknown) => void, reject, live: true, timer: null };
      if (this.awaits.attach(id, w)) {
        if (w.live) armTimeout(w, o.timeoutMs, () => id);
        this.startWaiter();
        return;
      }
      const t = this.replica.reads.task(id);
      if (t === undefined) throw new UnknownTaskError(id);
      if (t.state === 'done' || t.state === 'failed' || t.state === 'cancelled') {
        const [ok, v] = outcomeOf(t as Settled);
        if (ok) resolve(v as T);
        else reject(v);
        return;
      }
      throw new BadArgumentError(`task ${id} was submitted by another thread (submitter ${t.submitter}): await it there`);
    });
  }

  /**
   * @internal Ring the doorbells an applied op asks for. Never throws: it
   * runs in the continuations of applied ops, also after close() or while
   * the replica cannot answer a read; this view's own results are then
   * collected by its waiter's next turn (or never, once closed).
   */
  effects(eff: Effects<unknown>): void {
    if (eff.work) ringWork(this.bells);
    for (const s of eff.wake) {
      if (s !== this.submitter) ringDone(this.bells, s);
      else if (!this.closed) {
        try {
          this.collect();
        } catch {
          // The waiter collects after its sleep (it runs while anything is awaited).
        }
      }
    }
  }

  /**
   * @internal Tick the replicated clock if something is due (a lease to
   * expire, a backed-off task to release, a deadline to fire): called by
   * every thread that waits, so time moves while tasks wait even when no
   * one issues ops. One tick in flight per view.
   */
  maybeTick(): void {
    if (this.ticking || this.closed) return;
    if (this.replica.reads.nextDue() > schedNow()) return;
    this.ticking = true;
    this.replica.writeAsync('tick', schedNow()).then(
      (e) => {
        this.ticking = false;
        this.effects(e);
      },
      () => (this.ticking = false),
    );
  }

  /** Resolve every settled task of this submitter the replica can see now. */
  private collect(): number {
    const { next, items } = this.replica.reads.settledTasksSince(this.submitter, this.cursor);
    if (items.length === 0) return 0;
    this.cursor = next;
    for (const it of items) this.awaits.settle(it);
    // Release settled records in batches (one op per RELEASE_EVERY tasks, or when nothing is awaited).
    if (next - this.released >= RELEASE_EVERY || this.awaits.size === 0) {
      this.released = next;
      void this.replica.writeAsync('release', this.submitter, next, this.retain, schedNow()).then((e) => this.effects(e), () => {});
    }
    return items.length;
  }

  /** While results are awaited: sleep on this submitter's doorbell, collect on each ring, tick when something is due. */
  private startWaiter(): void {
    if (this.waiterRunning || this.awaits.size === 0) return;
    this.waiterRunning = true;
    void (async () => {
      try {
        const idx = doneIndex(this.submitter);
        while (this.awaits.size > 0 && !this.closed) {
          const seen = Atomics.load(this.bells, idx);
          try {
            if (this.collect() > 0) continue;
            this.maybeTick();
          } catch (e) {
            // The replica cannot answer now (fenced, recovering): try again after the sleep. If it
            // left the log for good, no result can arrive: every await ends with its error.
            if (this.replica.isDetached) {
              this.awaits.closeAll(new ReplicaFailedError(e));
              return;
            }
          }
          await sleepOn(this.bells, idx, idx + 1, seen, this.idleMs);
        }
      } finally {
        this.waiterRunning = false;
      }
    })();
  }

  // ----- worker management (any thread; view-ops.ts) -----

  /** Shrink or grow a worker's slots (shrinking never preempts running tasks). */
  setCapacity(worker: number, capacity: number): Promise<void> {
    return viewOps.setCapacity(this, worker, capacity);
  }

  /** The eviction warning: the worker finishes its running tasks and claims nothing new. */
  drain(worker: number): Promise<void> {
    return viewOps.drain(this, worker);
  }

  /** Remove a worker now (evicted, or its thread died): its running tasks return to the queue. */
  evict(worker: number): Promise<void> {
    return viewOps.evict(this, worker);
  }

  /** Cancel tasks by id; a running one's worker loses its lease. Returns per-id errors (null: cancelled). */
  cancel(ids: readonly number[]): Promise<(SchedError | null)[]> {
    return viewOps.cancel(this, ids);
  }

  /** Advance the replicated clock: expires overdue leases, releases backed-off tasks, fires deadlines. */
  tick(): Promise<void> {
    return viewOps.tick(this);
  }

  // ----- a worker driven by hand (the Runner does all of this for you; view-ops.ts) -----

  /** Join as a worker with `capacity` slots for `kinds`; returns its worker id. */
  join(capacity: number, kinds: readonly string[]): Promise<number> {
    return viewOps.join(this, this.kinds, capacity, kinds);
  }

  /** Claim up to `n` tasks for `worker` (payloads decoded); the attempt number is the lease token. */
  claim(worker: number, n: number, leaseMs: number): Promise<ClaimedTask[]> {
    return viewOps.claim(this, worker, n, leaseMs);
  }

  /** Complete attempt `attempt` of task `id`: NotOwnerError / LeaseLostError unless `worker` holds it now. */
  complete(worker: number, id: number, attempt: number, result: unknown): Promise<void> {
    return viewOps.complete(this, worker, id, attempt, result);
  }

  /** Fail attempt `attempt` of task `id` (retried with backoff until maxAttempts); `error` is kept as a bounded description. */
  fail(worker: number, id: number, attempt: number, error: unknown): Promise<void> {
    return viewOps.fail(this, worker, id, attempt, error);
  }

  /** Extend the lease on attempt `attempt` of task `id`. */
  renew(worker: number, id: number, attempt: number, leaseMs: number): Promise<void> {
    return viewOps.renew(this, worker, id, attempt, leaseMs);
  }

  // ----- reads (view-ops.ts): they throw what the async methods reject with: SchedulerClosedError once closed, a SchedError always -----

  summary(): SchedSummary {
    return viewOps.summary(this);
  }
  /** A copy of one task's record, payload and result decoded (undefined once released). */
  task(id: number): Task | undefined {
    return viewOps.task(this, id);
  }
  worker(id: number): Worker | undefined {
    return viewOps.worker(this, id);
  }
  /** Every task record the state still holds (all of them with `retain`). */
  tasks(): Task[] {
    return viewOps.tasks(this);
  }
  /** Results still awaited (or kept for awaitTask) by this thread. */
  get pending(): number {
    return this.awaits.size + this.queued.length;
  }

  /**
   * Leave the log. Every await of this view rejects with SchedulerClosedError,
   * submits not yet written included (they never will be); later calls throw it.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const e = new SchedulerClosedError();
    const queued = this.queued;
    this.queued = [];
    for (const q of queued) {
      if (q.timer !== null) clearTimeout(q.timer);
      if (q.live) q.reject(e);
      q.live = false;
    }
    this.awaits.closeAll(e);
    this.replica.detach();
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }
}

export function openScheduler(handle: SchedulerHandle, options?: OpenOptions): Scheduler {
  return new Scheduler(handle, options);
}
