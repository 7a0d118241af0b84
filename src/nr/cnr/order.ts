/**
 * The order table of parallel logs: how an op that maps to every log (a
 * "multi-log op": the hashmap's size or clear) is appended to all of them
 * in one global order, and how every replica learns whether it took effect.
 *
 * Layout (one SharedArrayBuffer, Int32 words; hot words on their own 64-byte line):
 *
 * | word            | name    | meaning |
 * |-----------------|---------|---------|
 * | 0               | ORDER   | `seq * 2 + held`: the last multi-log op's sequence number, and whether its appender still holds the order |
 * | 16              | OWNER   | replica slot + 1 of the holder (0: none); for declareCnrDead |
 * | 32, 33          | LOGS, ROWS | geometry, checked on open |
 * | 48 + r * (1+K)  | ROW r   | `(seq << 2) \| status` of multi-log op `seq` (r = seq mod ROWS): PENDING, COMMITTED or ABORTED |
 * | 49 + r * (1+K) + j | POS  | the position of its entry in log j (valid once COMMITTED) |
 *
 * Protocol (model/cnr-order.pml checks it):
 * - an appender takes the order with one CAS on ORDER (`s*2` to `(s+1)*2+1`),
 *   claims its row with a CAS (old occupant to `s+1`/PENDING), appends its
 *   entry to every log, writes the positions, and CASes PENDING to
 *   COMMITTED; then it gives the order back. Two multi-log ops are thus in
 *   the same order in every log: no cross-log cycle;
 * - a replica that meets the entry in any log waits (bounded) until its row
 *   is decided; a COMMITTED one is applied, an ABORTED one skipped, by every
 *   replica alike (the status never changes once decided);
 * - an appender that stalls (descheduled, killed) longer than `stallMs` is
 *   aborted by whoever waits for it: a CAS PENDING to ABORTED on its row
 *   (or of the unclaimed row to ABORTED), and a waiter for the order then
 *   takes it over. The stalled appender's own COMMITTED CAS then fails and
 *   its caller gets FencedError(false): the op took effect nowhere.
 *
 * Every word is data: a claimed row must hold nothing or a decided op ROWS
 * earlier (else ORDER was rolled back: FailStopError), and the view checks a
 * row's positions against the logs before trusting them (cnr-replica.ts).
 *
 * Rows are reused after ROWS multi-log ops. ROWS is twice a log's cells, and
 * every multi-log op takes a cell in every log, so a replica that still holds
 * a log's head never sees its row reused; a lapped one finds another
 * sequence number there (fenced or corrupt, as for a lapped log cell).
 */
import { FailStopError, HandleMismatchError, TimeoutError } from '../errors.js';

const ORDER = 0;
const OWNER = 16;
const LOGS = 32;
const ROWS = 33;
const ROW0 = 48;

export const PENDING = 0;
export const COMMITTED = 1;
export const ABORTED = 2;
/** Sequence numbers fit 29 bits beside the status (2^29 multi-log ops per handle). */
const MAX_SEQ = 2 ** 29 - 1;
/** Spins on a word before sleeping on it. */
const SPINS = 64;

export function createOrderBuffer(logs: number, rows: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(4 * (ROW0 + rows * (1 + logs)));
  const w = new Int32Array(sab);
  w[LOGS] = logs;
  w[ROWS] = rows;
  return sab;
}

export class OrderTable {
  private readonly w: Int32Array;
  readonly logs: number;
  private readonly rows: number;

