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
 */
import { type ArgsCodec, arityError, NO_WRITER_LIMIT, OpReader, OpWriter, WriterLimitError } from '../codec.js';
import { DetachedError, EncodeError, FailStopError, FencedError, OpTooLargeError, UnknownOpError } from '../errors.js';
import { LIMITS, SPARE_BATCH_MAX, STAGING_BYTES, STAGING_SHRINK_ABOVE } from '../defaults.js';
import { before } from '../log/positions.js';
import { MAX_OP_BYTES, OP_HEADER_BYTES } from '../log/layout.js';
import { SharedLog } from '../log/shared-log.js';
import type { HubHost, NodeHub } from './node-hub.js';
import { applyBatch } from './write-batch.js';
import type { OpTable, Structure } from '../structure.js';
import { applyWrite, copyPayload, isLocal, isLogged, ItemKind, NO_WRITES, OWN_FIELDS, type PendingRead, type PendingWrite } from './batch.js';

/** When queued async writes are combined and appended. */
export type CombineMode = 'microtask' | 'immediate';

/** What the combiner needs from its replica. */
export interface CombinerHost {
  /** The replica's current state (replaced on recovery). */
  readonly state: unknown;
  /** Replay through `target`, recovering if fenced. */
  replayTo(target: number): void;
  /** Replay through this commit's one own entry at `pos`, ending at `end`, just sealed. */
  replayOwn(pos: number, end: number): void;
  /** Replay to the ctail observed now. */
  catchUpToCtail(): void;
  /** Hand a snapshot to a replica that asked for one, if any did. */
  serveSnapshotIfAsked(): void;
  /** Replicas in this thread cannot run while we block: replay them here. */
  helpSiblings(): void;
  /** Publish this replica's heartbeat (it is alive, if blocked). */
  beat(): void;
}

export interface CombinerCounters {
  appends: number;
  batches: number;
  opsWritten: number;
  replayedOps: number;
  fullWaits: number;
  fullWaitMs: number;
  fences: number;
}

export class Combiner implements HubHost {
  readonly staging: OpWriter;
  private readonly reader: OpReader;
  pending: PendingWrite[] = [];
  /**
   * A settled batch's array, emptied, for the next commit to queue into
   * (null while a commit holds it): a new array per commit cost an
   * allocation and, at its first push, a backing store.
   */
  private spare: PendingWrite[] | null = [];
  pendingReads: PendingRead[] = [];
  private flushScheduled = false;
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
  /**
   * What the last encode() has the issuing replica apply when its codec
   * applies decoded (`decodedOwn`); otherwise the caller's args are applied.
   * (Storing the caller's fresh args array here for every op cost a
   * write-barrier slow path per op: a young array into an old object.)
   */
  private appliedArgs: readonly unknown[] = [];
  private decodedOwn = false;
  /** Encoding buffer of appendAlone (parallel logs), made on first use. */
  private alone: OpWriter | null = null;

  constructor(
    private readonly log: SharedLog,
    private readonly id: number,
    private readonly structure: Structure<unknown, OpTable<unknown>, OpTable<unknown>>,
    private readonly hub: NodeHub | null,
    private readonly host: CombinerHost,
    private readonly counters: CombinerCounters,
    private readonly combine: CombineMode,
    private readonly afterReserve: ((pos: number) => void) | undefined,
  ) {
    this.staging = new OpWriter(STAGING_BYTES);
    this.reader = new OpReader(log.data);
    this.maxOpBytes = Math.min(log.maxPayloadBytes, OP_HEADER_BYTES + MAX_OP_BYTES);
    this.writeArity = Int32Array.from(structure.writeCodecs, (c) => c.arity ?? 0x7fffffff);
  }

  /** The largest op, header included, one entry holds. */
  private readonly maxOpBytes: number;
  /** Each write op's codec's `arity` (the most arguments it carries), looked up once: a property load per op on codecs of many shapes costs. */
  private readonly writeArity: Int32Array;

