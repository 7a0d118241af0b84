/**
 * A replica's linearizable reads (see replica.ts): one read-index request
 * per window. Reads queued while one request is in flight share the next;
 * when the bridge answers, the local log holds the stream's tail as of after
 * the reads began: the replica replays to it (`catchUp`) and each read runs
 * locally. Every read's bound runs from its call, also while it waited for
 * the round before.
 */
import { ClusterUnavailableError } from './errors.js';
import type { ToBridge } from './wire.js';

export interface PendingRead {
  /** performance.now() at the call: the read's bound runs from here. */
  readonly at: number;
  readonly run: () => unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** What the windows need of their replica. */
export interface WindowHost {
  readonly readTimeoutMs: number;
  /** Post a read-index request to the bridge. */
  post(m: ToBridge): void;
  /** The replica's error once it is closed, else null. */
  closedWith(): Error | null;
  /** Replay the local log to `seq`; throws if it does not hold it yet. */
  catchUp(seq: number): void;
  /** The port's hold on the thread may change. */
  holdThread(): void;
  readonly counters: { readWindows: number; linearizableReads: number };
}

export class ReadWindows {
  /** Reads waiting for the next read-index request / the reads the request in flight was sent for. */
  private window: PendingRead[] = [];
  private asked: PendingRead[] = [];
  /** A read-index request is in flight. */
  out = false;
  /** An askSoon microtask is queued. */
  private soon = false;
  private indexNo = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly host: WindowHost) {}

  /** Queue a read for the next window. */
  add(r: PendingRead): void {
    this.window.push(r);
    this.askSoon();
  }

  /**
   * Ask for a read index after this microtask turn, not at the first read: the
   * reads that the last window's answers start (their callers' continuations,
   * microtasks queued together) then share one window instead of the first
   * going alone and the rest waiting a whole round behind it.
   */
  private askSoon(): void {
    if (this.out || this.soon) return;
    this.soon = true;
    queueMicrotask(() => {
      this.soon = false;
      if (!this.out && this.host.closedWith() === null && this.window.length > 0) this.ask();
    });
  }

  private ask(): void {
    // A read's bound runs from its call, also while it waited for the round before: a read past it fails now,
    // and what is left of the oldest other one's goes to the bridge.
    const now = performance.now();
    const bound = this.host.readTimeoutMs;
    const late = this.window.filter((r) => now - r.at >= bound);
    if (late.length > 0) {
      const e = new ClusterUnavailableError(`no answer from the cluster within ${bound} ms`, false);
      for (const r of late) r.reject(e);
      this.window = this.window.filter((r) => now - r.at < bound);
      if (this.window.length === 0) {
        this.host.holdThread();
        return;
      }
    }
    const left = Math.max(1, Math.floor(bound - (now - this.window.reduce((a, r) => Math.min(a, r.at), Infinity))));
    this.out = true;
    // Only reads invoked before the request is sent may use its answer.
    this.asked = this.window;
    this.window = [];
    const n = ++this.indexNo;
    this.timer = setTimeout(() => this.answered(n, null, new ClusterUnavailableError(`no answer from the site's bridge within ${this.host.readTimeoutMs} ms`, false)), left + 1_000);
    this.timer.unref();
    this.host.post({ t: 'i', n, ms: left });
    this.host.holdThread();
  }

  /** The bridge answered request `n` with a stream sequence, or an error (or its bound passed). */
  answered(n: number, seq: number | null, err: Error | null): void {
    if (n !== this.indexNo || !this.out) return;
    clearTimeout(this.timer);
    this.out = false;
    const round = this.asked;
    this.asked = [];
    this.host.counters.readWindows++;
    if (err === null) {
      try {
        this.host.catchUp(seq!);
      } catch (e) {
        err = e as Error;
      }
    }
    for (const r of round) {
      if (err !== null) r.reject(err);
      else {
        this.host.counters.linearizableReads++;
        try {
          r.resolve(r.run());
        } catch (e) {
          r.reject(e);
        }
      }
    }
    if (this.window.length > 0) this.askSoon();
    else this.host.holdThread();
  }

  /** The replica closed: every read waiting or asked for fails with `e`. */
  closeAll(e: Error): void {
    clearTimeout(this.timer);
    for (const r of [...this.asked.splice(0), ...this.window.splice(0)]) r.reject(e);
  }
}
