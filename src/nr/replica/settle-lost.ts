/**
 * Settling a commit whose replica lost its slot midway (combiner.ts): which
 * of its local writes took effect (their entries were sealed) and which
 * never reached the log. Runs once per lost slot, never per op.
 */
import { DetachedError, FencedError } from '../errors.js';
import { isLocal, OWN_FIELDS, type PendingWrite } from './batch.js';

/**
 * The slot was lost (reclaimed or declared dead) in the middle of a
 * commit. Own entries it had sealed are in the log and every other
 * replica applies them: their writes took effect, their results are lost
 * here unless this replica had applied them already. The rest never
 * reached the log. (Until session 14 these async writes never settled,
 * and a sync one threw DetachedError, which callers read as "not logged".)
 * Client items are left to their clients, which see the node gone.
 * `own` holds the commit's `ownCount` own-entry records (combiner.ts), the
 * first `ownCursor` of them applied here.
 */
export function settleLostBatch(batch: PendingWrite[], own: Int32Array, ownCount: number, ownCursor: number, lost: DetachedError): void {
  const sealed = new Uint8Array(batch.length);
  for (let e = 0; e < ownCount; e++) {
    const at = OWN_FIELDS * e;
    // Entries before ownCursor were applied here: their items hold their results.
    for (let i = own[at + 1]!; i < own[at + 1]! + own[at + 2]!; i++) sealed[i] = e < ownCursor ? 2 : 1;
  }
  const committed = new FencedError(true, 'lost its slot');
  for (let i = 0; i < batch.length; i++) {
    const op = batch[i]!;
    if (!isLocal(op) || sealed[i] === 2 || op.failed) continue;
    op.failed = true;
    op.error = sealed[i] === 1 ? committed : lost;
  }
  for (const op of batch) {
    if (!isLocal(op) || op.resolve === null) continue;
    if (op.failed) op.reject!(op.error);
    else op.resolve(op.result);
  }
}
