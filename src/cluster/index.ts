/**
 * node-replication/cluster: a structure replicated across processes and
 * machines on a NATS JetStream stream (see docs/cluster.md).
 */
export { createSite, type Site, type SiteOptions, type SiteReplicaData } from './site.js';
export { attachSite, ClusterReplica, type AttachSiteOptions, type ClusterStats } from './replica.js';
export { createStream, streamIdentity, type CreateStreamOptions } from './stream.js';
export { CLUSTER_DEFAULTS, CLUSTER_LIMITS, subjectOf, snapshotStreamOf, type Consistency } from './defaults.js';
export type { StructureRef } from './structure-ref.js';
export {
  ClusterError,
  ClusterConfigError,
  StreamNotFoundError,
  StreamMismatchError,
  BehindRetentionError,
  SnapshotInvalidError,
  ClusterUnavailableError,
  ResultLostError,
  SiteClosedError,
  type ClusterErrorCode,
  type Committed,
} from './errors.js';
export {
  createKvStream,
  createKvSite,
  attachKvSite,
  KvSite,
  type KvStreamParams,
  type KvStreamOptions,
  type KvSiteOptions,
  type KvSiteHandle,
  type KvSiteReplicaData,
  type KvSiteAttachOptions,
  type KvSiteReadOptions,
  type KvSiteStats,
} from '../kv/site.js';
