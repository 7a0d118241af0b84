/**
 * A replica: one worker's private copy of the structure, kept in step with
 * the shared log.
 *
 * Protocol (the log's side is in log/):
 * - read: load ctail once; replay the log up to it; run the read locally.
 *   When the replica is current this is one atomic load and the op itself:
 *   nothing is written to shared memory.
 * - write: encode into the private staging buffer, reserve cells with one
 *   CAS on tail, copy, seal, then replay up to and including the entry. The
 *   caller gets what its own replica's apply returned (or threw).
 * - writeAsync: ops issued before the combiner runs (a microtask, or
 *   setImmediate with `combine: 'immediate'`) are flat-combined into one
 *   entry (combiner.ts); each caller gets its own result, in issue order.
 * - A replay that ends fenced publishes nothing; the replica rejoins or
 *   recovers by state transfer (recovery.ts) and replays again.
 * - An idle replica is nudged by writers that need log space: it sleeps in
 *   `Atomics.waitAsync` on its WAKE word and replays when woken.
 */
import { deserialize, serialize } from 'node:v8';
import { OpReader } from '../codec.js';
import { DEFAULTS } from '../defaults.js';
import { DetachedError, FailStopError, ReentrancyError, UnknownOpError } from '../errors.js';
import { before, distance } from '../log/positions.js';
import { OP_HEADER_BYTES } from '../log/layout.js';
import { replay, type EntryApplier, type ReplayEnd } from '../log/replay.js';
import type { EntryHeader, SharedLog } from '../log/shared-log.js';
import { holdsHead, incarnationOf, SlotState, stateOf } from '../log/slot-state.js';
import type { HubFactory, NodeHub } from './node-hub.js';
import type { OpArgs, OpResult, OpTable, Structure } from '../structure.js';
import { type BoundReads, type BoundWrites, compileRead, type ReadTarget } from './bound-ops.js';
import { Combiner } from './combiner.js';
import type { ReplicaOptions, ReplicaStats, ReplicaStatus } from './types.js';
import { Recovery, ServeAborted } from './recovery.js';
import { RecoveryError } from '../log/transfer.js';
import { ClientServer } from './serving.js';
import { applyRemote, FencedRunSignal } from './apply-remote.js';
import * as registry from './registry.js';

export type { BoundReads, BoundWrites } from './bound-ops.js';
export type { CombineMode } from './combiner.js';

export type { ReplicaOptions, ReplicaStats, ReplicaStatus } from './types.js';
export { REPLICA_OPTION_KEYS } from './types.js';

type AnyStructure = Structure<unknown, OpTable<unknown>, OpTable<unknown>>;

export class Replica<S, R extends OpTable<S>, W extends OpTable<S>> implements EntryApplier, ReadTarget {
  readonly id: number;
  /** @internal */
  readonly log: SharedLog;
  private readonly structure: Structure<S, R, W>;
  /** @internal The local state (ReadTarget, RecoveryHost). */
  state: S;
  /** @internal Private copy of this replica's LTAIL (only this replica writes it). */
  ltail = 0;
  /** @internal The STATE word this replica holds its slot with. */
  slotWord: number;
  /** @internal The local state may hold applies from reused cells. */
  dirty = false;
  /** @internal Serving a snapshot: a replay that finds us fenced aborts instead of recovering. */
  serving = false;
  /** @internal Why this replica serves no more ops (ReadTarget), or null. */
  detachedError: DetachedError | FailStopError | null = null;
  private applying = false;
  private readonly reader: OpReader;
  private readonly combiner: Combiner;
  private readonly recovery: Recovery;
  private readonly server: ClientServer | null;
  private readonly hub: NodeHub | null;
  /**
   * Read ops bound to this replica: the fastest read path (one wasm atomic
   * load of ctail, then the op), e.g. `replica.reads.get(key)`.
   */
  readonly reads: BoundReads<R>;
  /** Write ops bound to this replica, synchronous: `replica.writes.put(key, value)`. */
  readonly writes: BoundWrites<W>;

