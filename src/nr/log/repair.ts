/**
 * Torn-append repair. A writer records its intent (position, cells) before
 * its CAS on TAIL and marks it owned after; a replayer stuck on an unsealed
 * entry finds the intent covering it and, once the owner is dead or fenced
 * (fencing it after fenceAfterMs), records the skip length in the owner's
 * REPAIR words and CASes the seal to the repair mark. Every replica then
 * skips the same cells; a fenced owner that wakes fails its own seal CAS.
 */
import { ENTRY_PAD, CELL_WORDS, S_INTENT_CELLS, S_INTENT_POS, S_REPAIR_CELLS, S_REPAIR_POS } from './layout.js';
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
  slotWord(r: number): number;
  isSealed(pos: number): boolean;
  fence(r: number, fromWord: number): boolean;
}

/** The seal a repaired (skipped) entry at `pos` carries: a value no seal or stale seal of that cell can hold. */
export function repairMark(log: RepairView, pos: number): number {
  return (pos + (log.cells >> 1)) | 0;
}

/** Cells to skip at a repaired entry `pos` (0 if no repair record names it or the record is implausible). */
export function repairedCells(log: RepairView, w: Int32Array, pos: number): number {
  for (let r = 0; r < log.maxReplicas; r++) {
    if (Atomics.load(w, log.slotIndex(r, S_REPAIR_POS)) !== pos) continue;
    const n = Atomics.load(w, log.slotIndex(r, S_REPAIR_CELLS));
    return n >= 1 && n <= log.maxEntryCells + log.cells / 2 ? n : 0;
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
export function tryRepair(log: RepairView, w: Int32Array, pos: number, mayFence: boolean): boolean {
  // The owner is the writer whose intent starts at pos (or whose sealed pad
  // ends there) and whose CAS succeeded (its intent is marked owned). A
  // writer that died between its CAS and that mark leaves an unmarked
  // intent: trusted only when it is the single candidate.
  let owner = -1;
  let unmarked = -1;
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
      break;
    }
    unmarked = r;
    unmarkedCount++;
  }
  if (owner < 0 && unmarkedCount === 1) owner = unmarked;
  if (owner < 0) return false;
  const word = log.slotWord(owner);
  if (holdsHead(stateOf(word)) && !(mayFence && log.fence(owner, word))) return false;
  const start = Atomics.load(w, log.slotIndex(owner, S_INTENT_POS));
  const cells = Math.abs(Atomics.load(w, log.slotIndex(owner, S_INTENT_CELLS)));
  const idx = log.sealIndex(pos);
  const v = Atomics.load(w, idx);
  if (v === pos || v === repairMark(log, pos)) return true;
  Atomics.store(w, log.slotIndex(owner, S_REPAIR_POS), pos);
  Atomics.store(w, log.slotIndex(owner, S_REPAIR_CELLS), (start + cells - pos) | 0);
  Atomics.compareExchange(w, idx, v, repairMark(log, pos));
  Atomics.notify(w, idx);
  return true;
}

