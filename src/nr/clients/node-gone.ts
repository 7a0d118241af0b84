/**
 * Whether a client's node can still answer it: the client's slot still its
 * own (its STATE word and CLAIM count unchanged), the node not gone or
 * replaced by a new incarnation, and its log slot neither dead nor fenced
 * and silent (killed, never declared dead).
 */
import type { SharedLog } from '../log/shared-log.js';
import { SlotState } from '../log/slot-state.js';
import { CLIENT_CLAIM, CLIENT_STATE, NodeState, type SharedContext } from './context.js';

/** What a client needs to know about its node beyond the context. */
export interface NodeView {
  /** The node's log, to see its slot fenced and silent (killed, never declared). */
  readonly log: SharedLog;
  /** The node's serving epoch this client connected in. */
  readonly epoch: number;
  /** The node lives in this thread: a blocking op could never be served. */
  readonly sameThread: () => boolean;
}

/**
 * The slot at `base` is still the one a client took: its STATE word (owner
 * and state) and its CLAIM count unchanged. declareClientDead (a manager's
 * mistake on a live thread) may have freed it for another client.
 */
export function ownsClientSlot(ctx: SharedContext, base: number, stateWord: number, claim: number): boolean {
  const words = ctx.words;
  return Atomics.load(words, base + CLIENT_STATE) === stateWord && Atomics.load(words, base + CLIENT_CLAIM) === claim;
}

/**
 * Why node `node` can no longer answer the client in the slot at `base`
 * (null if it can): it left, a new incarnation serves its slot, or it was
 * fenced and its thread has shown no sign of life for deadAfterMs (killed
 * and never declared dead).
 */
export function whyNodeGone(ctx: SharedContext, node: number, view: NodeView, base: number, stateWord: number, claim: number): string | null {
  // Our slot is ours only while its STATE word is the one we claimed: declareClientDead (or a
  // manager's mistake) may have freed it for another client, whose ring this would then share.
  if (!ownsClientSlot(ctx, base, stateWord, claim)) return 'no longer serves this client (its slot was declared dead, and may serve another client now)';
  const state = ctx.nodeState(node);
  if (state === NodeState.Gone) return 'is detached or gone';
  const epoch = ctx.nodeEpoch(node);
  // Connected before the node's first worker came (epoch 0): its first hub serves us.
  if (epoch !== view.epoch && !(view.epoch === 0 && epoch === 1)) return 'was replaced by a new incarnation';
  if (state === NodeState.Absent) return null; // not attached yet: wait (bounded by timeoutMs)
  const log = view.log;
  const s = log.slotState(node);
  if (s === SlotState.Dead || s === SlotState.Free || s === SlotState.Detached) return 'is dead';
  if (s === SlotState.Fenced && log.ownerSilent(node)) return 'was fenced and shows no sign of life';
  return null;
}
