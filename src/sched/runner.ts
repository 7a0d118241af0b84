/**
 * A runner: the part of a worker thread that executes tasks.
 *
 * It joins the replicated state as a worker (capacity, the kinds it has
 * handlers for), then loops: claim up to its free slots (decided at apply
 * time, so no two runners ever get the same task), run each task's handler
 * (sync or async), and complete or fail the tasks in batches. The
 * completions and the next claim are issued in the same tick, so flat
 * combining puts them in one log entry. An idle runner sleeps on the WORK
 * doorbell (bounded sleeps of `idleMs`, which also tick the clock so that
 * other workers' overdue leases expire). Leases of running tasks are renewed
 * every `leaseMs / 3`; a synchronous handler that runs longer than its lease
 * loses it (its completion is then refused with LeaseLost).
 */
import { packValue, unpackValue, type Packed } from './codecs.js';
import { ringWork, schedNow, sleepForWork, WORK } from './bells.js';
import { BadArgumentError, NegativeCapacityError, Outcome, UnknownKindError } from './errors.js';
import type { Scheduler } from './scheduler.js';
import type { ClaimedTask, Completion } from './state.js';

export interface TaskContext {
  id: number;
  attempt: number;
  kind: string;
}
export type Handler = (payload: never, ctx: TaskContext) => unknown;

export interface RunnerOptions {
  /** Task slots (tasks run at once). Default 1. */
  capacity?: number;
  /** Lease per claim, renewed every leaseMs/3 while a task runs. Default 2000 ms. */
  leaseMs?: number;
  /** Most tasks one claim takes. Default 64. */
  maxClaim?: number;
  /** Longest idle sleep before claiming again anyway. Default 50 ms. */
  idleMs?: number;
}

export interface RunnerStats {
  claimed: number;
  completed: number;
  failed: number;
  /** Completions refused because the lease was lost (expired, evicted or cancelled). */
  leaseLost: number;
  claims: number;
  sleeps: number;
}

/** Schedulers that have a runner: the runner's wake word is its scheduler's replica slot. */
const runnerOf = new WeakSet<Scheduler>();

export class Runner {
  /** This runner's worker id in the replicated state. */
  readonly workerId: number;
  /** Resolves when the runner stopped (drained and left, or stopped). */
  readonly finished: Promise<void>;
  readonly stats: RunnerStats = { claimed: 0, completed: 0, failed: 0, leaseLost: 0, claims: 0, sleeps: 0 };
  /** Called after each successful completion op, with the task ids this runner completed (tests, audits). */
  onCompleted: ((ids: readonly number[]) => void) | null = null;
  /** Called with each task as its handler starts (benchmarks measure submit-to-start). */
  onStart: ((task: ClaimedTask) => void) | null = null;

  private readonly sched: Scheduler;
  private readonly handlers: ReadonlyMap<string, Handler>;
  private readonly leaseMs: number;
  private readonly maxClaim: number;
  private readonly idleMs: number;
  private readonly running = new Map<number, number>(); // id -> attempt
  private results: Completion[] = [];
  private kick: (() => void) | null = null;
  private kicked: Promise<void>;
  private stopping = false;
  private renewTimer: NodeJS.Timeout | null = null;

  constructor(sched: Scheduler, handlers: Readonly<Record<string, Handler>>, options: RunnerOptions = {}) {
    const capacity = options.capacity ?? 1;
    if (!Number.isInteger(capacity) || capacity < 0) throw new NegativeCapacityError(capacity);
    const kinds = Object.keys(handlers);
    for (const k of kinds) {
      if (!sched.handle.kinds.includes(k)) throw new UnknownKindError(k);
      if (typeof handlers[k] !== 'function') throw new BadArgumentError(`handler for ${k} is not a function`);
    }
    if (runnerOf.has(sched)) throw new BadArgumentError('this Scheduler already has a runner (one per thread view)');
    runnerOf.add(sched);
    this.sched = sched;
    this.handlers = new Map(Object.entries(handlers));
    this.leaseMs = options.leaseMs ?? 2000;
    this.maxClaim = options.maxClaim ?? 64;
    this.idleMs = options.idleMs ?? 50;
    const eff = sched.replica.writes.join(capacity, kinds, schedNow());
    this.workerId = eff.value;
    sched.effects(eff);
    this.kicked = this.newKick();
    this.finished = this.loop();
    this.finished.catch(() => {});
  }

  private newKick(): Promise<void> {
    return new Promise<void>((res) => (this.kick = res));
  }
  private wake(): void {
    const k = this.kick;
    if (k !== null) {
      this.kick = null;
      this.kicked = this.newKick();
      k();
    }
  }

