/**
 * A store's handle: `createKv(options)` (any thread, usually main)
 * allocates the shared header, value arena and NR log and returns a
 * structured-cloneable `KvHandle`; the checks every attaching thread runs on
 * it and on its options, and the key derivation they lead to (`cipherFor`).
 */
import sodium from 'sodium-native';
import { type AttachOptions, ConfigError, createHandle, type HandleOptions, type NrHandle } from '../nr/index.js';
import { Arena, FORMAT, H_CAPACITY, H_FLAGS, H_FORMAT, H_MAGIC, H_MAX_KEY, H_MAX_VALUE, HEADER_BYTES, MAGIC } from './arena.js';
import { Cipher, keyCheckValue, masterKey, randomSalt, randomStoreId, sameBytes, STORE_ID_BYTES, type PwhashCost } from './crypto.js';
import { type StoreContext } from './enclave.js';
import { KvConfigError, KvTypeError, WrongKeyError } from './errors.js';
import { DEFAULT_ANNOUNCE_MS, DEFAULT_STALE_MS, type KvPeer } from './freshness.js';
import { kvStructure } from './structure.js';
import { createClientBlocks } from './client-blocks.js';

export const DEFAULT_MAX_KEY_BYTES = 1024;
export const MAX_KEY_BYTES = 65535;
export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024;
export const MAX_VALUE_BYTES = 1024 * 1024;
export const DEFAULT_ARENA_BYTES = 64 * 1024 * 1024;
/**
 * Client slots of a KV store with `log.clients` when the caller sets
 * neither `clientSlots` nor `clientSlotBytes`: a client's window of ops
 * (client-window.ts) shares requests only as far as a slot holds, and 4 KiB
 * holds a window of 64 gets and puts of short keys (request and answer).
 * 16 such slots are 64 KiB per client and node (the core's default is 16 KiB).
 */
export const KV_CLIENT_SLOT_DEFAULTS = { clientSlots: 16, clientSlotBytes: 4096 } as const;
/**
 * The client block table (client-blocks.ts): owner ids per client slot of
 * the log (an id stays DEAD until a replica sweeps it, so a new client of
 * the same slot needs another), and puts a client may have unsettled at
 * once (16 bytes each: 64 KiB per owner id).
 */
export const CLIENT_BLOCK_OWNERS_PER_CLIENT = 2;
export const CLIENT_BLOCK_ENTRIES = 4096;

export interface KvSecret {
  /** A 256-bit key. */
  key?: Uint8Array;
  /** Or a passphrase, stretched with Argon2id (crypto_pwhash). */
  passphrase?: string | Uint8Array;
}

export interface KvOptions extends KvSecret {
  /** false: a plaintext store (no encryption, no MACs): the baseline that shows the cost of security. Default true. */
  encrypt?: boolean;
  /** Argon2id cost for a passphrase: at least libsodium's MIN (ops 1, 8 KiB), at most SENSITIVE. Default INTERACTIVE. */
  pwhash?: PwhashCost;
  /** Value arena size in bytes. Default 64 MiB. */
  arenaBytes?: number;
  maxKeyBytes?: number;
  maxValueBytes?: number;
  /** Options of the underlying NR log (logBytes, replicas, fenceAfterMs, ...). */
  log?: HandleOptions;
}

/**
 * Pass to workers (postMessage: a private channel under the threat model);
 * holds no key material. Everything attach decides on (store id,
 * encryption, KDF kind, salt and cost, limits) comes from here, never from
 * shared memory, and the key check value covers all of it.
 */
export interface KvHandle {
  readonly kind: 'nr-kv';
  readonly nr: NrHandle;
  readonly header: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
  /** Random, fixed at creation: bound into every sub-key. */
  readonly storeId: Uint8Array;
  readonly encrypted: boolean;
  readonly kdf: 'key' | 'passphrase';
  readonly salt: Uint8Array;
  readonly pwhash: PwhashCost;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  /** Key check value over the parameters above (empty for a plaintext store). */
  readonly kcv: Uint8Array;
  /** The KV clients' block table (client-blocks.ts); null on a store without client slots. */
  readonly clientBlocks: SharedArrayBuffer | null;
}

