/**
 * A client: a thread that holds no replica (the main thread, a pool thread,
 * a request handler) and uses a node's replica through the node's shared
 * context (see context.ts for the layout and the slot protocol).
 *
 * The surface matches a replica's: `reads.op()` / `writes.op()` and
 * `read()` / `write()` block with Atomics.wait (allowed on the main thread,
 * but they block its event loop); `readAsync()` / `writeAsync()` wait with
 * Atomics.waitAsync. Many ops may be in flight; each client's ops take
 * effect, and are answered, in the order it issued them.
 */
import { before } from '../log/positions.js';
import { waitWhileEqual } from '../log/wait.js';
import { OpReader, OpWriter } from '../codec.js';
import { DEFAULTS } from '../defaults.js';
import { BackpressureError, ConfigError, DetachedError, NodeGoneError, SameThreadError, TimeoutError } from '../errors.js';
import { CLIENT_DONE, CLIENT_DONE_WAITERS, CLIENT_CLAIM, CLIENT_EPOCH, CLIENT_TAIL, RequestKind, SharedContext } from './context.js';
import type { BoundReads, BoundWrites } from '../replica/bound-ops.js';
import type { OpArgs, OpResult, OpTable, Structure } from '../structure.js';
import { ownsClientSlot, whyNodeGone, type NodeView } from './node-gone.js';
import { installExitHook, openClients } from './open-clients.js';
import { encodeRequest, expireRequests, opIdOf, writeRequest, type InFlight } from './requests.js';
import { callbackOnce, settleResponse } from './responses.js';

export type { NodeView } from './node-gone.js';

export interface ClientOptions {
  /** Bound, in ms, on every op, sync or async (waiting for a free slot or a response). Default 30 000. */
  timeoutMs?: number;
}
export const CLIENT_OPTION_KEYS = ['timeoutMs'] as const;

/** Longest single sleep; each wake re-checks the node's state. */
const SLEEP_MS = 50;

export class Client<S, R extends OpTable<S>, W extends OpTable<S>> {
  /** The node (replica slot) this client is served by, and its client slot there. */
  readonly node: number;
  readonly slot: number;
  readonly reads: BoundReads<R>;
  readonly writes: BoundWrites<W>;

  private readonly ctx: SharedContext;
  private readonly structure: Structure<S, R, W>;
  private readonly base: number;
  private readonly timeoutMs: number;
  private readonly scratch = new OpWriter(256);
  private readonly reader: OpReader;
  /** Next request sequence number to send (our private copy of TAIL). */
  private tail: number;
  /** Responses consumed so far: a slot is free again once consumed. */
  private consumed: number;
  /** Sent and unsent ops, oldest first; `sent` of them are in the ring. */
  private queue: InFlight[] = [];
  private sent = 0;
  private closed = false;
  /** The node went away: every op from now on fails with NodeGoneError. */
  private gone: string | null = null;
  private armed = false;
  /** The slot's claim count when this client took it (CLIENT_CLAIM). */
  private readonly claim: number;
  /** Keeps the thread alive while async ops are pending (a waitAsync alone does not). */
  private keepAlive: NodeJS.Timeout | null = null;

