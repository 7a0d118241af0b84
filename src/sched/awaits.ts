/**
 * A submitter's awaited results: who waits for which task id, and what each
 * settled task's await resolves or rejects with.
 *
 * Every await may be bounded (`timeoutMs`): when it gives up it rejects with
 * AwaitTimeoutError and the task goes on. Its id stays tracked, so
 * `awaitTask(id)` can wait for it again; an outcome that arrives while
 * nobody listens is kept for that later await (until the view closes).
 */
import { unpackValue } from './codecs.js';
import {
  AwaitTimeoutError,
  DeadlineExceededError,
  FailCode,
  PayloadTooLargeError,
  TaskCancelledError,
  TaskFailedError,
  UncloneablePayloadError,
  type SchedError,
} from './errors.js';
import { IdTable } from './idtable.js';
import type { Settled } from './state.js';

/** One await of one task. */
export interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** False once it timed out (or was answered). */
  live: boolean;
  timer: NodeJS.Timeout | null;
}

/** The waiters of one task: the submit's own, and any later `awaitTask(id)`. */
export interface Awaited extends Waiter {
  others: Waiter[] | null;
}

/** Arms `w`'s timeout: after `ms` it rejects with AwaitTimeoutError for task `id()` (read when it fires). */
export function armTimeout(w: Waiter, ms: number | undefined, id: () => number): void {
  if (ms === undefined) return;
  w.timer = setTimeout(() => {
    w.timer = null;
    if (!w.live) return;
    w.live = false;
    w.reject(new AwaitTimeoutError(id(), ms));
  }, ms);
}

function answer(w: Waiter, ok: boolean, v: unknown): void {
  if (!w.live) return;
  w.live = false;
  if (w.timer !== null) clearTimeout(w.timer);
  w.timer = null;
  if (ok) w.resolve(v);
  else w.reject(v);
}

/** What the await of a settled task gets: [true, value] or [false, typed error]. */
export function outcomeOf(it: Settled): [boolean, unknown] {
  if (it.state === 'done') {
    try {
      return [true, unpackValue(it.result)];
    } catch (e) {
      return [false, new UncloneablePayloadError(e, `the result of task ${it.id}`)];
    }
  }
  if (it.state === 'cancelled') return [false, new TaskCancelledError(it.id)];
  const reason = it.error ?? 'failed';
  switch (it.failCode) {
    case FailCode.Deadline:
      return [false, new DeadlineExceededError(it.id, it.attempts)];
    case FailCode.Uncloneable:
      return [false, new UncloneablePayloadError(reason, `the result of task ${it.id}`)];
    case FailCode.TooLarge:
      return [false, new PayloadTooLargeError(-1, -1, '', `task ${it.id} failed: its ${reason}`)];
    default:
      return [false, new TaskFailedError(it.id, it.attempts, reason)];
  }
}

export class Awaits {
  private readonly waiting = new IdTable<Awaited>();
  /** Settled before their submit's result reached this thread (another thread ran them first). */
  private readonly early = new Map<number, Settled>();
  /** Settled while every await of theirs had timed out: kept for a later awaitTask(id). */
  private readonly unclaimed = new Map<number, Settled>();

  constructor(
    /** Ids below this belong to earlier threads in this replica slot. */
    private readonly firstOwnId: number,
  ) {}

  /** Tasks whose outcome this thread still expects (timed-out awaits included). */
  get size(): number {
    return this.waiting.size;
  }

  /** The submit op of `a` applied: its task has id `id`. */
  add(id: number, a: Awaited): void {
    this.waiting.set(id, a);
    const done = this.early.get(id);
    if (done !== undefined) {
      this.early.delete(id);
      this.settle(done);
    }
  }

  /** An outcome from this submitter's outbox. */
  settle(it: Settled): void {
    const a = this.waiting.get(it.id);
    if (a === undefined) {
      // Settled before its submit's result arrived here; earlier threads' tasks are dropped.
      if (it.id >= this.firstOwnId) this.early.set(it.id, it);
      return;
    }
    this.waiting.delete(it.id);
    const listening = a.live || (a.others?.some((w) => w.live) ?? false);
    if (!listening) {
      this.unclaimed.set(it.id, it);
      return;
    }
    if (a.others === null && it.state === 'done') {
      // The common case, without the outcome tuple.
      let v: unknown;
      try {
        v = unpackValue(it.result);
      } catch (e) {
        answer(a, false, new UncloneablePayloadError(e, `the result of task ${it.id}`));
        return;
      }
      answer(a, true, v);
      return;
    }
    const [ok, v] = outcomeOf(it);
    answer(a, ok, v);
    if (a.others !== null) for (const w of a.others) answer(w, ok, v);
  }

  /**
   * Another await of own task `id`: true if it was attached (pending, or
   * answered from a kept outcome), false if this thread does not track `id`.
   */
  attach(id: number, w: Waiter): boolean {
    const kept = this.unclaimed.get(id);
    if (kept !== undefined) {
      this.unclaimed.delete(id);
      const [ok, v] = outcomeOf(kept);
      answer(w, ok, v);
      return true;
    }
    const a = this.waiting.get(id);
    if (a === undefined) return false;
    (a.others ??= []).push(w);
    return true;
  }

  /** Reject every await with `e` and forget everything (the view closes). */
  closeAll(e: SchedError): void {
    for (const a of [...this.waiting.values()]) {
      answer(a, false, e);
      if (a.others !== null) for (const w of a.others) answer(w, false, e);
    }
    this.waiting.clear();
    this.early.clear();
    this.unclaimed.clear();
  }
}
