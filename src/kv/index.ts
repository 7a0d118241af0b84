/** node-replication/kv: an Avocado-style secure replicated key-value store on NR. */
export {
  createKv,
  type KvHandle,
  type KvAttachOptions,
  type KvOptions,
  type KvSecret,
  DEFAULT_MAX_KEY_BYTES,
  MAX_KEY_BYTES,
  DEFAULT_MAX_VALUE_BYTES,
  MAX_VALUE_BYTES,
  DEFAULT_ARENA_BYTES,
  KV_CLIENT_SLOT_DEFAULTS,
} from './handle.js';
export { attachKv, KvStore, type KvStats } from './store.js';
export { type KvKey, type KvValue, type CasResult, type BatchOp, type ScanOptions, MAX_BATCH_ITEMS, MAX_SCAN_LIMIT } from './issue.js';
export type { KvEntry } from './enclave.js';
export {
  KvError,
  IntegrityError,
  WrongKeyError,
  KvTypeError,
  KvSizeError,
  ArenaFullError,
  KvConfigError,
  KvContentionError,
  KvStaleError,
  type KvErrorCode,
} from './errors.js';
export type { PwhashCost } from './crypto.js';
export { connectKv, declareKvClientDead, KvClient, type KvConnectOptions } from './client.js';
export { kvPeers, type KvPeer, DEFAULT_STALE_MS, DEFAULT_ANNOUNCE_MS } from './freshness.js';
export { FailStopError } from '../nr/index.js';
