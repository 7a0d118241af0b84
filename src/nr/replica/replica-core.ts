/**
 * The machinery under a replica: its private state and position, and what
 * keeps them in step with the shared log. The public op API is replica.ts.
 *
 * - read: a bound read (bound-ops.ts) loads ctail once and calls readTo()
 *   only when this replica is behind it.
 * - replay: every entry from ltail to a target, through the log's replay
 *   (log/replay.ts) with this class as the apply callback. A run that ends
 *   fenced publishes nothing; the replica rejoins or recovers by state
 *   transfer (recovery.ts) and replays again.
 * - a synchronous write's own entry, when nothing precedes it, is applied
 *   directly from what this thread holds (replayOwn).
 * - corrupt shared state halts the replica for good (fail-stop); a lost
 *   slot detaches it. Either way clients are told and the slot stops
 *   holding back the log.
 * - an idle replica is nudged by writers that need log space: it sleeps in
 *   `Atomics.waitAsync` on its WAKE word and replays when woken.
 */
import { deserialize, serialize } from 'node:v8';
import { OpReader } from '../codec.js';
import { DEFAULTS } from '../defaults.js';
import { DetachedError, FailStopError, ReentrancyError } from '../errors.js';
import { before } from '../log/positions.js';
import { replay, type EntryApplier, type ReplayEnd } from '../log/replay.js';
import type { EntryHeader, SharedLog } from '../log/shared-log.js';
import { incarnationOf, SlotState, stateOf } from '../log/slot-state.js';
import { RecoveryError } from '../log/transfer.js';
import type { OpTable, Structure } from '../structure.js';
import { applyRemote, FencedRunSignal } from './apply-remote.js';
import type { ReadTarget } from './bound-ops.js';
import { Combiner } from './combiner.js';
import type { HubFactory, NodeHub } from './node-hub.js';
import { Recovery, slotLoss, ServeAborted } from './recovery.js';
import * as registry from './registry.js';
import type { ClientServer } from './serving.js';
import type { ReplicaOptions } from './types.js';

type AnyStructure = Structure<unknown, OpTable<unknown>, OpTable<unknown>>;

export abstract class ReplicaCore<S, R extends OpTable<S>, W extends OpTable<S>> implements EntryApplier, ReadTarget {
  readonly id: number;
  /** @internal */
  readonly log: SharedLog;
  protected readonly structure: Structure<S, R, W>;
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
  /** @internal Called once when this replica halts or loses its slot (parallel logs: the view stops its other logs' replicas). */
  onLeave: ((e: FailStopError | DetachedError) => void) | null = null;
  protected applying = false;
  /** While `applying`: a log position every entry of the run being applied lies before (its end). */
  protected applyingBefore = 0;
  /** @internal The position of the entry being applied by the replay (parallel logs check a multi-log op's recorded position against it). */
  entryAt = 0;
  /** @internal Where the last state transfer put this replica (parallel logs: a partition restored past a multi-log op never meets its entry). */
  restoredTo: number | null = null;
  private readonly reader: OpReader;
  protected readonly combiner: Combiner;
  protected readonly recovery: Recovery;
  protected server: ClientServer | null = null;
  protected readonly hub: NodeHub | null;

  protected readonly counters = {
    appends: 0,
    batches: 0,
    opsWritten: 0,
    replayedEntries: 0,
    replayedOps: 0,
    fullWaits: 0,
    fullWaitMs: 0,
    sealWaits: 0,
    sealWaitMs: 0,
    nudges: 0,
    fences: 0,
    fenced: 0,
    stateTransfers: 0,
    stateTransferMs: 0,
    snapshotsServed: 0,
  };

  constructor(
    log: SharedLog,
    structure: Structure<S, R, W>,
    slot: number,
    slotWord: number,
    options: ReplicaOptions,
    hubFor: HubFactory | null,
    transfer: SharedArrayBuffer | null,
  ) {
    this.log = log;
    this.structure = structure;
    this.id = slot;
    this.slotWord = slotWord;
    this.state = structure.create();
    this.reader = new OpReader(log.data);
    this.hub = hubFor?.(slot) ?? null;
    // A new hub starts its own epoch: silences before it (the slot's last owner's) are no concern of its clients.
    log.takeLongSilence(slot);
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

  /** @internal Throws the reason this replica can serve no more ops, if any. */
  checkUsable(): void {
    if (this.detachedError !== null) throw this.detachedError;
    if (this.applying) throw new ReentrancyError();
  }

  /**
   * @internal Publish this replica's heartbeat, if the slot is still ours. A
   * slot reclaimed while this thread was silent belongs to its new owner:
   * beating it would keep that owner looking alive after it dies. An idle
   * replica learns here, not at its next op, that it lost its slot.
   */
  beat(): void {
    if (this.detachedError !== null) return;
    const lost = slotLoss(this, this.log.slotWord(this.id));
    if (lost === null) this.log.beat(this.id, this.slotWord);
    else this.drop(lost);
  }

  /** @internal CombinerHost: the slot is still ours and Active as we last knew it. */
  holdsSlot(): boolean {
    return this.detachedError === null && this.log.slotWord(this.id) === this.slotWord;
  }

  /** @internal Replay up to the current tail, if not busy. */
  catchUp(): void {
    if (this.detachedError !== null || this.applying) return;
    this.replayTo(this.log.tail());
  }

  /** @internal LocalReplica: see registry.othersInThread. */
  tendForOtherLog(): void {
    // A fenced or lost replica holds no head (and its recovery is no job for another log's wait).
    if (this.applying || !this.holdsSlot()) return;
    try {
      this.catchUpToCtail();
    } catch (e) {
      // Opportunistic, as a nudge: a halt or a loss is kept and thrown at this replica's next op.
      if (!keptForNextOp(e)) throw e;
    }
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
      this.applyingBefore = end;
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
        // Fenced, then back: clients that judged us gone meanwhile (fenced and silent) were told their sent ops never
        // take effect; a new serving epoch never serves them. Clients of a node that stayed in touch are served on.
        if (this.log.takeLongSilence(this.id)) this.hub?.restart();
      }
      if (!before(this.ltail, target)) return;
      const runStart = this.combiner.ownCursor;
      this.applying = true;
      this.applyingBefore = target;
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
    this.entryAt = pos;
    // applyingMark is this entry's end, not the run's: memory it displaces waits only for replicas to pass it,
    // not for whatever else this replay run reaches (every replica's own later writes, on a busy log).
    this.applyingBefore = (pos + header.cells) | 0;
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
    this.restoredTo = pos;
    this.combiner.dropOwnEntriesBefore(pos);
  }

