/**
 * The combiner: one replica's queue of pending ops and the commit that
 * turns them into log entries (the Rust crate's flat combining, with the
 * replica's worker as the combiner for its own thread and its clients).
 *
 * A commit cuts the pending items into entries (one reservation each,
 * usually one per commit), copies and seals them, then has the replica
 * replay through them. While replaying, the replica hands each of its own
 * entries back here (`applyOwn`): local writes apply from the arguments the
 * caller passed (no decode), client writes decode from the log, client
 * reads run at their place between their client's writes. Each caller then
 * gets its own result, in issue order.
 *
 * Its pieces: the queue and op encoding are its base class (op-queue.ts: a
 * base, so per-op calls add no indirection); reserving while the log is
 * full is reserve-full.ts (entered only once the first tryReserve fails);
 * settling a commit whose slot was lost is settle-lost.ts. The own-entry
 * records and the apply of a batch's items stay here: applyOwn, isNextOwn
 * and applyItems run per entry (per op on the sync path), and apart they
 * would cost a field load and a call there.
 */
import { DetachedError, FailStopError, FencedError } from '../errors.js';
import { LIMITS, SPARE_BATCH_MAX } from '../defaults.js';
import { before } from '../log/positions.js';
import { OP_HEADER_BYTES, MAX_OP_BYTES } from '../log/layout.js';
import { SharedLog } from '../log/shared-log.js';
import { OpReader, OpWriter } from '../codec.js';
import type { HubHost, NodeHub } from './node-hub.js';
import { applyBatch } from './write-batch.js';
import type { OpTable, Structure } from '../structure.js';
import { applyWrite, copyPayload, isLocal, isLogged, ItemKind, NO_WRITES, OWN_FIELDS, type PendingWrite } from './batch.js';
import { type CombineMode, OpQueue } from './op-queue.js';
import { reserveWhileFull } from './reserve-full.js';
import { settleLostBatch } from './settle-lost.js';
import type { CombinerCounters, CombinerHost } from './combiner-host.js';

export type { CombineMode } from './op-queue.js';
export type { CombinerCounters, CombinerHost } from './combiner-host.js';

export class Combiner extends OpQueue implements HubHost {
  private readonly reader: OpReader;
  /**
   * Own entries appended by the commit in progress, in log order, as
   * (position, first item, item count, staging offset of the first item)
   * records; preallocated, so a commit allocates nothing for them.
   */
  private own = new Int32Array(OWN_FIELDS * 4);
  private ownCount = 0;
  /** Own entries applied so far by this commit's replay. */
  ownCursor = 0;
  private ownBatch: PendingWrite[] = NO_WRITES;

  constructor(
    log: SharedLog,
    private readonly id: number,
    structure: Structure<unknown, OpTable<unknown>, OpTable<unknown>>,
    private readonly hub: NodeHub | null,
    private readonly host: CombinerHost,
    private readonly counters: CombinerCounters,
    combine: CombineMode,
    private readonly afterReserve: ((pos: number) => void) | undefined,
  ) {
    super(log, structure, combine);
    this.reader = new OpReader(log.data);
  }

  /**
   * @internal Parallel logs (cnr/): append one write op as an entry of its
   * own and do not replay it: the caller replays it later, and it is applied
   * like any other replica's entry (decoded from the log). Returns its
   * position, or null when it was lost (presumed dead while stalled between
   * reserving and sealing: every replica skips it). Throws EncodeError,
   * OpTooLargeError or UnknownOpError with nothing written.
   */
  appendAlone(name: string, args: readonly unknown[]): number | null {
    const log = this.log;
    const w = (this.alone ??= new OpWriter(256));
    w.pos = 0;
    this.encode(w, name, args, 0, false); // applied from the log, like another replica's entry: no decode here
    const cells = SharedLog.cellsFor(w.pos);
    let sealed = false;
    let pos: number | 'lost' = 'lost';
    try {
      pos = this.reserve(cells);
      if (pos === 'lost') return null;
      this.afterReserve?.(pos);
      if (!log.stillOwns(pos)) return null;
      copyPayload(w, 0, w.pos, log, log.payloadOffset(pos));
      log.writeHeader(pos, cells, 1, this.id, 1, w.pos);
      sealed = log.sealOwn(pos);
    } finally {
      log.setIntent(this.id, 0, 0);
    }
    if (!sealed) return null;
    this.counters.appends++;
    this.counters.opsWritten++;
    return pos;
  }

