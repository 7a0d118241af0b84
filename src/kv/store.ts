/**
 * The store's API on a replica-holding thread.
 *
 * `createKv(options)` (any thread, usually main) allocates the shared header,
 * value arena and NR log and returns a structured-cloneable `KvHandle`.
 * Every thread that uses the store calls `attachKv(handle, secret)`: it
 * derives the keys privately, checks them against the header's key check
 * value, and attaches its own replica (its enclave index).
 *
 * A write seals the value into a fresh arena block (issuer side, before
 * logging), then logs one metadata record. Blocks the write displaced are
 * reclaimed by the issuer once `appliedEverywhere(mark)` says no replica can
 * still reference them; a block whose write did not take effect is freed at once.
 */
import sodium from 'sodium-native';
import {
  attach,
  type AttachOptions,
  createHandle,
  FencedError,
  type HandleOptions,
  type NrHandle,
  type Replica,
  type ReplicaStats,
} from '../nr/index.js';
import { Arena, ARENA_START, FORMAT, H_CAPACITY, H_FLAGS, H_FORMAT, H_KCV, H_KDF, H_MAGIC, H_MAX_KEY, H_MAX_VALUE, H_MEM, H_OPS, H_SALT, HEADER_BYTES, MAGIC } from './arena.js';
import { Cipher, KCV_BYTES, keyCheckValue, masterKey, randomSalt, randomWriterId, sameBytes, SALT_BYTES, type PwhashCost } from './crypto.js';
import { IntegrityError, KvConfigError, KvContentionError, KvSizeError, KvTypeError, WrongKeyError } from './errors.js';
import { type ApplyResult, DELETE, type KvEntry, kvStructure, type LogItem, type LogRecord, type Meta, PUT, type KvStructure, displayKey } from './structure.js';

export type { KvEntry } from './structure.js';

/** A key: a string (UTF-8) or bytes. Keys order by their bytes. */
export type KvKey = string | Uint8Array;
/** A value: bytes, or a string stored as UTF-8. */
export type KvValue = string | Uint8Array;

export const DEFAULT_MAX_KEY_BYTES = 1024;
export const MAX_KEY_BYTES = 65535;
export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024;
export const MAX_VALUE_BYTES = 1024 * 1024;
export const DEFAULT_ARENA_BYTES = 64 * 1024 * 1024;
export const MAX_BATCH_ITEMS = 4096;
export const MAX_SCAN_LIMIT = 100_000;
const CAS_ATTEMPTS = 1000;

export interface KvSecret {
  /** A 256-bit key. */
  key?: Uint8Array;
  /** Or a passphrase, stretched with Argon2id (crypto_pwhash). */
  passphrase?: string | Uint8Array;
}

export interface KvOptions extends KvSecret {
  /** false: a plaintext store (no encryption, no MACs): the baseline that shows the cost of security. Default true. */
  encrypt?: boolean;
  /** Argon2id cost for a passphrase. Default libsodium's INTERACTIVE. */
  pwhash?: PwhashCost;
  /** Value arena size in bytes. Default 64 MiB. */
  arenaBytes?: number;
  maxKeyBytes?: number;
  maxValueBytes?: number;
  /** Options of the underlying NR log (logBytes, replicas, fenceAfterMs, ...). */
  log?: HandleOptions;
}

/** Pass to workers; holds no key material. */
export interface KvHandle {
  readonly kind: 'nr-kv';
  readonly nr: NrHandle;
  readonly header: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
}

export interface CasResult {
  /** Whether the new value was written. */
  ok: boolean;
  /** The key's version afterwards: the new one on success, the current one (0: absent) on failure. */
  version: number;
  /** On failure of a compare by value: the current value (undefined: absent). */
  value?: Buffer | undefined;
}

export type BatchOp = { type: 'put'; key: KvKey; value: KvValue } | { type: 'delete'; key: KvKey };

