/**
 * The scheduler's handle and its per-thread view.
 *
 * `createScheduler()` (any thread, once) allocates the NR log and the
 * doorbells and returns a structured-cloneable handle. `openScheduler()` in
 * each thread (the main thread too) attaches a replica: through it the
 * thread submits tasks and awaits their results, manages workers, and may
 * start a runner (runner.ts) that executes tasks.
 *
 * Payloads and results travel as v8-serialised bytes: a payload is
 * serialised once at submit (an uncloneable one throws there, before
 * anything is written) and deserialised once by the runner that runs it.
 */
import { attach, createHandle, type NrHandle, type Replica } from '../nr/index.js';
import { packValue, unpackValue, type Packed } from './codecs.js';
import { IdTable } from './idtable.js';
import { createBells, doneIndex, ringDone, ringWork, schedNow, sleepOn } from './bells.js';
import {
  BadArgumentError,
  DeadlineExceededError,
  NegativeCapacityError,
  outcomeError,
  SchedulerClosedError,
  TaskCancelledError,
  TaskFailedError,
  UncloneablePayloadError,
  UnknownKindError,
  UnknownWorkerError,
  type OutcomeCode,
  type SchedError,
} from './errors.js';
import type { ClaimedTask, Completion, Effects, Policy, SchedSummary, Settled, Task, TaskSpec, Worker } from './state.js';
import { DEFAULT_SPILL_AFTER_MS } from './state.js';
import { schedStructure, type SchedStructure } from './structure.js';

export interface SchedulerOptions {
  /** Every task kind handlers may be registered for; submit rejects any other. */
  kinds: readonly string[];
  /** Placement: 'mws' (Min-Worker-Set, default) or 'fifo' (by priority only). */
  policy?: Policy;
  /** MWS: a queued task older than this may start on any worker. Default 50 ms. */
  spillAfterMs?: number;
  /** Threads that will open the scheduler (replica slots held from the start). Default 2. */
  threads?: number;
  /** All replica slots, for threads that open later (at most 64). Default max(threads, 16). */
  maxThreads?: number;
  /** Log size in bytes (power of two). Default 4 MiB. */
  logBytes?: number;
  /** Writers wait this long for a lagging replica before fencing it. Default 1000 ms. */
  fenceAfterMs?: number;
}

/** Structured-cloneable: pass it to workers in `workerData`. */
export interface SchedulerHandle {
  readonly kind: 'nr-sched';
  readonly nr: NrHandle;
  readonly bells: SharedArrayBuffer;
  readonly kinds: readonly string[];
  readonly policy: Policy;
  readonly spillAfterMs: number;
}

export function createScheduler(options: SchedulerOptions): SchedulerHandle {
  if (!Array.isArray(options?.kinds) || options.kinds.some((k) => typeof k !== 'string' || k.length === 0)) {
    throw new BadArgumentError('kinds must be an array of non-empty strings');
  }
  const policy = options.policy ?? 'mws';
  if (policy !== 'mws' && policy !== 'fifo') throw new BadArgumentError(`unknown policy ${String(policy)}`);
  const spillAfterMs = options.spillAfterMs ?? DEFAULT_SPILL_AFTER_MS;
  const threads = options.threads ?? 2;
  const structure = schedStructure(options.kinds, { policy, spillAfterMs });
  const nr = createHandle(structure, {
    replicas: threads,
    maxReplicas: Math.min(64, Math.max(threads, options.maxThreads ?? 16)),
    logBytes: options.logBytes ?? 4 * 1024 * 1024,
    fenceAfterMs: options.fenceAfterMs,
  });
  return { kind: 'nr-sched', nr, bells: createBells(), kinds: [...options.kinds], policy, spillAfterMs };
}

export interface SubmitOptions {
  /** Higher runs first; ties in submission order. Default 0. */
  priority?: number;
  /** Absolute time (schedNow() scale, ms) after which the task may no longer start. */
  deadline?: number;
  /** Attempts before the task fails (handler throws or lease losses). Default 3. */
  maxAttempts?: number;
  /** Retry backoff after a handler failure: backoffMs × 2^(attempt-1). Default 10. */
  backoffMs?: number;
}

export interface OpenOptions {
  /** Keep settled task records in the state (audits, tests) instead of releasing them. Default false. */
  retain?: boolean;
  /** Longest single sleep while waiting for results (the wait re-checks after it). Default 50 ms. */
  idleMs?: number;
}

/** Most tasks, and payload bytes, one submit op carries. */
const SUBMIT_BATCH = 256;
const SUBMIT_BATCH_BYTES = 256 * 1024;
/** Settled tasks between release ops. */
const RELEASE_EVERY = 256;

