/**
 * The bridge's snapshots (see bridge.ts): the schedule (a mark each time
 * the stream prefix crosses a quarter of the stream's retention, in
 * messages or in messageCost bytes), storing this site's replica state for
 * a mark unless a snapshot at or past it is stored already (by any site),
 * and rejoining: installing the newest valid snapshot that covers what the
 * stream no longer holds into the local log, in `stage` parts that each fit
 * a log entry, then `install`.
 */
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { Replica } from '../nr/index.js';
import { CLUSTER_DEFAULTS, CLUSTER_LIMITS } from './defaults.js';
import { SiteClosedError, SnapshotInvalidError } from './errors.js';
import type { Positions } from './positions.js';
import { sleep } from './retry.js';
import { SNAPSHOT_READ, type SiteSnapshotRead, type SiteState, type SiteStructure } from './site-structure.js';
import type { SnapshotStore } from './snapshots.js';
import { streamInfoUntil } from './stream.js';
import type { AnyStructure } from './structure-ref.js';

export type SiteReplica = Replica<SiteState<unknown>, SiteStructure['reads'], SiteStructure['writes']>;

/** The bridge's counters of snapshot work (a part of `Bridge.counters`, the same object). */
export interface SnapshotCounters {
  snapshotsStored: number;
  snapshotsSkipped: number;
  snapshotsDuplicate: number;
  snapshotFailures: number;
  snapshotsInstalled: number;
  rejoinFailures: number;
}

/** What the snapshots need of their bridge. */
export interface SnapshotHost {
  readonly replica: SiteReplica;
  readonly jsm: JetStreamManager;
  readonly store: SnapshotStore;
  readonly user: AnyStructure;
  readonly stream: string;
  /** The local log's size (a snapshot goes into it in parts that fit an entry). */
  readonly logBytes: number;
  readonly counters: SnapshotCounters;
  readonly positions: Positions;
  /** Highest sequence handed to the local log. */
  queued(): number;
  isClosed(): boolean;
  /** The local log holds a snapshot at `seq`, whose prefix's messageCost sum is `bytes`. */
  installed(seq: number, bytes: number): void;
  /** A local append failed: the site stops. */
  failStop(e: unknown): void;
}

/** The replica's state as SNAPSHOT_READ gives it (with the encoded state if `withData`). */
export function stateRead(replica: SiteReplica, withData: boolean): SiteSnapshotRead {
  return (replica.read as (n: string, w: boolean) => unknown)(SNAPSHOT_READ, withData) as SiteSnapshotRead;
}

/** Messages (or bytes) per snapshot mark: a quarter of the stream's retention; Infinity when that limit is unset. */
function interval(limit: number | undefined): number {
  return limit !== undefined && limit > 0 ? Math.max(1, Math.floor(limit / CLUSTER_DEFAULTS.snapshotsPerRetention)) : Infinity;
}

export class BridgeSnapshots {
  /** The snapshot schedule: a mark every `markMessages` messages and every `markBytes` of messageCost. */
  private readonly markMessages: number;
  private readonly markBytes: number;
  /** The newest mark known to be stored (by any site). */
  storedMark = 0;
  /** A mark was reached and is not stored yet. */
  due = false;
  private snapshotting = false;
  /** A rejoin is under way (no snapshot is taken meanwhile). */
  rejoining = false;

  constructor(
    private readonly host: SnapshotHost,
    config: StreamConfig,
  ) {
    this.markMessages = interval(config.max_msgs);
    this.markBytes = interval(config.max_bytes);
  }

  markOf(seq: number, bytes: number): number {
    return (this.markMessages === Infinity ? 0 : Math.floor(seq / this.markMessages)) + (this.markBytes === Infinity ? 0 : Math.floor(bytes / this.markBytes));
  }

  /** After an append: take the due snapshot unless one is under way, a rejoin runs, or the bridge closed. */
  maybeTake(): void {
    if (this.due && !this.snapshotting && !this.rejoining && !this.host.isClosed()) void this.take();
  }

