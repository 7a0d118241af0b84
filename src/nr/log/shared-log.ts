/**
 * The shared operation log: a bounded ring of variable-length entries in one
 * SharedArrayBuffer, driven by Atomics. This module (with replay.ts and
 * transfer.ts beside it) is the only code that reads or writes a raw log
 * word; layout.ts has the map.
 *
 * Its pieces: the checks of the header words on open are header-check.ts;
 * the replica slots and head (slot words, moves, heartbeats, nudges, head
 * advance and fencing, the writer's wait for space) are its base class
 * slot-table.ts (a base, so the hot paths reach those words with no
 * indirection). Here: the counters, the end of a replay run, reserve (with
 * intents) and seal, entry headers, waits on seals, completion, repair.
 *
 * ## Positions and seals
 * A position is a logical cell index. It grows forever and wraps modulo 2^32
 * (positions.ts); its physical cell is `pos & (CELLS - 1)`. An entry
 * starting at `pos` is complete once `seals[pos & mask] === pos`. A seal is
 * the full position, not a parity bit, so a reader can tell this lap's entry
 * from any earlier lap's, and seals live apart from the data so stale payload
 * bytes can never look like a seal. Seals start as `~i`, which no position
 * mapping to cell i can equal.
 *
 * A seal proves that an entry *started* at `pos` in that lap, not that the
 * cell still holds it: a later lap's entry may span the cell without
 * starting there, leaving the old seal in place. Only a replica that holds
 * head (its slot is Active) is safe from that, so replay.ts validates every
 * header it decodes and re-checks its slot after applying (a seqlock): a run
 * that ended fenced publishes nothing.
 *
 * ## Entry format (in the data ring, starting on a cell boundary)
 * word 0: cells the entry spans (header included); word 1: kind | replica << 8;
 * word 2: op count; word 3: payload bytes. Then each op: a u32
 * `opId << 24 | byteLength`, its bytes, padding to 4 bytes.
 * An entry never straddles the ring's end: a writer whose batch would is
 * handed the cells up to the end as a PAD entry in the same reservation.
 *
 * ## Torn appends
 * Before each CAS on tail a writer records its intent (the position it is
 * reserving and how many cells, pad included), marks it owned (negative
 * cells) right after the CAS succeeds, and clears it once sealed.
 * Writers seal with a CAS from the stale value they read. A replayer that
 * waits on an unsealed entry long enough finds the intent covering it; once
 * its owner is dead or fenced (it fences the owner after fenceAfterMs), it
 * records the skip length in the owner's REPAIR words and CASes the seal
 * to `pos + CELLS/2`, a value no seal or stale seal of that cell can hold.
 * Every replica then skips the same cells. A fenced owner that wakes up
 * later fails its own seal CAS and reports the write as not applied.
 *
 * ## Invariants
 * - HEAD ≤ LTAIL[r] ≤ CTAIL ≤ TAIL for every live replica r (one that holds
 *   head); HEAD = min LTAIL over the slots that hold it.
 * - TAIL − HEAD ≤ CELLS: a reservation never overwrites a cell a live
 *   replica still needs. A writer that reads HEAD and TAIL violating this
 *   treats the log as corrupt (FailStopError), never as free space.
 * - CTAIL only moves forward, and only to a position a replica reached
 *   through genuine entries while it held head, at or before TAIL.
 * - Entries before CTAIL are sealed, so reads that replay to CTAIL never wait.
 */
import { before, distance, fetchMax } from './positions.js';
import { notifyIfWaiting, waitWhileEqual } from './wait.js';
import { FailStopError } from '../errors.js';
import { type SharedMemory, type WordLoader, wordLoader } from '../shared-memory.js';
import { CELL_BYTES, CELL_WORDS, cellsFor, CTAIL, CTAIL_BYTES, ENTRY_BATCH, ENTRY_HEADER_BYTES, ENTRY_PAD, H_INSTANCE, HEAD, HEAD_WAITERS, S_INTENT_CELLS, S_LTAIL, S_STATE, SEAL_WAITERS, SLOT_WORDS, SLOTS_AT, TAIL } from './layout.js';
import { checkHeader } from './header-check.js';
import { SlotTable } from './slot-table.js';
import { repairedCells, repairMark, tryRepair } from './repair.js';

