/**
 * The bridge's read index (ReadIndex, as in Raft): one read barrier per
 * round, shared by every request that arrived before the round began.
 *
 * The barrier is a publish: its acknowledgement comes through the stream's
 * Raft leader once a quorum stored it, so its sequence is at or past every
 * write acknowledged before the round began. (A stream-info request is not:
 * while the stream's group has no leader, its followers answer it from
 * their own, possibly older, state.) A barrier that fails (no leader yet)
 * is published again until the bound: any acknowledged one is past every
 * write acknowledged before the round. A round answers by the earliest
 * deadline of its requests (a request may have waited for the round before).
 *
 * Rounds overlap (up to `rounds` in flight): a request that arrives while a
 * round is out starts the next one at once instead of waiting a whole round
 * trip for it to end; its barrier is still published after it arrived. The
 * answer is the barrier's sequence minus one: the barrier carries no state,
 * and every write acknowledged before it was published is below it, so the
 * local log need not wait for the barrier's own delivery.
 */
import { ClusterUnavailableError, toWire, type WireError } from './errors.js';

export type IndexResult = { seq: number } | { err: WireError };

export interface ReadIndexParts {
  /** Publish a barrier (retrying until `deadline`); resolves with its stream sequence. */
  readonly barrier: (deadline: number) => Promise<number>;
  /** Resolves once the local log holds `seq`, or rejects at `deadline`. */
  readonly catchUp: (seq: number, deadline: number) => Promise<void>;
  /** The longest a request may be given (readTimeoutMs). */
  readonly maxMs: number;
  /** Called once per round. */
  readonly onRound: () => void;
  /** Most rounds in flight at once (>= 1). */
  readonly rounds: number;
}

export class ReadIndex {
  private queue: { done: (r: IndexResult) => void; deadline: number }[] = [];
  private inFlight = 0;

  constructor(private readonly parts: ReadIndexParts) {}

  /** A request with `ms` left of its bound (this thread's clock starts now). */
  ask(ms: number, done: (r: IndexResult) => void): void {
    const left = Number.isFinite(ms) && ms > 0 ? Math.min(ms, this.parts.maxMs) : this.parts.maxMs;
    this.queue.push({ done, deadline: performance.now() + left });
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.parts.rounds) void this.round(this.queue.splice(0));
  }

  private async round(round: { done: (r: IndexResult) => void; deadline: number }[]): Promise<void> {
    this.inFlight++;
    this.parts.onRound();
    const deadline = round.reduce((d, r) => Math.min(d, r.deadline), Infinity);
    let result: IndexResult;
    try {
      const seq = (await this.parts.barrier(deadline)) - 1;
      await this.parts.catchUp(seq, deadline);
      result = { seq };
    } catch (e) {
      result = { err: toWire(e instanceof ClusterUnavailableError ? e : new ClusterUnavailableError(`read index: ${(e as Error).message}`, false)) };
    }
    this.inFlight--;
    for (const r of round) r.done(result);
    this.pump();
  }
}
