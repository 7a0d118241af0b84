/**
 * A client runner's view of the scheduler: a thread that holds no replica
 * and sends its ops (join, claim, finish, renew, leave, tick) and its reads
 * (its worker's room, the next due time) through a node, a thread that
 * holds one (NR `connect()`). With W runner threads of which R hold
 * replicas, every op is applied R + 1 times (the submitter's replica too)
 * instead of W + 1.
 *
 * What changes for the runner over it: its own worker's room is an answer
 * of the node (read in the same tick as the finish and the claim, so the
 * claim is sized by the previous turn's answer; the apply still caps it at
 * the worker's free capacity and status); a claim's answer is bounded to
 * fit the client's request slot (`claimBytes`, cut by the apply); finish
 * and renew ops are cut to the slot too. Everything else (leases per
 * attempt, signals, the capacity that counts running handlers, deadlines
 * on the replicated clock) is the runner's own, the same as over a replica.
 *
 * When its node dies (detached, declared dead, replaced), every op gets
 * the core's NodeGoneError: the runner ends with it as `lastError`, its
 * handlers' signals abort, and its leases expire in the state as a dead
 * runner's do (or its manager evicts it at once).
 */
import { connect, NodeGoneError } from '../nr/index.js';
import { clientWakeSlot, ringDone, ringWork, schedNow } from './bells.js';
import { BadArgumentError, describeValue } from './errors.js';
import type { SchedulerHandle } from './handle.js';
import type { RunnerHost, SchedNrClient } from './host.js';
import type { Effects } from './state.js';
import { schedStructure } from './structure.js';
import { integerIn, I32_MAX, options as checkOptions } from './validate.js';

export interface ConnectSchedulerOptions {
  /** The node (a replica thread's slot) to be served by. Default: the serving node with the fewest clients. */
  node?: number;
  /** Bound in ms on every op through the node (then TimeoutError, the runner retries). Default 30 000. */
  timeoutMs?: number;
}

export class SchedClient implements RunnerHost {
  readonly handle: SchedulerHandle;
  /** @internal */ readonly ops: SchedNrClient;
  /** @internal */ readonly bells: Int32Array;
  /** @internal */ readonly wakeSlot: number;
  readonly maxPayloadBytes: number;
  /** @internal */ readonly opBudget: number;
  /** @internal */ readonly claimBytes: number;
  private closed = false;
  private ticking = false;

  constructor(handle: SchedulerHandle, options: ConnectSchedulerOptions = {}) {
    if (handle?.kind !== 'nr-sched') throw new BadArgumentError('not a scheduler handle');
    const o = checkOptions(options, ['node', 'timeoutMs'], 'connectScheduler');
    if (!(handle.clients > 0)) throw new BadArgumentError('this scheduler has no client slots (createScheduler option `clients`)');
    const connectOptions: { node?: number; timeoutMs?: number } = {};
    if (o.node !== undefined) connectOptions.node = integerIn(o.node, 0, 63, 'node');
    if (o.timeoutMs !== undefined) connectOptions.timeoutMs = integerIn(o.timeoutMs, 1, I32_MAX, 'timeoutMs');
    try {
      this.ops = connect(handle.nr, schedStructure(handle.kinds, { policy: handle.policy, spillAfterMs: handle.spillAfterMs }), connectOptions);
    } catch (e) {
      throw new BadArgumentError(`connectScheduler: ${describeValue(e)}`, { cause: e });
    }
    this.handle = handle;
    this.bells = new Int32Array(handle.bells);
    this.wakeSlot = clientWakeSlot(this.ops.node, handle.clients, this.ops.slot);
    this.maxPayloadBytes = handle.maxPayloadBytes;
    // A slot holds one op or one answer: a claim's answer and every finish or renew op are cut to
    // its payload room (the runner counts an op's fixed part in its budget).
    this.claimBytes = this.ops.maxPayloadBytes;
    this.opBudget = this.ops.maxPayloadBytes;
  }

  /** The node (replica slot) serving this view. */
  get node(): number {
    return this.ops.node;
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  failedForGood(e: unknown): boolean {
    return e instanceof NodeGoneError || this.ops.isDetached;
  }

  /** @internal */
  roomOf(worker: number): Promise<number> {
    return this.ops.readAsync('workerRoom', worker);
  }

  /** @internal A client is no submitter: every woken submitter's doorbell rings. */
  effects(eff: Effects<unknown>): void {
    if (eff.work) ringWork(this.bells);
    for (const s of eff.wake) ringDone(this.bells, s);
  }

  /** @internal Read the next due time from the node; tick if it has come. */
  maybeTick(): void {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    this.ops
      .readAsync('nextDue')
      .then((due) => (due <= schedNow() ? this.ops.writeAsync('tick', schedNow()).then((e) => this.effects(e)) : undefined))
      .then(
        () => (this.ticking = false),
        () => (this.ticking = false),
      );
  }

  /** Give the client slot back (after the node answered what is in flight, bounded). A runner over this view ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ops.close();
    } catch {
      // Bounded by the client's timeout; a slot still busy is freed by the node once it answered.
    }
  }
}

/** A client runner's view: `new Runner(connectScheduler(handle), handlers, options)` in a thread without a replica. */
export function connectScheduler(handle: SchedulerHandle, options?: ConnectSchedulerOptions): SchedClient {
  return new SchedClient(handle, options);
}
