/**
 * What the combiner (combiner.ts) needs from its replica, and the counters
 * it keeps in the replica's stats: apart, so the combiner's pieces
 * (reserve-full.ts) name them without an import cycle.
 */

/** What the combiner needs from its replica. */
export interface CombinerHost {
  /** The replica's current state (replaced on recovery). */
  readonly state: unknown;
  /** Replay through `target`, recovering if fenced. */
  replayTo(target: number): void;
  /** Replay through this commit's one own entry at `pos`, ending at `end`, just sealed. */
  replayOwn(pos: number, end: number): void;
  /** Replay to the ctail observed now. */
  catchUpToCtail(): void;
  /** Hand a snapshot to a replica that asked for one, if any did. */
  serveSnapshotIfAsked(): void;
  /** Replicas in this thread cannot run while we block: replay them here. */
  helpSiblings(): void;
  /** Publish this replica's heartbeat (it is alive, if blocked). */
  beat(): void;
  /** The slot is still ours and Active as this replica last knew it (not fenced, lost or reclaimed). */
  holdsSlot(): boolean;
}

/** The combiner's counters (part of the replica's stats). */
export interface CombinerCounters {
  appends: number;
  batches: number;
  opsWritten: number;
  replayedOps: number;
  fullWaits: number;
  fullWaitMs: number;
  fences: number;
}