export interface ScanOptions {
  /** Inclusive lower bound. */
  start?: KvKey;
  /** Exclusive upper bound. */
  end?: KvKey;
  /** Only keys starting with these bytes (combined with start/end if given). */
  prefix?: KvKey;
  /** At most this many entries (default 100, at most 100 000). */
  limit?: number;
}

export interface KvStats {
  keys: number;
  /** Arena bytes the live values' blocks occupy. */
  liveBytes: number;
  /** Arena bytes handed out so far (its high-water mark). */
  arenaUsedBytes: number;
  arenaCapacity: number;
  /** Bytes on the shared free lists. */
  arenaFreeBytes: number;
  /** Bytes this thread displaced and will reclaim once every replica has applied past them. */
  pendingReclaimBytes: number;
  reclaimedBytes: number;
  /** Free-list links this thread found corrupted and dropped. */
  allocatorRepairs: number;
  encrypted: boolean;
  /** Why this replica fail-stopped, or null. */
  failure: string | null;
  replica: ReplicaStats;
}

const utf8 = new TextEncoder();

function checkPositiveInt(name: string, v: number | undefined, def: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new KvConfigError(`${name} must be an integer from 1 to ${max}`);
  return v;
}

/** Allocate a store's shared memory. Encrypted stores need `key` or `passphrase` (for the key check value). */
export function createKv(options: KvOptions = {}): KvHandle {
  const encrypt = options.encrypt ?? true;
  const maxKey = checkPositiveInt('maxKeyBytes', options.maxKeyBytes, DEFAULT_MAX_KEY_BYTES, MAX_KEY_BYTES);
  const maxValue = checkPositiveInt('maxValueBytes', options.maxValueBytes, DEFAULT_MAX_VALUE_BYTES, MAX_VALUE_BYTES);
  const arenaBytes = checkPositiveInt('arenaBytes', options.arenaBytes, DEFAULT_ARENA_BYTES, 2 ** 31 - 64);
  if (arenaBytes < 4096) throw new KvConfigError('arenaBytes must be at least 4096');
  const cost = options.pwhash ?? { opsLimit: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, memLimit: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE };
  if (!Number.isInteger(cost.opsLimit) || cost.opsLimit < sodium.crypto_pwhash_OPSLIMIT_MIN || !Number.isInteger(cost.memLimit) || cost.memLimit < sodium.crypto_pwhash_MEMLIMIT_MIN || cost.memLimit > 0xffffffff || cost.opsLimit > 0xffffffff) {
    throw new KvConfigError('pwhash opsLimit/memLimit out of range');
  }
  const header = new SharedArrayBuffer(HEADER_BYTES);
  const view = new DataView(header);
  const bytes = new Uint8Array(header);
  view.setUint32(H_MAGIC, MAGIC, true);
  view.setUint32(H_FORMAT, FORMAT, true);
  view.setUint32(H_FLAGS, encrypt ? 1 : 0, true);
  view.setUint32(H_MAX_KEY, maxKey, true);
  view.setUint32(H_MAX_VALUE, maxValue, true);
  view.setUint32(H_CAPACITY, arenaBytes, true);
  if (encrypt) {
    const salt = randomSalt();
    bytes.set(salt, H_SALT);
    const usesPassphrase = options.key === undefined;
    view.setUint32(H_KDF, usesPassphrase ? 1 : 0, true);
    view.setUint32(H_OPS, cost.opsLimit, true);
    view.setUint32(H_MEM, cost.memLimit, true);
    const master = masterKey(options, salt, cost);
    bytes.set(keyCheckValue(master, salt), H_KCV);
    master.fill(0);
  }
  Arena.init(header);
  const arena = new SharedArrayBuffer(arenaBytes);
  // The structure's shape does not depend on keys: a throwaway context gives the fingerprint.
  const shape = kvStructure({ cipher: new Cipher(null), arena: new Arena(header, arena) });
  return { kind: 'nr-kv', nr: createHandle(shape, options.log ?? {}), header, arena };
}

