/**
 * Pipelined ops of an NrFS client (client.ts): `preadAsync` and
 * `pwriteAsync` keep many ops in flight in the client's NR slot ring,
 * instead of one blocking round trip each. Requests made in one turn go
 * out together (one TAIL store and one doorbell, NR's client), the node
 * takes them all into its next combined batch, and the client wakes once
 * for all their answers: the futex sleep and wake of both threads, which
 * dominate a client's synchronous op, are paid per batch, not per op.
 *
 * **Fast ops** are one request each:
 * - a read that fits one `pageRefs` answer (READ_PAGES pages): the node
 *   names the pages, the client copies them when the answer comes and
 *   checks their generations (as the synchronous read);
 * - a write of whole pages at a given position on an fd without O_APPEND:
 *   the client takes pages, copies the bytes in at the call (the caller's
 *   buffer is free at once) and sends the `pwrite` with their refs; it
 *   merges with nothing, so its apply never conflicts.
 * Every other op (a partial-page or appending write, a longer read, and
 * every synchronous call of the client) is **slow**: it waits until every
 * earlier pipelined op has settled, then runs the synchronous path.
 *
 * **Order.** The node serves one client's ring in order, each read right
 * after the client's writes sent before it (NR's hub). So requests are
 * sent in issue order, and an op settles (its promise resolves or
 * rejects) only after every earlier one did. A read's answer names pages
 * it copies later; the replicas reuse no page such a read may still copy
 * (the read grace, pages/read-grace.ts, fed by this pipeline's read
 * fence: each read's number, which its node records as it serves it, and
 * the oldest one not settled),
 * so an answer is never asked again in a run that follows the protocol,
 * and a write goes out at once behind unsettled reads: it cannot reach
 * what they read. (Until session 14 a write waited for every earlier read
 * to settle, since a read asked again would have seen it.) A copy that
 * still finds a page reused (a forged answer, tampered words) is asked
 * again together with every later read sent, in order, their first
 * answers dropped; that read may then see writes this client sent after
 * it (docs/fs.md, "Pipelined ops").
  */
import { FailStopError } from '../nr/index.js';
import { FsError } from './errors.js';
import { CONFLICT, PAGE_BYTES, pagesSpanned } from './state.js';
import { copyBytes, indexOfRef } from './pages/pool.js';
import { mayStand, type WriterPages } from './writer.js';

/** A client's read fence (client-owners.ts ReadFence): what the pipeline publishes of its reads. */
export interface PipelineFence {
  readonly sent: number;
  send(): number;
  low(n: number): void;
}

/** What the pipeline needs of its client. */
export interface PipelineHost {
  readonly pages: WriterPages;
  readonly fence: PipelineFence;
  /** Pages one pageRefs answer names at most. */
  readonly readPages: number;
  /** `readNo`: the read's fence number (the node records it as served, see pages/read-grace.ts). */
  sendRead(ino: number, pos: number, len: number, readNo: number, done: (error: unknown, value?: unknown) => void): void;
  sendWrite(ino: number, now: number, pos: number, len: number, refs: readonly number[], done: (error: unknown, value?: unknown) => void): void;
  /** Validate a pageRefs answer: the byte count (FailStopError if malformed). */
  checkRefs(r: unknown, pos: number, len: number): number;
  /** Copy `n` bytes at `pos` out of the pages `r` names; false if one was reused meanwhile. */
  copyPages(r: readonly number[], buf: Uint8Array, off: number, n: number, pos: number): boolean;
  /** Block until every request sent is answered (NR client's drain). */
  drainRequests(): void;
  /** After a logged op (the watchers' doorbell). */
  rang(): void;
}

interface PipeOp {
  /** 0 fast read, 1 fast write, 2 slow (runs synchronously at the front). */
  kind: 0 | 1 | 2;
  ino: number;
  buf: Uint8Array;
  off: number;
  len: number;
  pos: number;
  now: number;
  refs: number[];
  run: (() => number) | null;
  answered: boolean;
  /** Bumped when the op is asked again: a late answer to an earlier attempt is dropped. */
  attempt: number;
  /** A read's fence number for its latest send. */
  sendNo: number;
  /** A read's copies that found a page reused. */
  reused: number;
  error: unknown;
  value: unknown;
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}