  // ---- commit ------------------------------------------------------------------

  /**
   * Append every pending write (one entry, or several if they exceed the
   * largest entry) and replay through them. Afterwards each pending op holds
   * its result, and queued async callers have been answered.
   */
  commit(): void {
    this.host.serveSnapshotIfAsked();
    this.hub?.gather(this);
    const batch = this.pending;
    this.pending = this.spare ?? [];
    this.spare = null;
    try {
      this.commitBatch(batch);
    } catch (e) {
      if (e instanceof FailStopError) {
        for (const op of batch) op.reject?.(e);
        this.rejectAll(e);
      } else if (e instanceof DetachedError) {
        this.settleLost(batch, e);
      }
      throw e;
    } finally {
      this.ownCount = 0;
      this.ownBatch = NO_WRITES;
    }
    this.settle(batch);
    // Settled: the array can queue a later commit (emptied by pop: a length store would drop its backing store).
    if (this.spare === null && batch.length <= SPARE_BATCH_MAX) {
      while (batch.length > 0) batch.pop();
      this.spare = batch;
    }
  }

  private commitBatch(batch: PendingWrite[]): void {
    const log = this.log;
    this.ownBatch = batch;
    this.ownCount = 0;
    this.ownCursor = 0;
    if (!batch.some(isLogged)) {
      // Nothing to append (only client reads): answer at the ctail observed now.
      this.host.catchUpToCtail();
      this.applyItems(0, 0, batch.length);
      return;
    }
    const max = log.maxPayloadBytes;
    let first = 0;
    let last = 0;
    while (first < batch.length) {
      // Cut the largest run of items that fits one entry.
      const from = batch[first]!.start;
      let count = 0;
      let ops = 0;
      while (first + count < batch.length && batch[first + count]!.end - from <= max) {
        ops += batch[first + count]!.ops;
        count++;
      }
      const to = batch[first + count - 1]!.end;
      const payload = to - from;
      const cells = SharedLog.cellsFor(payload);
      const pos = this.reserve(cells);
      if (pos === 'lost') {
        // Presumed dead between reserving and sealing the pad: nothing of ours is in the log.
        this.failItems(batch, first, count, new FencedError(false));
        first += count;
        continue;
      }
      this.afterReserve?.(pos);
      if (!log.stillOwns(pos)) {
        // Presumed dead while stalled here: our cells were repaired into a skip (and may be reused).
        this.failItems(batch, first, count, new FencedError(false));
        first += count;
        continue;
      }
      copyPayload(this.staging, from, to, log, log.payloadOffset(pos));
      log.writeHeader(pos, cells, 1, this.id, ops, payload);
      if (log.sealOwn(pos)) {
        this.pushOwn(pos, first, count, from);
        this.counters.appends++;
        this.counters.opsWritten += ops;
        last = (pos + cells) | 0;
      } else {
        // We were presumed dead and our cells turned into a skip: these ops never took effect.
        this.failItems(batch, first, count, new FencedError(false));
      }
      first += count;
    }
    log.setIntent(this.id, 0, 0);
    this.counters.batches++;
    if (this.ownCount === 1) this.host.replayOwn(this.own[0]!, last);
    else if (this.ownCount > 0) this.host.replayTo(last);
    // Own entries a recovery's snapshot covered were answered with FencedError(true) there;
    // every other one was applied. One left over was skipped by the replay: corruption.
    if (this.ownCursor !== this.ownCount) {
      throw new FailStopError(`the shared log is corrupt: ${this.ownCount - this.ownCursor} of this replica's own entries were not found where it appended them`);
    }
  }

