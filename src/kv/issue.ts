/**
 * The issuer side of a write, shared by replica holders (store.ts) and KV
 * clients (client.ts): input validation (types, sizes, well-formed UTF-16)
 * before anything touches shared memory, sealing values into arena blocks,
 * and the one constructor of an issuer's log record.
 */
import type { Arena } from './arena.js';
import type { Cipher } from './crypto.js';
import { KvSizeError, KvTypeError } from './errors.js';
import { DELETE, encodableClaim, type LogItem, type LogRecord, PUT } from './record.js';

/** A key: a string (UTF-8) or bytes. Keys order by their bytes. */
export type KvKey = string | Uint8Array;
/** A value: bytes, or a string stored as UTF-8. */
export type KvValue = string | Uint8Array;

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

export const MAX_BATCH_ITEMS = 4096;
export const MAX_SCAN_LIMIT = 100_000;
/** A compare-and-set by value gives up (KvContentionError) after losing this many races in a row. */
export const CAS_ATTEMPTS = 1000;

const utf8 = new TextEncoder();

/** Latin1 string of a key's bytes: a Map key whose JS string order is byte order. */
export function keyIdOf(key: KvKey, max: number, what = 'key'): string {
  let id: string;
  if (typeof key === 'string') {
    if (isAscii(key)) id = key;
    else if (!key.isWellFormed()) throw new KvTypeError(`${what} is not well-formed UTF-16 (a lone surrogate would map to U+FFFD and alias another key)`);
    else id = Buffer.from(key, 'utf8').toString('latin1');
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

export function valueBytes(value: KvValue, max: number): Uint8Array {
  let b: Uint8Array;
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new KvTypeError('value is not well-formed UTF-16 (lone surrogates would be stored as U+FFFD)');
    b = utf8.encode(value);
  } else if (value instanceof Uint8Array) b = value;
  else throw new KvTypeError(`value must be a string or a Uint8Array, got ${value === null ? 'null' : typeof value}`);
  if (b.length > max) throw new KvSizeError(`value is ${b.length} bytes; at most ${max}`);
  return b;
}

export interface ScanArgs {
  start: string | undefined;
  end: string | undefined;
  limit: number;
}

const SCAN_OPTIONS = new Set(['start', 'end', 'prefix', 'limit']);

export function scanArgs(o: ScanOptions, maxKey: number): ScanArgs {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new KvTypeError('scan options must be an object');
  for (const [k, v] of Object.entries(o)) {
    if (!SCAN_OPTIONS.has(k)) throw new KvTypeError(`unknown scan option ${JSON.stringify(k)} (known: ${[...SCAN_OPTIONS].join(', ')})`);
    // As for every other option: null is not "the default" (limit: null used to scan 100).
    if (v === null) throw new KvTypeError(`scan option '${k}' is null (leave it out, or undefined, for the default)`);
  }
  const limit = o.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_SCAN_LIMIT) throw new KvTypeError(`scan limit must be an integer from 0 to ${MAX_SCAN_LIMIT}`);
  let start = o.start === undefined ? undefined : keyIdOf(o.start, maxKey, 'start');
  let end = o.end === undefined ? undefined : keyIdOf(o.end, maxKey, 'end');
  if (o.prefix !== undefined) {
    const p = keyIdOf(o.prefix, maxKey, 'prefix');
    // Ids hold chars <= 0xff, so p + '\u0100' sorts after every key that starts with p.
    const pEnd = p + '\u0100';
    if (start === undefined || start < p) start = p;
    if (end === undefined || end > pEnd) end = pEnd;
  }
  return { start, end, limit };
}

/** The condition of a compare-and-set by version. */
export function versionCond(key: KvKey, version: number, maxKey: number): { key: string; version: number } {
  if (!Number.isSafeInteger(version) || version < 0) throw new KvTypeError('expected version must be a non-negative safe integer');
  return { key: keyIdOf(key, maxKey), version };
}

/** A compare-and-set by value: does the current value (undefined: absent) match the expected one? */
export function matches(cur: Buffer | undefined, want: Uint8Array | undefined): boolean {
  return want === undefined ? cur === undefined : cur !== undefined && cur.equals(want);
}

/** A write's items, sealed into arena blocks of the issuer's allocating. */
export interface SealedItems {
  items: LogItem[];
  /** (offset, stored bytes) of the blocks allocated. */
  blocks: number[];
}