/** A decoded, validated entry header. */
export interface EntryHeader {
  kind: number;
  cells: number;
  replica: number;
  ops: number;
  payloadBytes: number;
}

/** One thread's view of a shared log. */
export class SharedLog extends SlotTable {
  readonly sab: SharedArrayBuffer;
  /** Seq-cst load of CTAIL through wasm (its offset compiled in): the cheapest atomic load, for the read path. */
  readonly loadCtail: WordLoader;
  /** The data ring as bytes, and as words for entry payload copies. */
  readonly data: Uint8Array;
  readonly dataWords: Int32Array;
  /** The data ring as a Buffer, for native copies of long payloads. */
  readonly dataBuffer: Buffer;
  readonly cells: number;
  readonly mask: number;
  readonly maxEntryCells: number;
  readonly instance: number;
  readonly fenceAfterMs: number;
  private readonly sealsAt: number;
  private readonly repairsAt: number;
  /**
   * The seal value of the entry cell this thread reserved last, read before
   * its TAIL CAS: sealing compares against it, so a writer whose entry was
   * repaired meanwhile (and maybe lapped) can never overwrite a later seal.
   */
  private reservedSealWas = 0;

  /** readHeader's result, reused. */
  private readonly header: EntryHeader = { kind: 0, cells: 0, replica: 0, ops: 0, payloadBytes: 0 };

  constructor(memory: SharedMemory, fingerprint: number) {
    const { sab, words: w, cells, g, fenceMs, deadMs } = checkHeader(memory, fingerprint);
    super(w, g.maxReplicas, deadMs);
    this.sab = sab;
    this.loadCtail = wordLoader(memory, CTAIL_BYTES);
    this.cells = cells;
    this.mask = cells - 1;
    this.maxEntryCells = g.maxEntryCells;
    this.instance = w[H_INSTANCE]!;
    this.fenceAfterMs = fenceMs;
    this.sealsAt = g.sealsAt;
    this.repairsAt = g.repairsAt;
    this.data = new Uint8Array(sab, g.dataAt, cells * CELL_BYTES);
    this.dataWords = new Int32Array(sab, g.dataAt, cells * CELL_WORDS);
    this.dataBuffer = Buffer.from(sab, g.dataAt, cells * CELL_BYTES);
  }

  /** Largest payload (ops with their headers) one entry can carry. */
  get maxPayloadBytes(): number {
    return this.maxEntryCells * CELL_BYTES - ENTRY_HEADER_BYTES;
  }

  static cellsFor(payloadBytes: number): number {
    return cellsFor(payloadBytes);
  }

  /** A typed view of the raw words for transfer.ts (same module family); nobody else gets one. */
  wordsForTransfer(): Int32Array {
    return this.words;
  }

  // ---- counters ----------------------------------------------------------------

  head(): number {
    return Atomics.load(this.words, HEAD);
  }
  tail(): number {
    return Atomics.load(this.words, TAIL);
  }
  ctail(): number {
    return Atomics.load(this.words, CTAIL);
  }
  /** Used cells, for observability. */
  used(): number {
    return distance(this.head(), this.tail());
  }

  /**
   * A replay of slot r from `from` is still safe from reused cells: its STATE
   * word is still `slotWord` and HEAD has not passed `from` (replay.ts).
   */
  runHolds(r: number, slotWord: number, from: number): boolean {
    const w = this.words;
    return Atomics.load(w, SLOTS_AT + r * SLOT_WORDS + S_STATE) === slotWord && !before(from, Atomics.load(w, HEAD));
  }

  /**
   * End a replay of slot r from `from` at `pos`: if the run still holds
   * (runHolds), publish LTAIL, raise CTAIL to `pos` and help writers waiting
   * for space, and return true; else publish nothing and return false.
   * One call on the write path instead of five.
   */
  finishRun(r: number, slotWord: number, from: number, pos: number): boolean {
    const w = this.words;
    const at = SLOTS_AT + r * SLOT_WORDS;
    if (Atomics.load(w, at + S_STATE) !== slotWord || before(from, Atomics.load(w, HEAD))) return false;
    Atomics.store(w, at + S_LTAIL, pos);
    // Every entry of the run ended at or before the TAIL it was checked against: so does pos.
    const ctail = Atomics.load(w, CTAIL);
    if (before(ctail, pos)) fetchMax(w, CTAIL, pos, ctail);
    if (Atomics.load(w, HEAD_WAITERS) !== 0) this.advanceHead();
    return true;
  }

