/**
 * The replica slots of a shared log and the head they hold (the base class
 * of SharedLog, shared-log.ts): each slot's words (state, LTAIL, owner,
 * heartbeat, wake, intent; layout.ts), the state moves through
 * slot-state.ts, heartbeats, nudges, and head: its advance to the minimum
 * LTAIL of the slots that hold it, fencing of laggers and of replicas head
 * overtook, and the bounded wait of a writer for space. A base class, not a
 * field, so the log's hot paths reach these words with no indirection.
 */
import { before, distance, fetchMax } from './positions.js';
import { notifyIfWaiting, waitWhileEqual, type WaitAsyncResult } from './wait.js';
import { HEARTBEAT_MS } from '../defaults.js';
import { HEAD, HEAD_WAITERS, S_HEARTBEAT, S_INTENT_CELLS, S_INTENT_POS, S_LTAIL, S_OWNER, S_STATE, S_WAKE, SLOT_WORDS, SLOTS_AT, TAIL } from './layout.js';
import { holdsHead, SlotState, stateOf, transition, type SlotActor } from './slot-state.js';

/** Heartbeats count in 10 ms ticks, wrapping like positions. */
function now10ms(): number {
  return Math.floor(Date.now() / 10) | 0;
}

/** A log's replica slots and its head, over the log's words. */
export class SlotTable {
  constructor(
    protected readonly words: Int32Array,
    readonly maxReplicas: number,
    readonly deadAfterMs: number,
  ) {}

  protected at(r: number, word: number): number {
    return SLOTS_AT + r * SLOT_WORDS + word;
  }

  /** The whole STATE word of slot r (state and incarnation). */
  slotWord(r: number): number {
    return Atomics.load(this.words, this.at(r, S_STATE));
  }
  slotState(r: number): SlotState {
    return stateOf(this.slotWord(r));
  }
  ltailOf(r: number): number {
    return Atomics.load(this.words, this.at(r, S_LTAIL));
  }
  ownerOf(r: number): number {
    return Atomics.load(this.words, this.at(r, S_OWNER));
  }

  /**
   * Change slot r's state from the exact word `fromWord` (see slot-state.ts).
   * Leaving a head-holding state advances head and wakes writers waiting for
   * space. Returns the new word, or -1 if the word had changed.
   */
  move(r: number, fromWord: number, to: SlotState, who: SlotActor, newIncarnation = false): number {
    const next = transition(this.words, this.at(r, S_STATE), fromWord, to, who, newIncarnation);
    if (next !== -1 && holdsHead(stateOf(fromWord)) && !holdsHead(to)) {
      this.advanceHead();
      Atomics.notify(this.words, HEAD);
    }
    return next;
  }

  /** Publish LTAIL for slot r: only its owner does, and only positions it reached through genuine entries. */
  publishLtail(r: number, pos: number): void {
    Atomics.store(this.words, this.at(r, S_LTAIL), pos);
  }

  /**
   * Slots whose owner (this thread) published a beat more than half of
   * deadAfterMs after its previous one: clients may have judged the node
   * gone meanwhile, if it was fenced too (see takeLongSilence). Per thread.
   */
  private readonly longSilences = new Set<number>();

  /**
   * The owner is alive: publish a heartbeat. `activeWord`: the STATE word
   * the owner holds while Active, if it knows it. A silence that ends with
   * the slot still at that word was never fenced (only the owner turns a
   * fenced slot Active again), so no client judged the node gone in it,
   * and it is not recorded: an old pause must not cut off the clients at
   * some later fence.
   */
  beat(r: number, activeWord?: number): void {
    // Exchange, then read the clock: a client that read the old beat did so before this store, so at an earlier time.
    const was = Atomics.exchange(this.words, this.at(r, S_HEARTBEAT), now10ms());
    if (distance(was, now10ms()) * 10 * 2 <= this.deadAfterMs) return;
    if (activeWord === undefined || Atomics.load(this.words, this.at(r, S_STATE)) !== activeWord) this.longSilences.add(r);
  }

  /**
   * Whether slot r's owner (this thread, just back from a fence) may have
   * looked fenced and silent to its clients since the last call: a beat
   * came more than deadAfterMs/2 after the one before it, or the current
   * beat is that old. Clears the mark. Clients give up on a node that looks
   * so (clients/node-gone.ts) and tell callers their sent ops never take
   * effect later, so the node must not serve those ops (hub.restart).
   */
  takeLongSilence(r: number): boolean {
    const silent = this.longSilences.delete(r);
    return distance(Atomics.load(this.words, this.at(r, S_HEARTBEAT)), now10ms()) * 10 * 2 > this.deadAfterMs || silent;
  }

