/**
 * A replica: one worker's private copy of the structure, kept in step with
 * the shared log.
 *
 * Protocol (see log.ts for the buffer layout):
 * - read: load ctail once; replay the log up to it; run the read locally.
 *   When the replica is current this is one atomic load and the op itself:
 *   nothing is written to shared memory.
 * - write: encode into the private staging buffer, reserve cells with one
 *   CAS on tail, copy, seal, then replay up to and including the entry. The
 *   caller gets what its own replica's apply returned (or threw).
 * - writeAsync: ops issued before the combiner runs (a microtask, or
 *   setImmediate with `combine: 'immediate'`) are flat-combined into one
 *   entry, i.e. one reservation and one replay; each caller gets its own
 *   result, in issue order.
 * - An idle replica is nudged by writers that need log space: it sleeps in
 *   `Atomics.waitAsync` on its WAKE word and replays when woken.
 */
import { before, distance, MAX_SLEEP_MS, waitWhileEqual } from './atomics.js';
import { OpReader, OpWriter } from './codec.js';
import { DetachedError, EncodeError, FailStopError, FencedError, OpTooLargeError, ReentrancyError, UnknownOpError } from './errors.js';
import { handOver, RecoveryError, requestSnapshot, serveSnapshot, snapshotRequested } from './transfer.js';
import { deserialize, serialize } from 'node:v8';
import {
  CTAIL,
  EntryKind,
  HEAD,
  HEAD_WAITERS,
  OP_HEADER_BYTES,
  MAX_OP_BYTES,
  SharedLog,
  SlotState,
  TAIL,
} from './log.js';
import type { OpArgs, OpResult, OpTable, Structure } from './structure.js';
import { copyPayload, isLogged, ItemKind, NO_WRITES, OWN_FIELDS, type PendingRead, type PendingWrite } from './batch.js';
import { type BoundReads, type BoundWrites, compileRead } from './bound-ops.js';

export type { BoundReads, BoundWrites } from './bound-ops.js';
import type { SharedContext } from './context.js';
import { ClientHub, type HubHost } from './hub.js';
import { isMainThread } from 'node:worker_threads';

/** When queued async writes are combined and appended. */
export type CombineMode = 'microtask' | 'immediate';

export interface ReplicaOptions {
  /** Default 'microtask': writes issued in one synchronous run form one batch. */
  combine?: CombineMode;
  /** Bound on waiting for a snapshot when this replica must recover or join. Default 30 000 ms. */
  transferTimeoutMs?: number;
  /** @internal Test hooks, to force rare interleavings deterministically. */
  testHooks?: { afterReserve?: (pos: number) => void };
}

/** live: current; lagging: more than half a log behind; fenced: must recover before serving; recovering: taking a snapshot. */
export type ReplicaStatus = 'live' | 'lagging' | 'fenced' | 'recovering' | 'detached';

/** Plain-object counters, cheap to log or export. */
export interface ReplicaStats {
  replica: number;
  status: ReplicaStatus;
  /** Lagging replicas this replica fenced while it waited for log space. */
  fences: number;
  /** Times this replica found itself fenced. */
  fenced: number;
  /** Snapshots this replica restored (recovering or joining), and the time they took. */
  stateTransfers: number;
  stateTransferMs: number;
  /** Snapshots this replica handed to others. */
  snapshotsServed: number;
  /** Entries this replica appended. */
  appends: number;
  /** Commits (one per sync write, or per combined async batch). */
  batches: number;
  /** Write ops this replica issued. */
  opsWritten: number;
  /** Entries and ops replayed (own and others'). */
  replayedEntries: number;
  replayedOps: number;
  /** Times a writer found the log full and had to wait, and the time spent. */
  fullWaits: number;
  fullWaitMs: number;
  /** Times a replay found an entry reserved but not yet filled, and waited. */
  sealWaits: number;
  /** Nudges handled in the event loop. */
  nudges: number;
  /** Position this replica has applied up to, and the log's used cells. */
  ltail: number;
  logUsedCells: number;
}

/** Most client ops one batch takes, so that serving clients never starves the node's own work. */
const MAX_CLIENT_OPS_PER_BATCH = 4096;

