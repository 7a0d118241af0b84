/**
 * The replica slot state machine: every state, every allowed transition,
 * who may make it and why. Every change of a slot's STATE word goes through
 * `transition()`, a compare-and-set on the whole word (state and
 * incarnation), so a transition decided on a stale view never lands.
 *
 * Slots whose LTAIL holds back HEAD: Reserved, Active, Recovering.
 *
 * | from → to                     | who        | why, and what is published first |
 * |-------------------------------|------------|----------------------------------|
 * | Reserved → Active             | owner      | first worker attaches; it replays from 0, which its slot held back |
 * | Free/Detached/Dead → Fenced   | owner      | a late joiner claims the slot (new incarnation); it recovers by transfer |
 * | Reserved → Free               | fencer     | a writer needs space and the reserved slot's worker never came |
 * | Active → Fenced               | fencer     | a writer waited `fenceAfterMs` for this lagger; head may now pass its LTAIL |
 * | Active → Fenced               | head       | `advanceHead` moved HEAD past an LTAIL that turned Active meanwhile (rejoin race) |
 * | Fenced → Active               | owner      | rejoin; LTAIL published first, then HEAD re-checked (→ Fenced again if it passed) |
 * | Active → Fenced               | owner      | that re-check failed, or a replay found HEAD past its run: recover by transfer instead |
 * | Fenced → Recovering           | provider   | hand-over: requester's LTAIL set to the snapshot position first |
 * | Recovering → Fenced           | provider   | the provider was fenced itself before publishing: the snapshot is void |
 * | Recovering → Fenced           | owner      | the requester withdrew a transfer that timed out |
 * | Recovering → Fenced           | fencer     | a writer waited `fenceAfterMs` for a recovering lagger (e.g. a joiner killed mid-transfer) |
 * | Recovering → Active           | owner      | snapshot restored |
 * | any held → Detached           | owner      | detach, or the thread's exit hook |
 * | any but Free → Dead           | manager    | `declareDead` / `declareThreadDead` after a kill |
 * | any held or Fenced → Dead     | owner      | fail-stop: the replica halted |
 * | Active/Fenced/Recovering → Dead | reclaimer | a joiner found no free slot (or wants this one) and its owner shows no sign of life for `deadAfterMs` (a joiner killed mid-transfer leaves its slot Recovering) |
 */
import { STATE_BITS, STATE_MASK } from './layout.js';

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
  /** Its worker died (declared, reclaimed, or halted): never holds back head. */
  Dead = 6,
}

export type SlotActor = 'owner' | 'fencer' | 'head' | 'provider' | 'manager' | 'reclaimer';


/** The table above, as data: `${from}>${to}` → the actors allowed. */
const ALLOWED = new Map<string, readonly SlotActor[]>([
  [`${SlotState.Reserved}>${SlotState.Active}`, ['owner']],
  [`${SlotState.Free}>${SlotState.Fenced}`, ['owner']],
  [`${SlotState.Detached}>${SlotState.Fenced}`, ['owner']],
  [`${SlotState.Dead}>${SlotState.Fenced}`, ['owner']],
  [`${SlotState.Reserved}>${SlotState.Free}`, ['fencer']],
  [`${SlotState.Active}>${SlotState.Fenced}`, ['fencer', 'head', 'owner']],
  [`${SlotState.Fenced}>${SlotState.Active}`, ['owner']],
  [`${SlotState.Fenced}>${SlotState.Recovering}`, ['provider']],
  [`${SlotState.Recovering}>${SlotState.Fenced}`, ['provider', 'owner', 'fencer']],
  [`${SlotState.Recovering}>${SlotState.Active}`, ['owner']],
  [`${SlotState.Reserved}>${SlotState.Detached}`, ['owner']],
  [`${SlotState.Active}>${SlotState.Detached}`, ['owner']],
  [`${SlotState.Fenced}>${SlotState.Detached}`, ['owner']],
  [`${SlotState.Recovering}>${SlotState.Detached}`, ['owner']],
  [`${SlotState.Reserved}>${SlotState.Dead}`, ['manager', 'owner']],
  [`${SlotState.Active}>${SlotState.Dead}`, ['manager', 'owner', 'reclaimer']],
  [`${SlotState.Fenced}>${SlotState.Dead}`, ['manager', 'owner', 'reclaimer']],
  [`${SlotState.Recovering}>${SlotState.Dead}`, ['manager', 'owner', 'reclaimer']],
  [`${SlotState.Detached}>${SlotState.Dead}`, ['manager']],
]);

/** Slots whose LTAIL holds back head. */
export function holdsHead(s: SlotState): boolean {
  return s === SlotState.Reserved || s === SlotState.Active || s === SlotState.Recovering;
}

export function stateOf(word: number): SlotState {
  return (word & STATE_MASK) as SlotState;
}
export function incarnationOf(word: number): number {
  return word >>> STATE_BITS;
}
/** The STATE word for `state` in the incarnation of `word`. */
export function withState(word: number, state: SlotState): number {
  return (word & ~STATE_MASK) | state;
}
/** A claim starts a new incarnation. */
export function claimed(word: number, state: SlotState): number {
  return ((((word >>> STATE_BITS) + 1) << STATE_BITS) | state) | 0;
}

const NAMES = ['Free', 'Reserved', 'Active', 'Detached', 'Fenced', 'Recovering', 'Dead'];
export function stateName(s: SlotState): string {
  return NAMES[s] ?? `#${s}`;
}

export function allowed(from: SlotState, to: SlotState, who: SlotActor): boolean {
  return ALLOWED.get(`${from}>${to}`)?.includes(who) ?? false;
}

/**
 * Move the slot whose STATE word is at `words[index]` from the exact word
 * `fromWord` to state `to` (a claim, `newIncarnation`, bumps the
 * incarnation). Returns the new word, or -1 if the word had changed (the
 * caller's view was stale). A transition the table does not allow is a bug:
 * it throws.
 */
export function transition(words: Int32Array, index: number, fromWord: number, to: SlotState, who: SlotActor, newIncarnation = false): number {
  const from = stateOf(fromWord);
  if (!allowed(from, to, who)) throw new Error(`internal: slot transition ${stateName(from)} → ${stateName(to)} by ${who} is not allowed`);
  const next = newIncarnation ? claimed(fromWord, to) : withState(fromWord, to);
  return Atomics.compareExchange(words, index, fromWord, next) === fromWord ? next : -1;
}