  /** Record slot r's owner (a threadId), on claim. */
  setOwner(r: number, owner: number): void {
    Atomics.store(this.words, this.at(r, S_OWNER), owner);
  }

  /** Slot r's heartbeat is late (three beats missed): its owner may be dead. */
  heartbeatLate(r: number): boolean {
    return distance(Atomics.load(this.words, this.at(r, S_HEARTBEAT)), now10ms()) * 10 > 3 * HEARTBEAT_MS;
  }

  /** Slot r's owner has shown no sign of life for `factor × deadAfterMs`. */
  ownerSilent(r: number, factor = 1): boolean {
    return distance(Atomics.load(this.words, this.at(r, S_HEARTBEAT)), now10ms()) * 10 > factor * this.deadAfterMs;
  }

  /**
   * Fence slot r if its word is still `fromWord`; true if this call fenced
   * it. A reserved slot whose worker never attached simply becomes free:
   * that worker, if it comes, joins like any late replica.
   */
  fence(r: number, fromWord: number): boolean {
    const from = stateOf(fromWord);
    if (!holdsHead(from)) return false;
    return this.move(r, fromWord, from === SlotState.Reserved ? SlotState.Free : SlotState.Fenced, 'fencer') !== -1;
  }

  /**
   * Some slot other than `except` is active: a possible source of state.
   * With `silentFactor`, only one whose owner has not been silent for that
   * many deadAfterMs (a provider may be busy snapshotting for a while).
   */
  anyActive(except = -1, silentFactor = Infinity): boolean {
    for (let r = 0; r < this.maxReplicas; r++) {
      if (r !== except && this.slotState(r) === SlotState.Active && !this.ownerSilent(r, silentFactor)) return true;
    }
    return false;
  }

  // ---- nudges --------------------------------------------------------------------

  /** Poke replica r so that its event loop replays the log. */
  nudge(r: number): void {
    Atomics.add(this.words, this.at(r, S_WAKE), 1);
    Atomics.notify(this.words, this.at(r, S_WAKE));
  }

  /** Wait (async) for the next nudge of slot r. */
  waitNudge(r: number): WaitAsyncResult {
    const idx = this.at(r, S_WAKE);
    return Atomics.waitAsync(this.words, idx, Atomics.load(this.words, idx));
  }

  // ---- head ----------------------------------------------------------------------

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
      if (!holdsHead(stateOf(Atomics.load(w, this.at(r, S_STATE))))) continue;
      const d = distance(h, Atomics.load(w, this.at(r, S_LTAIL)));
      if (d < minDist) {
        minDist = d;
        lagger = r;
      }
    }
    const tailDist = distance(h, Atomics.load(w, TAIL));
    if (lagger < 0) minDist = tailDist;
    // Never past TAIL, whatever an LTAIL says.
    if (minDist > 0 && minDist <= tailDist) {
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
      const word = Atomics.load(w, this.at(r, S_STATE));
      if (stateOf(word) !== SlotState.Active) continue;
      if (before(Atomics.load(w, this.at(r, S_LTAIL)), h)) transition(w, this.at(r, S_STATE), word, SlotState.Fenced, 'head');
    }
  }

  /** Sleep (bounded) while HEAD is still `h`: a writer waiting for log space. */
  waitHeadMoves(h: number, deadline: number): void {
    waitWhileEqual(this.words, HEAD, h, HEAD_WAITERS, deadline);
  }

  // ---- intents ------------------------------------------------------------------

  /** Slot r's recorded intent: the position and cells (negative: owned) it was reserving. */
  intentOf(r: number): { pos: number; cells: number } {
    return { pos: Atomics.load(this.words, this.at(r, S_INTENT_POS)), cells: Atomics.load(this.words, this.at(r, S_INTENT_CELLS)) };
  }

  /** Record that slot r is about to reserve `cells` cells at `pos` (or clear it: cells 0). */
  setIntent(r: number, pos: number, cells: number): void {
    Atomics.store(this.words, this.at(r, S_INTENT_POS), pos);
    Atomics.store(this.words, this.at(r, S_INTENT_CELLS), cells);
  }

  /** Word index of slot r's word `word` (for repair.ts and transfer.ts). */
  slotIndex(r: number, word: number): number {
    return this.at(r, word);
  }
}
