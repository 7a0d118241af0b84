/**
 * A replica: one worker's private copy of the structure, kept in step with
 * the shared log. This file is its public API; the replay, recovery and
 * failure machinery is replica-core.ts.
 *
 * Protocol (the log's side is in log/):
 * - read: load ctail once; replay the log up to it; run the read locally.
 *   When the replica is current this is one atomic load and the op itself:
 *   nothing is written to shared memory.
 * - write: encode into the private staging buffer, reserve cells with one
 *   CAS on tail, copy, seal, then replay up to and including the entry. The
 *   caller gets what its own replica's apply returned (or threw).
 * - writeBatch: many write ops encoded by one call and appended as one run
 *   of one entry (one reservation, after any writes queued before it),
 *   applied in order; one result array, no promise per op.
 * - writeAsync: ops issued before the combiner runs (a microtask, or
 *   setImmediate with `combine: 'immediate'`) are flat-combined into one
 *   entry (combiner.ts); each caller gets its own result, in issue order.
 */
import { BatchApplyError, ConfigError, DetachedError, EncodeError, FailStopError, UnknownOpError } from '../errors.js';
import { before, distance } from '../log/positions.js';
import type { SharedLog } from '../log/shared-log.js';
import { holdsHead, SlotState } from '../log/slot-state.js';
import type { OpArgs, OpResult, OpTable, Structure } from '../structure.js';
import { type BoundReads, type BoundWrites, compileRead } from './bound-ops.js';
import type { HubFactory } from './node-hub.js';
import * as registry from './registry.js';
import { ReplicaCore } from './replica-core.js';
import { ClientServer } from './serving.js';
import type { ReplicaOptions, ReplicaStats, ReplicaStatus } from './types.js';
import type { BatchOp, BatchResults } from './write-batch.js';

export type { BoundReads, BoundWrites } from './bound-ops.js';
export type { CombineMode } from './combiner.js';

export type { ReplicaOptions, ReplicaStats, ReplicaStatus } from './types.js';
export type { BatchOp, BatchResults } from './write-batch.js';
export { REPLICA_OPTION_KEYS } from './types.js';

export class Replica<S, R extends OpTable<S>, W extends OpTable<S>> extends ReplicaCore<S, R, W> {
  /**
   * Read ops bound to this replica: the fastest read path (one wasm atomic
   * load of ctail, then the op), e.g. `replica.reads.get(key)`.
   */
  readonly reads: BoundReads<R>;
  /** Write ops bound to this replica, synchronous: `replica.writes.put(key, value)`. */
  readonly writes: BoundWrites<W>;

  /** @internal use `attach()` */
  constructor(
    log: SharedLog,
    structure: Structure<S, R, W>,
    slot: number,
    slotWord: number,
    options: ReplicaOptions = {},
    hubFor: HubFactory | null = null,
    transfer: SharedArrayBuffer | null = null,
    joining = false,
  ) {
    super(log, structure, slot, slotWord, options, hubFor, transfer);
    this.reads = this.bindReads();
    this.writes = this.bindWrites();
    // A replica in a reserved slot starts from position 0: head cannot have
    // passed it, because the slot held head back until now. A late one
    // (its slot is fenced) joins by state transfer first.
    this.ltail = joining ? 0 : log.ltailOf(slot);
    this.dirty = joining;
    registry.register(log.instance, this);
    try {
      if (joining) this.recovery.rejoin();
    } catch (e) {
      // The join failed: give the slot back (if still ours) and tell clients that found the node.
      this.hub?.close();
      this.leave(new DetachedError('replica never joined'), SlotState.Detached);
      throw e;
    }
    this.server = this.hub !== null ? new ClientServer(this.hub, this) : null;
    this.armNudge();
    this.server?.start();
  }

  // ---- public API ------------------------------------------------------------