  /** @internal use `connect()` */
  constructor(
    ctx: SharedContext,
    structure: Structure<S, R, W>,
    node: number,
    slot: number,
    private readonly stateWord: number,
    options: ClientOptions,
    private readonly nodeView: NodeView,
  ) {
    const timeoutMs = options.timeoutMs ?? DEFAULTS.clientTimeoutMs;
    if (!(timeoutMs > 0)) throw new ConfigError('timeoutMs must be positive');
    this.ctx = ctx;
    this.structure = structure;
    this.node = node;
    this.slot = slot;
    this.timeoutMs = timeoutMs;
    this.base = ctx.clientAt(node, slot);
    this.reader = new OpReader(ctx.bytes);
    // A reused slot's counters continue where its last client left them.
    this.tail = Atomics.load(ctx.words, this.base + CLIENT_TAIL);
    this.consumed = Atomics.load(ctx.words, this.base + CLIENT_DONE);
    // The node serves only clients of its current epoch: a later incarnation never serves our ring.
    Atomics.store(ctx.words, this.base + CLIENT_EPOCH, nodeView.epoch);
    this.claim = (Atomics.add(ctx.words, this.base + CLIENT_CLAIM, 1) + 1) | 0;
    const reads: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of structure.readNames) reads[name] = (...args) => this.callSync(RequestKind.Read, name, args);
    const writes: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of structure.writeNames) writes[name] = (...args) => this.callSync(RequestKind.Write, name, args);
    this.reads = Object.freeze(reads) as unknown as BoundReads<R>;
    this.writes = Object.freeze(writes) as unknown as BoundWrites<W>;
    openClients.add(this);
    installExitHook();
  }

  read<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): OpResult<R[K]> {
    return this.callSync(RequestKind.Read, name, args) as OpResult<R[K]>;
  }

  write<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): OpResult<W[K]> {
    return this.callSync(RequestKind.Write, name, args) as OpResult<W[K]>;
  }

  readAsync<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): Promise<OpResult<R[K]>> {
    return this.callAsync(RequestKind.Read, name, args) as Promise<OpResult<R[K]>>;
  }

  writeAsync<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): Promise<OpResult<W[K]>> {
    return this.callAsync(RequestKind.Write, name, args) as Promise<OpResult<W[K]>>;
  }

  /**
   * Like readAsync, but `done(error, value)` is called from the pump that
   * consumes the answer, in issue order, not through a promise: a caller
   * can act on answers inside a blocking call (see `drain`). `error` is
   * undefined on success. An exception `done` throws is rethrown from a
   * microtask (an uncaught exception, as node does for a throwing callback);
   * the client and its other ops go on unaffected.
   */
  submitRead<K extends keyof R & string>(name: K, args: OpArgs<R[K]>, done: (error: unknown, value?: OpResult<R[K]>) => void): void {
    this.submit(RequestKind.Read, name, args, done as (error: unknown, value?: unknown) => void);
  }

  /** Like writeAsync, with `done` as for submitRead. */
  submitWrite<K extends keyof W & string>(name: K, args: OpArgs<W[K]>, done: (error: unknown, value?: OpResult<W[K]>) => void): void {
    this.submit(RequestKind.Write, name, args, done as (error: unknown, value?: unknown) => void);
  }

  /**
   * Block until every op sent or queued has been answered (their promises
   * resolved, their `done` callbacks run, here) or failed; bounded by
   * timeoutMs, after which what is left fails: a sent op with TimeoutError
   * (it keeps its place in the ring, its late answer is dropped), one never
   * sent with BackpressureError.
   */
  drain(): void {
    if (this.closed || this.queue.length === 0) return;
    this.publishTail();
    const deadline = performance.now() + this.timeoutMs;
    while (this.queue.length > 0) {
      if (!this.waitForDone(deadline)) {
        this.pump();
        // As expire() does: sent ops keep their place in the ring (their answers still come, and are dropped).
        this.expire(Infinity);
        return;
      }
      this.pump();
    }
  }

  get isDetached(): boolean {
    return this.closed;
  }

  /** The largest request or response payload a slot holds (the handle's clientSlotBytes less the slot header). */
  get maxPayloadBytes(): number {
    return this.ctx.maxPayloadBytes;
  }

  /** Ops sent or queued and not yet answered. */
  get inFlight(): number {
    return this.queue.length;
  }

  /**
   * Wait (bounded by timeoutMs) for every op in flight to be answered, then
   * give the slot back. Further calls throw DetachedError. What is left
   * says whether it may still take effect, as for any client op: a sent op
   * fails with TimeoutError (or NodeGoneError `'unknown'` when the node is
   * gone), one never sent with DetachedError (or NodeGoneError `false`).
   */
  close(): void {
    if (this.closed) return;
    this.publishTail();
    const deadline = performance.now() + this.timeoutMs;
    while (this.queue.length > 0) {
      if (this.nodeGone() !== null) this.markGone(); // (also when it went before close: its ops get NodeGoneError)
      if (this.queue.length === 0 || !this.waitForDone(deadline)) break;
      this.pump();
    }
    this.closed = true;
    this.failQueue((sent) => (sent ? new TimeoutError(this.timeoutMs) : new DetachedError('client is closed; the op was never sent')));
    this.giveBack();
  }

  /**
   * Give the slot back: at once if everything sent was answered, otherwise
   * once the node has answered the rest (a slot with answers still due is
   * never handed to a new client).
   */
  private giveBack(): void {
    openClients.delete(this);
    // A slot freed under us and taken again (by this thread too: the same STATE word) is not ours to give.
    if (!this.ownsSlot()) return;
    this.ctx.abandonClient(this.node, this.slot, this.stateWord);
  }

  /** @internal The thread is exiting: no more calls can come, give the slot back. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.giveBack();
  }

  // ---- sending -------------------------------------------------------------

  private checkUsable(): void {
    if (this.closed) throw new DetachedError('client is closed');
    if (this.gone === null && this.nodeGone()) this.markGone();
    if (this.gone !== null) throw new NodeGoneError(this.node, false, this.gone);
  }

  /** Why our node can no longer answer us (null if it can); node-gone.ts. */
  private nodeGone(): string | null {
    return whyNodeGone(this.ctx, this.node, this.nodeView, this.base, this.stateWord, this.claim);
  }

  /** The slot is still the one this client took (node-gone.ts). */
  private ownsSlot(): boolean {
    return ownsClientSlot(this.ctx, this.base, this.stateWord, this.claim);
  }

  /** The node is gone: fail everything in flight, and every later op. */
  private markGone(): void {
    this.gone ??= this.nodeGone() ?? 'is gone';
    this.failQueue((sent) => new NodeGoneError(this.node, sent ? 'unknown' : false, this.gone!));
  }

  /** Fail every queued op, each by whether it was sent (it may still take effect) or not. */
  private failQueue(errorFor: (sent: boolean) => Error): void {
    const q = this.queue;
    const sent = this.sent;
    this.queue = [];
    this.sent = 0;
    q.forEach((op, i) => op.reject?.(errorFor(i < sent)));
    this.idle();
  }

  /**
   * Copy an encoded request into the next slot. A sync op is published at
   * once; async ones at the end of the current synchronous run (a
   * microtask), all together: one TAIL store and one ring for everything
   * sent meanwhile, so the node's round takes them all (not the first few
   * of a burst, then a round and a wake-up on each side for the rest).
   */
  private send(op: InFlight, bytes: Uint8Array, now: boolean): void {
    // Sequence numbers are taken when sent, so ops dropped unsent leave no gap.
    op.seq = this.tail;
    this.tail = (this.tail + 1) | 0;
    writeRequest(this.ctx, this.base, op, bytes);
    this.sent++;
    if (now) this.publishTail();
    else if (!this.publishQueued) {
      this.publishQueued = true;
      queueMicrotask(this.publishTail);
    }
  }

  private publishQueued = false;

  /** Make every request copied so far visible to the node, and ring it. */
  private readonly publishTail = (): void => {
    this.publishQueued = false;
    if (Atomics.load(this.ctx.words, this.base + CLIENT_TAIL) === this.tail) return;
    // Our stale TAIL in a slot another client has taken would move its ring (the node would gather garbage).
    if (!this.ownsSlot()) return;
    Atomics.store(this.ctx.words, this.base + CLIENT_TAIL, this.tail);
    this.ctx.ring(this.node);
  };

  private hasFreeSlot(): boolean {
    return this.sent < this.ctx.slots && this.queue.length === this.sent;
  }

  private callSync(kind: RequestKind, name: string, args: readonly unknown[]): unknown {
    this.checkUsable();
    if (this.nodeView.sameThread()) throw new SameThreadError(this.node);
    const id = opIdOf(this.structure, kind, name);
    const n = encodeRequest(this.structure, this.scratch, this.ctx.maxPayloadBytes, kind, id, name, args);
    const deadline = performance.now() + this.timeoutMs;
    // Earlier async ops keep their place: wait until ours can go into the ring.
    while (!this.hasFreeSlot()) {
      if (!this.waitForDone(deadline)) throw new BackpressureError(this.ctx.slots, this.timeoutMs);
      this.pump();
    }
    const op: InFlight = { seq: -1, kind, id, name, resolve: null, reject: null, bytes: null, deadline };
    this.queue.push(op);
    this.send(op, this.scratch.bytes.subarray(0, n), true);
    let outcome: { ok: boolean; value: unknown } | null = null;
    op.resolve = (v) => (outcome = { ok: true, value: v });
    op.reject = (e) => (outcome = { ok: false, value: e });
    while (outcome === null) {
      if (!this.waitForDone(deadline) && outcome === null) {
        // Drop the op from our queue: its response, if any, is discarded.
        op.resolve = op.reject = null;
        throw new TimeoutError(this.timeoutMs);
      }
      this.pump();
    }
    const o = outcome as { ok: boolean; value: unknown };
    if (!o.ok) throw o.value;
    return o.value;
  }

  private callAsync(kind: RequestKind, name: string, args: readonly unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => this.enqueue(kind, name, args, resolve, reject));
  }

  private submit(kind: RequestKind, name: string, args: readonly unknown[], done: (error: unknown, value?: unknown) => void): void {
    const once = callbackOnce(done);
    try {
      this.enqueue(kind, name, args, (v) => once(undefined, v), (e) => once(e === undefined ? new Error('undefined rejection') : e));
    } catch (e) {
      once(e);
    }
  }

  private enqueue(kind: RequestKind, name: string, args: readonly unknown[], resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
    this.checkUsable();
    const id = opIdOf(this.structure, kind, name);
    const n = encodeRequest(this.structure, this.scratch, this.ctx.maxPayloadBytes, kind, id, name, args);
    const op: InFlight = { seq: -1, kind, id, name, resolve, reject, bytes: null, deadline: performance.now() + this.timeoutMs };
    this.queue.push(op);
    if (this.sent + 1 === this.queue.length && this.sent < this.ctx.slots) {
      this.send(op, this.scratch.bytes.subarray(0, n), false);
    } else {
      op.bytes = this.scratch.bytes.slice(0, n); // back-pressure: sent when a slot frees
    }
    this.arm();
  }

  // ---- receiving -----------------------------------------------------------

  /** Consume every answered response, oldest first, and send queued ops into freed slots. */
  private pump(): void {
    const ctx = this.ctx;
    const done = Atomics.load(ctx.words, this.base + CLIENT_DONE);
    while (before(this.consumed, done) && this.sent > 0) {
      const op = this.queue.shift()!;
      this.sent--;
      this.consumed = (this.consumed + 1) | 0;
      if (op.resolve === null) continue; // a sync op that timed out
      settleResponse(ctx, this.structure, this.reader, op, ctx.slotAt(this.base, op.seq), this.node, this.slot);
    }
    // Back-pressured async ops go out in order as slots free up.
    while (this.sent < this.queue.length && this.sent < ctx.slots) {
      const op = this.queue[this.sent]!;
      const bytes = op.bytes!;
      op.bytes = null;
      this.send(op, bytes, false);
    }
    // A blocking caller (a sync op, close) runs no microtasks until it returns: publish now.
    if (this.publishQueued) this.publishTail();
    if (this.queue.length > 0 && this.nodeGone() !== null) this.markGone();
  }

  /** Async ops past their deadline fail (requests.ts). */
  private expire(now = performance.now()): void {
    expireRequests(this.queue, this.sent, now, this.timeoutMs, this.ctx.slots);
  }

  /** Sleep until DONE moves, the node goes away, or the deadline; false on deadline. */
  private waitForDone(deadline: number): boolean {
    const words = this.ctx.words;
    const idx = this.base + CLIENT_DONE;
    for (;;) {
      if (this.nodeGone() !== null) {
        this.markGone();
        return true;
      }
      const now = performance.now();
      if (now >= deadline) return false;
      // Bounded sleeps: each wake re-checks the node.
      if (waitWhileEqual(words, idx, this.consumed, this.base + CLIENT_DONE_WAITERS, Math.min(deadline, now + SLEEP_MS), SLEEP_MS)) return true;
    }
  }

  /** Make sure an async wait for responses is pending while ops are in flight. */
  private arm(): void {
    if (this.armed || this.queue.length === 0) return;
    this.armed = true;
    if (this.keepAlive === null) this.keepAlive = setInterval(() => {}, 1 << 30);
    else this.keepAlive.ref();
    const words = this.ctx.words;
    const idx = this.base + CLIENT_DONE;
    Atomics.add(words, this.base + CLIENT_DONE_WAITERS, 1);
    const res = Atomics.waitAsync(words, idx, this.consumed, SLEEP_MS);
    if (res.async) void res.value.then(this.onWake);
    else setImmediate(this.onWake);
  }

  private readonly onWake = (): void => {
    Atomics.sub(this.ctx.words, this.base + CLIENT_DONE_WAITERS, 1);
    this.armed = false;
    this.pump();
    this.expire();
    if (this.queue.length > 0) this.arm();
    else this.idle();
  };

  private idle(): void {
    this.keepAlive?.unref();
  }
}