/** Reads asked again because a page was reused under the copy, before EAGAIN (pipelined and synchronous client reads alike). */
export const REUSED_READ_ATTEMPTS = 100;

export class ClientPipeline {
  private readonly queue: PipeOp[] = [];
  /** Index in `queue` of the first op not sent. */
  private unsent = 0;
  /** The LOW last published on the fence. */
  private low: number;
  /** A slow op or a drain is running: the synchronous calls it makes must not drain again. */
  private busy = false;
  private scheduled = false;

  constructor(private readonly host: PipelineHost) {
    this.low = host.fence.sent;
  }

  /** Nothing in flight or queued. */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  /** Ops issued and not settled. */
  get inFlight(): number {
    return this.queue.length;
  }

  /** A read that fits one answer is one request; others run as a slow op. */
  read(ino: number, buf: Uint8Array, off: number, len: number, pos: number, slow: () => number): Promise<number> {
    const fast = len > 0 && pagesSpanned(pos, len) <= this.host.readPages;
    return this.issue(fast ? 0 : 2, ino, buf, off, len, pos, fast ? null : slow);
  }

  /**
   * A write of whole pages at `pos` is one request (its pages filled now);
   * others run as a slow op, `slow(bytes)` with a copy made now: the
   * caller's buffer is free again at the call either way.
   */
  write(ino: number, src: Uint8Array, pos: number, append: boolean, slow: (bytes: Uint8Array) => number): Promise<number> {
    const len = src.length;
    const later = (): Promise<number> => {
      const bytes = new Uint8Array(src); // a copy (a Buffer's slice is a view)
      return this.issue(2, ino, bytes, 0, len, pos, () => slow(bytes));
    };
    if (append || pos % PAGE_BYTES !== 0 || len % PAGE_BYTES !== 0 || len === 0) return later();
    const refs: number[] = [];
    const pages = this.host.pages;
    const bytes = pages.pool.bytes;
    for (let k = 0; k < len / PAGE_BYTES; k++) {
      const ref = pages.take();
      if (ref < 0) {
        // The pool is exhausted: the synchronous write waits for pages.
        for (const r of refs) pages.give(r);
        return later();
      }
      refs.push(ref);
      copyBytes(bytes, k === 0 && len === PAGE_BYTES ? src : src.subarray(k * PAGE_BYTES, (k + 1) * PAGE_BYTES), indexOfRef(ref) * PAGE_BYTES);
    }
    return this.issue(1, ino, src, 0, len, pos, null, refs);
  }

