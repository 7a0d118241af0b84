/** Every default and limit of node-replication/cluster, in one place. */
export const CLUSTER_DEFAULTS = Object.freeze({
  /** How a read is served when neither the handle nor the call says. */
  consistency: 'linearizable' as Consistency,
  /** Bound on a write: publish (retried with the same message id) until acknowledged, then applied here. */
  writeTimeoutMs: 5_000,
  /** Bound on a linearizable read: learning the stream's last sequence and catching up to it. */
  readTimeoutMs: 5_000,
  /** One publish attempt waits this long for its acknowledgement before it is retried. */
  publishAttemptMs: 1_000,
  /** Raft replicas of a stream made by createStream (3: one server of three may fail). */
  streamReplicas: 3,
  /** JetStream's de-duplication window for `Nats-Msg-Id`: a retry within it is stored once. */
  duplicateWindowMs: 120_000,
  /** Replica workers per site (the bridge holds one more replica slot). */
  replicas: 2,
  /** Bound on the bridge worker's start (connect, stream check, first catch-up). */
  startTimeoutMs: 20_000,
  /** How long one pull of the bridge's consumer lasts; heartbeats come at half of it, so a lost consumer is made again within about this long. */
  consumeExpiresMs: 2_000,
  /** A consumer that delivered nothing this long while the stream is known to hold more is made again. */
  consumerStallMs: 2_000,
  /** The local log of a site (it caches the stream; 2 MiB as for any NR handle). */
  logBytes: 2 * 1024 * 1024,
});

export const CLUSTER_LIMITS = Object.freeze({
  /** Ops in one published batch (the count is a u16 in the message). */
  maxOpsPerBatch: 0xffff,
  /** Largest published batch; JetStream's default max_payload is 1 MiB. */
  maxBatchBytes: 1024 * 1024 - 4096,
});

/** How a read is served: after learning the stream's tail (`linearizable`) or from the local replica as it is (`sequential`). */
export type Consistency = 'linearizable' | 'sequential';

/** The subject a structure's batches are published on, under the stream's name. */
export function subjectOf(stream: string): string {
  return `nr.${stream}.log`;
}
