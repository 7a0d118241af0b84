/** Every default and limit of node-replication/cluster, in one place. */
export const CLUSTER_DEFAULTS = Object.freeze({
  /** How a read is served when neither the handle nor the call says. */
  consistency: 'linearizable' as Consistency,
  /** Bound on a write: publish (retried with the same message id) until acknowledged, then applied here. */
  writeTimeoutMs: 5_000,
  /** Bound on a linearizable read: learning the stream's last sequence and catching up to it. */
  readTimeoutMs: 5_000,
  /**
   * Read-index rounds a bridge keeps in flight at once. 1: a round takes every
   * request that arrived during the one before (fewest barriers); 2: a request
   * that arrives while a round is out starts the next at once (about 1.2x the
   * linearizable reads/s on a quiet 2-core machine; docs/cluster.md).
   */
  readIndexRounds: 2,
  /** One publish attempt waits this long for its acknowledgement before it is retried. */
  publishAttemptMs: 1_000,
  /** Raft replicas of a stream made by createStream (3: one server of three may fail). */
  streamReplicas: 3,
  /** JetStream's de-duplication window for `Nats-Msg-Id`: a retry within it is stored once. */
  duplicateWindowMs: 120_000,
  /** Replica workers per site (the bridge holds one more replica slot). */
  replicas: 2,
  /** Bound on the bridge worker's start (connect, stream check, loading a snapshot if the stream needs one). */
  startTimeoutMs: 60_000,
  /** Between two tries of a request that failed while the cluster elects a leader. */
  retryPauseMs: 100,
  /** How long one pull of the bridge's consumer lasts; heartbeats come at half of it, so a lost consumer is made again within about this long. */
  consumeExpiresMs: 2_000,
  /** A consumer that delivered nothing this long while the stream is known to hold more is made again. */
  consumerStallMs: 2_000,
  /** The local log of a site (it caches the stream; 2 MiB as for any NR handle). */
  logBytes: 2 * 1024 * 1024,
  /** Retention of a stream made by createStream: at most this many messages (the oldest are discarded). */
  maxMessages: 1_000_000,
  /** Retention of a stream made by createStream: at most this many bytes (the oldest messages are discarded). */
  maxBytes: 1024 * 1024 * 1024,
  /**
   * Snapshots per retention span: a site snapshots each time the stream
   * grows by 1/4 of max_msgs messages or of max_bytes (by messageCost), so
   * the newest snapshot is at most a quarter of the retention behind the
   * tail while sites keep up, and a joining site finds one the stream still
   * holds the rest after.
   */
  snapshotsPerRetention: 4,
  /** Bound on taking and storing one snapshot, and on each step of loading one. */
  snapshotTimeoutMs: 30_000,
  /** After a failed rejoin (no snapshot covers the stream yet), the bridge tries again this much later. */
  rejoinRetryMs: 1_000,
});

export const CLUSTER_LIMITS = Object.freeze({
  /** Ops in one published batch (the count is a u16 in the message). */
  maxOpsPerBatch: 0xffff,
  /** Largest published batch; JetStream's default max_payload is 1 MiB. */
  maxBatchBytes: 1024 * 1024 - 4096,
  /** Room left in a local log entry beside a batch: entry and op headers, the apply op's sequence and length. */
  localEntryReserveBytes: 1024,
  /** The smallest local log of a site: a batch of a few ops must fit an entry (a quarter of it) beside the reserve. */
  minLogBytes: 16 * 1024,
  /** What one stored message counts for beyond its payload in the snapshot schedule (subject, headers, the store's record). */
  messageOverheadBytes: 128,
  /** One message of a stored snapshot (JetStream's default max_payload is 1 MiB). */
  snapshotChunkBytes: 256 * 1024,
  /** The largest snapshot a site stores or loads. */
  snapshotMaxBytes: 1024 * 1024 * 1024,
  /** Manifests a joining site tries, newest first, before it gives up. */
  snapshotCandidates: 4,
});

/** How a read is served: after learning the stream's tail (`linearizable`) or from the local replica as it is (`sequential`). */
export type Consistency = 'linearizable' | 'sequential';

/** The subject a structure's batches are published on, under the stream's name. */
export function subjectOf(stream: string): string {
  return `nr.${stream}.log`;
}

/** The stream that holds a stream's snapshots (made by createStream beside it). */
export function snapshotStreamOf(stream: string): string {
  return `${stream}_SNAP`;
}

/** Subjects of the snapshot stream: manifests on one subject, each snapshot's chunks on their own. */
export function manifestSubjectOf(stream: string): string {
  return `nr.${stream}.snap.m`;
}
export function chunkSubjectOf(stream: string, site: number, seq: number): string {
  return `nr.${stream}.snap.c.${(site >>> 0).toString(16)}.${seq}`;
}
