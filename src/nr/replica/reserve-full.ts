/**
 * Reserving log space while the log is full: the combiner's slow path once
 * its first `tryReserve` found no room (per full log, not per op). It
 * replays its own replica (which must never be the one holding head back),
 * serves snapshots, beats, advances head, helps sibling replicas, nudges the
 * replica that lags, and sleeps bounded until head moves; a lagger that
 * holds head for `fenceAfterMs` is fenced, so one stuck replica never stops
 * every writer.
 */
import type { SharedLog } from '../log/shared-log.js';
import type { CombinerCounters, CombinerHost } from './combiner-host.js';

/** Reserve `cells` for replica `id` on a full log, waiting (never spinning unbounded) for space. */
export function reserveWhileFull(log: SharedLog, id: number, host: CombinerHost, counters: CombinerCounters, cells: number): number | 'lost' {
  let pos: number | null | 'lost';
  const t0 = performance.now();
  counters.fullWaits++;
  let waitingFor = -1;
  let since = t0;
  for (;;) {
    // Our own replica must never be the one holding head back.
    host.replayTo(log.tail());
    host.serveSnapshotIfAsked();
    host.beat();
    const lagger = log.advanceHead();
    pos = log.tryReserve(cells, id);
    if (pos !== null) break;
    // Wait for a lagging replica only so long; then fence it.
    const now = performance.now();
    if (lagger !== waitingFor) {
      waitingFor = lagger;
      since = now;
    } else if (lagger >= 0 && lagger !== id && now - since >= log.fenceAfterMs) {
      if (log.fence(lagger, log.slotWord(lagger))) counters.fences++;
      waitingFor = -1;
      continue;
    }
    host.helpSiblings();
    if (lagger >= 0 && lagger !== id) log.nudge(lagger);
    pos = log.tryReserve(cells, id);
    if (pos !== null) break;
    log.waitHeadMoves(log.head(), performance.now() + 2);
  }
  counters.fullWaitMs += performance.now() - t0;
  return pos;
}