interface PendingTask {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A submitted task until its submit op applied, then (the same object) its awaited result. */
interface QueuedTask extends PendingTask {
  spec: TaskSpec;
  onId: ((id: number) => void) | undefined;
}

/** A thread's view of the scheduler, over its own replica. */
export class Scheduler {
  readonly handle: SchedulerHandle;
  readonly replica: Replica<ReturnType<SchedStructure['create']>, SchedStructure['reads'], SchedStructure['writes']>;
  /** This thread's submitter id (its replica slot). */
  readonly submitter: number;
  /** @internal */ readonly bells: Int32Array;
  private readonly kinds: ReadonlySet<string>;
  private readonly retain: boolean;
  private readonly idleMs: number;
  private readonly waiting = new IdTable<PendingTask>();
  private queued: QueuedTask[] = [];
  private flushScheduled = false;
  private cursor: number;
  /** Outbox index up to which settled records were released. */
  private released = 0;
  /** Ids below this belong to earlier threads in this slot. */
  private readonly firstOwnId: number;
  /** Tasks settled before their submit's result reached this thread (another thread ran them first). */
  private readonly early = new Map<number, Settled>();
  private waiterRunning = false;
  private closed = false;

  constructor(handle: SchedulerHandle, options: OpenOptions = {}) {
    if (handle?.kind !== 'nr-sched') throw new BadArgumentError('not a scheduler handle');
    this.handle = handle;
    this.replica = attach(handle.nr, schedStructure(handle.kinds, { policy: handle.policy, spillAfterMs: handle.spillAfterMs }));
    this.submitter = this.replica.id;
    this.bells = new Int32Array(handle.bells);
    this.kinds = new Set(handle.kinds);
    this.retain = options.retain ?? false;
    this.idleMs = options.idleMs ?? 50;
    // A previous thread in this slot may have left settled tasks behind: skip them.
    this.cursor = this.replica.reads.settledSince(this.submitter, 0).next;
    this.firstOwnId = this.replica.reads.summary().nextTaskId;
  }

  /** The clock every op of this thread carries. */
  now(): number {
    return schedNow();
  }

