/**
 * The items of a replica's batch: what one commit appends and applies.
 * A batch holds this thread's writes and its clients' requests in issue
 * order; only writes occupy the log, reads and rejections ride along and
 * are answered at their place.
 */
import type { OpWriter } from '../codec.js';
import type { SharedLog } from '../log/shared-log.js';

/** What a batch item is. Only writes go into the log; the rest ride along in order. */
export const enum ItemKind {
  /** A write issued in this thread: applied from the args it holds. */
  LocalWrite = 0,
  /** A client's write: its encoded args are in the log; decoded there when applied. */
  ClientWrite = 1,
  /** A client's read: run at its place in the batch, between its client's writes. */
  ClientRead = 2,
  /** A client's request refused (unknown op, too large): answered at its place. */
  ClientReject = 3,
  /**
   * A local `writeBatch`: many write ops, encoded back to back, never split
   * across entries; applied from their encoded bytes, its results one array.
   */
  LocalBatch = 4,
}

export interface PendingWrite {
  kind: ItemKind;
  id: number;
  /** The op's arguments (local writes only). */
  args: readonly unknown[] | null;
  /** Write ops it puts in the log: 1 for a write, a batch's op count, 0 for what rides along. */
  ops: number;
  /** The client that sent it (-1: issued in this thread), its request number and, for reads, where its args are. */
  client: number;
  seq: number;
  /** Encoded bytes in the staging buffer: [start, end), op header included. */
  start: number;
  end: number;
  /** A client's read: its argument bytes as validated when gathered (the slot's length word is not read again). */
  argBytes: number;
  /** What its apply returned; a batch's: one result per op (an array its apply makes). */
  result: unknown;
  /** A batch: the ops whose apply threw, or null. */
  applyErrors: BatchApplyFailure[] | null;
  failed: boolean;
  error: unknown;
  resolve: ((v: unknown) => void) | null;
  reject: ((e: unknown) => void) | null;
}

/** One op of a write batch whose apply threw (as it did on every replica). */
export interface BatchApplyFailure {
  index: number;
  error: unknown;
}

export interface PendingRead {
  read: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}


export const NO_WRITES: PendingWrite[] = [];
/** Fields of one own-entry record: position, first item, item count, staging offset. */
export const OWN_FIELDS = 4;
/** Items that occupy the log (writes, batches); client reads and rejections only ride along. */
export function isLogged(item: PendingWrite): boolean {
  return item.ops > 0;
}

/** Items whose caller is in this thread (a write or a batch): they hold their own fate. */
export function isLocal(item: PendingWrite): boolean {
  return item.kind === ItemKind.LocalWrite || item.kind === ItemKind.LocalBatch;
}

/**
 * Payloads up to this many bytes are copied word by word; longer ones with
 * node's native `Buffer#fill` (one memcpy). V8's `set` into a
 * SharedArrayBuffer is a relaxed per-word loop in C++, slower than either
 * at every size (CPU per copy, this machine: 16 B words 23–69 ns, set
 * 164–236; 1 KiB words 196–300, fill 202–315, set 457–546; 4 KiB fill
 * 246–353, words 745–1026, set 2270–2317). The word loop costs ~30 machine
 * instructions a word (it re-checks both arrays every iteration), so from
 * 256 B on fill is the cheaper in instructions too: a combined batch of 64
 * HashMap puts (1 KiB) costs 80 instructions per put less (callgrind,
 * bench/sync-write-cost.mjs batch, N=300k/900k: 1403 -> 1322).
 */
export const NATIVE_COPY_MIN = 256;
const nativeFill = Buffer.prototype.fill;

/** Copy [from, to) of the staging buffer into the log. */
export function copyPayload(staging: OpWriter, from: number, to: number, log: SharedLog, at: number): void {
  if (to - from > NATIVE_COPY_MIN) {
    // fill with a view exactly as long as the range is one copy of it.
    nativeFill.call(log.dataBuffer, staging.bytes.subarray(from, to), at, at + (to - from));
    return;
  }
  // Ops are 4-byte aligned and so are payload offsets.
  const src = staging.words;
  const dst = log.dataWords;
  for (let i = from >> 2, j = at >> 2, end = to >> 2; i < end; i++, j++) dst[j] = src[i]!;
}

/** `fn(state, ...args)`, as a plain call for up to 3 args (a spread call costs ~90 machine instructions in Node 20). */
export function applyWrite(fn: (state: unknown, ...args: unknown[]) => unknown, state: unknown, args: readonly unknown[]): unknown {
  switch (args.length) {
    case 0: return fn(state);
    case 1: return fn(state, args[0]);
    case 2: return fn(state, args[0], args[1]);
    case 3: return fn(state, args[0], args[1], args[2]);
    default: return fn(state, ...args);
  }
}
