/**
 * What passes between a KV client and its node besides log records: sealed
 * requests, the response MAC, the wire form of a key's metadata, and a
 * window of gets (one sealed request for many keys, one MAC'd answer).
 *
 * A request is sealed under the answer key (XChaCha20-Poly1305, AD: its
 * label), zero-padded to 32 bytes, so no key is in clear in a client slot;
 * its random 24-byte AEAD nonce names it, and its answer's MAC covers that
 * nonce. Answers carry metadata only (the client opens every value itself).
 *
 * Key metadata (META_BYTES): present u8, version f64, seal id f64,
 * loc u32, len u32, tag 16 (all zero when absent).
 *
 * A window of gets:
 *   request plaintext: u16 n, n × (u16 key length, key bytes), zero padding
 *   answer: f64 count, chain head 16, u16 n, n × metadata, MAC 16
 * The MAC (BLAKE2b-128, response key) is over GETS_LABEL ‖ nonce ‖ all the
 * answer's fields, so an answer opens only for the request it names, with
 * exactly that request's number of entries, in its order.
 */
import { type Cipher, MAC_BYTES, sameBytes, TAG_BYTES } from './crypto.js';
import { IntegrityError } from './errors.js';
import type { Meta } from './enclave.js';

/** The AEAD nonce of a sealed request, which names it. */
export const REQUEST_NONCE_BYTES = 24;
/** Requests are zero-padded to a multiple of this (as log records): key lengths show in a slot only to this granularity. */
export const REQUEST_PAD = 32;
export const GETS_LABEL = Buffer.from('nr-kv sealed gets\0');
/** present u8, version f64, seal id f64, loc u32, len u32, tag 16. */
export const META_BYTES = 1 + 8 + 8 + 4 + 4 + TAG_BYTES;
/** count f64, head 16, entries u16. */
const GETS_HEADER = 8 + TAG_BYTES + 2;
/** A sealed blob adds its nonce and tag; the result and request codecs add a u32 length prefix. */
const SEALED_OVERHEAD = REQUEST_NONCE_BYTES + TAG_BYTES;
const LENGTH_PREFIX = 4;

export function padded(bytes: number): number {
  return Math.ceil(bytes / REQUEST_PAD) * REQUEST_PAD;
}

/** Seal a request's plaintext under the answer key; its AEAD nonce is its name. */
export function sealRequest(cipher: Cipher, label: Buffer, plain: Uint8Array): Buffer {
  return cipher.box('answer', plain, label);
}

/** The node's side: the request's plaintext and nonce, or IntegrityError (tampered in the client slot). */
export function openRequest(cipher: Cipher, label: Buffer, boxed: Buffer): { plain: Buffer; nonce: string } {
  const plain = cipher.secure ? cipher.unbox('answer', boxed, label) : null;
  if (plain === null) throw new IntegrityError('a client request failed authentication (tampered in the client slot)');
  return { plain, nonce: boxed.toString('latin1', 0, REQUEST_NONCE_BYTES) };
}

export function answerMac(cipher: Cipher, label: Buffer, nonce: string, key: string, fields: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(MAC_BYTES);
  answerMacInto(cipher, label, nonce, key, fields, out);
  return out;
}

/** The response MAC over (label, nonce, key, fields), into `out` (16 bytes). */
export function answerMacInto(cipher: Cipher, label: Buffer, nonce: string, key: string, fields: Uint8Array, out: Uint8Array): void {
  const b = Buffer.allocUnsafe(label.length + 2 + nonce.length + 2 + key.length + fields.length); // every byte written
  let at = label.copy(b, 0);
  at = b.writeUInt16LE(nonce.length, at);
  at += b.write(nonce, at, 'latin1');
  at = b.writeUInt16LE(key.length, at);
  at += b.write(key, at, 'latin1');
  b.set(fields, at);
  cipher.tagInto('response', b, out);
}

/** Write a key's metadata (or all zeros: absent) at `at`; returns the offset after it. */
export function writeMeta(out: Buffer, at: number, m: Meta | null | undefined): number {
  if (m === null || m === undefined) {
    out.fill(0, at, at + META_BYTES);
    return at + META_BYTES;
  }
  out[at] = 1;
  out.writeDoubleLE(m.version, at + 1);
  out.writeDoubleLE(m.sealId, at + 9);
  out.writeUInt32LE(m.loc, at + 17);
  out.writeUInt32LE(m.len, at + 21);
  out.write(m.tag, at + 25, 'latin1');
  return at + META_BYTES;
}

