/**
 * Claiming, reclaiming and declaring replica slots: who holds which slot.
 * Every state change goes through `log.move` (slot-state.ts).
 */
import { before } from './positions.js';
import type { SharedLog } from './shared-log.js';
import { SlotState, stateOf } from './slot-state.js';

/**
 * Claim a slot (the lowest, or `want`) for thread `owner`. A reserved slot
 * becomes active and replays from where it holds head (position 0).
 * Otherwise a free, detached or dead slot is taken as fenced: its replica
 * must join by state transfer. When none is left, an active, fenced or
 * recovering slot whose owner has been silent for deadAfterMs is reclaimed
 * (marked dead, then claimed): a killed, undeclared replica never leaks its
 * slot.
 */
export function claimSlot(log: SharedLog, owner: number, want?: number): { slot: number; word: number; needsTransfer: boolean } | null {
  const from = want ?? 0;
  const to = want === undefined ? log.maxReplicas : want + 1;
  for (let r = from; r < to; r++) {
    const word = log.slotWord(r);
    if (stateOf(word) !== SlotState.Reserved) continue;
    const next = prepareClaim(log, r, owner, word, SlotState.Active);
    if (next !== -1) return { slot: r, word: next, needsTransfer: false };
  }
  for (let pass = 0; pass < 2; pass++) {
    for (let r = from; r < to; r++) {
      let word = log.slotWord(r);
      let s = stateOf(word);
      if (pass === 1 && heldBySomeone(s) && log.ownerSilent(r)) {
        word = log.move(r, word, SlotState.Dead, 'reclaimer');
        if (word === -1) continue;
        s = SlotState.Dead;
      }
      if (s !== SlotState.Free && s !== SlotState.Detached && s !== SlotState.Dead) continue;
      const next = prepareClaim(log, r, owner, word, SlotState.Fenced);
      if (next !== -1) return { slot: r, word: next, needsTransfer: true };
    }
  }
  return null;
}

/**
 * Some slot (of `want`, if given) is fenced or its heartbeat is late: its
 * owner may be dead, and the slot reclaimable once silent long enough.
 */
export function mayBecomeReclaimable(log: SharedLog, want?: number): boolean {
  const late = (r: number): boolean => log.heartbeatLate(r);
  for (let r = want ?? 0; r < (want === undefined ? log.maxReplicas : want + 1); r++) {
    const s = log.slotState(r);
    if (s === SlotState.Fenced || (heldBySomeone(s) && late(r))) return true;
  }
  return false;
}

/**
 * States a claimed slot's owner holds it in: reclaimable once the owner is
 * silent. Recovering too: a joiner killed between the hand-over and its
 * restore leaves its slot Recovering, and only a fencer (when the log needs
 * space) would ever free it; an explicit-slot attach (every log but the
 * first of parallel logs) would otherwise be refused for good.
 */
function heldBySomeone(s: SlotState): boolean {
  return s === SlotState.Active || s === SlotState.Fenced || s === SlotState.Recovering;
}

function prepareClaim(log: SharedLog, r: number, owner: number, word: number, to: SlotState): number {
  const next = log.move(r, word, to, 'owner', true);
  if (next === -1) return -1;
  log.setOwner(r, owner);
  log.beat(r);
  // A previous owner that died with a torn append left its intent here:
  // repair that entry now, before our first reservation overwrites the
  // intent (replayers find the owner of an unsealed entry by it). The
  // slot's repair words stay: slow replayers may still need them.
  const intent = log.intentOf(r);
  if (intent.cells !== 0) {
    const pos = intent.pos;
    // Only a position no replica has passed: its cell still belongs to that lap.
    if (!before(pos, log.head()) && before(pos, log.tail()) && !log.isSealed(pos)) log.tryRepair(pos, false);
  }
  return next;
}

/** Slots of thread `owner` (a threadId) that are not free, detached or dead. */
export function slotsOwnedBy(log: SharedLog, owner: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < log.maxReplicas; r++) {
    const s = log.slotState(r);
    if (s !== SlotState.Free && s !== SlotState.Detached && s !== SlotState.Dead && log.ownerOf(r) === owner) out.push(r);
  }
  return out;
}

/** A manager declares slot r's worker dead (whatever its state). */
export function declareSlotDead(log: SharedLog, r: number): void {
  for (;;) {
    const word = log.slotWord(r);
    const s = stateOf(word);
    if (s === SlotState.Free || s === SlotState.Dead) return;
    if (log.move(r, word, SlotState.Dead, 'manager') !== -1) return;
  }
}

/** States of every slot, for error messages. */
export function describeSlots(log: SharedLog): string {
  return Array.from({ length: log.maxReplicas }, (_, r) => log.slotState(r)).join('');
}