  /** @internal RecoveryHost */
  snapshotBytes(): Uint8Array {
    return this.structure.snapshot ? this.structure.snapshot(this.state, this.ltail) : serialize(this.state);
  }

  /** @internal RecoveryHost */
  localProvider(): { snapshotFor(requester: number): { pos: number; bytes: Uint8Array } | null } | null {
    for (const r of registry.siblings(this.log.instance, this)) {
      if (r instanceof ReplicaCore && this.log.slotState(r.id) === SlotState.Active) return r.recovery;
    }
    return null;
  }

  /** @internal RecoveryHost */
  lose(error: DetachedError): never {
    this.drop(error);
    throw error;
  }

  /** The slot is no longer ours (reclaimed, declared dead): stop serving, touch nothing of the slot. */
  private drop(error: DetachedError): void {
    if (this.detachedError !== null) return;
    this.combiner.rejectAll(error);
    this.hub?.close();
    this.leave(error, null);
    this.runLeaveHook(error);
  }

  /** @internal CombinerHost */
  serveSnapshotIfAsked(): void {
    this.recovery.serveIfAsked();
  }

  /** @internal CombinerHost: this thread's other replicas of this log, and its replicas of other logs. */
  helpSiblings(): void {
    for (const r of registry.siblings(this.log.instance, this)) r.catchUp();
    this.helpOtherLogs();
  }

  /** @internal This thread's replicas of other logs, to their CTAIL (registry.othersInThread). */
  helpOtherLogs(): void {
    for (const r of registry.othersInThread(this.log.instance)) r.tendForOtherLog();
  }

  /**
   * @internal Parallel logs (cnr/): append one write op without replaying
   * it; null if it was lost (see Combiner.appendAlone).
   */
  appendUnapplied(name: string, args: readonly unknown[]): number | null {
    this.checkUsable();
    return this.combiner.appendAlone(name, args);
  }

  /**
   * @internal Parallel logs: commit the async writes queued on this replica
   * now, so that a multi-log op issued after them follows them, as a sync
   * write follows the queue on one log. (On failure the combiner has settled
   * the queued ops, and the error is the multi-log op's.)
   */
  commitQueued(): void {
    if (this.combiner.pending.length > 0) this.commit();
  }

  /** @internal Parallel logs: a multi-log write's call-site checks (Combiner.checkEncodes). */
  checkWrite(name: string, args: readonly unknown[]): void {
    this.checkUsable();
    this.combiner.checkEncodes(name, args);
  }

  /** @internal Parallel logs: an apply of this replica is on the stack. */
  get isApplying(): boolean {
    return this.applying;
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

  // ---- failure and nudges ------------------------------------------------------

  /**
   * An apply found shared state corrupt: stop for good. Nothing more is
   * published; the slot stops holding back the log and clients are told.
   */
  protected halt(e: FailStopError): void {
    this.stopFor(e);
    throw this.detachedError;
  }

  /**
   * @internal Stop for good without throwing: `halt`'s effects for a
   * FailStopError (the slot turns Dead), a detach's for a DetachedError.
   * Parallel logs call it on a view's other replicas when one halts or loses
   * its slot, so the view as a whole serves nothing more, as one replica
   * would, and holds no slot on any log.
   */
  stopFor(e: FailStopError | DetachedError): void {
    // A fail-stop supersedes a detach (its error is what every later op throws); nothing supersedes a fail-stop.
    if (this.detachedError instanceof FailStopError || (this.detachedError !== null && !(e instanceof FailStopError))) return;
    this.combiner.rejectAll(e);
    this.hub?.close();
    this.leave(e, e instanceof FailStopError ? SlotState.Dead : SlotState.Detached);
    this.runLeaveHook(e);
  }

  /** `onLeave` once: the first involuntary leave. */
  private runLeaveHook(e: FailStopError | DetachedError): void {
    const hook = this.onLeave;
    this.onLeave = null;
    hook?.(e);
  }

  protected leave(reason: DetachedError | FailStopError, to: SlotState.Detached | SlotState.Dead | null): void {
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

  protected armNudge(): void {
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
      if (!keptForNextOp(e)) throw e;
    } finally {
      this.armNudge();
    }
  };
}

/** An error an opportunistic replay (a nudge, another log's wait) leaves for the replica's next op: a halt, a loss, a fence, a recovery that found no provider. */
function keptForNextOp(e: unknown): boolean {
  return e instanceof FailStopError || e instanceof DetachedError || e instanceof FencedRunSignal || e instanceof RecoveryError;
}