  constructor(sab: SharedArrayBuffer, logs: number) {
    // (As a log's header: a table that does not match is a HandleMismatchError at the call site.)
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < 4 * ROW0) throw new HandleMismatchError('the parallel logs\' order table is not a valid buffer');
    this.w = new Int32Array(sab);
    this.logs = logs;
    this.rows = Atomics.load(this.w, ROWS);
    if (Atomics.load(this.w, LOGS) !== logs || this.rows <= 0 || 4 * (ROW0 + this.rows * (1 + logs)) !== sab.byteLength) {
      throw new HandleMismatchError('the parallel logs\' order table does not match its handle (corrupt geometry words)');
    }
  }

  private rowAt(seq: number): number {
    return ROW0 + (seq % this.rows) * (1 + this.logs);
  }

  /**
   * Take the order and a fresh sequence number (bounded: a holder stalled
   * over `stallMs` is aborted and the order taken over; TimeoutError after
   * 20 × stallMs). Returns the sequence number, or -1 when the row was
   * aborted before it was claimed (this appender stalled): nothing written.
   */
  acquire(slot: number, stallMs: number, whileWaiting: () => void): number {
    const w = this.w;
    const start = performance.now();
    let seen = -1;
    let since = start;
    for (let spin = 0; ; spin++) {
      const v = Atomics.load(w, ORDER);
      if ((v & 1) === 0) {
        const seq = (v >>> 1) + 1;
        if (seq > MAX_SEQ) throw new FailStopError(`the parallel logs' order table ran out of sequence numbers (${MAX_SEQ})`);
        if (Atomics.compareExchange(w, ORDER, v, seq * 2 + 1) !== v) continue;
        Atomics.store(w, OWNER, slot + 1);
        const row = this.rowAt(seq);
        const old = Atomics.load(w, row);
        if (old === ((seq << 2) | ABORTED)) return -1; // aborted while we stalled
        if (!this.isPreviousOccupant(seq, old)) {
          // Give the order back past the number we cannot use, so no one waits for us, then stop.
          this.release(seq);
          throw new FailStopError(`the parallel logs' order table is corrupt: multi-log op ${seq}'s row holds op ${old >>> 2} with status ${old & 3} (ORDER rolled back, or the row forged)`);
        }
        if (Atomics.compareExchange(w, row, old, seq << 2) !== old) {
          if (Atomics.load(w, row) === ((seq << 2) | ABORTED)) return -1; // aborted as we claimed it
          throw new FailStopError(`the parallel logs' order table is corrupt: the row of multi-log op ${seq} changed under its claim`);
        }
        return seq;
      }
      const now = performance.now();
      if (v !== seen) {
        seen = v;
        since = now;
      } else if (now - since > stallMs) {
        this.abortStalled(v);
        continue;
      }
      if (now - start > 20 * stallMs) throw new TimeoutError(Math.round(now - start));
      if (spin < SPINS) continue;
      whileWaiting();
      Atomics.wait(w, ORDER, v, 2);
    }
  }

  /**
   * The row op `seq` claims must hold nothing yet (0) or a decided op an
   * exact number of ROWS earlier. Anything else (a later op, our own number
   * already pending or committed, a pending op a lap ago) means ORDER was
   * rolled back or the row forged: claiming it would let two ops share one
   * sequence number, or leave the order held by nobody.
   */
  private isPreviousOccupant(seq: number, old: number): boolean {
    if (old === 0) return true;
    const prev = old >>> 2;
    const status = old & 3;
    return prev < seq && (seq - prev) % this.rows === 0 && (status === COMMITTED || status === ABORTED);
  }

  /** The holder of ORDER value `v` stalled: abort its op (unless it committed) and free the order. */
  private abortStalled(v: number): void {
    const w = this.w;
    const seq = v >>> 1;
    const row = this.rowAt(seq);
    // Decide the row first (the order is freed only once its op can no longer commit).
    for (;;) {
      const old = Atomics.load(w, row);
      if (old >>> 2 === seq) {
        if ((old & 3) !== PENDING || Atomics.compareExchange(w, row, old, (seq << 2) | ABORTED) === old) break;
      } else if (Atomics.compareExchange(w, row, old, (seq << 2) | ABORTED) === old) {
        break; // not claimed yet: now it never will be
      }
    }
    Atomics.notify(w, row);
    if (Atomics.compareExchange(w, ORDER, v, seq * 2) === v) {
      Atomics.store(w, OWNER, 0);
      Atomics.notify(w, ORDER);
    }
  }

  /**
   * Record op `seq`'s entry in `log`, unless its row no longer holds it
   * pending (aborted while its issuer stalled, and possibly reused since:
   * a late store must not land in another op's row).
   */
  setPos(seq: number, log: number, pos: number): boolean {
    const row = this.rowAt(seq);
    if (Atomics.load(this.w, row) !== seq << 2) return false;
    Atomics.store(this.w, row + 1 + log, pos);
    return true;
  }

  pos(seq: number, log: number): number {
    return Atomics.load(this.w, this.rowAt(seq) + 1 + log);
  }

  /** PENDING → COMMITTED; false if it was aborted first. */
  commit(seq: number): boolean {
    const row = this.rowAt(seq);
    const ok = Atomics.compareExchange(this.w, row, seq << 2, (seq << 2) | COMMITTED) === seq << 2;
    Atomics.notify(this.w, row);
    return ok;
  }

  /** PENDING → ABORTED (no effect on a decided row). */
  abort(seq: number): void {
    const row = this.rowAt(seq);
    Atomics.compareExchange(this.w, row, seq << 2, (seq << 2) | ABORTED);
    Atomics.notify(this.w, row);
  }

  /** Give the order back (no effect if a waiter took it over). */
  release(seq: number): void {
    const w = this.w;
    if (Atomics.load(w, ORDER) !== seq * 2 + 1) return;
    Atomics.store(w, OWNER, 0);
    if (Atomics.compareExchange(w, ORDER, seq * 2 + 1, seq * 2) === seq * 2 + 1) Atomics.notify(w, ORDER);
  }

  /** declareCnrDead: the dead slot's op in progress, if any, is aborted and the order freed. */
  releaseIfHeldBy(slot: number): boolean {
    const v = Atomics.load(this.w, ORDER);
    if ((v & 1) === 0 || Atomics.load(this.w, OWNER) !== slot + 1) return false;
    this.abortStalled(v);
    return true;
  }

  /**
   * Wait until multi-log op `seq` is decided (bounded: aborted after
   * `stallMs` pending). A row holding another sequence number means this
   * replica was lapped, or the table is corrupt: FailStopError (the replay
   * turns it into a fence when the replica no longer holds the log).
   */
  awaitDecided(seq: number, stallMs: number, whileWaiting: () => void): typeof COMMITTED | typeof ABORTED {
    const w = this.w;
    const row = this.rowAt(seq);
    let start = -1;
    for (let spin = 0; ; spin++) {
      const v = Atomics.load(w, row);
      if (v >>> 2 !== seq) throw new FailStopError(`the parallel logs' order table is corrupt: row of multi-log op ${seq} holds op ${v >>> 2}`);
      const status = v & 3;
      if (status === COMMITTED || status === ABORTED) return status;
      if (status !== PENDING) throw new FailStopError(`the parallel logs' order table is corrupt: multi-log op ${seq} has status ${status}`);
      if (spin < SPINS) continue;
      const now = performance.now();
      if (start < 0) start = now;
      else if (now - start > stallMs) {
        Atomics.compareExchange(w, row, v, (seq << 2) | ABORTED);
        Atomics.notify(w, row);
        continue;
      }
      whileWaiting();
      Atomics.wait(w, row, v, 2);
    }
  }
}