/** Read metadata written by writeMeta (null: absent); the caller has authenticated the bytes. */
export function readMeta(b: Buffer, at: number): Meta | null {
  if (b[at] !== 1) return null;
  return { version: b.readDoubleLE(at + 1), sealId: b.readDoubleLE(at + 9), loc: b.readUInt32LE(at + 17), len: b.readUInt32LE(at + 21), tag: b.toString('latin1', at + 25, at + 25 + TAG_BYTES) };
}

// ---- a window of gets ------------------------------------------------------------

/** Bytes a window of gets for `keyBytes` (the sum of its key lengths) and `n` keys takes in a request slot. */
export function getsRequestBytes(n: number, keyBytes: number): number {
  return LENGTH_PREFIX + SEALED_OVERHEAD + padded(2 + 2 * n + keyBytes);
}

/** Bytes the answer to a window of `n` gets takes in a slot. */
export function getsAnswerBytes(n: number): number {
  return LENGTH_PREFIX + GETS_HEADER + n * META_BYTES + MAC_BYTES;
}

/** The plaintext of a window of gets (sealed by sealRequest with GETS_LABEL). */
export function getsRequest(keys: readonly string[]): Buffer {
  let bytes = 2;
  for (const k of keys) bytes += 2 + k.length;
  const b = Buffer.allocUnsafe(padded(bytes)).fill(0); // pooled: Buffer.alloc costs a fresh ArrayBuffer
  let at = b.writeUInt16LE(keys.length, 0);
  for (const k of keys) {
    at = b.writeUInt16LE(k.length, at);
    at += b.write(k, at, 'latin1');
  }
  return b;
}

/**
 * The node's side: open a window of gets, look each key up, and answer
 * (count, head, each key's metadata) MAC'd for the request's nonce. A
 * request that fails authentication or parsing is IntegrityError.
 */
export function answerGets(cipher: Cipher, lookup: (key: string) => Meta | undefined, count: number, head: string, req: Buffer): Buffer {
  const { plain, nonce } = openRequest(cipher, GETS_LABEL, req);
  const n = plain.length >= 2 ? plain.readUInt16LE(0) : -1;
  if (n < 1) throw new IntegrityError('a client request is malformed');
  const out = Buffer.allocUnsafe(GETS_HEADER + n * META_BYTES + MAC_BYTES); // every byte written
  let at = out.writeDoubleLE(count, 0);
  out.fill(0, at, at + TAG_BYTES);
  out.write(head, at, 'latin1');
  at = out.writeUInt16LE(n, at + TAG_BYTES);
  for (let i = 0, from = 2; i < n; i++) {
    if (from + 2 > plain.length) throw new IntegrityError('a client request is malformed');
    const kl = plain.readUInt16LE(from);
    if (from + 2 + kl > plain.length) throw new IntegrityError('a client request is malformed');
    at = writeMeta(out, at, lookup(plain.toString('latin1', from + 2, from + 2 + kl)));
    from += 2 + kl;
  }
  answerMacInto(cipher, GETS_LABEL, nonce, '', out.subarray(0, at), out.subarray(at));
  return out;
}

/** A client's verified view of the answer to a window of gets. */
export interface GetsAnswer {
  count: number;
  head: string;
  /** Per key, in the request's order: its metadata, or null (absent). */
  metas: (Meta | null)[];
}

/** The client's side: verify the answer to the window of `n` gets named `nonce`; null if it does not authenticate or has another shape. */
export function openGetsAnswer(cipher: Cipher, nonce: string, n: number, ans: Buffer): GetsAnswer | null {
  const fieldBytes = GETS_HEADER + n * META_BYTES;
  if (!(ans instanceof Buffer) || ans.length !== fieldBytes + MAC_BYTES) return null;
  if (!sameBytes(ans.subarray(fieldBytes), answerMac(cipher, GETS_LABEL, nonce, '', ans.subarray(0, fieldBytes)))) return null;
  if (ans.readUInt16LE(8 + TAG_BYTES) !== n) return null;
  const metas: (Meta | null)[] = [];
  for (let i = 0, at = GETS_HEADER; i < n; i++, at += META_BYTES) metas.push(readMeta(ans, at));
  return { count: ans.readDoubleLE(0), head: ans.toString('latin1', 8, 8 + TAG_BYTES), metas };
}