  /**
   * Submit a task; resolves with its handler's result, rejects with a typed
   * error (TaskFailedError, TaskCancelledError, DeadlineExceededError).
   * Tasks submitted in one tick share one log entry.
   */
  submit<T = unknown>(kind: string, payload: unknown, options: SubmitOptions = {}, onId?: (id: number) => void): Promise<T> {
    const spec = this.validate(kind, payload, options);
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ spec, resolve: resolve as (v: unknown) => void, reject, onId });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(this.flushSubmits);
      }
    });
  }

  /** Submit several tasks at once (validated together: one bad task rejects the call, nothing written). */
  submitMany<T = unknown>(tasks: readonly { kind: string; payload: unknown; options?: SubmitOptions }[]): Promise<T>[] {
    const specs = tasks.map((t) => this.validate(t.kind, t.payload, t.options ?? {}));
    return specs.map(
      (spec) =>
        new Promise<T>((resolve, reject) => {
          this.queued.push({ spec, resolve: resolve as (v: unknown) => void, reject, onId: undefined });
          if (!this.flushScheduled) {
            this.flushScheduled = true;
            queueMicrotask(this.flushSubmits);
          }
        }),
    );
  }

  private validate(kind: string, payload: unknown, o: SubmitOptions): TaskSpec {
    if (this.closed) throw new SchedulerClosedError();
    if (typeof kind !== 'string' || !this.kinds.has(kind)) throw new UnknownKindError(kind);
    let packed: Packed;
    try {
      packed = packValue(payload);
    } catch (e) {
      throw new UncloneablePayloadError(e);
    }
    const spec: TaskSpec = { kind, payload: packed };
    if (o.priority !== undefined) {
      if (!Number.isFinite(o.priority)) throw new BadArgumentError('priority must be a finite number');
      spec.priority = o.priority;
    }
    if (o.deadline !== undefined) {
      if (!Number.isFinite(o.deadline) || o.deadline < 0) throw new BadArgumentError('deadline must be a non-negative time');
      spec.deadline = o.deadline;
    }
    if (o.maxAttempts !== undefined) {
      if (!Number.isInteger(o.maxAttempts) || o.maxAttempts < 1) throw new BadArgumentError('maxAttempts must be an integer >= 1');
      spec.maxAttempts = o.maxAttempts;
    }
    if (o.backoffMs !== undefined) {
      if (!Number.isFinite(o.backoffMs) || o.backoffMs < 0) throw new BadArgumentError('backoffMs must be >= 0');
      spec.backoffMs = o.backoffMs;
    }
    return spec;
  }

  private readonly flushSubmits = (): void => {
    this.flushScheduled = false;
    const queued = this.queued;
    this.queued = [];
    // Cut into log ops of bounded size (a log entry holds at most 1 MiB).
    let from = 0;
    while (from < queued.length) {
      let to = from;
      let bytes = 0;
      while (to < queued.length && to - from < SUBMIT_BATCH && (to === from || bytes < SUBMIT_BATCH_BYTES)) {
        const pl = queued[to]!.spec.payload as Packed;
        bytes += (pl instanceof Uint8Array ? pl.byteLength : typeof pl === 'string' ? 3 * pl.length : 8) + 48;
        to++;
      }
      this.submitBatch(queued.slice(from, to));
      from = to;
    }
  };

  private submitBatch(batch: QueuedTask[]): void {
    const specs = batch.map((b) => b.spec);
    this.replica.writeAsync('submit', this.submitter, specs, schedNow()).then(
      (eff) => {
        for (let i = 0; i < batch.length; i++) {
          const id = eff.value + i;
          this.waiting.set(id, batch[i]!);
          batch[i]!.onId?.(id);
          const done = this.early.get(id);
          if (done !== undefined) {
            this.early.delete(id);
            this.settle(done);
          }
        }
        this.effects(eff);
        this.startWaiter();
      },
      (e: unknown) => {
        for (const b of batch) b.reject(e);
      },
    );
  }

  /** @internal Ring the doorbells an applied op asks for. */
  effects(eff: Effects<unknown>): void {
    if (eff.work) ringWork(this.bells);
    for (const s of eff.wake) {
      if (s === this.submitter) this.collect();
      else ringDone(this.bells, s);
    }
  }

  /** Resolve every settled task of this submitter the replica can see now. */
  private collect(): number {
    const { next, items } = this.replica.reads.settledTasksSince(this.submitter, this.cursor);
    if (items.length === 0) return 0;
    this.cursor = next;
    for (const it of items) this.settle(it);
    // Release settled records in batches (one op per RELEASE_EVERY tasks, or when nothing is awaited).
    if (next - this.released >= RELEASE_EVERY || this.waiting.size === 0) {
      this.released = next;
      void this.replica.writeAsync('release', this.submitter, next, this.retain, schedNow()).then((e) => this.effects(e), () => {});
    }
    return items.length;
  }

  private settle(it: Settled): void {
    const p = this.waiting.get(it.id);
    if (p === undefined) {
      // Settled before its submit's result arrived here; earlier threads' tasks are dropped.
      if (it.id >= this.firstOwnId) this.early.set(it.id, it);
      return;
    }
    this.waiting.delete(it.id);
    if (it.state === 'done') {
      try {
        p.resolve(unpackValue(it.result));
      } catch (e) {
        p.reject(e);
      }
    } else if (it.state === 'cancelled') p.reject(new TaskCancelledError(it.id));
    else if (it.attempts === 0 && it.error === 'deadline passed before start') p.reject(new DeadlineExceededError(it.id));
    else p.reject(new TaskFailedError(it.id, it.attempts, it.error ?? 'failed'));
  }

  /** While results are awaited: sleep on this submitter's doorbell, collect on each ring. */
  private startWaiter(): void {
    if (this.waiterRunning || this.waiting.size === 0) return;
    this.waiterRunning = true;
    void (async () => {
      try {
        const idx = doneIndex(this.submitter);
        while (this.waiting.size > 0 && !this.closed) {
          const seen = Atomics.load(this.bells, idx);
          if (this.collect() > 0) continue;
          await sleepOn(this.bells, idx, idx + 1, seen, this.idleMs);
        }
      } finally {
        this.waiterRunning = false;
      }
    })();
  }

  // ----- worker management (any thread) -----

  private code(eff: Effects<OutcomeCode>, worker: number): void {
    this.effects(eff);
    const e = outcomeError(eff.value, -1, worker);
    if (e) throw e.code === 'SCHED_NOT_OWNER' ? new UnknownWorkerError(worker) : e;
  }

  /** Shrink or grow a worker's slots (shrinking never preempts running tasks). */
  async setCapacity(worker: number, capacity: number): Promise<void> {
    if (!Number.isInteger(capacity) || capacity < 0) throw new NegativeCapacityError(capacity);
    this.code(await this.replica.writeAsync('setCapacity', worker, capacity, schedNow()), worker);
  }

  /** The eviction warning: the worker finishes its running tasks and claims nothing new. */
  async drain(worker: number): Promise<void> {
    this.code(await this.replica.writeAsync('drain', worker, schedNow()), worker);
  }

  /** Remove a worker now (evicted, or its thread died): its running tasks return to the queue. */
  async evict(worker: number): Promise<void> {
    this.code(await this.replica.writeAsync('leave', worker, schedNow()), worker);
  }

  /** Cancel tasks by id; a running one's worker loses its lease. Returns per-id errors (null: cancelled). */
  async cancel(ids: readonly number[]): Promise<(SchedError | null)[]> {
    const eff = await this.replica.writeAsync('cancel', [...ids], schedNow());
    this.effects(eff);
    return eff.value.map((c, i) => outcomeError(c, ids[i]!, -1));
  }

  /** Advance the replicated clock: expires overdue leases, releases backed-off tasks. */
  async tick(): Promise<void> {
    this.effects(await this.replica.writeAsync('tick', schedNow()));
  }

  // ----- a worker driven by hand (the Runner does all of this for you) -----

  /** Join as a worker with `capacity` slots for `kinds`; returns its worker id. */
  async join(capacity: number, kinds: readonly string[]): Promise<number> {
    if (!Number.isInteger(capacity) || capacity < 0) throw new NegativeCapacityError(capacity);
    for (const k of kinds) if (!this.kinds.has(k)) throw new UnknownKindError(k);
    const eff = await this.replica.writeAsync('join', capacity, [...kinds], schedNow());
    this.effects(eff);
    return eff.value;
  }

  /** Claim up to `n` tasks for `worker` (payloads decoded); the attempt number is the lease token. */
  async claim(worker: number, n: number, leaseMs: number): Promise<ClaimedTask[]> {
    if (!Number.isInteger(n) || n < 1) throw new BadArgumentError('n must be an integer >= 1');
    if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new BadArgumentError('leaseMs must be > 0');
    const eff = await this.replica.writeAsync('claim', worker, n, leaseMs, schedNow());
    this.effects(eff);
    return eff.value.map((t) => ({ ...t, payload: unpackValue(t.payload) }));
  }

  private async finishOne(worker: number, c: Completion): Promise<void> {
    const eff = await this.replica.writeAsync('finish', worker, [c], schedNow());
    this.effects(eff);
    const e = outcomeError(eff.value[0]!, c.id, worker);
    if (e) throw e;
  }

  /** Complete attempt `attempt` of task `id`: NotOwnerError / LeaseLostError unless `worker` holds it now. */
  complete(worker: number, id: number, attempt: number, result: unknown): Promise<void> {
    let packed: Packed;
    try {
      packed = packValue(result);
    } catch (e) {
      return Promise.reject(new UncloneablePayloadError(e));
    }
    return this.finishOne(worker, { id, attempt, ok: true, result: packed });
  }

  /** Fail attempt `attempt` of task `id` (retried with backoff until maxAttempts). */
  fail(worker: number, id: number, attempt: number, error: string): Promise<void> {
    return this.finishOne(worker, { id, attempt, ok: false, error: String(error) });
  }

  /** Extend the lease on attempt `attempt` of task `id`. */
  async renew(worker: number, id: number, attempt: number, leaseMs: number): Promise<void> {
    const eff = await this.replica.writeAsync('renew', worker, [{ id, attempt }], leaseMs, schedNow());
    this.effects(eff);
    const e = outcomeError(eff.value[0]!, id, worker);
    if (e) throw e;
  }

  summary(): SchedSummary {
    return this.replica.reads.summary();
  }
  /** A copy of one task's record, payload and result decoded (undefined once released). */
  task(id: number): Task | undefined {
    const t = this.replica.reads.task(id);
    return t === undefined ? undefined : decodeTask(t);
  }
  worker(id: number): Worker | undefined {
    return this.replica.reads.worker(id);
  }
  /** Every task record the state still holds (all of them with `retain`). */
  tasks(): Task[] {
    return this.replica.reads.tasks().map(decodeTask);
  }
  /** Results still awaited by this thread. */
  get pending(): number {
    return this.waiting.size + this.queued.length;
  }

  /** Leave the log; awaited results reject with SchedulerClosedError. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.waiting.values()]) p.reject(new SchedulerClosedError());
    this.waiting.clear();
    this.replica.detach();
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }
}

function decodeTask(t: Task): Task {
  t.payload = unpackValue(t.payload);
  t.result = unpackValue(t.result);
  return t;
}

export function openScheduler(handle: SchedulerHandle, options?: OpenOptions): Scheduler {
  return new Scheduler(handle, options);
}