  /** Reads encoded bytes back for codecs that apply decoded (rebuilt when the buffer read changes or grows). */
  private stagingReader: OpReader | undefined;

  // ---- queueing ----------------------------------------------------------------

  /** Start a new batch's bytes: nothing is queued, so the staging buffer is free (and shrunk if one batch grew it). */
  private emptyStaging(): void {
    this.staging.pos = 0;
    this.staging.shrinkIfEmpty(STAGING_SHRINK_ABOVE, STAGING_BYTES);
  }

  /** Encode a local write into the staging buffer and queue it. */
  enqueue(name: string, args: readonly unknown[], resolve: ((v: unknown) => void) | null, reject: ((e: unknown) => void) | null): PendingWrite {
    const w = this.staging;
    if (this.pending.length === 0) this.emptyStaging();
    const start = w.pos;
    const id = this.encode(w, name, args, 0, true);
    const op: PendingWrite = newItem(ItemKind.LocalWrite, id, -1, 0, start);
    op.args = this.decodedOwn ? this.appliedArgs : args;
    op.end = w.pos;
    op.resolve = resolve;
    op.reject = reject;
    const p = this.pending;
    p[p.length] = op;
    return op;
  }

  /**
   * Encode a local write batch (`[name, ...args]` ops) into the staging
   * buffer, back to back, and queue it as one item: it goes into one entry
   * whole. Any op that does not encode, or a batch larger than an entry,
   * throws its typed error with nothing queued. The ops are applied from
   * these bytes (as every other replica applies them), so the caller's
   * arrays are read once, here, and not kept.
   */
  enqueueBatch(ops: readonly (readonly unknown[])[]): PendingWrite {
    const w = this.staging;
    if (this.pending.length === 0) this.emptyStaging();
    const start = w.pos;
    const max = this.log.maxPayloadBytes;
    try {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        if (!Array.isArray(op)) throw new EncodeError(`writeBatch op ${i}`, new TypeError(`a batch op is a [name, ...args] array, got ${op === null ? 'null' : typeof op}`));
        const name: unknown = op[0];
        if (typeof name !== 'string') throw new UnknownOpError('write', String(name));
        this.encode(w, name, op, 1, false);
        // Refused as it grows past what one entry holds, before the buffer grows with it.
        if (w.pos - start > max) throw new OpTooLargeError(`writeBatch of ${ops.length} ops`, w.pos - start, max - OP_HEADER_BYTES, 'log entry', 'logBytes', true);
      }
    } catch (e) {
      w.pos = start;
      throw e;
    }
    const item = newItem(ItemKind.LocalBatch, -1, -1, 0, start);
    item.ops = ops.length;
    item.end = w.pos;
    const p = this.pending;
    p[p.length] = item;
    return item;
  }

  /**
   * Encode one write op (header and arguments, 4-byte aligned) at `w.pos`;
   * its arguments are `args[first..]` (a batch op is `[name, ...args]`).
   * Returns its op id. With `appliesOwn` (the op will be applied from what
   * this replica holds), leaves in `decodedOwn`/`appliedArgs` what it applies: the
   * caller's args, or their decoded form for an inexact codec. Nothing is
   * kept on failure.
   */
  private encode(w: OpWriter, name: string, args: readonly unknown[], first: 0 | 1, appliesOwn: boolean): number {
    const id = this.writeId(name);
    const codec = this.structure.writeCodecs[id]!;
    const argc = args.length - first;
    if (argc > this.writeArity[id]!) throw new EncodeError(name, arityError(codec, argc));
    const start = w.pos;
    w.skip4(); // op header, patched below (u32(0)'s value checks cost ~40 instructions)
    const maxOp = this.maxOpBytes;
    // An op past what an entry holds fails as it grows, before a buffer that large is allocated.
    w.limit = start + maxOp;
    try {
      switch (argc) {
        // Up to 3 args as a plain call: a spread call costs ~80 machine instructions in Node 20.
        case 0: codec.encode(w); break;
        case 1: codec.encode(w, args[first]); break;
        case 2: codec.encode(w, args[first], args[first + 1]); break;
        case 3: codec.encode(w, args[first], args[first + 1], args[first + 2]); break;
        default: codec.encode(w, ...args.slice(first));
      }
      // A codec whose round trip may change the args: apply what the other replicas will decode.
      if (appliesOwn) {
        const decoded = codec.applyDecoded === true;
        this.decodedOwn = decoded;
        if (decoded) this.appliedArgs = this.decodeStaged(w, codec, start + OP_HEADER_BYTES, w.pos);
      }
    } catch (e) {
      w.pos = start;
      w.limit = NO_WRITER_LIMIT;
      if (e instanceof WriterLimitError) throw new OpTooLargeError(name, e.need - start - OP_HEADER_BYTES, maxOp - OP_HEADER_BYTES, 'log entry', 'logBytes', true);
      throw new EncodeError(name, e);
    }
    w.limit = NO_WRITER_LIMIT;
    const bytes = w.pos - start - OP_HEADER_BYTES;
    if (bytes > MAX_OP_BYTES || w.pos - start > this.log.maxPayloadBytes) {
      w.pos = start;
      throw new OpTooLargeError(name, bytes, this.log.maxPayloadBytes - OP_HEADER_BYTES, 'log entry', 'logBytes');
    }
    w.view.setUint32(start, (id << 24) | bytes, true);
    // Keep every op 4-byte aligned so entry headers stay word-aligned.
    w.align4();
    return id;
  }

  /** The last op name looked up and its id: most callers issue one op again and again. */
  private lastName = '';
  private lastId = -1;

  /** A write op's id by name (a keyed load on the prototype-free id table costs ~110 machine instructions; a same-name hit, one compare). */
  private writeId(name: string): number {
    if (name === this.lastName) return this.lastId;
    const id = this.structure.writeIds[name];
    if (id === undefined) throw new UnknownOpError('write', name);
    this.lastName = name;
    this.lastId = id;
    return id;
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

  /**
   * @internal Parallel logs: encode a write op with its own codec and drop
   * the bytes. A multi-log op travels v8-encoded inside ALL_OP, so this is
   * what gives it the single-log call site's checks (arity, the codec's
   * refusals, the entry limit): the same EncodeError, OpTooLargeError or
   * UnknownOpError, before the order is taken.
   */
  checkEncodes(name: string, args: readonly unknown[]): void {
    const w = (this.alone ??= new OpWriter(256));
    w.pos = 0;
    this.encode(w, name, args, 0, false);
    w.pos = 0;
  }

  /** Decode op bytes `[from, to)` just encoded into `w`, as a replica reading them from the log would. */
  private decodeStaged(w: OpWriter, codec: ArgsCodec<readonly unknown[]>, from: number, to: number): readonly unknown[] {
    if (this.stagingReader?.bytes !== w.bytes) this.stagingReader = new OpReader(w.bytes);
    const r = this.stagingReader;
    r.pos = from;
    r.end = to;
    // A copy: decoders may return one reused tuple, and this op is applied after later ones are queued.
    return codec.decode(r).slice();
  }

  /** Queue a client's request (its encoded arguments at `bytes[from, from+len)`), in its client's order. */
  enqueueClientOp(client: number, seq: number, isWrite: boolean, id: number, bytes: Uint8Array, from: number, len: number): void {
    const w = this.staging;
    if (this.pending.length === 0) this.emptyStaging();
    const item = newItem(isWrite ? ItemKind.ClientWrite : ItemKind.ClientRead, id, client, seq, w.pos);
    const names = isWrite ? this.structure.writeNames : this.structure.readNames;
    if (id < 0 || id >= names.length) {
      item.kind = ItemKind.ClientReject;
      item.ops = 0;
      item.error = new UnknownOpError(isWrite ? 'write' : 'read', `#${id}`);
    } else if (isWrite && len + OP_HEADER_BYTES > this.log.maxPayloadBytes) {
      item.kind = ItemKind.ClientReject;
      item.ops = 0;
      item.error = new OpTooLargeError(names[id]!, len, this.log.maxPayloadBytes - OP_HEADER_BYTES, 'log entry', 'logBytes');
    } else if (!isWrite) {
      item.argBytes = len;
    } else {
      w.u32((id << 24) | len);
      w.copyFrom(bytes, from, len);
      w.align4();
      item.end = w.pos;
    }
    this.pending.push(item);
  }

  scheduleFlush(flush: () => void): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.combine === 'immediate') setImmediate(flush);
    else queueMicrotask(flush);
  }

  /** The scheduled flush ran. */
  flushed(): void {
    this.flushScheduled = false;
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
      this.host.replayTo(log.tail());
      this.host.serveSnapshotIfAsked();
      this.host.beat();
      const lagger = log.advanceHead();
      pos = log.tryReserve(cells, this.id);
      if (pos !== null) break;
      // Wait for a lagging replica only so long; then fence it.
      const now = performance.now();
      if (lagger !== waitingFor) {
        waitingFor = lagger;
        since = now;
      } else if (lagger >= 0 && lagger !== this.id && now - since >= log.fenceAfterMs) {
        if (log.fence(lagger, log.slotWord(lagger))) this.counters.fences++;
        waitingFor = -1;
        continue;
      }
      this.host.helpSiblings();
      if (lagger >= 0 && lagger !== this.id) log.nudge(lagger);
      pos = log.tryReserve(cells, this.id);
      if (pos !== null) break;
      log.waitHeadMoves(log.head(), performance.now() + 2);
    }
    this.counters.fullWaitMs += performance.now() - t0;
    return pos;
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

  /**
   * The slot was lost (reclaimed or declared dead) in the middle of a
   * commit. Own entries it had sealed are in the log and every other
   * replica applies them: their writes took effect, their results are lost
   * here unless this replica had applied them already. The rest never
   * reached the log. (Until session 14 these async writes never settled,
   * and a sync one threw DetachedError, which callers read as "not logged".)
   * Client items are left to their clients, which see the node gone.
   */
  private settleLost(batch: PendingWrite[], lost: DetachedError): void {
    this.lostBatch = batch;
    const sealed = new Uint8Array(batch.length);
    for (let e = 0; e < this.ownCount; e++) {
      const at = OWN_FIELDS * e;
      // Entries before ownCursor were applied here: their items hold their results.
      for (let i = this.own[at + 1]!; i < this.own[at + 1]! + this.own[at + 2]!; i++) sealed[i] = e < this.ownCursor ? 2 : 1;
    }
    const committed = new FencedError(true, 'lost its slot');
    for (let i = 0; i < batch.length; i++) {
      const op = batch[i]!;
      if (!isLocal(op) || sealed[i] === 2 || op.failed) continue;
      op.failed = true;
      op.error = sealed[i] === 1 ? committed : lost;
    }
    for (const op of batch) {
      if (!isLocal(op) || op.resolve === null) continue;
      if (op.failed) op.reject!(op.error);
      else op.resolve(op.result);
    }
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

  /** @internal HubHost */
  get batchRoom(): number {
    return LIMITS.maxClientOpsPerBatch;
  }
}

function newItem(kind: ItemKind, id: number, client: number, seq: number, start: number): PendingWrite {
  const ops = kind === ItemKind.LocalWrite || kind === ItemKind.ClientWrite ? 1 : 0;
  return { kind, id, args: null, ops, client, seq, start, end: start, argBytes: 0, result: undefined, applyErrors: null, failed: false, error: undefined, resolve: null, reject: null };
}