/** What attachKv takes besides the handle. Unknown fields are errors. */
export interface KvAttachOptions extends KvSecret {
  /** The highest KDF cost this caller accepts from the handle. Default libsodium's MODERATE. */
  maxPwhash?: PwhashCost;
  /** This thread's end of the freshness mesh (kvPeers): without one, reads are fresh only w.r.t. this thread's own view of the log. */
  peer?: KvPeer;
  /** How long a read waits for its replica to reach the newest chain head learned before KvStaleError. Default 1000 ms. */
  staleMs?: number;
  /** At most one head announcement per this many ms. Default 1 ms. */
  announceMs?: number;
  /** Options of this thread's NR replica. */
  replica?: AttachOptions;
}


function checkPositiveInt(name: string, v: number | undefined, def: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new KvConfigError(`${name} must be an integer from 1 to ${max}`);
  return v;
}

/** Allocate a store's shared memory. Encrypted stores need `key` or `passphrase` (for the key check value). */
const CREATE_OPTIONS = new Set(['key', 'passphrase', 'encrypt', 'pwhash', 'arenaBytes', 'maxKeyBytes', 'maxValueBytes', 'log']);

export function createKv(options: KvOptions = {}): KvHandle {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new KvConfigError('createKv options must be an object');
  for (const k of Object.keys(options)) if (!CREATE_OPTIONS.has(k)) throw new KvConfigError(`unknown createKv option ${JSON.stringify(k)}`);
  refuseNullOptions('createKv', options);
  if (options.encrypt !== undefined && typeof options.encrypt !== 'boolean') throw new KvConfigError('encrypt must be a boolean');
  refuseBothSecrets(options);
  const encrypt = options.encrypt ?? true;
  // A secret or a KDF cost that would be ignored is a caller's mistake (a store they believe encrypted, a cost never paid).
  if (!encrypt && (options.key !== undefined || options.passphrase !== undefined)) throw new KvConfigError('a plaintext store (encrypt: false) takes no key or passphrase');
  if (options.pwhash !== undefined && options.passphrase === undefined) throw new KvConfigError('pwhash is the cost of deriving the key from a passphrase: give it with `passphrase` only');
  const maxKey = checkPositiveInt('maxKeyBytes', options.maxKeyBytes, DEFAULT_MAX_KEY_BYTES, MAX_KEY_BYTES);
  const maxValue = checkPositiveInt('maxValueBytes', options.maxValueBytes, DEFAULT_MAX_VALUE_BYTES, MAX_VALUE_BYTES);
  const arenaBytes = checkPositiveInt('arenaBytes', options.arenaBytes, DEFAULT_ARENA_BYTES, 2 ** 31 - 64);
  if (arenaBytes < 4096) throw new KvConfigError('arenaBytes must be at least 4096');
  const cost = options.pwhash ?? { opsLimit: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, memLimit: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE };
  checkCost(cost, { opsLimit: sodium.crypto_pwhash_OPSLIMIT_SENSITIVE, memLimit: sodium.crypto_pwhash_MEMLIMIT_SENSITIVE }, 'pwhash');
  if (encrypt && options.key === undefined && options.passphrase === undefined) throw new KvTypeError('an encrypted store needs `key` (32 bytes) or `passphrase`');
  const storeId = randomStoreId();
  const salt = encrypt ? randomSalt() : Buffer.alloc(0);
  const kdf = options.key === undefined && encrypt ? 'passphrase' : 'key';
  const params = { storeId, encrypted: encrypt, kdf, salt, pwhash: { opsLimit: cost.opsLimit, memLimit: cost.memLimit }, maxKeyBytes: maxKey, maxValueBytes: maxValue } as const;
  let kcv: Uint8Array = new Uint8Array(0);
  if (encrypt) {
    const master = masterKey(options, salt, cost);
    kcv = new Uint8Array(keyCheckValue(master, storeId, paramBytes(params)));
    master.fill(0);
  }
  // The header keeps a copy of the parameters for inspection only: attach never reads them.
  const header = new SharedArrayBuffer(HEADER_BYTES);
  const view = new DataView(header);
  view.setUint32(H_MAGIC, MAGIC, true);
  view.setUint32(H_FORMAT, FORMAT, true);
  view.setUint32(H_FLAGS, encrypt ? 1 : 0, true);
  view.setUint32(H_MAX_KEY, maxKey, true);
  view.setUint32(H_MAX_VALUE, maxValue, true);
  view.setUint32(H_CAPACITY, arenaBytes, true);
  Arena.init(header);
  const arena = new SharedArrayBuffer(arenaBytes);
  // The structure's shape does not depend on keys: a throwaway context gives the fingerprint.
  const shape = kvStructure(plainContext(new Arena(header, arena)));
  let nr: NrHandle;
  try {
    nr = createHandle(shape, logOptions(options.log));
  } catch (e) {
    if (e instanceof ConfigError) throw new KvConfigError(`createKv log: ${e.message}`);
    throw e;
  }
  const clients = options.log?.clients ?? 0;
  const clientBlocks = clients > 0 ? createClientBlocks(clients * CLIENT_BLOCK_OWNERS_PER_CLIENT, CLIENT_BLOCK_ENTRIES) : null;
  return { kind: 'nr-kv', nr, header, arena, ...params, storeId: new Uint8Array(storeId), salt: new Uint8Array(salt), kcv, clientBlocks };
}

