/**
 * A runner: the part of a worker thread that executes tasks.
 *
 * It joins the replicated state as a worker (capacity, the kinds it has
 * handlers for), then loops: claim up to its free slots (decided at apply
 * time, so no two runners ever get the same task), run each task's handler
 * (sync or async), and complete or fail the tasks in batches. The
 * completions and the next claim are issued in the same tick, so flat
 * combining puts them in one log entry. An idle runner sleeps on the WORK
 * doorbell (bounded sleeps of `idleMs`; it ticks the replicated clock when
 * something is due, so other workers' overdue leases expire). Leases of
 * running tasks are renewed every `leaseMs / 3`; a synchronous handler that
 * runs longer than its lease loses it (its completion is then refused).
 *
 * In-flight bookkeeping is per attempt (task id and attempt number): a
 * stale attempt that returns after its task was re-claimed, here or
 * elsewhere, never touches the live attempt's lease. A slot stays taken
 * until its handler returns, even after its lease was lost (the handler's
 * AbortSignal is aborted then). A handler's result or thrown value of any
 * size or shape ends as a typed outcome of that attempt: the runner never
 * dies of its task (one attempt, its context and its outcome: in-flight.ts).
 */
import { RENEW_ITEM_BYTES, unpackValue } from './codecs.js';
import { ringWork, schedNow, sleepForWork, WORK } from './bells.js';
import { BadArgumentError, Outcome, ReplicaFailedError, SchedError, SchedulerClosedError } from './errors.js';
import type { RunnerHost } from './host.js';
import { completionOf, finishBatchEnd, InFlight, type Handler } from './in-flight.js';
import type { ClaimedRecord, ClaimedTask, Completion } from './state.js';
import { capacity as checkCapacity, handlerKinds, I32_MAX, integerIn, options as checkOptions, timeoutMs } from './validate.js';

export type { Handler, TaskContext } from './in-flight.js';

export interface RunnerOptions {
  /** Task slots (handlers running at once). Default 1. */
  capacity?: number;
  /** Lease per claim in ms (an integer >= 1), renewed every leaseMs/3 while a task runs. Default 2000. */
  leaseMs?: number;
  /** Most tasks one claim takes (an integer >= 1). Default 64. */
  maxClaim?: number;
  /** Longest idle sleep in ms (an integer >= 1) before claiming again anyway. Default 50. */
  idleMs?: number;
}
const RUNNER_OPTIONS = ['capacity', 'leaseMs', 'maxClaim', 'idleMs'] as const;

export interface RunnerStats {
  claimed: number;
  completed: number;
  failed: number;
  /** Completions refused, or not sent, because the lease was lost (expired, evicted or cancelled). */
  leaseLost: number;
  claims: number;
  sleeps: number;
  /** Loop turns whose op failed (the replica fenced or recovering); the runner retried after idleMs. */
  errors: number;
}

/** Views that have a runner: the runner's wake word is its view's wake slot. */
const runnerOf = new WeakSet<RunnerHost>();

export class Runner {
  /** This runner's worker id in the replicated state. */
  readonly workerId: number;
  /** Resolves when the runner stopped (drained and left, evicted, or its view closed). */
  readonly finished: Promise<void>;
  readonly stats: RunnerStats = { claimed: 0, completed: 0, failed: 0, leaseLost: 0, claims: 0, sleeps: 0, errors: 0 };
  /** Called after each successful completion op, with the task ids this runner completed (tests, audits). */
  onCompleted: ((ids: readonly number[]) => void) | null = null;
  /** Called with each task as its handler starts (benchmarks measure submit-to-start). */
  onStart: ((task: ClaimedTask) => void) | null = null;
  /** The last error a loop turn met (see stats.errors). */
  lastError: unknown = null;

