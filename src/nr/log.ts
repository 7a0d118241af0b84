/**
 * The shared operation log: a bounded ring of variable-length entries in one
 * SharedArrayBuffer, driven by Atomics.
 *
 * ## SharedArrayBuffer layout
 * The buffer is a shared WebAssembly.Memory's (see shared-memory.ts for why),
 * rounded up to 64 KiB pages. All offsets are Int32 word indexes into one
 * `Int32Array` over it, unless they say bytes. A "line" is 64 bytes (16 words); every
 * counter that some thread writes often sits alone on its line.
 *
 * | words            | what                                                     |
 * |------------------|----------------------------------------------------------|
 * | 0..15 (line 0)   | header, written once: MAGIC, LAYOUT, FINGERPRINT, CELLS, MAX_REPLICAS, MAX_ENTRY_CELLS, INSTANCE, FENCE_MS |
 * | 16 (line 1)      | HEAD: oldest position some live replica still needs      |
 * | 32 (line 2)      | TAIL: next position to reserve                           |
 * | 48 (line 3)      | CTAIL: completed tail; every entry before it is applied somewhere |
 * | 64 (line 4)      | HEAD_WAITERS: writers sleeping on HEAD for log space     |
 * | 80 (line 5)      | SEAL_WAITERS: replayers sleeping on an unfilled entry    |
 * | 96 (line 6)      | state transfer: LOCK, STATUS, REQUESTER, POS, BYTES (see transfer.ts) |
 * | 128 + 32r        | replica r, line A: LTAIL, STATE, INTENT_POS, INTENT_CELLS (written by r) |
 * | 128 + 32r + 16   | replica r, line B: WAKE (nudge word it waitAsync's on), REPAIR_POS, REPAIR_CELLS |
 * | SEALS..+CELLS    | seals, one word per cell                                 |
 * | bytes DATA..     | data ring: CELLS cells of CELL_BYTES bytes               |
 *
 * ## Positions and seals
 * A position is a logical cell index. It grows forever and wraps modulo 2^32
 * (see atomics.ts); its physical cell is `pos & (CELLS - 1)`. An entry
 * starting at `pos` is complete once `seals[pos & mask] === pos`. A seal is
 * the full position, not a parity bit, so a reader can tell this lap's entry
 * from any earlier lap's, and seals live apart from the data so stale payload
 * bytes can never look like a seal. Seals start as `~i`, which no position
 * mapping to cell i can equal (i and ~i differ in parity mod 2^32... and
 * every position mapping to i has i's parity, CELLS being a power of two).
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
 * - head <= ltail[r] <= ctail-or-beyond <= tail for every live replica r;
 *   head = min ltail over the slots that hold it (reserved, active, recovering).
 * - tail - head <= CELLS: a reservation never overwrites a cell a live
 *   replica still needs.
 * - Entries before ctail are sealed, so reads that replay to ctail never wait.
 */
import { before, distance, fetchMax, notifyIfWaiting, waitWhileEqual } from './atomics.js';
import { ConfigError, HandleMismatchError } from './errors.js';
import { atomicLoader, type ByteLoader, createSharedMemory, type SharedMemory } from './shared-memory.js';

export const LINE_WORDS = 16;
export const CELL_BYTES = 32;
const CELL_WORDS = CELL_BYTES / 4;
export const ENTRY_HEADER_BYTES = 16;
/** Size of one op's header inside an entry. */
export const OP_HEADER_BYTES = 4;
/** An op's byte length must fit the low 24 bits of its header. */
export const MAX_OP_BYTES = (1 << 24) - 1;

const MAGIC = 0x4e524c47; // 'NRLG'
const LAYOUT = 1;

// Header words.
const H_MAGIC = 0;
const H_LAYOUT = 1;
const H_FINGERPRINT = 2;
const H_CELLS = 3;
const H_MAX_REPLICAS = 4;
const H_MAX_ENTRY_CELLS = 5;
const H_INSTANCE = 6;
const H_FENCE_MS = 7;