  private readonly counters = {
    appends: 0,
    batches: 0,
    opsWritten: 0,
    replayedEntries: 0,
    replayedOps: 0,
    fullWaits: 0,
    fullWaitMs: 0,
    sealWaits: 0,
    nudges: 0,
    fences: 0,
    fenced: 0,
    stateTransfers: 0,
    stateTransferMs: 0,
    snapshotsServed: 0,
  };

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
    this.log = log;
    this.structure = structure;
    this.id = slot;
    this.slotWord = slotWord;
    this.state = structure.create();
    this.reader = new OpReader(log.data);
    this.hub = hubFor?.(slot) ?? null;
    this.combiner = new Combiner(
      log,
      slot,
      structure as unknown as AnyStructure,
      this.hub,
      this,
      this.counters,
      options.combine ?? DEFAULTS.combine,
      options.testHooks?.afterReserve,
    );
    this.recovery = new Recovery(this, transfer, options.transferTimeoutMs ?? DEFAULTS.transferTimeoutMs, this.counters);
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
   * True once no replica can still apply an entry from before `mark`: live
   * replicas have replayed past it, and fenced ones will recover by state
   * transfer rather than replay. Scans the replica slots when head has not
   * passed `mark` yet, so call it when memory is short, not per op. Marks are
   * wrapping 32-bit positions: compare marks taken within 2^31 log cells.
   */
  appliedEverywhere(mark: number): boolean {
    if (!before(this.log.head(), mark)) return true;
    this.log.advanceHead();
    return !before(this.log.head(), mark);
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

  /**
   * @internal The thread is exiting: stop holding back the log and tell
   * clients, without running any more ops.
   */
  abandon(): void {
    if (this.detachedError !== null) return;
    this.hub?.close();
    this.leave(new DetachedError(), SlotState.Detached);
  }

  get isDetached(): boolean {
    return this.detachedError !== null;
  }

  stats(): ReplicaStats {
    return { replica: this.id, status: this.status(), ...this.counters, ltail: this.ltail, logUsedCells: this.log.used() };
  }

  // ---- internals shared with bound ops, the combiner, recovery and serving ------

  /** @internal Throws the reason this replica can serve no more ops, if any. */
  checkUsable(): void {
    if (this.detachedError !== null) throw this.detachedError;
    if (this.applying) throw new ReentrancyError();
  }

  /** @internal Publish this replica's heartbeat. */
  beat(): void {
    if (this.detachedError === null) this.log.beat(this.id);
  }

  /** @internal Replay up to the current tail, if not busy. */
  catchUp(): void {
    if (this.detachedError !== null || this.applying) return;
    this.replayTo(this.log.tail());
  }

  /** @internal Replay up to the ctail observed now: the state every read must at least see. */
  catchUpToCtail(): void {
    const c = this.log.ctail();
    if (c !== this.ltail) this.readTo(c);
  }

  /**
   * @internal ReadTarget: catch up to an observed CTAIL. CTAIL is never
   * behind this replica's LTAIL (every replay completes what it applied
   * before the private LTAIL moves), so one behind it was rolled back.
   */
  readTo(ctail: number): void {
    // (While fenced, our private position may be ahead of what was completed.)
    if (before(ctail, this.ltail) && this.detachedError === null && !this.dirty && this.log.slotWord(this.id) === this.slotWord) {
      this.halt(new FailStopError(`the shared log is corrupt: CTAIL ${ctail} moved back behind this replica's position ${this.ltail}`));
    }
    if (before(this.log.tail(), ctail) && this.detachedError === null) {
      this.halt(new FailStopError(`the shared log is corrupt: CTAIL ${ctail} is past TAIL ${this.log.tail()}`));
    }
    this.replayTo(ctail);
  }

  /**
   * @internal Apply every entry from ltail up to `target`. A fenced replica
   * rejoins or recovers first; a run that ended fenced published nothing,
   * and the replica recovers and goes on.
   */
  replayTo(target: number): void {
    try {
      this.replayOrRecover(target);
    } catch (e) {
      if (e instanceof FailStopError) this.halt(e);
      throw e;
    }
  }

  /**
   * @internal CombinerHost: replay through the commit's one own entry at
   * `pos` (ending at `end`), which this replica just sealed. When nothing
   * precedes it (the usual synchronous write) it is applied directly: its
   * cells are known and sealed by us, and its ops are applied from what this
   * thread holds (and the client bytes it just copied), so no seal or header
   * needs reading. The run's one check is the general replay's last one
   * (finishRun). Otherwise, or if that check fails, the general path
   * decides.
   */
  replayOwn(pos: number, end: number): void {
    if (this.ltail === pos && this.detachedError === null && this.log.slotWord(this.id) === this.slotWord) {
      const runStart = this.combiner.ownCursor;
      this.applying = true;
      try {
        this.combiner.applyOwn(pos);
      } catch (e) {
        if (e instanceof FailStopError) this.halt(e);
        throw e;
      } finally {
        this.applying = false;
      }
      this.counters.replayedEntries++;
      if (this.log.finishRun(this.id, this.slotWord, pos, end)) {
        this.ltail = end;
        return;
      }
      // Fenced meanwhile: client bytes the apply decoded may have been a later lap's.
      this.endFencedRun(runStart, true);
    }
    this.replayTo(end);
  }

  private replayOrRecover(target: number): void {
    for (;;) {
      if (this.detachedError !== null) throw this.detachedError;
      if (this.log.slotWord(this.id) !== this.slotWord) {
        if (this.serving) throw new ServeAborted();
        this.recovery.rejoin();
      }
      if (!before(this.ltail, target)) return;
      const runStart = this.combiner.ownCursor;
      this.applying = true;
      let end: ReplayEnd;
      try {
        end = replay(this.log, this.id, this.slotWord, this.ltail, target, this, this.counters);
      } catch (e) {
        if (!(e instanceof FencedRunSignal)) throw e;
        end = { reached: this.ltail, fenced: true, suspect: true };
      } finally {
        this.applying = false;
      }
      if (!end.fenced) {
        this.ltail = end.reached;
        return;
      }
      // Fenced. Entries applied before the run's last check of our slot were
      // genuine; an apply after it (`suspect`) may have read reused cells:
      // then only a snapshot can fix the state.
      this.ltail = end.reached;
      this.endFencedRun(runStart, end.suspect);
    }
  }

  /**
   * A run ended fenced. If it was `suspect` (an apply after its last check
   * may have read reused cells) the state is dirty and its own results are
   * forgotten. If HEAD passed us while our slot still says Active (a head
   * advance that has not re-fenced us yet, or a forged HEAD), our cells may
   * be reused all the same: fence ourselves and recover like any fenced replica.
   */
  private endFencedRun(runStart: number, suspect: boolean): void {
    if (suspect) {
      this.dirty = true;
      this.combiner.rewindOwn(runStart);
    }
    if (this.log.slotWord(this.id) === this.slotWord) this.log.move(this.id, this.slotWord, SlotState.Fenced, 'owner');
  }

  /** @internal EntryApplier: apply one validated batch entry. */
  applyEntry(pos: number, header: EntryHeader): void {
    if (this.combiner.isNextOwn(pos, header.replica)) this.combiner.applyOwn(pos);
    else this.counters.replayedOps += applyRemote(this.log, this.structure as unknown as AnyStructure, this.state, this.reader, pos, header, this.id, this.slotWord, this.ltail);
  }

  /** @internal EntryApplier */
  onWait(): void {
    this.log.beat(this.id);
  }

  /** @internal RecoveryHost */
  restore(bytes: Uint8Array, pos: number): void {
    this.state = this.structure.restore ? this.structure.restore(bytes, pos) : (deserialize(bytes) as S);
    this.ltail = pos;
    this.combiner.dropOwnEntriesBefore(pos);
  }

  /** @internal RecoveryHost */
  snapshotBytes(): Uint8Array {
    return this.structure.snapshot ? this.structure.snapshot(this.state, this.ltail) : serialize(this.state);
  }

  /** @internal RecoveryHost */
  localProvider(): { snapshotFor(requester: number): { pos: number; bytes: Uint8Array } | null } | null {
    for (const r of registry.siblings(this.log.instance, this)) {
      if (r instanceof Replica && this.log.slotState(r.id) === SlotState.Active) return r.recovery;
    }
    return null;
  }

  /** @internal RecoveryHost */
  lose(error: DetachedError): never {
    this.combiner.rejectAll(error);
    this.hub?.close();
    this.leave(error, null);
    throw error;
  }

  /** @internal CombinerHost */
  serveSnapshotIfAsked(): void {
    this.recovery.serveIfAsked();
  }

  /** @internal CombinerHost */
  helpSiblings(): void {
    for (const r of registry.siblings(this.log.instance, this)) r.catchUp();
  }

  /** @internal ClientServer: one commit of everything pending. */
  commit(): void {
    this.combiner.commit();
    this.server?.afterCommit();
  }

  /** @internal The handle's same-thread snapshot path. */
  snapshotFor(requester: number): { pos: number; bytes: Uint8Array } | null {
    return this.recovery.snapshotFor(requester);
  }

  // ---- private ------------------------------------------------------------------

  private bindReads(): BoundReads<R> {
    const table: { [name: string]: (...args: unknown[]) => unknown } = {};
    this.structure.readNames.forEach((name, id) => {
      table[name] = compileRead(this, this.structure.readFns[id]!, this.log.load, this.log.ctailByteOffset);
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
    this.commit();
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

  /**
   * An apply found shared state corrupt: stop for good. Nothing more is
   * published; the slot stops holding back the log and clients are told.
   */
  private halt(e: FailStopError): void {
    if (!(this.detachedError instanceof FailStopError)) {
      this.combiner.rejectAll(e);
      this.hub?.close();
      this.leave(e, SlotState.Dead);
    }
    throw this.detachedError;
  }

  private leave(reason: DetachedError | FailStopError, to: SlotState.Detached | SlotState.Dead | null): void {
    this.detachedError = reason;
    this.server?.stop();
    // Leave the slot only if it is still ours (same incarnation) and held.
    const word = this.log.slotWord(this.id);
    const s = stateOf(word);
    if (to !== null && incarnationOf(word) === incarnationOf(this.slotWord) && s !== SlotState.Free && s !== SlotState.Dead && s !== SlotState.Detached) {
      this.log.move(this.id, word, to, 'owner');
    }
    this.log.nudge(this.id); // resolves our own pending waitAsync
    registry.unregister(this.log.instance, this);
  }

  private armNudge(): void {
    if (this.detachedError !== null) return;
    const res = this.log.waitNudge(this.id);
    if (res.async) void res.value.then(this.onNudge);
    else setImmediate(this.onNudge);
  }

  private readonly onNudge = (): void => {
    if (this.detachedError !== null) return;
    this.counters.nudges++;
    try {
      this.catchUp();
      this.recovery.serveIfAsked();
    } catch (e) {
      // Halted or lost: every later op on this replica throws the reason. A
      // recovery that found no provider now is retried by the next op, which
      // reports it: an idle event loop is no place to throw it.
      if (!(e instanceof FailStopError) && !(e instanceof DetachedError) && !(e instanceof FencedRunSignal) && !(e instanceof RecoveryError)) throw e;
    } finally {
      this.armNudge();
    }
  };
}