  /**
   * Settle every op in flight (blocking), for a synchronous call: it then
   * comes after them. Does nothing from within the pipeline's own slow op.
   */
  drain(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        this.advance(false);
        if (this.queue.length === 0) break;
        this.host.drainRequests();
        this.advance(false);
      }
    } finally {
      this.busy = false;
    }
  }

  private issue(kind: 0 | 1 | 2, ino: number, buf: Uint8Array, off: number, len: number, pos: number, run: (() => number) | null, refs: number[] = []): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const op: PipeOp = { kind, ino, buf, off, len, pos, now: Date.now(), refs, run, answered: false, attempt: 0, sendNo: 0, reused: 0, error: undefined, value: undefined, resolve, reject };
      this.queue.push(op);
      this.advance(false);
    });
  }

  /**
   * Settle what is answered at the front, send what may go, and run a slow
   * op that reached the front. `inCallback`: called from the NR client's
   * pump, where no blocking call may run (the slow op waits for a
   * microtask, or for the drain that is pumping).
   */
  private advance(inCallback: boolean): void {
    for (;;) {
      this.settleFront();
      this.sendMore();
      this.publishLow();
      const front = this.queue[0];
      if (front === undefined || front.kind !== 2) return;
      // A slow op at the front: everything before it settled, nothing after it sent.
      if (inCallback) {
        this.schedule();
        return;
      }
      this.runSlow(front);
    }
  }

  private runSlow(op: PipeOp): void {
    // At the front, nothing sent after it (unsent is 0).
    this.queue.shift();
    const wasBusy = this.busy;
    this.busy = true;
    try {
      op.resolve(op.run!());
    } catch (e) {
      op.reject(e);
    } finally {
      this.busy = wasBusy;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.advance(false);
    });
  }

  private sendMore(): void {
    const q = this.queue;
    while (this.unsent < q.length) {
      const op = q[this.unsent]!;
      // A slow op is never sent: advance runs it once it is at the front (nothing after it goes first).
      if (op.kind === 2) return;
      this.unsent++;
      this.send(op);
    }
  }

  /**
   * The fence's LOW: the number of the oldest sent read not settled (its
   * answer may still be copied), else the next number. Sends and settles
   * go in queue order, so that is the first read among the sent ops.
   */
  private publishLow(): void {
    const q = this.queue;
    let low = this.host.fence.sent;
    for (let k = 0; k < this.unsent; k++) {
      if (q[k]!.kind === 0) {
        low = q[k]!.sendNo;
        break;
      }
    }
    if (low !== this.low) {
      this.low = low;
      this.host.fence.low(low);
    }
  }

  private send(op: PipeOp): void {
    op.answered = false;
    const attempt = op.attempt;
    const done = (error: unknown, value?: unknown): void => {
      if (op.attempt !== attempt) return;
      op.answered = true;
      op.error = error;
      op.value = value;
      this.advance(true);
    };
    if (op.kind === 0) {
      // Numbered (and published) before the request can reach the node: see pages/read-grace.ts.
      op.sendNo = this.host.fence.send();
      this.host.sendRead(op.ino, op.pos, op.len, op.sendNo, done);
    }
    else this.host.sendWrite(op.ino, op.now, op.pos, op.len, op.refs, done);
  }

  /** Settle answered ops at the front, in order. */
  private settleFront(): void {
    const q = this.queue;
    while (q.length > 0 && q[0]!.kind !== 2 && q[0]!.answered) {
      const op = q[0]!;
      if (op.kind === 0 && op.error === undefined && !this.copied(op)) return;
      q.shift();
      this.unsent--;
      if (op.kind === 0) {
        if (op.error === undefined) op.resolve(op.value as number);
        else op.reject(op.error);
      } else this.settleWrite(op);
    }
  }

  /** Copy a read's answer out; false if it had to be asked again (with every later read sent). */
  private copied(op: PipeOp): boolean {
    let n: number;
    try {
      n = this.host.checkRefs(op.value, op.pos, op.len);
    } catch (e) {
      op.error = e;
      return true;
    }
    if (this.host.copyPages(op.value as number[], op.buf, op.off, n, op.pos)) {
      op.value = n;
      return true;
    }
    if (++op.reused >= REUSED_READ_ATTEMPTS) {
      op.error = new FsError('EAGAIN', 'read', undefined, undefined, 'the pages read kept being reused during the copy');
      return true;
    }
    // Ask again, in order, this read and every later read sent (a write sent stays as it was: it is in the log or on its way).
    for (let k = 0; k < this.unsent; k++) {
      const later = this.queue[k]!;
      if (later.kind !== 0) continue;
      later.attempt++;
      this.send(later);
    }
    return false;
  }

  private settleWrite(op: PipeOp): void {
    this.host.rang();
    const pages = this.host.pages;
    if (op.error !== undefined) {
      if (mayStand(op.error)) pages.doubt(op.refs);
      else for (const r of op.refs) pages.give(r);
      op.reject(op.error);
      return;
    }
    if (op.value === CONFLICT || op.value !== op.pos + op.len) {
      // A whole-page write at a given position merges with nothing (WHOLE edges): its apply cannot conflict.
      pages.doubt(op.refs);
      op.reject(new FailStopError(`NrFS client: the node answered ${String(op.value)} to a whole-page write at ${op.pos} (tampered in the client slot)`));
      return;
    }
    op.resolve(op.len);
  }
}