/** Replicas attached in this thread, by log instance: they can help each other replay. */
const localReplicas = new Map<number, Set<Replica<never, OpTable<never>, OpTable<never>>>>();

export class Replica<S, R extends OpTable<S>, W extends OpTable<S>> implements HubHost {
  readonly id: number;
  private readonly log: SharedLog;
  private readonly transfer: SharedArrayBuffer | null;
  private readonly transferTimeoutMs: number;
  private readonly hooks: ReplicaOptions['testHooks'];
  private readonly structure: Structure<S, R, W>;
  private state: S;
  /** Private copy of this replica's LTAIL (only this replica writes it). */
  private ltail = 0;
  private detached = false;
  /** Set when an apply found shared state corrupt: the replica has halted for good (see FailStopError). */
  private halted: FailStopError | null = null;
  private applying = false;
  private readonly staging: OpWriter;
  private readonly reader: OpReader;
  /**
   * Read ops bound to this replica: the fastest read path (one wasm atomic
   * load of ctail, then the op), e.g. `replica.reads.get(key)`.
   */
  readonly reads: BoundReads<R>;
  /** Write ops bound to this replica, synchronous: `replica.writes.put(key, value)`. */
  readonly writes: BoundWrites<W>;
  private readonly combine: CombineMode;

  /** Serves this node's clients (null when the handle has no client slots). */
  private readonly hub: ClientHub | null;
  private serveScheduled = false;
  private doorbellArmed = false;

