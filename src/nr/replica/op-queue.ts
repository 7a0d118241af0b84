/**
 * A replica's queue of pending ops and their encoding: local writes and
 * write batches encoded into the staging buffer, client requests copied in,
 * async reads queued behind them, and the flush scheduling. The combiner
 * (combiner.ts) extends it and turns the queue into log entries; a base
 * class, not a field, so the per-op calls (enqueue, encode) stay calls on
 * the one object, with no indirection added.
 */
import { type ArgsCodec, arityError, NO_WRITER_LIMIT, OpReader, OpWriter, WriterLimitError } from '../codec.js';
import { EncodeError, OpTooLargeError, UnknownOpError } from '../errors.js';
import { STAGING_BYTES, STAGING_SHRINK_ABOVE } from '../defaults.js';
import { MAX_OP_BYTES, OP_HEADER_BYTES } from '../log/layout.js';
import type { SharedLog } from '../log/shared-log.js';
import type { OpTable, Structure } from '../structure.js';
import { ItemKind, type PendingRead, type PendingWrite } from './batch.js';

/** When queued async writes are combined and appended. */
export type CombineMode = 'microtask' | 'immediate';

export class OpQueue {
  readonly staging: OpWriter;
  pending: PendingWrite[] = [];
  /**
   * A settled batch's array, emptied, for the next commit to queue into
   * (null while a commit holds it): a new array per commit cost an
   * allocation and, at its first push, a backing store.
   */
  protected spare: PendingWrite[] | null = [];
  pendingReads: PendingRead[] = [];
  private flushScheduled = false;
  /**
   * What the last encode() has the issuing replica apply when its codec
   * applies decoded (`decodedOwn`); otherwise the caller's args are applied.
   * (Storing the caller's fresh args array here for every op cost a
   * write-barrier slow path per op: a young array into an old object.)
   */
  private appliedArgs: readonly unknown[] = [];
  private decodedOwn = false;
  /** Encoding buffer of appendAlone and checkEncodes (parallel logs), made on first use. */
  protected alone: OpWriter | null = null;

  constructor(
    protected readonly log: SharedLog,
    protected readonly structure: Structure<unknown, OpTable<unknown>, OpTable<unknown>>,
    private readonly combine: CombineMode,
  ) {
    this.staging = new OpWriter(STAGING_BYTES);
    this.maxOpBytes = Math.min(log.maxPayloadBytes, OP_HEADER_BYTES + MAX_OP_BYTES);
    this.writeArity = Int32Array.from(structure.writeCodecs, (c) => c.arity ?? 0x7fffffff);
  }

  /** The largest op, header included, one entry holds. */
  private readonly maxOpBytes: number;
  /** Each write op's codec's `arity` (the most arguments it carries), looked up once: a property load per op on codecs of many shapes costs. */
  private readonly writeArity: Int32Array;

  /** Reads encoded bytes back for codecs that apply decoded (rebuilt when the buffer read changes or grows). */
  protected stagingReader: OpReader | undefined;

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
  protected encode(w: OpWriter, name: string, args: readonly unknown[], first: 0 | 1, appliesOwn: boolean): number {
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
}

function newItem(kind: ItemKind, id: number, client: number, seq: number, start: number): PendingWrite {
  const ops = kind === ItemKind.LocalWrite || kind === ItemKind.ClientWrite ? 1 : 0;
  return { kind, id, args: null, ops, client, seq, start, end: start, argBytes: 0, result: undefined, applyErrors: null, failed: false, error: undefined, resolve: null, reject: null };
}
