/**
 * The secure KV's records on a cluster stream (docs/kv.md "On a cluster"):
 * the store's parameters (store id, key check value), the record body and
 * its sealing under the store's record sub-key.
 *
 * A stream record is `nonce (24) ‖ XChaCha20-Poly1305(body) ‖ tag (16)`,
 * associated data `"nr-kv-stream/1 record\0" ‖ store id`. It carries the
 * keys and the values themselves (a site's arena is its own, so a pointer
 * would mean nothing at another site): nothing of a key or a value is in
 * clear in the stream. The body, zero-padded to a multiple of 32 bytes:
 *
 * ```
 * u8 format=1  u8 cond  u16 items  f64 writer id  f64 writer seq
 * f64 own ack (every record of this writer up to it was applied where it wrote this)
 * f64 known count  known head (16; zeros at count 0)
 * [cond: f64 expected version (0: absent), u16 key length, key]
 * items: u8 op (1 put, 2 delete), u16 key length, key, [put: u32 value length, value]
 * ```
 *
 * The tag is the record's authenticator in the chain (chain.ts).
 */
import { Cipher, keyCheckValue, masterKey, randomStoreId, sameBytes, STORE_ID_BYTES, TAG_BYTES, NONCE_BYTES, KCV_BYTES } from './crypto.js';
import { KvConfigError, KvTypeError, WrongKeyError } from './errors.js';

/** What every site of a KV stream must be given besides the key (it travels privately, like a local store's handle). */
export interface KvStreamParams {
  readonly kind: 'nr-kv-stream';
  /** Random, fixed when the stream was made: bound into every sub-key, AD and MAC. */
  readonly storeId: Uint8Array;
  /** Keyed BLAKE2b of the store id under the key-check sub-key: a wrong key fails at attach. */
  readonly kcv: Uint8Array;
}

const KCV_PARAMS = Buffer.from('nr-kv-stream/1 params\0');
const RECORD_AD_LABEL = Buffer.from('nr-kv-stream/1 record\0');
export const STREAM_FORMAT = 1;
export const OP_PUT = 1;
export const OP_DELETE = 2;
/** Body bytes before the condition: format, cond, items, writer, seq, own ack, known count, known head. */
const FIXED = 4 + 8 + 8 + 8 + 8 + 16;

/** New parameters for a store under `key` (a random store id). */
export function newStreamParams(key: Uint8Array): KvStreamParams {
  const master = masterKey({ key }, new Uint8Array(0), { opsLimit: 0, memLimit: 0 });
  const storeId = randomStoreId();
  const kcv = keyCheckValue(master, storeId, KCV_PARAMS);
  master.fill(0);
  return { kind: 'nr-kv-stream', storeId: new Uint8Array(storeId), kcv: new Uint8Array(kcv) };
}

/** Parameters as the caller passed them (they may have been through structured clone): typed, sized. */
export function checkStreamParams(p: unknown): KvStreamParams {
  const o = p as Partial<KvStreamParams> | null;
  if (o === null || typeof o !== 'object' || o.kind !== 'nr-kv-stream' || !(o.storeId instanceof Uint8Array) || o.storeId.length !== STORE_ID_BYTES || !(o.kcv instanceof Uint8Array) || o.kcv.length !== KCV_BYTES) {
    throw new KvConfigError('store must be the parameters createKvStream returned ({ kind: "nr-kv-stream", storeId, kcv })');
  }
  for (const k of Object.keys(o)) if (k !== 'kind' && k !== 'storeId' && k !== 'kcv') throw new KvConfigError(`store: unknown field '${k}'`);
  return { kind: 'nr-kv-stream', storeId: new Uint8Array(o.storeId), kcv: new Uint8Array(o.kcv) };
}

/** The store's cipher (per-store sub-keys), after checking `key` against the key check value: WrongKeyError if it does not match. */
export function streamCipher(params: KvStreamParams, key: unknown): Cipher {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new KvTypeError('key must be a 32-byte Uint8Array');
  const master = masterKey({ key }, new Uint8Array(0), { opsLimit: 0, memLimit: 0 });
  try {
    if (!sameBytes(keyCheckValue(master, params.storeId, KCV_PARAMS), params.kcv)) throw new WrongKeyError();
    return new Cipher(master, params.storeId);
  } finally {
    master.fill(0);
  }
}

export type StreamItem = { readonly op: typeof OP_PUT; readonly key: string; readonly value: Uint8Array } | { readonly op: typeof OP_DELETE; readonly key: string };

/** A record's body; key ids are latin1 strings of the key bytes (issue.ts keyIdOf). */
export interface StreamRecord {
  readonly writer: number;
  readonly seq: number;
  /** Every record of this writer with a sequence up to this one had been applied where it wrote this record (0: none). */
  readonly ownAck: number;
  readonly knownCount: number;
  /** The chain head at knownCount: 16 latin1 chars, '' at count 0. */
  readonly knownHead: string;
  /** Compare-and-set: the record applies only if `key`'s version is `version` (0: absent). */
  readonly cond: { readonly key: string; readonly version: number } | null;
  readonly items: readonly StreamItem[];
}