  private readonly sched: RunnerHost;
  private readonly handlers: ReadonlyMap<string, Handler>;
  private readonly leaseMs: number;
  private readonly maxClaim: number;
  private readonly idleMs: number;
  /** The attempt of each task id this runner holds a lease on (at most one per id). */
  private readonly leased = new Map<number, InFlight>();
  /** Handlers running now, leased or not: what capacity counts. */
  private active = 0;
  private results: Completion[] = [];
  /** What a sleeping loop turn awaits besides its doorbell: made when a turn sleeps, resolved by `wake()`. */
  private kick: (() => void) | null = null;
  private kickPromise: Promise<void> | null = null;
  private stopping = false;
  /** A bounded stop's time ran out: leave with handlers still running. */
  private abandoned = false;
  private abandonTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  /** The worker's room as last known: over a client, the node's answer of the previous turn. */
  private room: number;

  /** `sched`: a `Scheduler` (this thread's replica) or a `SchedClient` (connectScheduler: through a node). */
  constructor(sched: RunnerHost, handlers: Readonly<Record<string, Handler>>, options: RunnerOptions = {}) {
    const o = checkOptions(options, RUNNER_OPTIONS, 'Runner');
    const capacity = checkCapacity(o.capacity ?? 1);
    this.leaseMs = integerIn(o.leaseMs ?? 2000, 1, I32_MAX, 'leaseMs');
    this.maxClaim = integerIn(o.maxClaim ?? 64, 1, I32_MAX, 'maxClaim');
    this.idleMs = integerIn(o.idleMs ?? 50, 1, I32_MAX, 'idleMs');
    const kinds = handlerKinds(sched.handle.kinds, handlers);
    if (sched.isClosed) throw new SchedulerClosedError();
    if (runnerOf.has(sched)) throw new BadArgumentError('this Scheduler already has a runner (one per thread view)');
    runnerOf.add(sched);
    this.sched = sched;
    this.handlers = new Map(Object.entries(handlers));
    let eff;
    try {
      eff = sched.ops.writes.join(capacity, kinds, schedNow());
    } catch (e) {
      runnerOf.delete(sched);
      throw e instanceof SchedError ? e : new ReplicaFailedError(e);
    }
    this.workerId = eff.value;
    this.room = capacity;
    sched.effects(eff);
    this.finished = this.loop();
    this.finished.catch(() => {});
  }

  /**
   * Made only when a loop turn goes to sleep: a handler that returns while
   * the loop is busy (every sync handler, most async ones under load) then
   * costs no promise. The loop checks `results` before it sleeps, so a wake
   * with nobody asleep is never lost.
   */
  private get kicked(): Promise<void> {
    return (this.kickPromise ??= new Promise<void>((res) => (this.kick = res)));
  }
  private wake(): void {
    const k = this.kick;
    if (k !== null) {
      this.kick = null;
      this.kickPromise = null;
      k();
    }
  }

  /**
   * Stop claiming, let running handlers finish, then leave. With
   * `timeoutMs`, handlers still running after it are abandoned: their
   * signals abort, the runner leaves, and the leave requeues their tasks
   * (a handler that never settles cannot hold a stop for ever).
   */
  stop(options?: { timeoutMs?: number }): Promise<void> {
    const o = checkOptions(options, ['timeoutMs'], 'stop');
    const ms = o.timeoutMs === undefined ? undefined : timeoutMs(o.timeoutMs);
    this.stopping = true;
    if (ms !== undefined && this.abandonTimer === null) {
      this.abandonTimer = setTimeout(() => {
        this.abandoned = true;
        this.wake();
      }, ms);
    }
    this.wake();
    return this.finished;
  }