function logOptions(log: HandleOptions | undefined): HandleOptions {
  // null is not "the defaults": like any other non-object it is a mistake to report.
  if (log !== undefined && (log === null || typeof log !== 'object' || Array.isArray(log))) throw new KvConfigError(`createKv log: must be an object of createHandle options, got ${log === null ? 'null' : typeof log}`);
  if (!log || !((log.clients ?? 0) > 0) || log.clientSlots !== undefined || log.clientSlotBytes !== undefined) return log ?? {};
  return { ...log, ...KV_CLIENT_SLOT_DEFAULTS };
}

function plainContext(arena: Arena): StoreContext {
  return { cipher: new Cipher(null, new Uint8Array(STORE_ID_BYTES)), arena, fresh: null, applied: { count: 0, head: '' } };
}

function checkCost(cost: PwhashCost, max: PwhashCost, what: string): void {
  if (cost === null || typeof cost !== 'object') throw new KvConfigError(`${what} must be { opsLimit, memLimit }`);
  const ok = (v: unknown, lo: number, hi: number): boolean => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  if (!ok(cost.opsLimit, sodium.crypto_pwhash_OPSLIMIT_MIN, max.opsLimit) || !ok(cost.memLimit, sodium.crypto_pwhash_MEMLIMIT_MIN, max.memLimit)) {
    throw new KvConfigError(`${what} opsLimit must be ${sodium.crypto_pwhash_OPSLIMIT_MIN}..${max.opsLimit} and memLimit ${sodium.crypto_pwhash_MEMLIMIT_MIN}..${max.memLimit}`);
  }
}

/** The handle's parameters as the bytes the key check value covers. */
function paramBytes(p: { storeId: Uint8Array; encrypted: boolean; kdf: string; salt: Uint8Array; pwhash: PwhashCost; maxKeyBytes: number; maxValueBytes: number }): Buffer {
  const b = Buffer.alloc(STORE_ID_BYTES + 2 + 16 + 8 * 4);
  Buffer.from(p.storeId).copy(b, 0);
  b[STORE_ID_BYTES] = p.encrypted ? 1 : 0;
  b[STORE_ID_BYTES + 1] = p.kdf === 'passphrase' ? 1 : 0;
  Buffer.from(p.salt).copy(b, STORE_ID_BYTES + 2);
  let at = STORE_ID_BYTES + 18;
  for (const v of [p.pwhash.opsLimit, p.pwhash.memLimit, p.maxKeyBytes, p.maxValueBytes]) at = b.writeDoubleLE(v, at);
  return b;
}

const ATTACH_OPTIONS = new Set(['key', 'passphrase', 'maxPwhash', 'peer', 'staleMs', 'announceMs', 'replica']);