  private pending: PendingWrite[] = [];
  private pendingReads: PendingRead[] = [];
  private flushScheduled = false;
  /**
   * Own entries appended by the commit in progress, in log order, as
   * (position, first op, op count, staging offset of the first op)
   * records; preallocated, so a commit allocates nothing for them.
   */
  private own = new Int32Array(OWN_FIELDS * 4);
  private ownCount = 0;
  private ownCursor = 0;
  private ownBatch: PendingWrite[] = NO_WRITES;

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
    options: ReplicaOptions = {},
    context: SharedContext | null = null,
    transfer: SharedArrayBuffer | null = null,
    joining = false,
  ) {
    this.log = log;
    this.transfer = transfer;
    this.transferTimeoutMs = options.transferTimeoutMs ?? 30_000;
    this.hooks = options.testHooks;
    this.structure = structure;
    this.id = slot;
    this.state = structure.create();
    this.reads = this.bindReads();
    this.writes = this.bindWrites();
    this.combine = options.combine ?? 'microtask';
    this.staging = new OpWriter(4096, log.maxPayloadBytes);
    this.reader = new OpReader(log.data);
    // A replica in a reserved slot starts from position 0: head cannot have
    // passed it, because the slot held head back until now. A late one
    // (its slot is fenced) joins by state transfer first.
    this.ltail = joining ? 0 : Atomics.load(log.words, log.ltailIndex(slot));
    if (joining) this.rejoin();
    let set = localReplicas.get(log.instance);
    if (!set) localReplicas.set(log.instance, (set = new Set()));
    set.add(this as unknown as Replica<never, OpTable<never>, OpTable<never>>);
    this.hub = context !== null && context.clients > 0 ? new ClientHub(context, slot) : null;
    installExitHook();
    this.armNudge();
    this.armDoorbell();
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
      if (this.detached) throw this.halted ?? new DetachedError();
      if (this.applying) throw new ReentrancyError();
      this.enqueue(name, args, resolve as (v: unknown) => void, reject);
      this.scheduleFlush();
    });
  }

  /** A read that also observes every write this replica queued before it. */
  readAsync<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): Promise<OpResult<R[K]>> {
    return new Promise<OpResult<R[K]>>((resolve, reject) => {
      if (this.pending.length === 0) {
        resolve(this.read(name, ...args));
        return;
      }
      if (this.detached) throw this.halted ?? new DetachedError();
      if (!Object.hasOwn(this.reads, name)) throw new UnknownOpError('read', name);
      this.pendingReads.push({ read: () => this.read(name, ...args), resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Replay everything appended so far (ctail or beyond). */
  sync(): void {
    if (this.detached) throw this.halted ?? new DetachedError();
    this.catchUp();
  }

  /**
   * A mark of the log as it stands: every write appended before this call,
   * this replica's own included, lies before it. With `appliedEverywhere`,
   * it tells when shared memory that only older entries reference (an
   * overwritten value, an out-of-line payload) can be reused.
   */
  logMark(): number {
    return Atomics.load(this.log.words, TAIL);
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
    if (this.detached) throw this.halted ?? new DetachedError();
    if (!this.structure.digest) throw new UnknownOpError('read', 'digest');
    this.catchUpToCtail();
    return this.structure.digest(this.state);
  }

  /**
   * Leave the log: flush queued writes, stop holding back head, and stop
   * serving. Further calls throw DetachedError.
   */
  detach(): void {
    if (this.detached) return;
    if (this.pending.length > 0) this.commit();
    // Answer what clients already sent, then tell them this node is gone.
    for (let round = 0; this.hub !== null && round < 64 && this.hub.hasWork(); round++) this.serveRound();
    this.hub?.close();
    this.detached = true;
    this.log.release(this.id, SlotState.Detached);
    this.log.nudge(this.id); // resolves our own pending waitAsync
    localReplicas.get(this.log.instance)?.delete(this as unknown as Replica<never, OpTable<never>, OpTable<never>>);
  }

  /** Where this replica stands: see ReplicaStatus. */
  status(): ReplicaStatus {
    if (this.detached) return 'detached';
    const s = this.log.slotState(this.id);
    if (s === SlotState.Fenced) return 'fenced';
    if (s === SlotState.Recovering) return 'recovering';
    return distance(this.ltail, Atomics.load(this.log.words, TAIL)) > this.log.cells / 2 ? 'lagging' : 'live';
  }

  /**
   * @internal The thread is exiting: stop holding back the log and tell
   * clients, without running any more ops.
   */
  abandon(): void {
    if (this.detached) return;
    this.detached = true;
    this.hub?.close();
    this.log.release(this.id, SlotState.Detached);
  }

  /**
   * An apply found shared state corrupt: stop for good. Nothing more is
   * published; the slot stops holding back the log and clients are told.
   */
  private halt(e: FailStopError): void {
    if (this.halted !== null) return;
    this.halted = e;
    this.detached = true;
    this.rejectAll(e);
    this.hub?.close();
    this.log.release(this.id, SlotState.Dead);
    localReplicas.get(this.log.instance)?.delete(this as unknown as Replica<never, OpTable<never>, OpTable<never>>);
  }

  get isDetached(): boolean {
    return this.detached;
  }

  stats(): ReplicaStats {
    return {
      replica: this.id,
      status: this.status(),
      ...this.counters,
      ltail: this.ltail,
      logUsedCells: this.log.used(),
    };
  }

  // The op tables are plain objects (prototype-free ones are dictionary-mode
  // in V8, and a slow property lookup would cost as much as the read);
  // lookups by name go through Object.hasOwn.
  private bindReads(): BoundReads<R> {
    const table: { [name: string]: (...args: unknown[]) => unknown } = {};
    this.structure.readNames.forEach((name, id) => {
      table[name] = compileRead(this, this.structure.readFns[id]!, this.log.load);
    });
    return Object.freeze(table) as unknown as BoundReads<R>;
  }

  private bindWrites(): BoundWrites<W> {
    const table: { [name: string]: (...args: unknown[]) => unknown } = {};
    for (const name of this.structure.writeNames) {
      table[name] = (...args: unknown[]): unknown => this.writeNow(name, args);
    }
    return Object.freeze(table) as unknown as BoundWrites<W>;
  }

  private writeNow(name: string, args: readonly unknown[]): unknown {
    if (this.detached) throw this.halted ?? new DetachedError();
    if (this.applying) throw new ReentrancyError();
    const op = this.enqueue(name, args, null, null);
    this.commit();
    if (op.failed) throw op.error;
    return op.result;
  }

  // ---- combining -------------------------------------------------------------

  private enqueue(
    name: string,
    args: readonly unknown[],
    resolve: ((v: unknown) => void) | null,
    reject: ((e: unknown) => void) | null,
  ): PendingWrite {
    const id = this.structure.writeIds[name];
    if (id === undefined) throw new UnknownOpError('write', name);
    const w = this.staging;
    if (this.pending.length === 0) w.pos = 0;
    const start = w.pos;
    w.u32(0); // op header, patched below
    try {
      this.structure.writeCodecs[id]!.encode(w, ...args);
    } catch (e) {
      w.pos = start;
      throw new EncodeError(name, e);
    }
    const bytes = w.pos - start - OP_HEADER_BYTES;
    if (bytes > MAX_OP_BYTES || w.pos - start > this.log.maxPayloadBytes) {
      w.pos = start;
      throw new OpTooLargeError(name, bytes, this.log.maxPayloadBytes - OP_HEADER_BYTES);
    }
    w.view.setUint32(start, (id << 24) | bytes, true);
    // Keep every op 4-byte aligned so entry headers stay word-aligned.
    while ((w.pos & 3) !== 0) w.u8(0);
    const op: PendingWrite = {
      kind: ItemKind.LocalWrite,
      id,
      args,
      client: -1,
      seq: 0,
      start,
      end: w.pos,
      result: undefined,
      failed: false,
      error: undefined,
      resolve,
      reject,
    };
    this.pending.push(op);
    return op;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.combine === 'immediate') setImmediate(this.flush);
    else queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.detached) {
      this.rejectAll(new DetachedError());
      return;
    }
    try {
      if (this.pending.length > 0) this.commit();
      else this.settleReads();
    } catch (e) {
      // A fail-stop already rejected every queued op; anything else is a bug to surface.
      if (!(e instanceof FailStopError)) throw e;
    }
  };

  /** Answer queued async ops: writes with their results, then reads queued behind them. */
  private settle(batch: PendingWrite[]): void {
    for (const op of batch) {
      if (op.resolve === null) continue; // a sync write (its caller reads the result) or a client's op
      if (op.failed) op.reject!(op.error);
      else op.resolve(op.result);
    }
    this.settleReads();
  }

  private settleReads(): void {
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

  private rejectAll(e: unknown): void {
    for (const op of this.pending) op.reject?.(e);
    for (const r of this.pendingReads) r.reject(e);
    this.pending = [];
    this.pendingReads = [];
  }

  /**
   * Append every pending write (one entry, or several if they exceed the
   * largest entry) and replay through them. Afterwards each pending op holds
   * its result, and queued async callers have been answered.
   */
  private commit(): void {
    this.maybeServeSnapshot();
    this.hub?.gather(this);
    const batch = this.pending;
    this.pending = [];
    try {
      this.commitBatch(batch);
    } catch (e) {
      if (e instanceof FailStopError) {
        for (const op of batch) op.reject?.(e);
        this.rejectAll(e);
      }
      throw e;
    }
  }

  private commitBatch(batch: PendingWrite[]): void {
    const log = this.log;
    this.ownBatch = batch;
    this.ownCount = 0;
    this.ownCursor = 0;
    if (!batch.some(isLogged)) {
      // Nothing to append (only client reads): answer at the ctail observed now.
      this.catchUpToCtail();
      this.applying = true;
      try {
        this.applyItems(0, 0, batch.length);
      } finally {
        this.applying = false;
      }
    } else {
      const max = log.maxPayloadBytes;
      let first = 0;
      let last = 0;
      while (first < batch.length) {
        // Cut the largest run of items that fits one entry.
        const from = batch[first]!.start;
        let count = 0;
        let ops = 0;
        while (first + count < batch.length && batch[first + count]!.end - from <= max) {
          if (isLogged(batch[first + count]!)) ops++;
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
        this.hooks?.afterReserve?.(pos);
        copyPayload(this.staging, from, to, log, log.payloadOffset(pos));
        log.writeHeader(pos, cells, EntryKind.Batch, this.id, ops, payload);
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
      this.replayTo(last);
    }
    this.ownCount = 0;
    this.ownBatch = NO_WRITES;
    this.settle(batch);
    if (this.hub !== null) {
      // After replayTo raised ctail past the entry: answers never run ahead of it.
      this.hub.publish();
      if (this.hub.hasWork()) this.scheduleServe();
    }
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

  /** Reserve cells, replaying, helping and waiting (never spinning unbounded) while the log is full. */
  private reserve(cells: number): number | 'lost' {
    const log = this.log;
    let pos = log.tryReserve(cells, this.id);
    if (pos !== null) return pos;
    const t0 = performance.now();
    this.counters.fullWaits++;
    let waitingFor = -1;
    let since = t0;
    for (;;) {
      // Our own replica must never be the one holding head back.
      this.replayTo(Atomics.load(log.words, TAIL));
      this.maybeServeSnapshot();
      const lagger = log.advanceHead();
      pos = log.tryReserve(cells, this.id);
      if (pos !== null) break;
      // Wait for a lagging replica only so long; then fence it.
      const now = performance.now();
      if (lagger !== waitingFor) {
        waitingFor = lagger;
        since = now;
      } else if (lagger >= 0 && lagger !== this.id && now - since >= log.fenceAfterMs) {
        if (log.fence(lagger, log.slotState(lagger))) this.counters.fences++;
        waitingFor = -1;
        continue;
      }
      // Replicas in this thread cannot run while we block: replay them here.
      for (const r of localReplicas.get(log.instance) ?? []) if (r !== (this as unknown)) r.catchUp();
      if (lagger >= 0 && lagger !== this.id) log.nudge(lagger);
      pos = log.tryReserve(cells, this.id);
      if (pos !== null) break;
      const h = Atomics.load(log.words, HEAD);
      waitWhileEqual(log.words, HEAD, h, HEAD_WAITERS, performance.now() + MAX_SLEEP_MS);
    }
    this.counters.fullWaitMs += performance.now() - t0;
    return pos;
  }

  // ---- replay ----------------------------------------------------------------

  /**
   * Apply every entry from ltail up to `target`, then publish ltail and
   * ctail. A fenced replica recovers first; one fenced while replaying may
   * have read reused cells, so it discards its state and recovers too.
   */
  private replayTo(target: number): void {
    if (this.log.slotState(this.id) !== SlotState.Active) this.rejoin();
    this.replayRun(target);
    while (this.log.slotState(this.id) !== SlotState.Active) {
      this.recoverByTransfer();
      this.replayRun(target);
    }
  }

  private replayRun(target: number): void {
    const log = this.log;
    let pos = this.ltail;
    if (!before(pos, target)) return;
    this.applying = true;
    try {
      while (before(pos, target)) {
        if (!log.isSealed(pos)) {
          this.counters.sealWaits++;
          const seen = this.awaitEntry(pos);
          if (seen === 'lapped') break; // fenced: the caller recovers
          if (seen === 'repaired') {
            pos = (pos + log.repairedCells(pos)) | 0;
            continue;
          }
        }
        const cells = log.entryCells(pos);
        const kindWord = log.entryKindWord(pos);
        if ((kindWord & 0xff) === EntryKind.Batch) {
          const at = OWN_FIELDS * this.ownCursor;
          if (this.ownCursor < this.ownCount && this.own[at] === pos && kindWord >>> 8 === this.id) {
            this.applyOwn(pos, this.own[at + 1]!, this.own[at + 2]!, this.own[at + 3]!);
            this.ownCursor++;
          } else {
            this.applyRemote(pos, log.entryOps(pos));
          }
        }
        pos = (pos + cells) | 0;
        this.counters.replayedEntries++;
      }
    } catch (e) {
      if (e instanceof FailStopError) this.halt(e);
      throw e;
    } finally {
      this.applying = false;
      if (this.halted === null) {
        this.ltail = pos;
        log.publishLtail(this.id, pos);
        log.complete(pos);
        if (Atomics.load(log.words, HEAD_WAITERS) !== 0) log.advanceHead();
      }
    }
  }

  /**
   * Apply this replica's own entry: its thread's writes from the objects it
   * still holds, its clients' writes decoded from the log, and its clients'
   * reads at their place between them, answering each client op.
   */
  private applyOwn(pos: number, first: number, count: number, from: number): void {
    this.applyItems(this.log.payloadOffset(pos) - from, first, count);
  }

  /** Apply batch items [first, first+count); a logged item's bytes are at `logDelta + item.start`. */
  private applyItems(logDelta: number, first: number, count: number): void {
    const st = this.structure;
    const state = this.state;
    const hub = this.hub;
    const r = this.reader;
    let logged = 0;
    for (let i = first; i < first + count; i++) {
      const op = this.ownBatch[i]!;
      switch (op.kind) {
        case ItemKind.LocalWrite:
          logged++;
          try {
            op.result = st.writeFns[op.id]!(state, ...op.args!);
          } catch (e) {
            if (e instanceof FailStopError) throw e;
            op.failed = true;
            op.error = e;
          }
          break;
        case ItemKind.ClientWrite: {
          logged++;
          r.pos = logDelta + op.start + OP_HEADER_BYTES;
          r.end = r.pos + (this.staging.view.getUint32(op.start, true) & MAX_OP_BYTES);
          let result: unknown;
          try {
            result = st.writeFns[op.id]!(state, ...st.writeCodecs[op.id]!.decode(r));
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
            result = st.readFns[op.id]!(state, ...st.readArgCodecs[op.id]!.decode(hub!.requestArgs(op.client, op.seq)));
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

  private applyRemote(pos: number, count: number): void {
    const fns = this.structure.writeFns;
    const codecs = this.structure.writeCodecs;
    const state = this.state;
    const r = this.reader;
    const bytes = this.log.data;
    let at = this.log.payloadOffset(pos);
    for (let i = 0; i < count; i++) {
      const header = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
      const id = header >>> 24;
      const len = header & 0xffffff;
      r.pos = at + OP_HEADER_BYTES;
      r.end = r.pos + len;
      try {
        fns[id]!(state, ...codecs[id]!.decode(r));
      } catch (e) {
        if (e instanceof FailStopError) throw e;
        // The issuing replica reports the error to its caller; the apply is
        // deterministic, so every replica threw at the same point.
      }
      at = (r.end + 3) & ~3;
    }
    this.counters.replayedOps += count;
  }

  /**
   * Wait for the entry at `pos` to be sealed. Its writer normally seals it
   * within microseconds; if not, after fenceAfterMs the writer is fenced and
   * its entry repaired into a skip (a dead or declared-dead writer's at once).
   */
  private awaitEntry(pos: number): 'sealed' | 'repaired' | 'lapped' {
    const log = this.log;
    const start = performance.now();
    for (;;) {
      const seen = log.awaitSeal(pos, performance.now() + 10);
      if (seen !== 'timeout') return seen;
      log.tryRepair(pos, performance.now() - start >= log.fenceAfterMs);
    }
  }

  // ---- fencing and state transfer ---------------------------------------------

  /**
   * Become active again after being fenced (or to join). If head has not
   * passed our ltail, nothing we need was reused and we simply resume;
   * otherwise we take a snapshot from a live replica.
   */
  private rejoin(): void {
    const log = this.log;
    const idx = log.stateIndex(this.id);
    const s = log.slotState(this.id);
    if (s === SlotState.Active) return;
    if (s !== SlotState.Fenced && s !== SlotState.Recovering) throw this.halted ?? new DetachedError();
    this.counters.fenced++;
    // Our state is the state at this.ltail: publish it, then hold head from there again.
    Atomics.store(log.words, log.ltailIndex(this.id), this.ltail);
    if (s === SlotState.Fenced && Atomics.compareExchange(log.words, idx, SlotState.Fenced, SlotState.Active) === SlotState.Fenced) {
      // Was anything we still need reclaimed while we did not hold head?
      if (!before(this.ltail, log.head())) return;
      Atomics.compareExchange(log.words, idx, SlotState.Active, SlotState.Fenced);
    }
    this.recoverByTransfer();
  }

  /** Replace the local state with a live replica's snapshot and its position. */
  private recoverByTransfer(): void {
    const log = this.log;
    const t0 = performance.now();
    for (;;) {
      const s = log.slotState(this.id);
      if (s === SlotState.Active) break;
      if (s !== SlotState.Fenced && s !== SlotState.Recovering) throw this.halted ?? new DetachedError();
      if (this.transfer === null || !log.anyActive(this.id)) {
        const states = Array.from({ length: log.maxReplicas }, (_, r) => log.slotState(r)).join('');
        throw new RecoveryError(`no live replica to copy the state from: every other replica is fenced, detached or dead (slot states ${states})`);
      }
      // A live replica in this thread cannot answer a request while we block: copy from it directly.
      const local = [...(localReplicas.get(log.instance) ?? [])].find(
        (r) => r !== (this as unknown) && !r.detached && log.slotState(r.id) === SlotState.Active,
      );
      let snap: { pos: number; bytes: Uint8Array } | null;
      try {
        snap = local ? local.snapshotFor(this.id) : requestSnapshot(log, this.transfer, this.id, this.transferTimeoutMs);
      } catch (e) {
        // A provider may have died mid-transfer: try again while a live replica exists, within a bound.
        if (e instanceof RecoveryError && performance.now() - t0 < 3 * this.transferTimeoutMs && log.anyActive(this.id)) continue;
        throw e;
      }
      if (snap === null) continue; // the local provider was fenced before it could hand over
      this.state = this.structure.restore ? this.structure.restore(snap.bytes) : (deserialize(snap.bytes) as S);
      this.ltail = snap.pos;
      this.dropOwnEntriesBefore(snap.pos);
      // Fenced again while restoring? Then go round once more.
      Atomics.compareExchange(log.words, log.stateIndex(this.id), SlotState.Recovering, SlotState.Active);
    }
    this.counters.stateTransfers++;
    this.counters.stateTransferMs += performance.now() - t0;
  }

  private failItems(batch: PendingWrite[], first: number, count: number, error: Error): void {
    for (let i = first; i < first + count; i++) {
      const op = batch[i]!;
      if (op.kind === ItemKind.LocalWrite) {
        op.failed = true;
        op.error = error;
      } else this.hub?.respondThrew(op.client, op.seq, error);
    }
  }

  /** Own entries the snapshot already includes: they took effect, but their results are lost. */
  private dropOwnEntriesBefore(pos: number): void {
    while (this.ownCursor < this.ownCount && before(this.own[OWN_FIELDS * this.ownCursor]!, pos)) {
      const at = OWN_FIELDS * this.ownCursor++;
      this.failItems(this.ownBatch, this.own[at + 1]!, this.own[at + 2]!, new FencedError(true));
    }
  }

  /**
   * @internal A snapshot for a replica in this same thread, with the same
   * head hand-over as serveSnapshot; null if we were fenced meanwhile.
   */
  snapshotFor(requester: number): { pos: number; bytes: Uint8Array } | null {
    this.catchUpToCtail();
    const bytes = this.snapshotBytes();
    if (!handOver(this.log, this.id, requester, this.ltail)) return null;
    this.counters.snapshotsServed++;
    return { pos: this.ltail, bytes };
  }

  /** Hand a snapshot to a replica that asked for one, if any did. */
  private maybeServeSnapshot(): void {
    if (this.transfer === null || !snapshotRequested(this.log)) return;
    const served = serveSnapshot(
      this.log,
      this.transfer,
      this.id,
      () => this.catchUpToCtail(),
      () => this.ltail,
      () => this.snapshotBytes(),
    );
    if (served) this.counters.snapshotsServed++;
  }

  private snapshotBytes(): Uint8Array {
    return this.structure.snapshot ? this.structure.snapshot(this.state) : serialize(this.state);
  }

  /** Replay up to the ctail observed now: the state every read must at least see. */
  private catchUpToCtail(): void {
    const c = Atomics.load(this.log.words, CTAIL);
    if (c !== this.ltail) this.replayTo(c);
  }

  // ---- serving clients ---------------------------------------------------------

  /** @internal HubHost: queue a client's request, in its client's order, into the next batch. */
  enqueueClientOp(client: number, seq: number, isWrite: boolean, id: number, bytes: Uint8Array, from: number, len: number): void {
    const w = this.staging;
    if (this.pending.length === 0) w.pos = 0;
    const start = w.pos;
    const item: PendingWrite = {
      kind: isWrite ? ItemKind.ClientWrite : ItemKind.ClientRead,
      id,
      args: null,
      client,
      seq,
      start,
      end: start,
      result: undefined,
      failed: false,
      error: undefined,
      resolve: null,
      reject: null,
    };
    const names = isWrite ? this.structure.writeNames : this.structure.readNames;
    if (id < 0 || id >= names.length) {
      item.kind = ItemKind.ClientReject;
      item.error = new UnknownOpError(isWrite ? 'write' : 'read', `#${id}`);
    } else if (isWrite && len + OP_HEADER_BYTES > this.log.maxPayloadBytes) {
      item.kind = ItemKind.ClientReject;
      item.error = new OpTooLargeError(names[id]!, len, this.log.maxPayloadBytes - OP_HEADER_BYTES);
    } else if (isWrite) {
      w.u32((id << 24) | len);
      w.copyFrom(bytes, from, len);
      while ((w.pos & 3) !== 0) w.u8(0);
      item.end = w.pos;
    }
    this.pending.push(item);
  }

  /** @internal HubHost */
  get batchRoom(): number {
    return MAX_CLIENT_OPS_PER_BATCH;
  }

  /** One round: every client's window (with any local writes) as one batch. */
  private serveRound(): void {
    this.hub!.clearDoorbell();
    this.commit();
  }

  private scheduleServe(): void {
    if (this.serveScheduled || this.detached) return;
    this.serveScheduled = true;
    setImmediate(this.serveClients);
  }

  /** Drain clients from the event loop: a bounded number of rounds, then yield. */
  private readonly serveClients = (): void => {
    this.serveScheduled = false;
    if (this.detached || this.hub === null) return;
    if (this.applying) {
      // Never happens from the event loop, but a lost doorbell would strand clients: retry.
      this.scheduleServe();
      return;
    }
    for (let round = 0; round < 16; round++) {
      this.hub.clearDoorbell();
      if (!this.hub.hasWork()) {
        this.armDoorbell();
        return;
      }
      try {
        this.commit();
      } catch (e) {
        if (e instanceof FailStopError) return; // halted; clients were told the node is gone
        throw e;
      }
    }
    this.scheduleServe();
  };

  /** Sleep on the doorbell in the event loop; a client's ring wakes us without polling. */
  private armDoorbell(): void {
    if (this.hub === null || this.detached || this.doorbellArmed) return;
    const res = this.hub.waitDoorbell();
    if (res.async) {
      this.doorbellArmed = true;
      void res.value.then(this.onDoorbell);
    } else this.scheduleServe();
  }

  private readonly onDoorbell = (): void => {
    this.doorbellArmed = false;
    this.serveClients();
  };

  // ---- idle catch-up -----------------------------------------------------------

  /** Replay up to the current tail (used by nudges and same-thread helpers). */
  private catchUp(): void {
    if (this.detached || this.applying) return;
    this.replayTo(Atomics.load(this.log.words, TAIL));
  }

  private armNudge(): void {
    if (this.detached) return;
    const words = this.log.words;
    const idx = this.log.wakeIndex(this.id);
    const seen = Atomics.load(words, idx);
    const res = Atomics.waitAsync(words, idx, seen);
    if (res.async) {
      void res.value.then(this.onNudge);
    } else {
      setImmediate(this.onNudge);
    }
  }

  private readonly onNudge = (): void => {
    if (this.detached) return;
    this.counters.nudges++;
    try {
      this.catchUp();
      this.maybeServeSnapshot();
    } catch (e) {
      // Halted: every later op on this replica throws the FailStopError.
      if (!(e instanceof FailStopError)) throw e;
    } finally {
      this.armNudge();
    }
  };
}

/** Replicas whose worker exits normally (or by throwing) leave the log and wake their clients. */
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled || isMainThread) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const set of localReplicas.values()) for (const r of set) r.abandon();
  });
}

