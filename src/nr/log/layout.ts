/**
 * The log's shared memory layout: every word index, in one place.
 *
 * The buffer is a shared WebAssembly.Memory's (see shared-memory.ts for why),
 * rounded up to 64 KiB pages. Offsets are Int32 word indexes into one
 * `Int32Array` over it, unless they say bytes. A "line" is 64 bytes (16
 * words); every counter that some thread writes often sits alone on its line.
 *
 * | words            | what                                                     |
 * |------------------|----------------------------------------------------------|
 * | 0..15 (line 0)   | header, written once: MAGIC, LAYOUT, FINGERPRINT, CELLS, MAX_REPLICAS, MAX_ENTRY_CELLS, INSTANCE, FENCE_MS, DEAD_MS |
 * | 16 (line 1)      | HEAD: oldest position some live replica still needs      |
 * | 32 (line 2)      | TAIL: next position to reserve                           |
 * | 48 (line 3)      | CTAIL: completed tail; every entry before it is applied somewhere |
 * | 64 (line 4)      | HEAD_WAITERS: writers sleeping on HEAD for log space     |
 * | 80 (line 5)      | SEAL_WAITERS: replayers sleeping on an unfilled entry    |
 * | 96 (line 6)      | state transfer: LOCK, STATUS, REQUESTER, POS, BYTES, PROVIDER, LOCK_SINCE (transfer.ts) |
 * | 128 + 32r        | slot r, line A (written by its owner, and by fencers through `transition`): LTAIL, STATE, INTENT_POS, INTENT_CELLS, OWNER |
 * | 128 + 32r + 16   | slot r, line B: WAKE (nudge word it waitAsync's on), HEARTBEAT |
 * | SEALS..+CELLS    | seals, one word per cell                                 |
 * | REPAIRS..+CELLS  | repair records, one word per cell: the cells a repaired entry there spans |
 * | bytes DATA..     | data ring: CELLS cells of CELL_BYTES bytes               |
 *
 * A slot's STATE word is `incarnation << STATE_BITS | state`: the
 * incarnation grows each time a thread claims the slot, so a compare-and-set
 * by a previous owner (slow, presumed dead, its slot reclaimed) can never
 * succeed on the new owner's word.
 */

export const LINE_WORDS = 16;
export const LINE_BYTES = LINE_WORDS * 4;
export const CELL_BYTES = 32;
export const CELL_WORDS = CELL_BYTES / 4;
/** Entry header: cells, kind | replica << 8, op count, payload bytes, the entry's own position. */
export const ENTRY_HEADER_BYTES = 20;
/** Size of one op's header inside an entry. */
export const OP_HEADER_BYTES = 4;
/** An op's byte length must fit the low 24 bits of its header. */
export const MAX_OP_BYTES = (1 << 24) - 1;

export const MAGIC = 0x4e524c47; // 'NRLG'
export const LAYOUT = 3;

// Header words.
export const H_MAGIC = 0;
export const H_LAYOUT = 1;
export const H_FINGERPRINT = 2;
export const H_CELLS = 3;
export const H_MAX_REPLICAS = 4;
export const H_MAX_ENTRY_CELLS = 5;
export const H_INSTANCE = 6;
export const H_FENCE_MS = 7;
export const H_DEAD_MS = 8;

// Hot counters, one line each.
export const HEAD = 1 * LINE_WORDS;
export const TAIL = 2 * LINE_WORDS;
export const CTAIL = 3 * LINE_WORDS;
export const CTAIL_BYTES = CTAIL * 4;
export const HEAD_WAITERS = 4 * LINE_WORDS;
export const SEAL_WAITERS = 5 * LINE_WORDS;
/** First word of the state-transfer control line (transfer.ts owns its words). */
export const TRANSFER = 6 * LINE_WORDS;

export const SLOTS_AT = 8 * LINE_WORDS;
export const SLOT_WORDS = 2 * LINE_WORDS;
// Slot words, relative to the slot's first word.
export const S_LTAIL = 0;
export const S_STATE = 1;
export const S_INTENT_POS = 2;
export const S_INTENT_CELLS = 3;
export const S_OWNER = 4;
export const S_WAKE = LINE_WORDS;
export const S_HEARTBEAT = LINE_WORDS + 4;

/** Bits of a STATE word that hold the state; the incarnation sits above. */
export const STATE_BITS = 4;
export const STATE_MASK = (1 << STATE_BITS) - 1;

/** Entry kinds (the low byte of an entry's second header word). */
export const ENTRY_BATCH = 1;
/** Filler from a reservation's start to the ring's end. */
export const ENTRY_PAD = 2;

export const MAX_ENTRY_BYTES_CAP = 1024 * 1024;

export interface LogGeometry {
  cells: number;
  maxReplicas: number;
  maxEntryCells: number;
  sealsAt: number;
  repairsAt: number;
  dataAt: number;
  totalBytes: number;
}

export function geometry(logBytes: number, maxReplicas: number): LogGeometry {
  const cells = logBytes / CELL_BYTES;
  // A batch and the pad before it must fit the ring together, with room to spare.
  const maxEntryCells = Math.min(cells / 4, MAX_ENTRY_BYTES_CAP / CELL_BYTES);
  const sealsAt = SLOTS_AT + maxReplicas * SLOT_WORDS;
  const repairsAt = sealsAt + cells;
  const dataAt = Math.ceil(((repairsAt + cells) * 4) / LINE_BYTES) * LINE_BYTES;
  return { cells, maxReplicas, maxEntryCells, sealsAt, repairsAt, dataAt, totalBytes: dataAt + logBytes };
}

/** Cells an entry with `payloadBytes` of ops (headers included) spans. */
export function cellsFor(payloadBytes: number): number {
  return ((ENTRY_HEADER_BYTES + payloadBytes + CELL_BYTES - 1) / CELL_BYTES) | 0;
}