  /** Stop claiming, let running tasks finish, then leave. */
  stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    return this.finished;
  }

  private async loop(): Promise<void> {
    const r = this.sched.replica;
    const bells = this.sched.bells;
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(1, this.leaseMs / 3));
    try {
      for (;;) {
        if (this.sched.isClosed) return;
        const seen = Atomics.load(bells, WORK);
        // Capacity if active; -1 draining; -2 gone (evicted) or unknown.
        const cap = r.reads.workerRoom(this.workerId);
        if (cap === -2) return;
        const draining = this.stopping || cap === -1;
        const capacity = Math.max(0, cap);
        // Completions and the next claim in one tick: one combined log entry. The finished
        // tasks' slots count as free (flushResults drops them from `running` synchronously).
        const finishing = this.flushResults();
        const free = capacity - this.running.size;
        const claiming = !draining && free > 0 ? r.writeAsync('claim', this.workerId, Math.min(free, this.maxClaim), this.leaseMs, schedNow()) : null;
        await finishing;
        let got = 0;
        if (claiming !== null) {
          this.stats.claims++;
          const eff = await claiming;
          this.sched.effects(eff);
          got = eff.value.length;
          for (const t of eff.value) this.start(t);
        }
        if (this.results.length > 0) continue;
        if (draining && this.running.size === 0) break;
        const room = !draining && capacity - this.running.size > 0;
        // A full claim: there may be more queued, for this runner and for a sleeping one.
        if (got > 0 && got === Math.min(free, this.maxClaim)) {
          ringWork(bells);
          if (room) continue;
        }
        // Busy a moment ago: yield one event-loop turn first; new work that came meanwhile
        // needs no notify (the costly part of a wake-up).
        if (room && got > 0) {
          await new Promise<void>((res) => setImmediate(res));
          if (Atomics.load(bells, WORK) !== seen || this.results.length > 0) continue;
        }
        // Sleep until work appears (if there is room), a task of ours finishes, or idleMs passes.
        this.stats.sleeps++;
        if (room) await sleepForWork(bells, this.sched.submitter, seen, this.idleMs, this.kicked);
        else await Promise.race([this.kicked, new Promise<void>((res) => setTimeout(res, this.idleMs))]);
      }
      if (!this.sched.isClosed) this.sched.effects(await r.writeAsync('leave', this.workerId, schedNow()));
    } finally {
      if (this.renewTimer) clearInterval(this.renewTimer);
      runnerOf.delete(this.sched);
    }
  }

  private start(t: ClaimedTask): void {
    this.stats.claimed++;
    this.running.set(t.id, t.attempt);
    this.onStart?.(t);
    const handler = this.handlers.get(t.kind)!;
    let out: unknown;
    try {
      const payload = unpackValue(t.payload);
      out = handler(payload as never, { id: t.id, attempt: t.attempt, kind: t.kind });
    } catch (e) {
      this.done(t, false, e);
      return;
    }
    if (out instanceof Promise) out.then((v) => this.done(t, true, v), (e: unknown) => this.done(t, false, e));
    else this.done(t, true, out);
  }

  private done(t: ClaimedTask, ok: boolean, value: unknown): void {
    if (ok) {
      let bytes: Packed;
      try {
        bytes = packValue(value);
      } catch (e) {
        this.results.push({ id: t.id, attempt: t.attempt, ok: false, error: `result cannot be cloned: ${(e as Error).message}` });
        this.wake();
        return;
      }
      this.results.push({ id: t.id, attempt: t.attempt, ok: true, result: bytes });
    } else {
      this.results.push({ id: t.id, attempt: t.attempt, ok: false, error: value instanceof Error ? value.message : String(value) });
    }
    this.wake();
  }

  private async flushResults(): Promise<void> {
    if (this.results.length === 0) return;
    const items = this.results;
    this.results = [];
    for (const it of items) this.running.delete(it.id);
    const eff = await this.sched.replica.writeAsync('finish', this.workerId, items, schedNow());
    const completed: number[] = [];
    eff.value.forEach((code, i) => {
      if (code !== Outcome.Ok) this.stats.leaseLost++;
      else if (items[i]!.ok) {
        this.stats.completed++;
        completed.push(items[i]!.id);
      } else this.stats.failed++;
    });
    // Observers first, then the doorbells: a submitter that wakes sees them done.
    if (completed.length > 0) this.onCompleted?.(completed);
    this.sched.effects(eff);
  }

  private renewLeases(): void {
    if (this.running.size === 0 || this.sched.isClosed) return;
    const items = [...this.running].map(([id, attempt]) => ({ id, attempt }));
    this.sched.replica.writeAsync('renew', this.workerId, items, this.leaseMs, schedNow()).then(
      (eff) => {
        this.sched.effects(eff);
        eff.value.forEach((code, i) => {
          // Lost (expired, cancelled, evicted): stop counting it; its handler's result will be refused.
          if (code !== Outcome.Ok) this.running.delete(items[i]!.id);
        });
      },
      () => {},
    );
  }
}