/** Become a node of the store: derive and check the keys, attach a replica. */
export function attachKv(handle: KvHandle, secret: KvSecret = {}, options: AttachOptions = {}): KvStore {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'nr-kv') throw new KvConfigError('not a KV handle');
  const arena = new Arena(handle.header, handle.arena);
  const view = new DataView(handle.header);
  if (view.getUint32(H_MAGIC, true) !== MAGIC || view.getUint32(H_FORMAT, true) !== FORMAT) throw new KvConfigError('KV header has the wrong magic or format');
  const encrypted = (view.getUint32(H_FLAGS, true) & 1) === 1;
  let master: Buffer | null = null;
  if (encrypted) {
    const salt = new Uint8Array(handle.header, H_SALT, SALT_BYTES).slice();
    const usesPassphrase = view.getUint32(H_KDF, true) === 1;
    if (usesPassphrase ? secret.passphrase === undefined : secret.key === undefined) {
      throw new KvTypeError(usesPassphrase ? 'this store was created with a passphrase' : 'this store was created with a 32-byte key');
    }
    const cost = { opsLimit: view.getUint32(H_OPS, true), memLimit: view.getUint32(H_MEM, true) };
    // Bound the work an attacker-edited header can demand of us.
    if (cost.opsLimit > sodium.crypto_pwhash_OPSLIMIT_MAX || cost.memLimit > 1024 * 1024 * 1024) throw new KvConfigError('KV header asks for an unreasonable KDF cost');
    master = masterKey(usesPassphrase ? { passphrase: secret.passphrase! } : { key: secret.key! }, salt, cost);
    const kcv = new Uint8Array(handle.header, H_KCV, KCV_BYTES).slice();
    if (!sameBytes(keyCheckValue(master, salt), kcv)) {
      master.fill(0);
      throw new WrongKeyError();
    }
  }
  const cipher = new Cipher(master);
  master?.fill(0);
  const structure = kvStructure({ cipher, arena });
  const limits = {
    maxKey: Math.min(MAX_KEY_BYTES, view.getUint32(H_MAX_KEY, true)),
    maxValue: Math.min(MAX_VALUE_BYTES, view.getUint32(H_MAX_VALUE, true)),
  };
  const replica = attach(handle.nr, structure, options);
  return new KvStore(replica, structure, cipher, arena, limits);
}