/** A caller's batch has only the fields its ops define (an unknown one is an error, like an unknown option). */
export function checkBatchFields(ops: readonly BatchOp[]): void {
  if (!Array.isArray(ops)) return; // sealItems says what is wrong
  for (const op of ops) {
    if (op === null || typeof op !== 'object') continue;
    for (const k of Object.keys(op)) {
      if (k !== 'type' && k !== 'key' && (k !== 'value' || op.type !== 'put')) throw new KvTypeError(`unknown field ${JSON.stringify(k)} in a batch ${String(op.type)} op`);
    }
  }
}

/**
 * Validate every op (nothing is allocated if one is bad), then seal each
 * put's value into a fresh block (`allocate` may reclaim first). On any
 * failure the blocks allocated so far are freed.
 */
export function sealItems(
  ops: readonly BatchOp[],
  limits: { maxKey: number; maxValue: number },
  cipher: Cipher,
  arena: Arena,
  allocate: (stored: number) => number,
  release?: (loc: number, stored: number) => void,
): SealedItems {
  if (!Array.isArray(ops)) throw new KvTypeError('batch takes an array of ops');
  if (ops.length > MAX_BATCH_ITEMS) throw new KvSizeError(`a batch holds at most ${MAX_BATCH_ITEMS} ops`);
  const ids: string[] = [];
  const values: (Uint8Array | null)[] = [];
  for (const op of ops) {
    if (op === null || typeof op !== 'object') throw new KvTypeError('a batch op must be an object');
    ids.push(keyIdOf(op.key, limits.maxKey));
    if (op.type === 'put') values.push(valueBytes(op.value, limits.maxValue));
    else if (op.type === 'delete') values.push(null);
    else throw new KvTypeError(`unknown batch op type ${String((op as { type: unknown }).type)}`);
  }
  const blocks: number[] = [];
  const items: LogItem[] = [];
  try {
    for (let i = 0; i < ids.length; i++) {
      const v = values[i]!;
      if (v === null) {
        items.push(deleteItem(ids[i]!));
        continue;
      }
      const item = sealPut(ids[i]!, v, cipher, arena, allocate, release);
      blocks.push(item.loc, cipher.storedBytes(item.len));
      items.push(item);
    }
  } catch (e) {
    for (let i = 0; i < blocks.length; i += 2) giveBack(arena, release, blocks[i]!, blocks[i + 1]!);
    throw e;
  }
  return { items, blocks };
}

/** The log item of a delete of key id `id` (no block, no seal). */
export function deleteItem(id: string): LogItem {
  return { op: DELETE, key: id, sealId: 0, loc: 0, len: 0, tag: '' };
}

/**
 * Seal one validated put (key id, value bytes) into a fresh block: its log
 * item. Its block is (item.loc, cipher.storedBytes(item.len)); if sealing
 * fails, the block is freed before the error propagates.
 */
export function sealPut(
  id: string,
  v: Uint8Array,
  cipher: Cipher,
  arena: Arena,
  allocate: (stored: number) => number,
  release?: (loc: number, stored: number) => void,
): LogItem {
  const stored = cipher.storedBytes(v.length);
  const loc = allocate(stored);
  try {
    // The shared counter only names the ciphertext (its AD); the enclave tag, not this id, tells versions apart.
    const sealId = arena.nextVersion();
    const tag = cipher.seal(id, sealId, v, arena.bytes, loc);
    return { op: PUT, key: id, sealId, loc, len: v.length, tag };
  } catch (e) {
    giveBack(arena, release, loc, stored);
    throw e;
  }
}

/** A block a failed seal leaves: `release` (a KV client's, which forgets it first), else back to the arena. Resolved here, not as a default parameter: that made a closure on every put. */
function giveBack(arena: Arena, release: ((loc: number, stored: number) => void) | undefined, loc: number, stored: number): void {
  if (release !== undefined) release(loc, stored);
  else arena.free(loc, stored);
}

/**
 * The one constructor of an issuer's log record: `known` is the chain
 * position the issuer had applied (or learned) when it prepared the record;
 * `claim` the chain count up to which it takes displaced blocks to free
 * (displaced.ts; 0 for clients, which cannot tell when a block is free);
 * `auth` is set when it is encoded.
 */
export function newRecord(
  writer: number,
  seq: number,
  known: { readonly count: number; readonly head: string },
  items: LogItem[],
  cond: { key: string; version: number } | null,
  claim = 0,
): LogRecord {
  return {
    fromLog: false,
    bad: null,
    writer,
    seq,
    knownCount: known.count,
    knownHead: known.head,
    auth: '',
    cond: cond === null ? 0 : 1,
    condKey: cond?.key ?? '',
    condVersion: cond?.version ?? 0,
    claim: encodableClaim(known.count, claim),
    items,
  };
}