export function recordAd(storeId: Uint8Array): Buffer {
  return Buffer.concat([RECORD_AD_LABEL, Buffer.from(storeId)]);
}

let scratch = Buffer.allocUnsafe(4096);

/** Encode and seal a record: the bytes that go into the stream. */
export function sealRecord(cipher: Cipher, ad: Uint8Array, rec: StreamRecord): Buffer {
  let n = FIXED + (rec.cond ? 8 + 2 + rec.cond.key.length : 0);
  for (const it of rec.items) n += 3 + it.key.length + (it.op === OP_PUT ? 4 + it.value.length : 0);
  // A private scratch body (box copies it into the sealed record), zeroed where nothing is written: a fresh zeroed
  // Buffer per record cost more than the rest of the encoding.
  const len = Math.ceil(n / 32) * 32;
  if (scratch.length < len) scratch = Buffer.allocUnsafe(Math.max(len, 2 * scratch.length));
  const body = scratch.subarray(0, len);
  body.fill(0, 0, FIXED);
  body.fill(0, n, len);
  body[0] = STREAM_FORMAT;
  body[1] = rec.cond ? 1 : 0;
  body.writeUInt16LE(rec.items.length, 2);
  body.writeDoubleLE(rec.writer, 4);
  body.writeDoubleLE(rec.seq, 12);
  body.writeDoubleLE(rec.ownAck, 20);
  body.writeDoubleLE(rec.knownCount, 28);
  if (rec.knownHead.length === 16) body.write(rec.knownHead, 36, 'latin1');
  let at = FIXED;
  const key = (k: string): void => {
    body.writeUInt16LE(k.length, at);
    body.write(k, at + 2, 'latin1');
    at += 2 + k.length;
  };
  if (rec.cond) {
    body.writeDoubleLE(rec.cond.version, at);
    at += 8;
    key(rec.cond.key);
  }
  for (const it of rec.items) {
    body[at++] = it.op;
    key(it.key);
    if (it.op === OP_PUT) {
      body.writeUInt32LE(it.value.length, at);
      body.set(it.value, at + 4);
      at += 4 + it.value.length;
    }
  }
  return cipher.box('record', body, ad);
}

const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/**
 * Open and parse a stream record; a string saying what is wrong if it does
 * not authenticate or its body is not one sealRecord makes (every length
 * and field checked, padding zero).
 */
export function openRecord(cipher: Cipher, ad: Uint8Array, sealed: Uint8Array): { rec: StreamRecord; auth: string } | string {
  if (sealed.length < NONCE_BYTES + TAG_BYTES + 32) return 'a record is too short';
  const boxed = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const body = cipher.unbox('record', boxed, ad);
  if (body === null) return 'a record failed authentication (forged, changed, or of another store)';
  const auth = boxed.toString('latin1', boxed.length - TAG_BYTES);
  if (body.length % 32 !== 0 || body[0] !== STREAM_FORMAT || body[1]! > 1) return 'a record has an unknown format';
  if (body.length < FIXED) return 'a record is cut short';
  const count = body.readUInt16LE(2);
  const writer = body.readDoubleLE(4);
  const seq = body.readDoubleLE(12);
  const ownAck = body.readDoubleLE(20);
  const knownCount = body.readDoubleLE(28);
  if (!isCount(writer) || writer === 0 || !isCount(seq) || seq === 0 || !isCount(ownAck) || ownAck >= seq || !isCount(knownCount)) return 'a record has a field out of range';
  const knownHead = knownCount === 0 ? '' : body.toString('latin1', 36, 52);
  let at = FIXED;
  const key = (): string | null => {
    if (at + 2 > body.length) return null;
    const len = body.readUInt16LE(at);
    if (at + 2 + len > body.length) return null;
    const k = body.toString('latin1', at + 2, at + 2 + len);
    at += 2 + len;
    return k;
  };
  let cond: StreamRecord['cond'] = null;
  if (body[1] === 1) {
    if (at + 8 > body.length) return 'a record is cut short';
    const version = body.readDoubleLE(at);
    at += 8;
    const k = key();
    if (k === null || !isCount(version)) return 'a record has a bad condition';
    cond = { key: k, version };
  }
  const items: StreamItem[] = [];
  for (let i = 0; i < count; i++) {
    if (at >= body.length) return 'a record is cut short';
    const op = body[at++];
    const k = key();
    if (k === null) return 'a record is cut short';
    if (op === OP_PUT) {
      if (at + 4 > body.length) return 'a record is cut short';
      const len = body.readUInt32LE(at);
      if (at + 4 + len > body.length) return 'a record is cut short';
      items.push({ op: OP_PUT, key: k, value: body.subarray(at + 4, at + 4 + len) });
      at += 4 + len;
    } else if (op === OP_DELETE) items.push({ op: OP_DELETE, key: k });
    else return 'a record has an unknown op';
  }
  for (let i = at; i < body.length; i++) if (body[i] !== 0) return 'a record has bytes past its items';
  if (body.length - at >= 32) return 'a record has bytes past its items';
  return { rec: { writer, seq, ownAck, knownCount, knownHead, cond, items }, auth };
}