  /**
   * Store this replica's state for the mark the stream prefix reached,
   * unless a snapshot at or past it is stored already (by any site). One
   * at a time; a failure leaves it due, so the next append tries again.
   */
  private async take(): Promise<void> {
    const host = this.host;
    this.due = false;
    this.snapshotting = true;
    try {
      const s = stateRead(host.replica, true);
      const mark = this.markOf(s.seq, s.bytes);
      if (mark <= this.storedMark) return;
      if (s.data === null || s.data.length > CLUSTER_LIMITS.snapshotMaxBytes) {
        host.counters.snapshotFailures++;
        return;
      }
      const r = await host.store.store({ seq: s.seq, mark, data: s.data }, performance.now() + CLUSTER_DEFAULTS.snapshotTimeoutMs);
      this.storedMark = Math.max(this.storedMark, r.mark);
      if (r.outcome === 'stored') {
        host.counters.snapshotsStored++;
        host.positions.countStored();
      } else if (r.outcome === 'skipped') host.counters.snapshotsSkipped++;
      else host.counters.snapshotsDuplicate++;
    } catch {
      host.counters.snapshotFailures++;
      this.due = !host.isClosed();
      await sleep(CLUSTER_DEFAULTS.rejoinRetryMs);
    } finally {
      this.snapshotting = false;
    }
    // A mark reached while this one was stored (no append may follow to start it).
    if (this.due && !this.rejoining && !host.isClosed()) void this.take();
  }

  /** Rejoin while the bridge runs: a failure (no snapshot covers the gap yet, the cluster unreachable) is tried again. */
  async rejoinUntilDone(): Promise<void> {
    while (!this.host.isClosed()) {
      try {
        await this.rejoin(performance.now() + CLUSTER_DEFAULTS.snapshotTimeoutMs);
        return;
      } catch {
        if (this.host.isClosed()) return;
        this.host.counters.rejoinFailures++;
        await sleep(CLUSTER_DEFAULTS.rejoinRetryMs);
      }
    }
  }

  /** Install the newest valid snapshot that covers what the stream no longer holds (SnapshotStore.newestCovering). */
  async rejoin(deadline: number): Promise<void> {
    this.rejoining = true;
    try {
      await this.rejoinOnce(deadline);
    } finally {
      this.rejoining = false;
    }
  }

  private async rejoinOnce(deadline: number): Promise<void> {
    const host = this.host;
    const info = await streamInfoUntil(host.jsm, host.stream, deadline);
    const need = host.queued() + 1;
    const { first_seq: first, last_seq: last } = info.state;
    if (first <= need || last < need) return; // nothing this site needs is gone
    const snap = await host.store.newestCovering(need, first, last, host.user, deadline);
    await this.install(snap.seq, snap.bytes);
  }

  /**
   * Append a validated snapshot to the local log: `stage` parts that each
   * fit a log entry, then `install`. Every replica of the site replays them
   * and takes the state at `seq`. A local append that fails stops the site.
   */
  private async install(seq: number, bytes: Uint8Array): Promise<void> {
    const host = this.host;
    const partBytes = Math.max(256, Math.min(CLUSTER_LIMITS.snapshotChunkBytes, Math.floor(host.logBytes / 8)));
    const parts = Math.max(1, Math.ceil(bytes.length / partBytes));
    let at: SiteSnapshotRead;
    try {
      for (let i = 0; i < parts; i++) await host.replica.writeAsync('stage', seq, i, bytes.subarray(i * partBytes, (i + 1) * partBytes));
      await host.replica.writeAsync('install', seq, parts, bytes.length);
      at = stateRead(host.replica, false);
      if (at.seq !== seq) throw new SnapshotInvalidError(`the local log holds sequence ${at.seq} after installing ${seq}`);
    } catch (e) {
      host.failStop(e);
      throw new SiteClosedError(`the local log did not take the snapshot: ${(e as Error).message}`);
    }
    this.storedMark = Math.max(this.storedMark, this.markOf(seq, at.bytes));
    host.counters.snapshotsInstalled++;
    host.installed(seq, at.bytes);
  }
}
