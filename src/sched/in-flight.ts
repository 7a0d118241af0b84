/**
 * One attempt a runner started: the context its handler gets (id, attempt,
 * kind, an AbortSignal made on first use), whether the runner still holds
 * its lease, and how the handler's outcome becomes a finish item: a result
 * packed (an uncloneable or oversized one is a final failure of the
 * attempt), a thrown value described. A handler's result or thrown value of
 * any size or shape ends as a typed outcome: the runner never dies of its task.
 */
import { COMPLETION_BYTES, packedBytes, packValue, type Packed } from './codecs.js';
import { describeValue, FailCode, LeaseLostError } from './errors.js';
import type { Completion } from './state.js';

export interface TaskContext {
  id: number;
  attempt: number;
  kind: string;
  /** Aborted when this attempt's lease is lost (expired, cancelled, worker evicted) or the scheduler view closes. */
  readonly signal: AbortSignal;
}
export type Handler = (payload: never, ctx: TaskContext) => unknown;

/** One attempt this runner started: its context, and whether this runner still holds its lease. */
export class InFlight implements TaskContext {
  /** Still leased as far as this runner knows (cleared when a renew, a finish or an eviction says otherwise). */
  leased = true;
  private ctrl: AbortController | null = null;
  private aborted = false;
  constructor(
    readonly id: number,
    readonly attempt: number,
    readonly kind: string,
    private readonly worker: number,
  ) {}
  /** Made on first use: most handlers never look. */
  get signal(): AbortSignal {
    if (this.ctrl === null) {
      this.ctrl = new AbortController();
      if (this.aborted) this.ctrl.abort(new LeaseLostError(this.id, this.worker));
    }
    return this.ctrl.signal;
  }
  /** The lease is gone: abort the handler's signal. */
  lose(): void {
    this.leased = false;
    if (this.aborted) return;
    this.aborted = true;
    this.ctrl?.abort(new LeaseLostError(this.id, this.worker));
  }
}

/**
 * The finish item of attempt `f` whose handler returned `value` (`ok`) or
 * threw it. Built in the decoder's shapes (codecs.ts), so the applies see
 * one shape per kind.
 */
export function completionOf(f: InFlight, ok: boolean, value: unknown, maxPayloadBytes: number): Completion {
  if (!ok) return { id: f.id, attempt: f.attempt, ok: false, error: describeValue(value) };
  let bytes: Packed;
  try {
    bytes = packValue(value);
  } catch (e) {
    return { id: f.id, attempt: f.attempt, ok: false, final: FailCode.Uncloneable, error: describeValue(e) };
  }
  const size = packedBytes(bytes, maxPayloadBytes);
  return size > maxPayloadBytes
    ? { id: f.id, attempt: f.attempt, ok: false, final: FailCode.TooLarge, error: `result is ${size} bytes packed, more than maxPayloadBytes (${maxPayloadBytes})` }
    : { id: f.id, attempt: f.attempt, ok: true, result: bytes };
}

/** The end of the finish op that starts at `from`: items while they fit `opBudget` bytes, the first one always. */
export function finishBatchEnd(items: readonly Completion[], from: number, maxPayloadBytes: number, opBudget: number): number {
  let to = from;
  let bytes = 16;
  while (to < items.length && (to === from || bytes + resultBytes(items[to]!, maxPayloadBytes) <= opBudget)) bytes += resultBytes(items[to++]!, maxPayloadBytes);
  return to;
}

function resultBytes(it: Completion, limit: number): number {
  return COMPLETION_BYTES + (it.ok ? packedBytes(it.result as Packed, limit) : 3 * (it.error?.length ?? 6));
}