  // ---- append --------------------------------------------------------------------

  /**
   * Try to reserve `cells` contiguous cells with one CAS on tail. Returns the
   * entry's position, or null when the log lacks space (the caller then
   * replays, advances head, nudges and waits). If the entry would straddle
   * the ring's end, the cells up to the end are reserved too and sealed as
   * a PAD entry before returning ('lost' if that pad was repaired away,
   * i.e. this writer was presumed dead meanwhile: its reservation is void).
   */
  tryReserve(cells: number, owner: number): number | null | 'lost' {
    const w = this.words;
    for (;;) {
      const t = Atomics.load(w, TAIL);
      const h = Atomics.load(w, HEAD);
      // TAIL is read before HEAD, so TAIL − HEAD ≤ CELLS always holds here; HEAD
      // may have passed our TAIL since, but never the current one.
      const used = distance(h, t);
      if (used > this.cells || (used < 0 && before(Atomics.load(w, TAIL), h))) {
        throw new FailStopError(`log counters are corrupt: HEAD ${h}, TAIL ${t} (ring of ${this.cells} cells)`);
      }
      if (used < 0) continue;
      const phys = t & this.mask;
      const pad = phys + cells > this.cells ? this.cells - phys : 0;
      const end = (t + pad + cells) | 0;
      if (distance(h, end) > this.cells) return null;
      // The seals as they stand before we own the cells (an earlier lap's):
      // our seals CAS from these, and fail if a repairer or a later lap
      // changed them meanwhile (model/nr-log.pml, LATE_SEAL_BUG). Reading
      // them after the CAS would be too late.
      const padSealWas = pad > 0 ? Atomics.load(w, this.sealsAt + phys) : 0;
      const entrySealWas = Atomics.load(w, this.sealsAt + ((t + pad) & this.mask));
      // Say what we reserve before we do, so a torn append can be repaired.
      this.setIntent(owner, t, pad + cells);
      if (Atomics.compareExchange(w, TAIL, t, end) !== t) continue;
      // Mark the intent owned (negative cells): these cells are ours now.
      Atomics.store(w, this.at(owner, S_INTENT_CELLS), -(pad + cells));
      this.reservedSealWas = entrySealWas;
      if (pad > 0) {
        this.writeHeader(t, pad, ENTRY_PAD, owner, 0, 0);
        if (!this.sealFrom(t, padSealWas)) return 'lost';
      }
      return (t + pad) | 0;
    }
  }

  /** Write an entry header at `pos` (the payload is copied by the caller). */
  writeHeader(pos: number, cells: number, kind: number, replica: number, ops: number, payloadBytes: number): void {
    const at = (pos & this.mask) * CELL_WORDS;
    const dw = this.dataWords;
    dw[at] = cells;
    dw[at + 1] = kind | (replica << 8);
    dw[at + 2] = ops;
    dw[at + 3] = payloadBytes;
    dw[at + 4] = pos; // a reader checks it: a late writer's header in a later lap's cell does not pass
  }

  /** Byte offset in `data` of the payload of the entry at `pos`. */
  payloadOffset(pos: number): number {
    return (pos & this.mask) * CELL_BYTES + ENTRY_HEADER_BYTES;
  }

  /**
   * Seal the entry at `pos`, which this thread reserved last, unless a
   * repairer already turned it into a skip (we were presumed dead), or the
   * cell moved on to a later lap: false then.
   */
  sealOwn(pos: number): boolean {
    return this.sealFrom(pos, this.reservedSealWas);
  }

  private sealFrom(pos: number, was: number): boolean {
    const idx = this.sealsAt + (pos & this.mask);
    if (Atomics.compareExchange(this.words, idx, was, pos) !== was) return false;
    notifyIfWaiting(this.words, idx, SEAL_WAITERS);
    return true;
  }

  /**
   * Our reservation at `pos` still stands: its seal is the one we saw before
   * reserving, so no repairer turned it into a skip and no later lap sealed
   * the cell. That alone also keeps head from having passed it: no replayer
   * passes an entry that is neither sealed nor repaired (a forged HEAD is
   * caught by the replay's own check). Checked before writing into the
   * cells, which shrinks the window in which a stalled writer could write
   * into a later lap's cells to the copy itself; readers then check the
   * position in the header (model/nr-log.pml: the A1 check, LATE_WRITE).
   */
  stillOwns(pos: number): boolean {
    return Atomics.load(this.words, this.sealsAt + (pos & this.mask)) === this.reservedSealWas;
  }

