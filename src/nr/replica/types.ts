/** A replica's options, status and counters. */
import type { CombineMode } from './combiner.js';

export interface ReplicaOptions {
  /** Default 'microtask': writes issued in one synchronous run form one batch. */
  combine?: CombineMode;
  /** Bound on waiting for a snapshot when this replica must recover or join. Default 30 000 ms. */
  transferTimeoutMs?: number;
  /** @internal Test hooks, to force rare interleavings deterministically. */
  testHooks?: {
    afterReserve?: (pos: number) => void;
    /** Parallel logs (attachCnr): a multi-log op of this view reached `phase` (its entries appended, committed, or the order given back). */
    multiLogPhase?: (phase: 'appended' | 'committed' | 'released', seq: number) => void;
  };
}
export const REPLICA_OPTION_KEYS = ['combine', 'transferTimeoutMs', 'testHooks'] as const;

/** live: current; lagging: more than half a log behind; fenced: must recover before serving; recovering: taking a snapshot. */
export type ReplicaStatus = 'live' | 'lagging' | 'fenced' | 'recovering' | 'detached';

/** Plain-object counters, cheap to log or export. */
export interface ReplicaStats {
  replica: number;
  status: ReplicaStatus;
  /** Lagging replicas this replica fenced while it waited for log space. */
  fences: number;
  /** Times this replica found itself fenced. */
  fenced: number;
  /** Snapshots this replica restored (recovering or joining), and the time they took. */
  stateTransfers: number;
  stateTransferMs: number;
  /** Snapshots this replica handed to others. */
  snapshotsServed: number;
  /** Entries this replica appended. */
  appends: number;
  /** Commits (one per sync write, or per combined async batch). */
  batches: number;
  /** Write ops this replica issued. */
  opsWritten: number;
  /** Entries and ops replayed (own and others'). */
  replayedEntries: number;
  replayedOps: number;
  /** Times a writer found the log full and had to wait, and the time spent. */
  fullWaits: number;
  fullWaitMs: number;
  /** Times a replay found an entry reserved but not yet filled, and waited, and the time spent. */
  sealWaits: number;
  sealWaitMs: number;
  /** Nudges handled in the event loop. */
  nudges: number;
  /** Position this replica has applied up to, and the log's used cells. */
  ltail: number;
  logUsedCells: number;
}

