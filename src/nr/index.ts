/**
 * node-replication: Node Replication (Calciu et al., ASPLOS'17) for Node.js
 * worker threads. Public API of the runtime.
 */
export { defineStructure, type Structure, type StructureSpec, type OpTable, type OpArgs, type OpResult } from './structure.js';
export { OpWriter, OpReader, v8Codec, v8ValueCodec, noArgsCodec, type ArgsCodec, type ValueCodec } from './codec.js';
export {
  createHandle,
  attach,
  connect,
  declareDead,
  declareClientDead,
  type NrHandle,
  type HandleOptions,
  type AttachOptions,
  type ConnectOptions,
} from './handle.js';
export {
  Replica,
  type ReplicaOptions,
  type ReplicaStats,
  type ReplicaStatus,
  type CombineMode,
  type BoundReads,
  type BoundWrites,
} from './replica.js';
export { Client, type ClientOptions } from './client.js';
export { poolReplica, poolClient, pinnedTask, pinnedLoadBalancer, type PoolWorkerView } from './pool.js';
export { RecoveryError } from './transfer.js';
export {
  NrError,
  FailStopError,
  EncodeError,
  OpTooLargeError,
  HandleMismatchError,
  CapacityError,
  DetachedError,
  UnknownOpError,
  ReentrancyError,
  ConfigError,
  NodeGoneError,
  BackpressureError,
  TimeoutError,
  FencedError,
  type NrErrorCode,
} from './errors.js';
export { DEFAULT_LOG_BYTES, MIN_LOG_BYTES, MAX_LOG_BYTES, MAX_REPLICAS, DEFAULT_FENCE_AFTER_MS } from './log.js';
