/** node-replication/kv: an Avocado-style secure replicated key-value store on NR. */
export {
  createKv,
  attachKv,
  KvStore,
  type KvHandle,
  type KvAttachOptions,
  type KvOptions,
  type KvSecret,
  type KvKey,
  type KvValue,
  type KvEntry,
  type CasResult,
  type BatchOp,
  type ScanOptions,
  type KvStats,
  DEFAULT_MAX_KEY_BYTES,
  MAX_KEY_BYTES,
  DEFAULT_MAX_VALUE_BYTES,
  MAX_VALUE_BYTES,
  DEFAULT_ARENA_BYTES,
  KV_CLIENT_SLOT_DEFAULTS,
  MAX_BATCH_ITEMS,
  MAX_SCAN_LIMIT,
} from './store.js';
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
export { connectKv, KvClient, type KvConnectOptions } from './client.js';
export { kvPeers, type KvPeer, DEFAULT_STALE_MS, DEFAULT_ANNOUNCE_MS } from './freshness.js';
export { FailStopError } from '../nr/index.js';