// Hot counters, one line each.
export const HEAD = 1 * LINE_WORDS;
export const TAIL = 2 * LINE_WORDS;
export const CTAIL = 3 * LINE_WORDS;
export const CTAIL_BYTES = CTAIL * 4;
export const HEAD_WAITERS = 4 * LINE_WORDS;
export const SEAL_WAITERS = 5 * LINE_WORDS;
/** First word of the state-transfer control line (transfer.ts owns its layout). */
export const TRANSFER = 6 * LINE_WORDS;

const REPLICAS_AT = 8 * LINE_WORDS;
const REPLICA_WORDS = 2 * LINE_WORDS;

/** Replica slot states. */
export const enum SlotState {
  Free = 0,
  /** Created with the log and awaiting its worker: holds back head from position 0. */
  Reserved = 1,
  Active = 2,
  Detached = 3,
  /**
   * Lagged too long: no longer holds back head, so its part of the log may
   * be overwritten. Its replica must recover by state transfer before it
   * serves again. A replica joining late starts here too.
   */
  Fenced = 4,
  /** Given a snapshot at its LTAIL by a live replica; holds back head from there. */
  Recovering = 5,
  /** Its worker died (declared by its manager): never holds back head. */
  Dead = 6,
}

/** Slots whose LTAIL holds back head. */
export function holdsHead(s: SlotState): boolean {
  return s === SlotState.Reserved || s === SlotState.Active || s === SlotState.Recovering;
}

/** Entry kinds. */
export const enum EntryKind {
  Batch = 1,
  /** Filler from a reservation's start to the ring's end. */
  Pad = 2,
}

export const DEFAULT_LOG_BYTES = 2 * 1024 * 1024;
export const MIN_LOG_BYTES = 4 * 1024;
export const MAX_LOG_BYTES = 1024 * 1024 * 1024;
export const MAX_REPLICAS = 64;
const MAX_ENTRY_BYTES_CAP = 1024 * 1024;

export interface LogOptions {
  /** Data ring size in bytes: a power of two from 4 KiB to 1 GiB. Default 2 MiB. */
  logBytes?: number;
  /**
   * Replica slots held from creation for the first workers, which then
   * replay the log from its start (no state transfer). Default 1.
   */
  replicas?: number;
  /** All replica slots, including those for replicas that join later. Default max(replicas, 8), at most 64. */
  maxReplicas?: number;
  /**
   * How long a writer that needs log space waits for a lagging replica
   * (nudging it) before fencing it. Default 1000 ms.
   */
  fenceAfterMs?: number;
}

export const DEFAULT_FENCE_AFTER_MS = 1000;

export interface LogGeometry {
  cells: number;
  maxReplicas: number;
  maxEntryCells: number;
  sealsAt: number;
  dataAt: number;
  totalBytes: number;
}

export function geometry(logBytes: number, maxReplicas: number): LogGeometry {
  const cells = logBytes / CELL_BYTES;
  // A batch and the pad before it must fit the ring together, with room to spare.
  const maxEntryCells = Math.min(cells / 4, MAX_ENTRY_BYTES_CAP / CELL_BYTES);
  const sealsAt = REPLICAS_AT + maxReplicas * REPLICA_WORDS;
  const dataAt = roundUp((sealsAt + cells) * 4, 64);
  return { cells, maxReplicas, maxEntryCells, sealsAt, dataAt, totalBytes: dataAt + logBytes };
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Allocate and initialise a log's shared memory. */
export function createLogMemory(fingerprint: number, options: LogOptions = {}): SharedMemory {
  const logBytes = options.logBytes ?? DEFAULT_LOG_BYTES;
  const replicas = options.replicas ?? 1;
  const maxReplicas = options.maxReplicas ?? Math.max(replicas, 8);
  const fenceAfterMs = options.fenceAfterMs ?? DEFAULT_FENCE_AFTER_MS;
  if (!Number.isInteger(fenceAfterMs) || fenceAfterMs < 1 || fenceAfterMs > 2 ** 30) {
    throw new ConfigError(`fenceAfterMs must be a positive integer, got ${fenceAfterMs}`);
  }
  if (!isPowerOfTwo(logBytes) || logBytes < MIN_LOG_BYTES || logBytes > MAX_LOG_BYTES) {
    throw new ConfigError(`logBytes must be a power of two from ${MIN_LOG_BYTES} to ${MAX_LOG_BYTES}, got ${logBytes}`);
  }
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new ConfigError(`replicas must be an integer from 1 to ${MAX_REPLICAS}, got ${replicas}`);
  }
  if (!Number.isInteger(maxReplicas) || maxReplicas < replicas || maxReplicas > MAX_REPLICAS) {
    throw new ConfigError(`maxReplicas must be an integer from replicas (${replicas}) to ${MAX_REPLICAS}, got ${maxReplicas}`);
  }
  const g = geometry(logBytes, maxReplicas);
  const memory = createSharedMemory(g.totalBytes);
  const w = new Int32Array(memory.buffer);
  w[H_MAGIC] = MAGIC;
  w[H_LAYOUT] = LAYOUT;
  w[H_FINGERPRINT] = fingerprint;
  w[H_CELLS] = g.cells;
  w[H_MAX_REPLICAS] = maxReplicas;
  w[H_FENCE_MS] = fenceAfterMs;
  w[H_MAX_ENTRY_CELLS] = g.maxEntryCells;
  w[H_INSTANCE] = (Math.random() * 0x7fffffff) | 0;
  for (let i = 0; i < g.cells; i++) w[g.sealsAt + i] = ~i;
  for (let r = 0; r < replicas; r++) w[REPLICAS_AT + r * REPLICA_WORDS + 1] = SlotState.Reserved;
  return memory;
}