  private async loop(): Promise<void> {
    const host = this.sched;
    const ops = host.ops;
    const bells = host.bells;
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(1, Math.floor(this.leaseMs / 3)));
    try {
      for (;;) {
        if (this.sched.isClosed) return;
        const seen = Atomics.load(bells, WORK);
        let got = 0;
        let free = 0;
        let draining = this.stopping;
        let capacity = 0;
        try {
          // Capacity if active; -1 draining; -2 gone (evicted) or unknown. A replica reads it now; a
          // client's answer comes with this turn's ops, so its claim is sized by the last answer (the
          // apply caps a claim at the worker's free capacity, and claims nothing unless it is active).
          const roomNow = host.roomOf(this.workerId);
          if (typeof roomNow === 'number') this.room = roomNow;
          if (this.room === -2) return;
          draining ||= this.room === -1;
          capacity = Math.max(0, this.room);
          // Completions and the next claim in one tick: one combined log entry. Slots are
          // taken by handlers still running (a finished handler's slot is already free).
          const finishing = this.flushResults();
          free = capacity - this.active;
          const claiming = !draining && free > 0 ? ops.writeAsync('claim', this.workerId, Math.min(free, this.maxClaim), this.leaseMs, schedNow(), host.claimBytes) : null;
          if (claiming === null && finishing === null) host.maybeTick();
          // All awaited together: a failure of one never leaves another's rejection unhandled.
          const [answered, , eff] = await Promise.all([typeof roomNow === 'number' ? null : roomNow, finishing, claiming]);
          // Closed while the claim was in flight (detach commits queued writes): no result could be
          // sent, so no handler starts; the leases expire and the tasks run elsewhere.
          if (host.isClosed) return;
          if (answered !== null) {
            this.room = answered;
            draining ||= answered === -1;
          }
          if (eff !== null) {
            this.stats.claims++;
            host.effects(eff);
            const { tasks, attempts, leaseUntil } = eff.value;
            got = tasks.length;
            for (let i = 0; i < got; i++) this.start(tasks[i]!, attempts[i]!, leaseUntil);
          }
        } catch (e) {
          // The op failed (fenced, recovering): unsent results are lost with it (their leases
          // expire and the tasks run again); retry after a bounded pause. A view that can never
          // send again (its replica left, its node is gone) ends the runner with the error.
          if (host.isClosed) return;
          this.lastError = e;
          if (host.failedForGood(e)) return;
          this.stats.errors++;
          await new Promise<void>((res) => setTimeout(res, this.idleMs));
          continue;
        }
        if (this.room === -2) return;
        if (this.results.length > 0) continue;
        if (draining && (this.active === 0 || this.abandoned)) break;
        const room = !draining && capacity - this.active > 0;
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
        // Sleep until work appears (if there is room), a handler of ours returns, or idleMs passes.
        this.stats.sleeps++;
        if (room) await sleepForWork(bells, host.wakeSlot, seen, this.idleMs, this.kicked);
        else await Promise.race([this.kicked, new Promise<void>((res) => setTimeout(res, this.idleMs))]);
        // Each sleep hangs reactions on the kick promise; an idle runner that is never woken would pile
        // them up on one pending promise for as long as it idles. Awake now: the next sleep makes a new one.
        this.kick = null;
        this.kickPromise = null;
      }
      if (!host.isClosed) host.effects(await ops.writeAsync('leave', this.workerId, schedNow()));
    } finally {
      if (this.renewTimer) clearInterval(this.renewTimer);
      if (this.abandonTimer) clearTimeout(this.abandonTimer);
      // Evicted, closed or left: no lease of ours survives.
      for (const f of this.leased.values()) f.lose();
      this.leased.clear();
      runnerOf.delete(this.sched);
    }
  }

  /** Start attempt `attempt` of task `t` (its id, kind and payload never change). */
  private start(t: ClaimedRecord, attempt: number, leaseUntil: number): void {
    this.stats.claimed++;
    const f = new InFlight(t.id, attempt, t.kind, this.workerId);
    // An older attempt of this task still listed here lost its lease (the state re-issued the task).
    this.leased.get(t.id)?.lose();
    this.leased.set(t.id, f);
    this.active++;
    try {
      this.onStart?.({ id: t.id, attempt, kind: t.kind, payload: t.payload, leaseUntil });
    } catch {
      // An observer's failure is not the task's.
    }
    const handler = this.handlers.get(t.kind)!;
    let out: unknown;
    try {
      out = handler(unpackValue(t.payload) as never, f);
    } catch (e) {
      this.done(f, false, e);
      return;
    }
    // A promise, or any thenable (a promise of another realm, a library's): awaited, as `await` would.
    let then: unknown;
    try {
      then = out instanceof Promise ? Promise.prototype.then : out !== null && (typeof out === 'object' || typeof out === 'function') ? (out as { then?: unknown }).then : undefined;
    } catch (e) {
      this.done(f, false, e); // a `then` getter that throws
      return;
    }
    if (typeof then !== 'function') {
      this.done(f, true, out);
      return;
    }
    const settled = out instanceof Promise ? out : Promise.resolve(out as PromiseLike<unknown>);
    Promise.prototype.then.call(settled, (v: unknown) => this.done(f, true, v), (e: unknown) => this.done(f, false, e));
  }

  /** A handler returned (`ok`) or threw: its slot frees; its outcome goes out with the next flush while the lease is held. */
  private done(f: InFlight, ok: boolean, value: unknown): void {
    this.active--;
    if (!f.leased) {
      // Known lost (renewal refused, cancelled, evicted): the finish would be refused.
      this.stats.leaseLost++;
      this.wake();
      return;
    }
    this.results.push(completionOf(f, ok, value, this.sched.maxPayloadBytes));
    this.wake();
  }

  /** Send the gathered outcomes (cut into ops that fit a log entry); null if there are none. */
  private flushResults(): Promise<void> | null {
    if (this.results.length === 0) return null;
    const items = this.results;
    this.results = [];
    for (const it of items) {
      // The attempt ends here either way; a newer attempt of the same task keeps its entry.
      if (this.leased.get(it.id)?.attempt === it.attempt) this.leased.delete(it.id);
    }
    const sends: Promise<void>[] = [];
    let from = 0;
    while (from < items.length) {
      const to = finishBatchEnd(items, from, this.sched.maxPayloadBytes, this.sched.opBudget);
      sends.push(this.sendResults(items.slice(from, to)));
      from = to;
    }
    return sends.length === 1 ? sends[0]! : Promise.all(sends).then(() => {});
  }

  private async sendResults(items: Completion[]): Promise<void> {
    const eff = await this.sched.ops.writeAsync('finish', this.workerId, items, schedNow());
    const completed: number[] = [];
    eff.value.forEach((code, i) => {
      if (code !== Outcome.Ok) this.stats.leaseLost++;
      else if (items[i]!.ok) {
        this.stats.completed++;
        completed.push(items[i]!.id);
      } else this.stats.failed++;
    });
    // Observers first, then the doorbells: a submitter that wakes sees them done.
    try {
      if (completed.length > 0) this.onCompleted?.(completed);
    } catch {
      // An observer's failure is not the runner's.
    }
    this.sched.effects(eff);
  }

  private renewLeases(): void {
    if (this.leased.size === 0 || this.sched.isClosed) return;
    const all = [...this.leased.values()];
    const per = Math.max(1, Math.floor((this.sched.opBudget - 32) / RENEW_ITEM_BYTES));
    for (let i = 0; i < all.length; i += per) {
      const items = all.slice(i, i + per);
      this.sched.ops.writeAsync('renew', this.workerId, items, this.leaseMs, schedNow()).then(
        (eff) => {
          this.sched.effects(eff);
          eff.value.forEach((code, j) => {
            // Lost (expired, cancelled, evicted): that attempt only; its handler's slot stays taken until it returns.
            if (code === Outcome.Ok) return;
            const f = items[j]!;
            if (this.leased.get(f.id) === f) this.leased.delete(f.id);
            f.lose();
          });
        },
        () => {},
      );
    }
  }
}
