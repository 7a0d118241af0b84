/**
 * Torn-append repair. A writer records its intent (position, cells) before
 * its CAS on TAIL and marks it owned after; a replayer stuck on an unsealed
 * entry finds the intent covering it and, once the owner is dead or fenced
 * (fencing it after fenceAfterMs), records the skip length in the cell's
 * repair record and CASes the seal to the repair mark. Every replica then
 * skips the same cells; a fenced owner that wakes fails its own seal CAS
 * (it seals from the value it read before reserving: see sealOwn).
 *
 * Repair records are per cell, not per writer (model/nr-log.pml,
 * SLOT_REPAIR_RECORDS): a second repair of the same slow writer would
 * otherwise erase a record a slow replayer still needs. A cell's record is
 * only rewritten a lap later, when every replica has passed the old one.
 */
import { ENTRY_PAD, CELL_WORDS, S_INTENT_CELLS, S_INTENT_POS } from './layout.js';
import { holdsHead, stateOf } from './slot-state.js';

/** What repair needs of the log (SharedLog has it; no import back, so no cycle). */
export interface RepairView {
  readonly cells: number;
  readonly mask: number;
  readonly maxReplicas: number;
  readonly maxEntryCells: number;
  readonly dataWords: Int32Array;
  slotIndex(r: number, word: number): number;
  sealIndex(pos: number): number;
  /** Index of the repair record of `pos`'s cell. */
  repairIndex(pos: number): number;
  slotWord(r: number): number;
  isSealed(pos: number): boolean;
  fence(r: number, fromWord: number): boolean;
}

/** The seal a repaired (skipped) entry at `pos` carries: a value no seal or stale seal of that cell can hold. */
export function repairMark(log: RepairView, pos: number): number {
  return (pos + (log.cells >> 1)) | 0;
}

/** Cells to skip at a repaired entry `pos` (0 if its record is implausible). */
export function repairedCells(log: RepairView, w: Int32Array, pos: number): number {
  const n = Atomics.load(w, log.repairIndex(pos));
  return n >= 1 && n <= log.maxEntryCells + log.cells / 2 ? n : 0;
}

/**
 * Try to repair the unsealed entry at `pos`: find the writer whose intent
 * starts there (or whose sealed pad ends there). If that writer still
 * holds head and `mayFence`, fence it first; a fenced, dead or gone owner's
 * entry is turned into a skip. Returns true when `pos` is now sealed or
 * repaired.
 */
export function tryRepair(log: RepairView, w: Int32Array, pos: number, mayFence: boolean): boolean {
  // The owner is the writer whose intent starts at pos (or whose sealed pad
  // ends there) and whose CAS succeeded (its intent is marked owned). A
  // writer that died between its CAS and that mark leaves an unmarked
  // intent: trusted only when it is the single candidate.
  // The owner's intent as read here is the one used below: re-reading it
  // after fencing could see a newer reservation (model: REREAD_INTENT).
  let owner = -1;
  let ownerStart = 0;
  let ownerCells = 0;
  let unmarked = -1;
  let unmarkedStart = 0;
  let unmarkedCells = 0;
  let unmarkedCount = 0;
  for (let r = 0; r < log.maxReplicas; r++) {
    const raw = Atomics.load(w, log.slotIndex(r, S_INTENT_CELLS));
    if (raw === 0) continue;
    const start = Atomics.load(w, log.slotIndex(r, S_INTENT_POS));
    const padEndsHere =
      start !== pos &&
      log.isSealed(start) &&
      (log.dataWords[(start & log.mask) * CELL_WORDS + 1]! & 0xff) === ENTRY_PAD &&
      ((start + log.dataWords[(start & log.mask) * CELL_WORDS]!) | 0) === pos;
    if (start !== pos && !padEndsHere) continue;
    if (raw < 0) {
      owner = r;
      ownerStart = start;
      ownerCells = -raw;
      break;
    }
    unmarked = r;
    unmarkedStart = start;
    unmarkedCells = raw;
    unmarkedCount++;
  }
  if (owner < 0 && unmarkedCount === 1) {
    owner = unmarked;
    ownerStart = unmarkedStart;
    ownerCells = unmarkedCells;
  }
  if (owner < 0) return false;
  const word = log.slotWord(owner);
  if (holdsHead(stateOf(word)) && !(mayFence && log.fence(owner, word))) return false;
  const start = ownerStart;
  const cells = ownerCells;
  const idx = log.sealIndex(pos);
  const v = Atomics.load(w, idx);
  if (v === pos || v === repairMark(log, pos)) return true;
  Atomics.store(w, log.repairIndex(pos), (start + cells - pos) | 0);
  Atomics.compareExchange(w, idx, v, repairMark(log, pos));
  Atomics.notify(w, idx);
  return true;
}

