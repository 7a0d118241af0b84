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
  clientRequestsPending,
  declareThreadDead,
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
  type BatchOp,
  type BatchResults,
} from './replica/replica.js';
export { Client, type ClientOptions } from './clients/client.js';
export { poolReplica, poolClient, pinnedTask, pinnedLoadBalancer, type PoolWorkerView } from './pool.js';
export { RecoveryError } from './log/transfer.js';
export {
  ReplicationError,
  NrError,
  SameThreadError,
  FailStopError,
  EncodeError,
  DecodeError,
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
  LogMapperError,
  BatchApplyError,
  type NrErrorCode,
} from './errors.js';
export { DEFAULTS, LIMITS } from './defaults.js';
export { LogMarkQueue, type LogMarks } from './reclaim.js';
export { waitWhileEqual, waitWhileEqualAsync } from './log/wait.js';
import { DEFAULTS, LIMITS } from './defaults.js';
export const DEFAULT_LOG_BYTES = DEFAULTS.logBytes;
export const MIN_LOG_BYTES = LIMITS.minLogBytes;
export const MAX_LOG_BYTES = LIMITS.maxLogBytes;
export const MAX_REPLICAS = LIMITS.maxReplicas;
export const DEFAULT_FENCE_AFTER_MS = DEFAULTS.fenceAfterMs;
export { createCnrHandle, attachCnr, connectCnr, declareCnrDead, declareCnrThreadDead, MAX_LOGS, DEFAULT_LOGS, type CnrHandle, type CnrHandleOptions } from './cnr/handle.js';
export { CnrReplica, type CnrStats } from './cnr/cnr-replica.js';
export { CnrClient } from './cnr/cnr-client.js';
export { withLogMapper, keyHashMapper, keyHash, type LogMapper, type LogChoice, type CnrStructure } from './cnr/mapper.js';