  /** Reserve cells; while the log is full, replay, help and wait (reserve-full.ts). */
  private reserve(cells: number): number | 'lost' {
    const pos = this.log.tryReserve(cells, this.id);
    if (pos !== null) return pos;
    return reserveWhileFull(this.log, this.id, this.host, this.counters, cells);
  }

  private pushOwn(pos: number, first: number, count: number, from: number): void {
    if (OWN_FIELDS * (this.ownCount + 1) > this.own.length) {
      const grown = new Int32Array(this.own.length * 2);
      grown.set(this.own);
      this.own = grown;
    }
    const at = OWN_FIELDS * this.ownCount++;
    this.own[at] = pos;
    this.own[at + 1] = first;
    this.own[at + 2] = count;
    this.own[at + 3] = from;
  }

  // ---- applying own entries -------------------------------------------------------

  /** The entry at `pos` is the next own entry of the commit in progress. */
  isNextOwn(pos: number, replica: number): boolean {
    return replica === this.id && this.ownCursor < this.ownCount && this.own[OWN_FIELDS * this.ownCursor] === pos;
  }

  /** Apply the next own entry (at `pos`). */
  applyOwn(pos: number): void {
    const at = OWN_FIELDS * this.ownCursor++;
    this.applyItems(this.log.payloadOffset(pos) - this.own[at + 3]!, this.own[at + 1]!, this.own[at + 2]!);
  }

  /**
   * A replay run from `cursor` on turned out fenced and its applies may have
   * read reused cells: forget their results (the entries are re-applied or
   * answered as committed after recovery).
   */
  rewindOwn(cursor: number): void {
    for (let e = cursor; e < this.ownCursor; e++) {
      const at = OWN_FIELDS * e;
      for (let i = this.own[at + 1]!; i < this.own[at + 1]! + this.own[at + 2]!; i++) {
        const op = this.ownBatch[i]!;
        op.failed = false;
        op.error = undefined;
        op.result = undefined;
        op.applyErrors = null;
      }
    }
    this.ownCursor = cursor;
  }

  /** Own entries a snapshot at `pos` already includes: they took effect, but their results are lost. */
  dropOwnEntriesBefore(pos: number): void {
    while (this.ownCursor < this.ownCount && before(this.own[OWN_FIELDS * this.ownCursor]!, pos)) {
      const at = OWN_FIELDS * this.ownCursor++;
      this.failItems(this.ownBatch, this.own[at + 1]!, this.own[at + 2]!, new FencedError(true));
    }
  }