  /** Run a read op against the local replica once it has caught up to ctail. */
  read<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): OpResult<R[K]> {
    const op = (this.reads as unknown as { [name: string]: ((...a: unknown[]) => unknown) | undefined })[name];
    if (op === undefined || !Object.hasOwn(this.reads, name)) throw new UnknownOpError('read', name);
    return op(...args) as OpResult<R[K]>;
  }

  /** Append a write op, apply it, and return what this replica's apply returned. */
  write<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): OpResult<W[K]> {
    return this.writeNow(name, args) as OpResult<W[K]>;
  }

  /**
   * Append many write ops as one run of one log entry and apply them in
   * order: `ops` are `[name, ...args]`, e.g. `writeBatch([['put', 1, 'a'],
   * ['delete', 2]])`; returns each op's result, in order. Writes queued by
   * writeAsync before it go first. An op that does not encode (unknown
   * name, bad args) or a batch larger than one entry throws its typed error
   * (EncodeError, UnknownOpError, OpTooLargeError) with nothing appended.
   * Ops whose apply throws make it throw BatchApplyError after the batch
   * took effect whole. A fence or a lost slot fails the batch as it fails a
   * single write (FencedError, DetachedError): the batch took effect whole
   * or not at all. `ops` and its arrays are read once and not kept.
   */
  writeBatch(ops: readonly BatchOp<W>[]): BatchResults<W> {
    this.checkUsable();
    if (!Array.isArray(ops)) throw new EncodeError('writeBatch', new TypeError(`writeBatch takes an array of [name, ...args] ops, got ${ops === null ? 'null' : typeof ops}`));
    if (ops.length === 0) return [];
    const item = this.combiner.enqueueBatch(ops as readonly (readonly unknown[])[]);
    try {
      this.commit();
    } catch (e) {
      // As writeNow: a lost slot told this batch's fate in the item.
      if (!(e instanceof DetachedError) || this.combiner.lostBatch?.includes(item) !== true) throw e;
    }
    if (item.failed) throw item.error;
    if (item.applyErrors !== null) throw new BatchApplyError(item.result as unknown[], item.applyErrors);
    return item.result as BatchResults<W>;
  }

  /** Queue a write; it is combined with the other writes queued before the combiner runs. */
  writeAsync<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): Promise<OpResult<W[K]>> {
    return new Promise<OpResult<W[K]>>((resolve, reject) => {
      this.checkUsable();
      this.combiner.enqueue(name, args, resolve as (v: unknown) => void, reject);
      this.combiner.scheduleFlush(this.flush);
    });
  }

  /** A read that also observes every write this replica queued before it. */
  readAsync<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): Promise<OpResult<R[K]>> {
    return new Promise<OpResult<R[K]>>((resolve, reject) => {
      if (this.combiner.pending.length === 0) {
        resolve(this.read(name, ...args));
        return;
      }
      this.checkUsable();
      if (!Object.hasOwn(this.reads, name)) throw new UnknownOpError('read', name);
      this.combiner.pendingReads.push({ read: () => this.read(name, ...args), resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Replay everything appended so far (ctail or beyond). */
  sync(): void {
    this.checkUsable();
    this.replayTo(this.log.tail());
  }

  /**
   * A mark of the log as it stands: every write appended before this call,
   * this replica's own included, lies before it. With `appliedEverywhere`,
   * it tells when shared memory that only older entries reference (an
   * overwritten value, an out-of-line payload) can be reused.
   */
  logMark(): number {
    return this.log.tail();
  }

  /**
   * `logMark()` for use inside an apply: the end of the entry being
   * applied, so it is no later than the log's tail and often much earlier
   * (a replica replaying a backlog, or another replica's entry followed by
   * this one's own). Memory an applied entry displaces is stamped with it
   * (the secure KV does): it can be reused once `appliedEverywhere` of it,
   * that is once every replica has applied that entry, sooner than with a
   * mark taken at the tail. Outside an apply it is `logMark()`.
   */
  applyingMark(): number {
    return this.applying ? this.applyingBefore : this.log.tail();
  }

  /**
   * True once no replica can still apply an entry from before `mark`: live
   * replicas have replayed past it, and fenced ones will recover by state
   * transfer rather than replay. Scans the replica slots when head has not
   * passed `mark` yet, so call it when memory is short, not per op. Marks are
   * wrapping 32-bit positions: compare marks taken within 2^31 log cells.
   */
  appliedEverywhere(mark: number): boolean {
    // Wrapping arithmetic would take NaN, undefined or 2^53 as a mark head has passed: memory still referenced would be reused.
    if ((mark | 0) !== mark) throw new ConfigError(`appliedEverywhere: mark must be a log position from logMark() (an int32), got ${String(mark)}`);
    if (!before(this.log.head(), mark)) return true;
    this.log.advanceHead();
    return !before(this.log.head(), mark);
  }

  /**
   * For a synchronous wait loop of a structure built on the runtime (waiting
   * for shared memory that other replicas hold back, before each short
   * sleep): while this thread blocks its event loop answers no nudge, so
   * this replays its replicas of other logs to their CTAIL (one of them may
   * hold back a thread this wait depends on) and publishes this one's
   * heartbeat. Cheap when nothing lags. Replicas of this same log are the
   * structure's own business (they hold what it waits for: catch up or
   * fence, as `fenceHolding` decides).
   */
  helpWhileWaiting(): void {
    this.beat();
    this.helpOtherLogs();
  }

  /**
   * For shared memory that marks reclaim and that has run out (a page
   * pool, a value arena): once the caller has waited `fenceAfterMs` (the
   * handle's) since `waitingSince` (performance.now()) for `mark` to be
   * applied everywhere, fence the replica that still holds it back, as a
   * writer facing a full log fences the replica that holds the log's head.
   * The fenced replica notices before it serves again and recovers by
   * state transfer, so what it referenced may be reused. Returns true if
   * this call fenced one (wait again from now for the next); false if
   * `mark` is applied everywhere, the wait is not that long yet, or the
   * replica holding it back is this one (catch up instead).
   */
  fenceHolding(mark: number, waitingSince: number): boolean {
    this.checkUsable();
    if ((mark | 0) !== mark) throw new ConfigError(`fenceHolding: mark must be a log position from logMark() (an int32), got ${String(mark)}`);
    if (typeof waitingSince !== 'number' || !Number.isFinite(waitingSince)) throw new ConfigError(`fenceHolding: waitingSince must be a performance.now() time, got ${String(waitingSince)}`);
    if (this.appliedEverywhere(mark)) return false;
    if (performance.now() - waitingSince < this.log.fenceAfterMs) return false;
    const lagger = this.log.advanceHead();
    if (lagger < 0 || lagger === this.id) return false;
    if (!this.log.fence(lagger, this.log.slotWord(lagger))) return false;
    this.counters.fences++;
    this.log.advanceHead();
    return true;
  }

  /** A digest of the local state (the structure must define `digest`). */
  digest(): string {
    this.checkUsable();
    if (!this.structure.digest) {
      throw new UnknownOpError('digest', 'digest', `structure '${this.structure.name}' defines no digest: add \`digest: (state) => string\` to its defineStructure() spec`);
    }
    this.catchUpToCtail();
    return this.structure.digest(this.state);
  }

  /**
   * Leave the log: flush queued writes, stop holding back head, and stop
   * serving. Further calls throw DetachedError.
   */
  detach(): void {
    if (this.detachedError !== null) return;
    if (this.combiner.pending.length > 0) this.commit();
    // Answer what clients already sent, then tell them this node is gone.
    this.server?.drainForDetach();
    this.hub?.close();
    this.leave(new DetachedError(), SlotState.Detached);
  }

  /**
   * True while this replica's slot holds back the log's head (Reserved,
   * Active or Recovering): entries it has not applied cannot be overwritten,
   * and memory that `appliedEverywhere` reclaims stays intact for what its
   * state references. One atomic load of its own slot word: cheap enough to
   * check after every read that copied out of such memory (a false answer
   * means it may have been fenced meanwhile, and the copy may be stale).
   */
  holdsLog(): boolean {
    return this.detachedError === null && holdsHead(this.log.slotState(this.id));
  }

  /** Where this replica stands: see ReplicaStatus. */
  status(): ReplicaStatus {
    if (this.detachedError !== null) return 'detached';
    const s = this.log.slotState(this.id);
    if (s === SlotState.Fenced) return 'fenced';
    if (s === SlotState.Recovering) return 'recovering';
    return distance(this.ltail, this.log.tail()) > this.log.cells / 2 ? 'lagging' : 'live';
  }

  stats(): ReplicaStats {
    return { replica: this.id, status: this.status(), ...this.counters, ltail: this.ltail, logUsedCells: this.log.used() };
  }

  // ---- private ------------------------------------------------------------------

  private bindReads(): BoundReads<R> {
    const table: { [name: string]: (...args: unknown[]) => unknown } = {};
    this.structure.readNames.forEach((name, id) => {
      table[name] = compileRead(this, this.structure.readFns[id]!, this.log.loadCtail);
    });
    return Object.freeze(table) as unknown as BoundReads<R>;
  }

  private bindWrites(): BoundWrites<W> {
    const table: { [name: string]: (...args: unknown[]) => unknown } = {};
    for (const name of this.structure.writeNames) table[name] = (...args: unknown[]): unknown => this.writeNow(name, args);
    return Object.freeze(table) as unknown as BoundWrites<W>;
  }

  private writeNow(name: string, args: readonly unknown[]): unknown {
    this.checkUsable();
    const op = this.combiner.enqueue(name, args, null, null);
    try {
      this.commit();
    } catch (e) {
      // The slot was lost mid-commit: the combiner told this write's fate (applied, or FencedError, or never logged).
      if (!(e instanceof DetachedError) || this.combiner.lostBatch?.includes(op) !== true) throw e;
    }
    if (op.failed) throw op.error;
    return op.result;
  }

  private readonly flush = (): void => {
    this.combiner.flushed();
    if (this.detachedError !== null) {
      this.combiner.rejectAll(this.detachedError);
      return;
    }
    try {
      if (this.combiner.pending.length > 0) this.commit();
      else this.combiner.settleReads();
    } catch (e) {
      // A fail-stop or a lost slot already rejected every queued op; anything else is a bug to surface.
      if (!(e instanceof FailStopError) && !(e instanceof DetachedError)) throw e;
    }
  };
}