/** Latin1 string of a key's bytes: a Map key whose JS string order is byte order. */
function keyIdOf(key: KvKey, max: number, what = 'key'): string {
  let id: string;
  if (typeof key === 'string') {
    id = isAscii(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
  } else if (key instanceof Uint8Array) {
    id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  } else {
    throw new KvTypeError(`${what} must be a string or a Uint8Array, got ${key === null ? 'null' : typeof key}`);
  }
  if (id.length > max) throw new KvSizeError(`${what} is ${id.length} bytes; at most ${max}`);
  return id;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function valueBytes(value: KvValue, max: number): Uint8Array {
  let b: Uint8Array;
  if (typeof value === 'string') b = utf8.encode(value);
  else if (value instanceof Uint8Array) b = value;
  else throw new KvTypeError(`value must be a string or a Uint8Array, got ${value === null ? 'null' : typeof value}`);
  if (b.length > max) throw new KvSizeError(`value is ${b.length} bytes; at most ${max}`);
  return b;
}

/** A write prepared on the issuer: sealed blocks plus the record that will reference them. */
interface Prepared {
  rec: LogRecord;
  /** (offset, stored bytes) of blocks this write allocated. */
  blocks: number[];
}

/** One thread's view of the store, holding its replica. */
export class KvStore {
  readonly replica: Replica<unknown, never, never>;
  private readonly r: KvStructureReplica;
  private readonly cipher: Cipher;
  private readonly arena: Arena;
  private readonly maxKey: number;
  private readonly maxValue: number;
  private readonly writer = randomWriterId();
  private seq = 0;
  /** Displaced blocks waiting for every replica to pass them: (mark, offset, stored bytes) triples. */
  private pendingFree: number[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  private reclaimed = 0;
  private writesSinceReclaim = 0;

  /** @internal use attachKv */
  constructor(replica: KvStructureReplica, _structure: KvStructure, cipher: Cipher, arena: Arena, limits: { maxKey: number; maxValue: number }) {
    this.r = replica;
    this.replica = replica as unknown as Replica<unknown, never, never>;
    this.cipher = cipher;
    this.arena = arena;
    this.maxKey = limits.maxKey;
    this.maxValue = limits.maxValue;
  }

  get encrypted(): boolean {
    return this.cipher.secure;
  }

  // ---- reads ---------------------------------------------------------------------

  /** The value (a private Buffer), or undefined. IntegrityError if its stored bytes fail verification. */
  get(key: KvKey): Buffer | undefined {
    const id = keyIdOf(key, this.maxKey);
    try {
      return this.r.reads.get(id);
    } catch (e) {
      return this.afterReadFailure(e, () => this.r.reads.get(id));
    }
  }

  getString(key: KvKey): string | undefined {
    return this.get(key)?.toString('utf8');
  }

  has(key: KvKey): boolean {
    return this.r.reads.has(keyIdOf(key, this.maxKey));
  }

  /** The key's current version (0: absent). */
  version(key: KvKey): number {
    return this.r.reads.version(keyIdOf(key, this.maxKey));
  }

  size(): number {
    return this.r.reads.size();
  }

  /** Entries in key (byte) order within the range or prefix. */
  scan(options: ScanOptions = {}): KvEntry[] {
    const { start, end, limit } = this.scanArgs(options);
    return this.retryRead(() => this.r.reads.scan(start, end, limit));
  }

  async getAsync(key: KvKey): Promise<Buffer | undefined> {
    const id = keyIdOf(key, this.maxKey);
    return this.r.readAsync('get', id).catch((e: unknown) => this.afterReadFailure(e, () => this.r.reads.get(id)));
  }

  async hasAsync(key: KvKey): Promise<boolean> {
    return this.r.readAsync('has', keyIdOf(key, this.maxKey));
  }

  async sizeAsync(): Promise<number> {
    return this.r.readAsync('size');
  }

  async scanAsync(options: ScanOptions = {}): Promise<KvEntry[]> {
    const { start, end, limit } = this.scanArgs(options);
    return this.r.readAsync('scan', start, end, limit).catch((e: unknown) => this.afterReadFailure(e, () => this.r.reads.scan(start, end, limit)));
  }

  stats(): KvStats {
    const info = this.r.reads.info();
    return {
      keys: info.keys,
      liveBytes: info.liveBytes,
      arenaUsedBytes: this.arena.usedBytes(),
      arenaCapacity: this.arena.capacity - ARENA_START,
      arenaFreeBytes: this.arena.freeListBytes(),
      pendingReclaimBytes: this.pendingBytes,
      reclaimedBytes: this.reclaimed,
      allocatorRepairs: this.arena.repairs,
      encrypted: this.cipher.secure,
      failure: info.failure,
      replica: this.r.stats(),
    };
  }

  /** @internal Where a key's value lives in the arena (tests tamper with it). */
  locate(key: KvKey): (Meta & { storedBytes: number }) | undefined {
    const m = this.r.reads.meta(keyIdOf(key, this.maxKey));
    return m === undefined ? undefined : { ...m, storedBytes: this.cipher.storedBytes(m.len) };
  }

  /** A digest of this replica's enclave index (equal on replicas that applied the same writes). */
  digest(): string {
    return this.r.digest();
  }

  // ---- writes --------------------------------------------------------------------

  /** Store `value` under `key`; returns its new version. */
  put(key: KvKey, value: KvValue): number {
    const p = this.prepare([{ type: 'put', key, value }], null);
    this.commit(p);
    return p.rec.items[0]!.version;
  }

  /**
   * Store `value` under `key` and return the value it replaced (undefined:
   * absent). The displaced block is still ours to reclaim, so opening it is safe.
   */
  exchange(key: KvKey, value: KvValue): Buffer | undefined {
    const p = this.prepare([{ type: 'put', key, value }], null);
    const slot: PrevSlot = { value: undefined, error: null };
    this.commit(p, slot);
    if (slot.error !== null) throw slot.error;
    return slot.value;
  }

  async exchangeAsync(key: KvKey, value: KvValue): Promise<Buffer | undefined> {
    const p = this.prepare([{ type: 'put', key, value }], null);
    const slot: PrevSlot = { value: undefined, error: null };
    await this.commitAsync(p, slot);
    if (slot.error !== null) throw slot.error;
    return slot.value;
  }

  /** Remove `key`; returns whether it existed. */
  delete(key: KvKey): boolean {
    const p = this.prepare([{ type: 'delete', key }], null);
    return this.commit(p).prev[0] !== null;
  }

  /**
   * Write `value` only if the key's current state matches `expected`: a
   * version number (0: absent), a value, or undefined (absent). A compare by
   * value (or absence) reads the current version and value, then logs a
   * compare by that version, retrying while other writers win the race; on
   * failure it returns the value it found (linearized at that read).
   */
  compareAndSet(key: KvKey, expected: number | KvValue | undefined, value: KvValue): CasResult {
    if (typeof expected === 'number') {
      const p = this.prepare([{ type: 'put', key, value }], this.versionCond(key, expected));
      const res = this.commit(p);
      return res.ok ? { ok: true, version: p.rec.items[0]!.version } : { ok: false, version: res.current };
    }
    const id = keyIdOf(key, this.maxKey);
    const want = expected === undefined ? undefined : valueBytes(expected, this.maxValue);
    valueBytes(value, this.maxValue);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = this.retryRead(() => this.r.reads.entry(id));
      if (!matches(cur.value, want)) return { ok: false, version: cur.version, value: cur.value };
      const p = this.prepare([{ type: 'put', key, value }], { key: id, version: cur.version });
      const res = this.commit(p);
      if (res.ok) return { ok: true, version: p.rec.items[0]!.version };
    }
    throw new KvContentionError(displayKey(id), CAS_ATTEMPTS);
  }

  /** Apply puts and deletes atomically (one log record); returns each op's new version (0 for deletes). */
  batch(ops: readonly BatchOp[]): number[] {
    const p = this.prepare(ops, null);
    this.commit(p);
    return p.rec.items.map((it) => it.version);
  }

  async putAsync(key: KvKey, value: KvValue): Promise<number> {
    const p = this.prepare([{ type: 'put', key, value }], null);
    await this.commitAsync(p);
    return p.rec.items[0]!.version;
  }

  async deleteAsync(key: KvKey): Promise<boolean> {
    const p = this.prepare([{ type: 'delete', key }], null);
    return (await this.commitAsync(p)).prev[0] !== null;
  }

  async compareAndSetAsync(key: KvKey, expected: number | KvValue | undefined, value: KvValue): Promise<CasResult> {
    if (typeof expected === 'number') {
      const p = this.prepare([{ type: 'put', key, value }], this.versionCond(key, expected));
      const res = await this.commitAsync(p);
      return res.ok ? { ok: true, version: p.rec.items[0]!.version } : { ok: false, version: res.current };
    }
    const id = keyIdOf(key, this.maxKey);
    const want = expected === undefined ? undefined : valueBytes(expected, this.maxValue);
    valueBytes(value, this.maxValue);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = await this.r.readAsync('entry', id).catch((e: unknown) => this.afterReadFailure(e, () => this.r.reads.entry(id)));
      if (!matches(cur.value, want)) return { ok: false, version: cur.version, value: cur.value };
      const p = this.prepare([{ type: 'put', key, value }], { key: id, version: cur.version });
      const res = await this.commitAsync(p);
      if (res.ok) return { ok: true, version: p.rec.items[0]!.version };
    }
    throw new KvContentionError(displayKey(id), CAS_ATTEMPTS);
  }

  async batchAsync(ops: readonly BatchOp[]): Promise<number[]> {
    const p = this.prepare(ops, null);
    await this.commitAsync(p);
    return p.rec.items.map((it) => it.version);
  }

  /** Replay everything appended so far, and reclaim what can be. */
  sync(): void {
    this.r.sync();
    this.reclaim(true);
  }

  detach(): void {
    this.r.detach();
  }

  // ---- internals ---------------------------------------------------------------

  private versionCond(key: KvKey, version: number): { key: string; version: number } {
    if (!Number.isSafeInteger(version) || version < 0) throw new KvTypeError('expected version must be a non-negative safe integer');
    return { key: keyIdOf(key, this.maxKey), version };
  }

  private scanArgs(o: ScanOptions): { start: string | undefined; end: string | undefined; limit: number } {
    if (o === null || typeof o !== 'object') throw new KvTypeError('scan options must be an object');
    const limit = o.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_SCAN_LIMIT) throw new KvTypeError(`scan limit must be an integer from 0 to ${MAX_SCAN_LIMIT}`);
    let start = o.start === undefined ? undefined : keyIdOf(o.start, this.maxKey, 'start');
    let end = o.end === undefined ? undefined : keyIdOf(o.end, this.maxKey, 'end');
    if (o.prefix !== undefined) {
      const p = keyIdOf(o.prefix, this.maxKey, 'prefix');
      // Ids hold chars <= 0xff, so p + '\u0100' sorts after every key that starts with p.
      const pEnd = p + '\u0100';
      if (start === undefined || start < p) start = p;
      if (end === undefined || end > pEnd) end = pEnd;
    }
    return { start, end, limit };
  }

  /**
   * A value that fails verification right after a concurrent overwrite may be
   * a block reclaimed under a replica that was fenced meanwhile: catch up and
   * look once more. A value that fails again is reported.
   */
  private retryRead<T>(read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (!(e instanceof IntegrityError) || e.failStop) throw e;
      this.r.sync();
      return read();
    }
  }

  private afterReadFailure<T>(e: unknown, read: () => T): T {
    if (!(e instanceof IntegrityError) || e.failStop) throw e;
    this.r.sync();
    return read();
  }

  private prepare(ops: readonly BatchOp[], cond: { key: string; version: number } | null): Prepared {
    if (!Array.isArray(ops)) throw new KvTypeError('batch takes an array of ops');
    if (ops.length > MAX_BATCH_ITEMS) throw new KvSizeError(`a batch holds at most ${MAX_BATCH_ITEMS} ops`);
    // Validate everything before allocating anything.
    const ids: string[] = [];
    const values: (Uint8Array | null)[] = [];
    for (const op of ops) {
      if (op === null || typeof op !== 'object') throw new KvTypeError('a batch op must be an object');
      ids.push(keyIdOf(op.key, this.maxKey));
      if (op.type === 'put') values.push(valueBytes(op.value, this.maxValue));
      else if (op.type === 'delete') values.push(null);
      else throw new KvTypeError(`unknown batch op type ${String((op as { type: unknown }).type)}`);
    }
    const blocks: number[] = [];
    const items: LogItem[] = [];
    try {
      for (let i = 0; i < ids.length; i++) {
        const v = values[i]!;
        if (v === null) {
          items.push({ op: DELETE, key: ids[i]!, version: 0, loc: 0, len: 0, tag: '' });
          continue;
        }
        const stored = this.cipher.storedBytes(v.length);
        const loc = this.allocate(stored);
        blocks.push(loc, stored);
        const version = this.arena.nextVersion();
        const tag = this.cipher.seal(ids[i]!, version, v, this.arena.bytes, loc);
        items.push({ op: PUT, key: ids[i]!, version, loc, len: v.length, tag });
      }
    } catch (e) {
      this.freeNow(blocks);
      throw e;
    }
    const rec: LogRecord = {
      fromLog: false,
      bad: null,
      writer: this.writer,
      seq: ++this.seq,
      cond: cond === null ? 0 : 1,
      condKey: cond?.key ?? '',
      condVersion: cond?.version ?? 0,
      items,
    };
    return { rec, blocks };
  }

  private allocate(stored: number): number {
    try {
      return this.arena.alloc(stored);
    } catch (e) {
      // Full: reclaim what every replica has passed, then try once more.
      this.r.sync();
      this.reclaim(true);
      return this.arena.alloc(stored);
    }
  }

  private commit(p: Prepared, slot: PrevSlot | null = null): ApplyResult {
    let res: ApplyResult;
    try {
      res = this.r.write('apply', p.rec);
    } catch (e) {
      this.afterFailedWrite(p, e);
      throw e;
    }
    this.finish(p, res, slot);
    return res;
  }

  private async commitAsync(p: Prepared, slot: PrevSlot | null = null): Promise<ApplyResult> {
    let res: ApplyResult;
    try {
      res = await this.r.writeAsync('apply', p.rec);
    } catch (e) {
      this.afterFailedWrite(p, e);
      throw e;
    }
    this.finish(p, res, slot);
    return res;
  }

  /** The displaced value is opened before its block joins the reclaim queue. */
  private finish(p: Prepared, res: ApplyResult, slot: PrevSlot | null): void {
    if (slot !== null) {
      try {
        slot.value = this.openPrev(p, res);
      } catch (e) {
        slot.error = e;
      }
    }
    this.afterWrite(p, res);
  }

  private openPrev(p: Prepared, res: ApplyResult): Buffer | undefined {
    const m = res.prev[0];
    if (m === null || m === undefined) return undefined;
    return this.cipher.open(p.rec.items[0]!.key, m.version, m.tag, this.arena.bytes, m.loc, m.len);
  }

  private afterWrite(p: Prepared, res: ApplyResult): void {
    // A failed condition changed nothing on any replica: nothing references the new blocks.
    if (!res.ok) this.freeNow(p.blocks);
    if (res.freed.length > 0) {
      const mark = this.r.logMark();
      for (let i = 0; i < res.freed.length; i += 2) {
        this.pendingFree.push(mark, res.freed[i]!, res.freed[i + 1]!);
        this.pendingBytes += res.freed[i + 1]!;
      }
    }
    if (++this.writesSinceReclaim >= 16) this.reclaim(false);
  }

  private afterFailedWrite(p: Prepared, e: unknown): void {
    // Not logged (or logged but failed verification everywhere): the blocks are unreferenced.
    // A fenced write that did take effect keeps them; an integrity failure leaks them.
    const notLogged = !(e instanceof IntegrityError) && !(e instanceof FencedError && e.committed);
    if (notLogged) this.freeNow(p.blocks);
  }

  private freeNow(blocks: number[]): void {
    for (let i = 0; i < blocks.length; i += 2) this.arena.free(blocks[i]!, blocks[i + 1]!);
  }

  /** Free displaced blocks every replica has passed (oldest first). */
  private reclaim(force: boolean): void {
    this.writesSinceReclaim = 0;
    const q = this.pendingFree;
    let h = this.pendingHead;
    while (h < q.length) {
      if (!this.r.appliedEverywhere(q[h]!)) break;
      // Every displaced block of this mark goes at once.
      const mark = q[h]!;
      while (h < q.length && q[h] === mark) {
        this.arena.free(q[h + 1]!, q[h + 2]!);
        this.pendingBytes -= q[h + 2]!;
        this.reclaimed += q[h + 2]!;
        h += 3;
      }
      if (!force && h - this.pendingHead > 3 * 4096) break;
    }
    if (h === q.length) {
      q.length = 0;
      h = 0;
    } else if (h > 3 * 4096) {
      q.splice(0, h);
      h = 0;
    }
    this.pendingHead = h;
  }
}

function matches(cur: Buffer | undefined, want: Uint8Array | undefined): boolean {
  return want === undefined ? cur === undefined : cur !== undefined && cur.equals(want);
}

/** Where an exchange's displaced value (or the error opening it) lands. */
interface PrevSlot {
  value: Buffer | undefined;
  error: unknown;
}

type KvStructureReplica = Replica<ReturnType<KvStructure['create']>, KvStructure['reads'], KvStructure['writes']>;