  /** Apply batch items [first, first+count); a logged item's bytes are at `logDelta + item.start`. */
  private applyItems(logDelta: number, first: number, count: number): void {
    const st = this.structure;
    const state = this.host.state;
    const hub = this.hub;
    const r = this.reader;
    let logged = 0;
    for (let i = first; i < first + count; i++) {
      const op = this.ownBatch[i]!;
      switch (op.kind) {
        case ItemKind.LocalWrite:
          logged++;
          try {
            op.result = applyWrite(st.writeFns[op.id]!, state, op.args!);
          } catch (e) {
            if (e instanceof FailStopError) throw e;
            op.failed = true;
            op.error = e;
          }
          break;
        case ItemKind.LocalBatch:
          logged += op.ops;
          if (this.stagingReader?.bytes !== this.staging.bytes) this.stagingReader = new OpReader(this.staging.bytes);
          applyBatch(st, this.stagingReader, op, state);
          break;
        case ItemKind.ClientWrite: {
          logged++;
          r.pos = logDelta + op.start + OP_HEADER_BYTES;
          r.end = r.pos + (this.staging.view.getUint32(op.start, true) & MAX_OP_BYTES);
          let args: readonly unknown[];
          try {
            args = st.writeCodecs[op.id]!.decode(r);
          } catch (e) {
            // Logged bytes that do not decode are corruption on every replica that reads them (apply-remote.ts), so here too.
            throw new FailStopError(`the shared log is corrupt: client ${op.client}'s write (op id ${op.id}) at its place in this node's entry does not decode: ${e instanceof Error ? e.message : String(e)}`);
          }
          let result: unknown;
          try {
            result = applyWrite(st.writeFns[op.id]!, state, args);
          } catch (e) {
            if (e instanceof FailStopError) throw e;
            hub!.respondThrew(op.client, op.seq, e);
            break;
          }
          hub!.respondOk(op.client, op.seq, st.writeResultCodecs[op.id]!, result);
          break;
        }
        case ItemKind.ClientRead: {
          let result: unknown;
          try {
            result = st.readFns[op.id]!(state, ...st.readArgCodecs[op.id]!.decode(hub!.requestArgs(op.client, op.seq, op.argBytes)));
          } catch (e) {
            if (e instanceof FailStopError) throw e;
            hub!.respondThrew(op.client, op.seq, e);
            break;
          }
          hub!.respondOk(op.client, op.seq, st.readResultCodecs[op.id]!, result);
          break;
        }
        case ItemKind.ClientReject:
          hub!.respondThrew(op.client, op.seq, op.error);
      }
    }
    this.counters.replayedOps += logged;
  }

  private failItems(batch: PendingWrite[], first: number, count: number, error: Error): void {
    for (let i = first; i < first + count; i++) {
      const op = batch[i]!;
      if (isLocal(op)) {
        op.failed = true;
        op.error = error;
      } else this.hub?.respondThrew(op.client, op.seq, error);
    }
  }

  /** The batch a lost slot interrupted (settleLost): a sync write in it reads its fate there. */
  lostBatch: readonly PendingWrite[] | null = null;

  /** The slot was lost in the middle of a commit: settle its local writes (settle-lost.ts). */
  private settleLost(batch: PendingWrite[], lost: DetachedError): void {
    this.lostBatch = batch;
    settleLostBatch(batch, this.own, this.ownCount, this.ownCursor, lost);
  }

  // ---- answering -------------------------------------------------------------------

  /** Answer queued async ops: writes with their results, then reads queued behind them. */
  private settle(batch: PendingWrite[]): void {
    for (const op of batch) {
      if (op.resolve === null) continue; // a sync write (its caller reads the result) or a client's op
      if (op.failed) op.reject!(op.error);
      else op.resolve(op.result);
    }
    this.settleReads();
  }

  settleReads(): void {
    if (this.pendingReads.length === 0) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const r of reads) {
      try {
        r.resolve(r.read());
      } catch (e) {
        r.reject(e);
      }
    }
  }

  rejectAll(e: unknown): void {
    for (const op of this.pending) op.reject?.(e);
    for (const r of this.pendingReads) r.reject(e);
    this.pending = [];
    this.pendingReads = [];
  }

  /**
   * @internal HubHost. Clients judge a node gone once its slot is fenced and it has been silent for deadAfterMs, and
   * are told their sent ops never take effect later (node-gone.ts). So a hub takes requests only after a beat that
   * found the slot still ours: a fenced node takes none until it has recovered, and its recovery starts a new
   * serving epoch (hub.restart), so what those clients sent is never served. The window left: a node stalled for
   * deadAfterMs between this check and sealing its entry (docs/nr.md, "Clients: epochs and outcomes").
   */
  mayTakeRequests(): boolean {
    this.host.beat();
    return this.host.holdsSlot();
  }

  /** @internal HubHost */
  get batchRoom(): number {
    return LIMITS.maxClientOpsPerBatch;
  }
}