/** One thread's view of a shared log. */
export class SharedLog {
  readonly sab: SharedArrayBuffer;
  readonly words: Int32Array;
  /** Atomic load by byte offset through wasm: the cheapest seq-cst load, for the read path. */
  readonly load: ByteLoader;
  /** The data ring as bytes, and as words for entry headers. */
  readonly data: Uint8Array;
  readonly dataWords: Int32Array;
  readonly cells: number;
  readonly mask: number;
  readonly maxReplicas: number;
  readonly maxEntryCells: number;
  readonly instance: number;
  readonly fenceAfterMs: number;
  private readonly sealsAt: number;

  constructor(memory: SharedMemory, fingerprint: number) {
    const sab = memory?.buffer;
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < REPLICAS_AT * 4) {
      throw new HandleMismatchError('handle does not hold a log in shared memory');
    }
    const w = new Int32Array(sab);
    if (w[H_MAGIC] !== MAGIC || w[H_LAYOUT] !== LAYOUT) {
      throw new HandleMismatchError('buffer is not a node-replication log of this layout version');
    }
    if (w[H_FINGERPRINT] !== fingerprint) {
      throw new HandleMismatchError('handle was made for another structure, structure version or op set');
    }
    const cells = w[H_CELLS]!;
    const g = geometry(cells * CELL_BYTES, w[H_MAX_REPLICAS]!);
    if (g.totalBytes > sab.byteLength) throw new HandleMismatchError('log memory is smaller than its header says');
    this.sab = sab;
    this.words = w;
    this.load = atomicLoader(memory);
    this.cells = cells;
    this.mask = cells - 1;
    this.maxReplicas = g.maxReplicas;
    this.maxEntryCells = w[H_MAX_ENTRY_CELLS]!;
    this.instance = w[H_INSTANCE]!;
    this.fenceAfterMs = w[H_FENCE_MS]!;
    this.sealsAt = g.sealsAt;
    this.data = new Uint8Array(sab, g.dataAt, cells * CELL_BYTES);
    this.dataWords = new Int32Array(sab, g.dataAt, cells * CELL_WORDS);
  }

  /** Largest payload (ops with their headers) one entry can carry. */
  get maxPayloadBytes(): number {
    return this.maxEntryCells * CELL_BYTES - ENTRY_HEADER_BYTES;
  }

  static cellsFor(payloadBytes: number): number {
    return Math.ceil((ENTRY_HEADER_BYTES + payloadBytes) / CELL_BYTES);
  }

  // ---- replica slots -------------------------------------------------------

  ltailIndex(r: number): number {
    return REPLICAS_AT + r * REPLICA_WORDS;
  }
  stateIndex(r: number): number {
    return REPLICAS_AT + r * REPLICA_WORDS + 1;
  }
  wakeIndex(r: number): number {
    return REPLICAS_AT + r * REPLICA_WORDS + LINE_WORDS;
  }
  private intentIndex(r: number): number {
    return REPLICAS_AT + r * REPLICA_WORDS + 2;
  }
  private repairIndex(r: number): number {
    return REPLICAS_AT + r * REPLICA_WORDS + LINE_WORDS + 2;
  }

  /** Record that replica r is about to reserve `cells` cells at `pos` (or clear it: cells 0). */
  setIntent(r: number, pos: number, cells: number): void {
    Atomics.store(this.words, this.intentIndex(r), pos);
    Atomics.store(this.words, this.intentIndex(r) + 1, cells);
  }

  /** The seal a repaired (skipped) entry at `pos` carries. */
  repairMark(pos: number): number {
    return (pos + (this.cells >> 1)) | 0;
  }

  /** Cells to skip at a repaired entry `pos` (0 if no repair record names it). */
  repairedCells(pos: number): number {
    for (let r = 0; r < this.maxReplicas; r++) {
      if (Atomics.load(this.words, this.repairIndex(r)) === pos) return Atomics.load(this.words, this.repairIndex(r) + 1);
    }
    return 0;
  }

  /**
   * Try to repair the unsealed entry at `pos`: find the writer whose intent
   * starts there (or whose sealed pad ends there). If that writer still
   * holds head and `mayFence`, fence it first; a fenced, dead or gone owner's
   * entry is turned into a skip. Returns true when `pos` is now sealed or
   * repaired.
   */
  tryRepair(pos: number, mayFence: boolean): boolean {
    const w = this.words;
    // The owner is the writer whose intent starts at pos (or whose sealed pad
    // ends there) and whose CAS succeeded (its intent is marked owned). A
    // writer that died between its CAS and that mark leaves an unmarked
    // intent: trusted only when it is the single candidate.
    let owner = -1;
    let unmarked = -1;
    let unmarkedCount = 0;
    for (let r = 0; r < this.maxReplicas; r++) {
      const raw = Atomics.load(w, this.intentIndex(r) + 1);
      if (raw === 0) continue;
      const start = Atomics.load(w, this.intentIndex(r));
      const padEndsHere =
        start !== pos && this.isSealed(start) && (this.entryKindWord(start) & 0xff) === EntryKind.Pad && ((start + this.entryCells(start)) | 0) === pos;
      if (start !== pos && !padEndsHere) continue;
      if (raw < 0) {
        owner = r;
        break;
      }
      unmarked = r;
      unmarkedCount++;
    }
    if (owner < 0 && unmarkedCount === 1) owner = unmarked;
    if (owner < 0) return false;
    const state = this.slotState(owner);
    if (holdsHead(state) && !(mayFence && this.fence(owner, state))) return false;
    const start = Atomics.load(w, this.intentIndex(owner));
    const cells = Math.abs(Atomics.load(w, this.intentIndex(owner) + 1));
    const idx = this.sealsAt + (pos & this.mask);
    const v = Atomics.load(w, idx);
    if (v === pos || v === this.repairMark(pos)) return true;
    Atomics.store(w, this.repairIndex(owner), pos);
    Atomics.store(w, this.repairIndex(owner) + 1, (start + cells - pos) | 0);
    Atomics.compareExchange(w, idx, v, this.repairMark(pos));
    Atomics.notify(w, idx);
    return true;
  }

  slotState(r: number): SlotState {
    return Atomics.load(this.words, this.stateIndex(r)) as SlotState;
  }

  /**
   * Claim a slot (the lowest, or `want`). A reserved slot becomes active and
   * replays from where it holds head (position 0). Otherwise a free,
   * detached or dead slot is taken as fenced: its replica must join by
   * state transfer. Returns the slot and whether it must, or -1.
   */
  claimSlot(want?: number): { slot: number; needsTransfer: boolean } | null {
    const from = want ?? 0;
    const to = want === undefined ? this.maxReplicas : want + 1;
    for (let r = from; r < to; r++) {
      const idx = this.stateIndex(r);
      if (Atomics.compareExchange(this.words, idx, SlotState.Reserved, SlotState.Active) === SlotState.Reserved) {
        return { slot: r, needsTransfer: false };
      }
    }
    for (let r = from; r < to; r++) {
      const idx = this.stateIndex(r);
      for (const s of [SlotState.Free, SlotState.Detached, SlotState.Dead]) {
        if (Atomics.compareExchange(this.words, idx, s, SlotState.Fenced) === s) return { slot: r, needsTransfer: true };
      }
    }
    return null;
  }

  /**
   * Fence slot r if it is still in state `from`; true if this call fenced
   * it. A reserved slot whose worker never attached simply becomes free:
   * that worker, if it comes, joins like any late replica.
   */
  fence(r: number, from: SlotState): boolean {
    if (!holdsHead(from)) return false;
    const to = from === SlotState.Reserved ? SlotState.Free : SlotState.Fenced;
    if (Atomics.compareExchange(this.words, this.stateIndex(r), from, to) !== from) return false;
    this.advanceHead();
    return true;
  }

  head(): number {
    return Atomics.load(this.words, HEAD);
  }

  /** Some slot other than `except` is active: a possible source of state. */
  anyActive(except = -1): boolean {
    for (let r = 0; r < this.maxReplicas; r++) if (r !== except && this.slotState(r) === SlotState.Active) return true;
    return false;
  }

  /**
   * Stop holding back head for replica r (it detached, or its worker died),
   * and wake writers that wait for space.
   */
  release(r: number, state: SlotState.Detached | SlotState.Dead): void {
    Atomics.store(this.words, this.stateIndex(r), state);
    this.advanceHead();
    Atomics.notify(this.words, HEAD);
  }


  publishLtail(r: number, pos: number): void {
    Atomics.store(this.words, this.ltailIndex(r), pos);
  }

  /** Poke replica r so that its event loop replays the log. */
  nudge(r: number): void {
    Atomics.add(this.words, this.wakeIndex(r), 1);
    Atomics.notify(this.words, this.wakeIndex(r));
  }

  // ---- head, tail, ctail -----------------------------------------------------

  /**
   * Move head to the minimum local tail of the live replicas. Returns the
   * slot that holds head back (-1 if none), so the caller can nudge it.
   */
  advanceHead(): number {
    const w = this.words;
    const h = Atomics.load(w, HEAD);
    let minDist = Infinity;
    let lagger = -1;
    for (let r = 0; r < this.maxReplicas; r++) {
      if (!holdsHead(Atomics.load(w, this.stateIndex(r)))) continue;
      const d = distance(h, Atomics.load(w, this.ltailIndex(r)));
      if (d < minDist) {
        minDist = d;
        lagger = r;
      }
    }
    if (lagger < 0) minDist = distance(h, Atomics.load(w, TAIL));
    if (minDist > 0) {
      fetchMax(w, HEAD, (h + minDist) | 0);
      this.refenceOvertaken();
      notifyIfWaiting(w, HEAD, HEAD_WAITERS);
    }
    return lagger;
  }

  /**
   * A fenced replica rejoins by publishing its ltail, turning Active, then
   * checking head; an advanceHead that read its state just before it turned
   * Active may move head past that ltail after the check. Re-reading the
   * states after moving head closes the window: such a replica is fenced
   * again and recovers by transfer on its next replay. (Either this re-read
   * sees it Active, or its check of head comes after our move and sees it.)
   */
  private refenceOvertaken(): void {
    const w = this.words;
    const h = Atomics.load(w, HEAD);
    for (let r = 0; r < this.maxReplicas; r++) {
      if (Atomics.load(w, this.stateIndex(r)) !== SlotState.Active) continue;
      if (before(Atomics.load(w, this.ltailIndex(r)), h)) {
        Atomics.compareExchange(w, this.stateIndex(r), SlotState.Active, SlotState.Fenced);
      }
    }
  }

  /**
   * Try to reserve `cells` contiguous cells with one CAS on tail. Returns the
   * entry's position, or null when the log lacks space (the caller then
   * replays, advances head, nudges and waits). If the entry would straddle
   * the ring's end, the cells up to the end are reserved too and sealed as
   * a PAD entry before returning ('lost' if that pad was repaired away,
   * i.e. this writer was presumed dead meanwhile: its reservation is void).
   */
  tryReserve(cells: number, owner = -1): number | null | 'lost' {
    const w = this.words;
    for (;;) {
      const t = Atomics.load(w, TAIL);
      const h = Atomics.load(w, HEAD);
      const phys = t & this.mask;
      const pad = phys + cells > this.cells ? this.cells - phys : 0;
      const end = (t + pad + cells) | 0;
      if (distance(h, end) > this.cells) return null;
      // Say what we reserve before we do, so a torn append can be repaired.
      if (owner >= 0) this.setIntent(owner, t, pad + cells);
      if (Atomics.compareExchange(w, TAIL, t, end) !== t) continue;
      // Mark the intent owned (negative cells): these cells are ours now.
      if (owner >= 0) Atomics.store(w, this.intentIndex(owner) + 1, -(pad + cells));
      if (pad > 0) {
        this.writeHeader(t, pad, EntryKind.Pad, 0, 0, 0);
        if (!this.sealOwn(t)) return 'lost';
      }
      return (t + pad) | 0;
    }
  }

  /**
   * Seal the entry at `pos`, which this thread reserved, unless a repairer
   * already turned it into a skip (we were presumed dead): false then.
   */
  sealOwn(pos: number): boolean {
    const idx = this.sealsAt + (pos & this.mask);
    const v = Atomics.load(this.words, idx);
    if (v === this.repairMark(pos)) return false;
    if (Atomics.compareExchange(this.words, idx, v, pos) !== v) return false;
    notifyIfWaiting(this.words, idx, SEAL_WAITERS);
    return true;
  }

  /** Write an entry header at `pos` (the payload is copied by the caller). */
  writeHeader(pos: number, cells: number, kind: EntryKind, replica: number, ops: number, payloadBytes: number): void {
    const at = (pos & this.mask) * CELL_WORDS;
    const dw = this.dataWords;
    dw[at] = cells;
    dw[at + 1] = kind | (replica << 8);
    dw[at + 2] = ops;
    dw[at + 3] = payloadBytes;
  }

  /** Byte offset in `data` of the payload of the entry at `pos`. */
  payloadOffset(pos: number): number {
    return (pos & this.mask) * CELL_BYTES + ENTRY_HEADER_BYTES;
  }

  isSealed(pos: number): boolean {
    return Atomics.load(this.words, this.sealsAt + (pos & this.mask)) === pos;
  }

  /**
   * Wait until the entry at `pos` is sealed ('sealed') or repaired into a
   * skip ('repaired'), until its cell holds
   * a later lap's entry ('lapped': the caller was fenced and its part of the
   * log reused), or until `deadline` ('timeout', performance.now() ms). The
   * sleep inside is bounded, so this never hangs past the deadline even if
   * a notify is missed.
   */
  awaitSeal(pos: number, deadline = Infinity): 'sealed' | 'repaired' | 'lapped' | 'timeout' {
    const idx = this.sealsAt + (pos & this.mask);
    for (;;) {
      const v = Atomics.load(this.words, idx);
      if (v === pos) return 'sealed';
      if (v === this.repairMark(pos)) return 'repaired';
      if ((v & this.mask) === (pos & this.mask) && before(pos, v)) return 'lapped';
      if (!waitWhileEqual(this.words, idx, v, SEAL_WAITERS, deadline)) return 'timeout';
    }
  }

  entryCells(pos: number): number {
    return this.dataWords[(pos & this.mask) * CELL_WORDS]!;
  }
  entryKindWord(pos: number): number {
    return this.dataWords[(pos & this.mask) * CELL_WORDS + 1]!;
  }
  entryOps(pos: number): number {
    return this.dataWords[(pos & this.mask) * CELL_WORDS + 2]!;
  }

  /** Raise ctail to `pos` (a completed position). */
  complete(pos: number): void {
    if (before(Atomics.load(this.words, CTAIL), pos)) fetchMax(this.words, CTAIL, pos);
  }

  /** Used cells, for observability. */
  used(): number {
    return distance(Atomics.load(this.words, HEAD), Atomics.load(this.words, TAIL));
  }
}
