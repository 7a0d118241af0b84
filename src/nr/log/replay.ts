/**
 * The replay loop: apply every entry from a replica's LTAIL up to a target,
 * through an apply callback, then publish how far it got. The log owns this
 * loop; the replica only supplies `applyEntry` (the Rust crate's
 * `exec(idx, apply)`).
 *
 * A replayer is safe from reused cells only while its slot holds head. So:
 * - the run is checked before each entry and once more after the last one
 *   (a seqlock: everything read before a check that passes was genuine):
 *   the slot's STATE word (state and incarnation) is unchanged, and HEAD
 *   has not passed the LTAIL the run started from. The slot alone is not
 *   enough: `advanceHead` may move HEAD past a replica that just turned
 *   Active before it re-fences it (model/nr-log.pml found that window);
 * - every header is validated (readHeader) before its cell count moves the
 *   cursor: a bad one from a fenced replica means "lapped", from a replica
 *   still holding head it means corruption, and the replica fails stop;
 * - a run that ended fenced publishes nothing: no LTAIL, no CTAIL. Its
 *   caller discards what the run computed and recovers by state transfer.
 */
import { FailStopError } from '../errors.js';
import { before, distance } from './positions.js';
import { ENTRY_BATCH } from './layout.js';
import type { EntryHeader, SharedLog } from './shared-log.js';

export interface EntryApplier {
  /** Apply the batch entry at `pos`, whose header was validated. */
  applyEntry(pos: number, header: EntryHeader): void;
  /** Called while waiting on an unsealed entry (e.g. to publish a heartbeat). */
  onWait(): void;
}

export interface ReplayCounters {
  replayedEntries: number;
  sealWaits: number;
  sealWaitMs: number;
}

/**
 * How a run ended: at `reached` (published), or fenced there (nothing
 * published). A fenced run's applies up to `reached` were genuine unless
 * `suspect`: the fence was seen only after the last apply, which may then
 * have read reused cells.
 */
export interface ReplayEnd {
  reached: number;
  fenced: boolean;
  suspect: boolean;
}

/**
 * Replay slot `slot` (whose STATE word must stay `slotWord`) from `from` up
 * to `target`. Throws FailStopError when the log is provably corrupt; any
 * error thrown by `applyEntry` propagates with nothing published.
 */
// Replay results are read at once by the caller: two frozen ones and one
// reused for a clean end, so a replay allocates nothing.
const FENCED_CLEAN: ReplayEnd = { reached: 0, fenced: true, suspect: false };
const FENCED_SUSPECT: ReplayEnd = { reached: 0, fenced: true, suspect: true };
const DONE: ReplayEnd = { reached: 0, fenced: false, suspect: false };
function end(shape: ReplayEnd, pos: number): ReplayEnd {
  shape.reached = pos;
  return shape;
}

/** The run from `from` is still safe from reused cells. */
function holds(log: SharedLog, slot: number, slotWord: number, from: number): boolean {
  return log.runHolds(slot, slotWord, from);
}

export function replay(
  log: SharedLog,
  slot: number,
  slotWord: number,
  from: number,
  target: number,
  applier: EntryApplier,
  counters: ReplayCounters,
): ReplayEnd {
  let pos = from;
  const tail = log.tail();
  while (before(pos, target)) {
    if (!log.isSealed(pos)) {
      counters.sealWaits++;
      const waitFrom = performance.now();
      const seen = awaitEntry(log, pos, slot, slotWord, from, applier);
      counters.sealWaitMs += performance.now() - waitFrom;
      if (seen === 'fenced') return end(FENCED_CLEAN, pos);
      if (seen === 'lapped') return lappedOrCorrupt(log, slot, slotWord, from, pos, 'its cell holds a later lap');
      if (seen === 'repaired') {
        const skip = log.repairedCells(pos);
        if (skip === 0 || distance(pos, tail) < skip) return lappedOrCorrupt(log, slot, slotWord, from, pos, 'it is marked repaired but its repair record is implausible');
        pos = (pos + skip) | 0;
        continue;
      }
    }
    // (Before the first entry nothing has been read yet: no check needed.)
    if (pos !== from && !holds(log, slot, slotWord, from)) return end(FENCED_CLEAN, pos);
    const header = log.readHeader(pos, tail);
    if (header === null) return lappedOrCorrupt(log, slot, slotWord, from, pos, 'its header is not a valid entry');
    const cells = header.cells; // (the header object is reused by the next read)
    if (header.kind === ENTRY_BATCH) applier.applyEntry(pos, header);
    pos = (pos + cells) | 0;
    counters.replayedEntries++;
  }
  // The last check, and publication if it passes (LTAIL, CTAIL: every entry ended at or before `tail`).
  if (!log.finishRun(slot, slotWord, from, pos)) return end(pos !== from ? FENCED_SUSPECT : FENCED_CLEAN, pos);
  return end(DONE, pos);
}

function lappedOrCorrupt(log: SharedLog, slot: number, slotWord: number, from: number, pos: number, why: string): ReplayEnd {
  // Only a replica that no longer holds head can see reused cells.
  if (!holds(log, slot, slotWord, from)) return end(FENCED_CLEAN, pos);
  throw new FailStopError(`the shared log is corrupt: the entry at position ${pos} cannot be replayed (${why}) while replica ${slot} holds head`);
}

/**
 * Wait for the entry at `pos` to be sealed. Its writer normally seals it
 * within microseconds; if not, after fenceAfterMs the writer is fenced and
 * its entry repaired into a skip (a dead or declared-dead writer's at once).
 * Bounded: an entry that no writer owns and nobody can repair within the
 * bound means corrupt shared memory; one before CTAIL that is not sealed
 * means it at once.
 */
function awaitEntry(
  log: SharedLog,
  pos: number,
  slot: number,
  slotWord: number,
  from: number,
  applier: EntryApplier,
): 'sealed' | 'repaired' | 'lapped' | 'fenced' {
  const start = performance.now();
  const bound = 10 * log.fenceAfterMs + 2 * log.deadAfterMs + 1000;
  for (;;) {
    const seen = log.awaitSeal(pos, performance.now() + 10);
    if (seen !== 'timeout') return seen;
    if (!holds(log, slot, slotWord, from)) return 'fenced';
    // Every entry before CTAIL was sealed or repaired before CTAIL passed it (a seal is not
    // undone but by a later lap, which reads as 'lapped'): unsealed there, in a run that holds
    // head, is a dropped seal, not a slow writer. (The seal is read again after CTAIL, so a
    // writer that sealed meanwhile is seen.)
    const ctail = log.ctail();
    if (before(pos, ctail) && log.awaitSeal(pos, 0) === 'timeout' && holds(log, slot, slotWord, from)) {
      throw new FailStopError(`the shared log is corrupt: the entry at position ${pos} is before CTAIL ${ctail} but not sealed`);
    }
    applier.onWait();
    const waited = performance.now() - start;
    if (log.tryRepair(pos, waited >= log.fenceAfterMs)) continue;
    if (waited > bound) {
      throw new FailStopError(`the shared log is corrupt: the entry at position ${pos} stayed unsealed for ${Math.round(waited)} ms and no writer owns it`);
    }
  }
}
