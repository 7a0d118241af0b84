/**
 * Recovery: how a fenced (or joining) replica becomes Active again, and how
 * an Active one hands its state to others.
 *
 * - Rejoin cheaply: if head has not passed our LTAIL, nothing we need was
 *   reused; publish LTAIL, turn Active, re-check head (slot-state.ts).
 * - Otherwise, or if a fenced replay may have computed on reused cells
 *   (the state is dirty), take a snapshot from a live replica
 *   (log/transfer.ts) or, for a sibling in this thread, directly from it.
 * - Clients keep their place across a recovery: own entries the snapshot
 *   covered are answered FencedError(committed), later ones re-applied.
 * - A slot whose incarnation changed (reclaimed after we were silent too
 *   long) or that was declared dead is lost: the replica detaches.
 */
import { DetachedError } from '../errors.js';
import { before } from '../log/positions.js';
import type { SharedLog } from '../log/shared-log.js';
import { describeSlots } from '../log/slots.js';
import { incarnationOf, SlotState, stateOf } from '../log/slot-state.js';
import { finishRecovery, handOver, PROVIDER_SILENCE_FACTOR, RecoveryError, requestSnapshot, serveSnapshot, snapshotRequested } from '../log/transfer.js';

/** What recovery needs from its replica. */
export interface RecoveryHost {
  readonly log: SharedLog;
  readonly id: number;
  /** The STATE word this replica holds its slot with (state and incarnation). */
  slotWord: number;
  /** The position the local state reflects. */
  ltail: number;
  /** The local state may hold applies from reused cells: only a snapshot can fix it. */
  dirty: boolean;
  /** Replace the local state by a snapshot taken at `pos`. */
  restore(bytes: Uint8Array, pos: number): void;
  snapshotBytes(): Uint8Array;
  catchUpToCtail(): void;
  /** A sibling in this thread that is Active, to copy from directly. */
  localProvider(): { snapshotFor(requester: number): { pos: number; bytes: Uint8Array } | null } | null;
  /** The slot is gone for good (declared dead, reclaimed, detached). */
  lose(error: DetachedError): never;
  /** Serving a snapshot now: a replay that finds us fenced must not recover (ServeAborted). */
  serving: boolean;
}

export interface RecoveryCounters {
  fenced: number;
  stateTransfers: number;
  stateTransferMs: number;
  snapshotsServed: number;
}

export class Recovery {
  constructor(
    private readonly host: RecoveryHost,
    private readonly transfer: SharedArrayBuffer | null,
    private readonly timeoutMs: number,
    private readonly counters: RecoveryCounters,
  ) {}

  /** Make sure our slot is Active and ours before a replay; recover if not. */
  rejoin(): void {
    const h = this.host;
    const log = h.log;
    const word = log.slotWord(h.id);
    if (word === h.slotWord && stateOf(word) === SlotState.Active) return;
    this.checkOurs(word);
    this.counters.fenced++;
    if (stateOf(word) === SlotState.Fenced && !h.dirty) {
      // Our state is the state at ltail: publish it, then hold head from there again.
      log.publishLtail(h.id, h.ltail);
      const active = log.move(h.id, word, SlotState.Active, 'owner');
      if (active !== -1) {
        // Was anything we still need reclaimed while we did not hold head?
        if (!before(h.ltail, log.head())) {
          h.slotWord = active;
          // What the fenced run applied was genuine (its checks said so) but unpublished: complete it now.
          log.complete(h.ltail);
          return;
        }
        log.move(h.id, active, SlotState.Fenced, 'owner');
      }
    }
    this.recoverByTransfer();
  }