export function checkHandle(handle: KvHandle): void {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'nr-kv') throw new KvConfigError('not a KV handle');
  if (!(handle.storeId instanceof Uint8Array) || handle.storeId.length !== STORE_ID_BYTES || typeof handle.encrypted !== 'boolean' || !(handle.kcv instanceof Uint8Array) || !(handle.salt instanceof Uint8Array)) {
    throw new KvConfigError('KV handle is missing its store id or parameters');
  }
  if (!(handle.header instanceof SharedArrayBuffer) || handle.header.byteLength < HEADER_BYTES || !(handle.arena instanceof SharedArrayBuffer)) {
    throw new KvConfigError('not a KV handle: header and arena must be SharedArrayBuffers');
  }
  if (handle.clientBlocks !== null && !(handle.clientBlocks instanceof SharedArrayBuffer)) throw new KvConfigError('KV handle: clientBlocks must be a SharedArrayBuffer or null');
  if (handle.kdf !== 'key' && handle.kdf !== 'passphrase') throw new KvConfigError('KV handle has an unknown KDF kind');
  const view = new DataView(handle.header);
  if (view.getUint32(H_MAGIC, true) !== MAGIC || view.getUint32(H_FORMAT, true) !== FORMAT) throw new KvConfigError('KV header has the wrong magic or format');
}

/** Derive and check this thread's cipher from the handle and the caller's secret. */
export function cipherFor(handle: KvHandle, options: KvAttachOptions): Cipher {
  if (!handle.encrypted) return new Cipher(null, handle.storeId);
  const usesPassphrase = handle.kdf === 'passphrase';
  if (usesPassphrase ? options.passphrase === undefined : options.key === undefined) {
    throw new KvTypeError(usesPassphrase ? 'this store was created with a passphrase' : 'this store was created with a 32-byte key');
  }
  if (usesPassphrase) checkCost(handle.pwhash, options.maxPwhash ?? { opsLimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE, memLimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE }, 'the handle\'s KDF cost (against maxPwhash)');
  const master = masterKey(usesPassphrase ? { passphrase: options.passphrase! } : { key: options.key! }, handle.salt, handle.pwhash);
  const ok = sameBytes(keyCheckValue(master, handle.storeId, paramBytes(handle)), handle.kcv);
  if (!ok) {
    master.fill(0);
    throw new WrongKeyError();
  }
  const cipher = new Cipher(master, handle.storeId);
  master.fill(0);
  return cipher;
}

export function checkAttachOptions(options: KvAttachOptions, allowed: ReadonlySet<string> = ATTACH_OPTIONS): { staleMs: number; announceMs: number } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new KvConfigError('attach options must be an object');
  for (const k of Object.keys(options)) if (!allowed.has(k)) throw new KvConfigError(`unknown attach option ${JSON.stringify(k)}`);
  refuseNullOptions('attach', options);
  refuseBothSecrets(options);
  const ms = (name: string, v: number | undefined, def: number): number => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 600_000) throw new KvConfigError(`${name} must be a number of ms from 0 to 600000`);
    return v;
  };
  if (options.maxPwhash !== undefined) checkCost(options.maxPwhash, { opsLimit: 0xffffffff, memLimit: 0xffffffff }, 'maxPwhash');
  return { staleMs: ms('staleMs', options.staleMs, DEFAULT_STALE_MS), announceMs: ms('announceMs', options.announceMs, DEFAULT_ANNOUNCE_MS) };
}

/** `key` and `passphrase` together: which one the store uses is not the caller's to guess. */
function refuseBothSecrets(options: { key?: unknown; passphrase?: unknown }): void {
  if (options.key !== undefined && options.passphrase !== undefined) throw new KvTypeError('give `key` or `passphrase`, not both');
}

/** No option takes null: read as "the default" it would hide a caller's bug (a lookup that found nothing). */
export function refuseNullOptions(where: string, options: object): void {
  for (const [k, v] of Object.entries(options)) if (v === null) throw new KvConfigError(`${where}: option '${k}' is null (leave it out, or undefined, for the default)`);
}
