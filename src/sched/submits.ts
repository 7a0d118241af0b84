/**
 * A submit from the call to its op: the options checked and the payload
 * packed at the call (an uncloneable or oversized payload throws there,
 * before anything is written), the task queued until its tick's submit op,
 * and the queued tasks cut into ops that each fit one log entry.
 */
import type { Awaited } from './awaits.js';
import { packedBytes, packValue, SPEC_BYTES, type Packed } from './codecs.js';
import { BadArgumentError, PayloadTooLargeError, UncloneablePayloadError, UnknownKindError, type SchedError } from './errors.js';
import type { TaskSpec } from './state.js';
import { finiteAtLeast, integerIn, options as checkOptions, timeoutMs, U32_MAX } from './validate.js';

export interface AwaitOptions {
  /** Give up awaiting after this many ms: the promise rejects with AwaitTimeoutError; the task is not cancelled. */
  timeoutMs?: number;
}

export interface SubmitOptions extends AwaitOptions {
  /** Higher runs first; ties in submission order. Default 0. */
  priority?: number;
  /** Absolute time (schedNow() scale, ms): once the clock passes it, a task still waiting (queued or backed off) fails with DeadlineExceededError. */
  deadline?: number;
  /** Attempts before the task fails (handler throws or lease losses), 1 to 2^32-1. Default 3. */
  maxAttempts?: number;
  /** Retry backoff after a handler failure: backoffMs × 2^(attempt-1). Default 10. */
  backoffMs?: number;
  /**
   * Called with the task's id once its submit op applied (before it can settle), e.g. to cancel it or `awaitTask` it.
   * An exception it throws does not touch the task; it is rethrown from a microtask (an uncaught exception).
   */
  onId?: (id: number) => void;
}
const SUBMIT_OPTIONS = ['priority', 'deadline', 'maxAttempts', 'backoffMs', 'timeoutMs', 'onId'] as const;

/** Most tasks one submit op carries. */
const SUBMIT_BATCH = 256;

/** A submitted task until its submit op applied, then (the same object) its awaited result. */
export interface QueuedTask extends Awaited {
  spec: TaskSpec;
  /** Its bytes in the submit op. */
  bytes: number;
  onId: ((id: number) => void) | undefined;
  timeoutMs: number | undefined;
  id: number;
}

export const taskIdOf = (q: QueuedTask) => (): number => q.id;

/** Check one submit against the view's kinds and payload bound; throws a SchedError, nothing written. */
export function queuedTask(kinds: ReadonlySet<string>, maxPayloadBytes: number, kind: string, payload: unknown, options: SubmitOptions | undefined): QueuedTask {
  const o = checkOptions(options, SUBMIT_OPTIONS, 'submit');
  if (typeof kind !== 'string' || !kinds.has(kind)) throw new UnknownKindError(kind);
  let packed: Packed;
  try {
    packed = packValue(payload);
  } catch (e) {
    throw new UncloneablePayloadError(e);
  }
  const bytes = packedBytes(packed, maxPayloadBytes);
  if (bytes > maxPayloadBytes) throw new PayloadTooLargeError(bytes, maxPayloadBytes);
  const spec: TaskSpec = { kind, payload: packed };
  if (o.priority !== undefined) spec.priority = finiteAtLeast(o.priority, -Number.MAX_VALUE, 'priority');
  if (o.deadline !== undefined) spec.deadline = finiteAtLeast(o.deadline, 0, 'deadline');
  if (o.maxAttempts !== undefined) spec.maxAttempts = integerIn(o.maxAttempts, 1, U32_MAX, 'maxAttempts');
  if (o.backoffMs !== undefined) spec.backoffMs = finiteAtLeast(o.backoffMs, 0, 'backoffMs');
  if (o.timeoutMs !== undefined) timeoutMs(o.timeoutMs);
  if (o.onId !== undefined && typeof o.onId !== 'function') throw new BadArgumentError('onId must be a function');
  return { spec, bytes: bytes + SPEC_BYTES, onId: o.onId, timeoutMs: o.timeoutMs, id: -1, resolve: noop, reject: noop, live: true, timer: null, others: null };
}

/** The end of the submit op that starts at `from`: at most SUBMIT_BATCH tasks within `opBudget` bytes, the first one always. */
export function batchEnd(queued: readonly QueuedTask[], from: number, opBudget: number): number {
  let to = from;
  let bytes = 16;
  while (to < queued.length && to - from < SUBMIT_BATCH && (to === from || bytes + queued[to]!.bytes <= opBudget)) bytes += queued[to++]!.bytes;
  return to;
}

function noop(): void {}

/** End the awaits of a submit batch that will get no result here. */
export function rejectAll(batch: readonly QueuedTask[], err: SchedError): void {
  for (const b of batch) {
    if (!b.live) continue;
    b.live = false;
    if (b.timer !== null) clearTimeout(b.timer);
    b.reject(err);
  }
}