  /** Replace the local state with a live replica's snapshot and its position. */
  recoverByTransfer(): void {
    const h = this.host;
    const log = h.log;
    const t0 = performance.now();
    for (;;) {
      const word = log.slotWord(h.id);
      this.checkOurs(word);
      const s = stateOf(word);
      if (s === SlotState.Active && word === h.slotWord && !h.dirty) break;
      if (s === SlotState.Recovering) {
        // A hand-over for a request we withdrew: void it and ask afresh.
        log.move(h.id, word, SlotState.Fenced, 'owner');
        continue;
      }
      if (s === SlotState.Active) {
        // Active but dirty: give up the slot's hold on head, then take a snapshot.
        log.move(h.id, word, SlotState.Fenced, 'owner');
        continue;
      }
      if (this.transfer === null || !log.anyActive(h.id)) {
        throw new RecoveryError(`no live replica to copy the state from: every other replica is fenced, detached or dead (slot states ${describeSlots(log)})`);
      }
      const local = h.localProvider();
      let snap: { pos: number; bytes: Uint8Array } | null;
      try {
        snap = local ? local.snapshotFor(h.id) : requestSnapshot(log, this.transfer, h.id, word, this.timeoutMs);
      } catch (e) {
        // A provider may have died mid-transfer: try again while a live replica exists, within a bound.
        if (e instanceof RecoveryError && performance.now() - t0 < 3 * this.timeoutMs && log.anyActive(h.id, PROVIDER_SILENCE_FACTOR)) continue;
        throw e;
      }
      if (snap === null) {
        // The provider was fenced before it could hand over, or we were fenced before we took it: again, within a bound.
        if (performance.now() - t0 >= 3 * this.timeoutMs) throw new RecoveryError(`no snapshot handed over in ${3 * this.timeoutMs} ms was still current when taken`);
        continue;
      }
      h.restore(snap.bytes, snap.pos);
      // Fenced again while restoring? Then go round once more.
      const active = finishRecovery(log, h.id);
      if (active !== -1) {
        h.slotWord = active;
        h.dirty = false;
        break;
      }
      h.dirty = false; // the snapshot is clean; only its position may be stale now
    }
    this.counters.stateTransfers++;
    this.counters.stateTransferMs += performance.now() - t0;
  }

  /** Detach if the slot is no longer ours to recover. */
  private checkOurs(word: number): void {
    const lost = slotLoss(this.host, word);
    if (lost !== null) this.host.lose(lost);
  }

  /**
   * A snapshot for a replica in this same thread, with the same head
   * hand-over as serveSnapshot; null if we were fenced meanwhile.
   */
  snapshotFor(requester: number): { pos: number; bytes: Uint8Array } | null {
    const h = this.host;
    h.catchUpToCtail();
    const bytes = h.snapshotBytes();
    if (handOver(h.log, h.id, requester, h.ltail) === -1) return null;
    this.counters.snapshotsServed++;
    return { pos: h.ltail, bytes };
  }

  /** Hand a snapshot to a replica that asked for one, if any did. */
  serveIfAsked(): void {
    const h = this.host;
    if (this.transfer === null || !snapshotRequested(h.log)) return;
    h.serving = true;
    try {
      const served = serveSnapshot(
        h.log,
        this.transfer,
        h.id,
        () => h.catchUpToCtail(),
        () => h.ltail,
        () => h.snapshotBytes(),
      );
      if (served) this.counters.snapshotsServed++;
    } catch (e) {
      if (!(e instanceof ServeAborted)) throw e;
      // We were fenced while serving: recover on our next op, not inside the serve.
    } finally {
      h.serving = false;
    }
  }
}

/** A provider found itself fenced while serving a snapshot: it gives the request back. */
export class ServeAborted extends Error {
  constructor() {
    super('fenced while serving a snapshot');
  }
}

/**
 * Why the slot whose STATE word is now `word` is no longer `h`'s (reclaimed:
 * a new incarnation; declared dead; left), or null if `h` still holds it.
 */
export function slotLoss(h: Pick<RecoveryHost, 'log' | 'id' | 'slotWord'>, word: number): DetachedError | null {
  if (incarnationOf(word) !== incarnationOf(h.slotWord)) {
    return new DetachedError(`replica slot ${h.id} was reclaimed by another thread after this one showed no sign of life for ${h.log.deadAfterMs} ms`);
  }
  const s = stateOf(word);
  if (s === SlotState.Dead) return new DetachedError(`replica slot ${h.id} was declared dead`);
  if (s !== SlotState.Active && s !== SlotState.Fenced && s !== SlotState.Recovering) return new DetachedError();
  return null;
}