  // ---- reading entries -------------------------------------------------------------

  isSealed(pos: number): boolean {
    return Atomics.load(this.words, this.sealsAt + (pos & this.mask)) === pos;
  }

  /**
   * Wait until the entry at `pos` is sealed ('sealed') or repaired into a
   * skip ('repaired'), until its cell holds a later lap's entry ('lapped':
   * the caller was fenced and its part of the log reused), or until
   * `deadline` ('timeout', performance.now() ms). Bounded sleeps.
   */
  awaitSeal(pos: number, deadline: number): 'sealed' | 'repaired' | 'lapped' | 'timeout' {
    const idx = this.sealsAt + (pos & this.mask);
    for (;;) {
      const v = Atomics.load(this.words, idx);
      if (v === pos) return 'sealed';
      if (v === this.repairMark(pos)) return 'repaired';
      if ((v & this.mask) === (pos & this.mask) && before(pos, v)) return 'lapped';
      if (!waitWhileEqual(this.words, idx, v, SEAL_WAITERS, deadline)) return 'timeout';
    }
  }

  /**
   * The header of the entry at `pos`, checked against the ring and `tail`:
   * null if it cannot be a genuine entry starting there (a lapped reader's
   * view of a later lap's payload, or corruption). The caller decides which.
   * The object is reused: it holds the last header read (no allocation per
   * entry on the write path).
   */
  readHeader(pos: number, tail: number): EntryHeader | null {
    const phys = pos & this.mask;
    const at = phys * CELL_WORDS;
    const dw = this.dataWords;
    const cells = dw[at]!;
    const kindWord = dw[at + 1]!;
    const kind = kindWord & 0xff;
    const replica = kindWord >>> 8;
    const ops = dw[at + 2]!;
    const payloadBytes = dw[at + 3]!;
    if (dw[at + 4] !== pos || replica >= this.maxReplicas) return null;
    if (!(cells >= 1) || phys + cells > this.cells) return null;
    if (distance(pos, tail) < cells) return null; // ends past TAIL
    if (kind === ENTRY_PAD) {
      if (phys + cells !== this.cells || ops !== 0 || payloadBytes !== 0) return null;
    } else if (kind === ENTRY_BATCH) {
      if (cells > this.maxEntryCells || cellsFor(payloadBytes) !== cells) return null;
      if (!(ops >= 0) || ops * 4 > payloadBytes) return null;
    } else return null;
    const h = this.header;
    h.kind = kind;
    h.cells = cells;
    h.replica = replica;
    h.ops = ops;
    h.payloadBytes = payloadBytes;
    return h;
  }

  // ---- completion ---------------------------------------------------------------

  /**
   * Raise ctail to `pos`, a position reached through genuine entries, each
   * checked to end at or before TAIL (so `pos` never passes TAIL).
   */
  complete(pos: number): void {
    const ctail = Atomics.load(this.words, CTAIL);
    if (before(ctail, pos)) fetchMax(this.words, CTAIL, pos, ctail);
  }

  /** After publishing an LTAIL: if writers sleep waiting for space, move head for them. */
  helpWaitingWriters(): void {
    if (Atomics.load(this.words, HEAD_WAITERS) !== 0) this.advanceHead();
  }

  // ---- torn-append repair (repair.ts) --------------------------------------------------

  /** The seal a repaired (skipped) entry at `pos` carries. */
  repairMark(pos: number): number {
    return repairMark(this, pos);
  }

  /** Cells to skip at a repaired entry `pos` (0 if no record names it or it is implausible). */
  repairedCells(pos: number): number {
    return repairedCells(this, this.words, pos);
  }

  /** Try to repair the unsealed entry at `pos` (see repair.ts). */
  tryRepair(pos: number, mayFence: boolean): boolean {
    return tryRepair(this, this.words, pos, mayFence);
  }

  /** Index of the seal of `pos`. */
  sealIndex(pos: number): number {
    return this.sealsAt + (pos & this.mask);
  }

  /** Index of the repair record of `pos`'s cell. */
  repairIndex(pos: number): number {
    return this.repairsAt + (pos & this.mask);
  }

}
