/**
 * node-replication: Node Replication (Calciu et al., ASPLOS'17) for Node.js
 * worker threads. Public API of the runtime.
 */
export { defineStructure, type Structure, type StructureSpec, type OpTable, type OpArgs, type OpResult } from './structure.js';
export { OpWriter, OpReader, v8Codec, noArgsCodec, type ArgsCodec } from './codec.js';
export { createHandle, attach, type NrHandle, type HandleOptions, type AttachOptions } from './handle.js';
export { Replica, type ReplicaOptions, type ReplicaStats, type CombineMode } from './replica.js';
export {
  NrError,
  EncodeError,
  OpTooLargeError,
  HandleMismatchError,
  CapacityError,
  DetachedError,
  UnknownOpError,
  ReentrancyError,
  ConfigError,
  type NrErrorCode,
} from './errors.js';
export { DEFAULT_LOG_BYTES, MIN_LOG_BYTES, MAX_LOG_BYTES, MAX_REPLICAS } from './log.js';
