/**
 * Keys and ciphers, all in private (enclave) memory.
 *
 * - Master key: 32 bytes from the app, or Argon2id (crypto_pwhash) of a
 *   passphrase with the salt stored in the shared header.
 * - Sub-keys: keyed BLAKE2b-256 of (domain label ‖ store id) under the
 *   master key, one per domain (values, log records, snapshots, key check,
 *   chain heads, client responses): a store's keys differ from every other
 *   store's even under the same master key, and no domain's output verifies
 *   in another.
 * - Values: XChaCha20-Poly1305 (IETF) with a random 192-bit nonce per write.
 *   Random nonces need no coordination between threads and no trust in any
 *   shared counter (which untrusted memory could roll back into a reuse);
 *   at 192 bits collisions are negligible. Associated data = version (u64)
 *   ‖ key bytes, so a value moved to another key or an older value of the
 *   same key fails to open.
 * - Log records and snapshots: XChaCha20-Poly1305 under their own sub-keys
 *   (keys and metadata never in clear in shared memory); chain heads and
 *   client responses: keyed BLAKE2b-128.
 *
 * Stored block layout in the arena: nonce (24) ‖ ciphertext (len) ‖ tag (16).
 * The enclave index keeps its own copy of the tag and opens with it; the
 * arena's copy must match it too, so a flipped stored tag is caught as well.
 * Every verification runs on a private copy of the shared bytes: shared
 * memory changing between the check and the use can not leak unverified data.
 */
import { createRequire } from 'node:module';
import sodium from 'sodium-native';
import { IntegrityError, KvTypeError } from './errors.js';

export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const MAC_BYTES = 16;
export const SALT_BYTES = 16;
export const KCV_BYTES = 32;
export const KEY_BYTES = 32;
export const STORE_ID_BYTES = 16;
const KCV_LABEL = Buffer.from('nr-kv key check value');
/** Domains sealed with XChaCha20-Poly1305 (box/unbox). */
export type BoxDomain = 'record' | 'snapshot' | 'answer';
/** Sub-key domains: a key of one domain never authenticates data of another. */
export type KeyDomain = 'value' | 'record' | 'snapshot' | 'kcv' | 'chain' | 'response' | 'answer';

/**
 * The per-value AEAD calls, straight to sodium-native's native binding when
 * it has the expected shape. The package's JS wrappers re-check every
 * argument with `assert` (~0.15 µs of a 100 B get); here every argument is a
 * view this module sized itself (nonce 24, key 32, tag 16, output = input
 * length), and the binding checks the sizes again natively. Opening uses the
 * combined form (ciphertext ‖ tag, one typed array fewer to marshal): the
 * stored block is nonce ‖ ciphertext ‖ tag, so that is one view of the
 * private copy. A known-answer self-test at load picks the binding only if
 * it round-trips and rejects a forgery; otherwise the wrappers are used.
 */
interface AeadCalls {
  /** Returns 0 (or the ciphertext length) on success. */
  seal(c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): number;
  /** Opens c = ciphertext ‖ tag into m; returns m's length, or a negative number if it fails authentication. */
  open(m: Uint8Array, c: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): number;
}

const wrapperAead: AeadCalls = {
  seal: (c, mac, m, ad, npub, k) => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt_detached(c, mac, m, ad, null, npub, k),
  open: (m, c, ad, npub, k) => {
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(m, null, c, ad, npub, k);
    } catch {
      return -1;
    }
  },
};

function bindingAead(): AeadCalls {
  try {
    const b = createRequire(import.meta.url)('sodium-native/binding') as Record<string, unknown>;
    const seal = b.crypto_aead_xchacha20poly1305_ietf_encrypt_detached;
    const open = b.crypto_aead_xchacha20poly1305_ietf_decrypt;
    if (typeof seal !== 'function' || typeof open !== 'function') return wrapperAead;
    const calls: AeadCalls = {
      seal: seal as AeadCalls['seal'],
      open: open as AeadCalls['open'],
    };
    return selfTest(calls) ? calls : wrapperAead;
  } catch {
    return wrapperAead;
  }
}

/** `calls` must agree with the wrappers both ways and reject a flipped ciphertext bit, a flipped AD bit and a flipped tag bit. */
function selfTest(calls: AeadCalls): boolean {
  const k = Buffer.alloc(KEY_BYTES, 7);
  const npub = Buffer.alloc(NONCE_BYTES, 9);
  const ad = Buffer.from('\x01\0\0\0\0\0\0\0self-test');
  const m = Buffer.from('nr-kv aead self-test: forty-one bytes....');
  const ct = Buffer.alloc(m.length + TAG_BYTES);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt_detached(ct.subarray(0, m.length), ct.subarray(m.length), m, ad, null, npub, k);
  const ct2 = Buffer.alloc(ct.length);
  if (calls.seal(ct2.subarray(0, m.length), ct2.subarray(m.length), m, ad, npub, k) < 0 || !ct2.equals(ct)) return false;
  const out = Buffer.alloc(m.length);
  if (calls.open(out, ct, ad, npub, k) !== m.length || !out.equals(m)) return false;
  for (const at of [0, m.length - 1, m.length, ct.length - 1]) {
    ct[at]! ^= 1;
    const r = calls.open(out, ct, ad, npub, k);
    ct[at]! ^= 1;
    if (r >= 0) return false;
  }
  ad[3]! ^= 1;
  const r = calls.open(out, ct, ad, npub, k);
  ad[3]! ^= 1;
  return r < 0;
}

const aead = bindingAead();

/**
 * Keyed BLAKE2b through the native binding when it agrees with the wrapper
 * on a known answer (the wrapper re-asserts every argument); all inputs are
 * private Buffers this module sized.
 */
const generichash: (out: Uint8Array, input: Uint8Array, key: Uint8Array) => void = (() => {
  const wrapper = (out: Uint8Array, input: Uint8Array, key: Uint8Array): void => sodium.crypto_generichash(out, input, key);
  try {
    const b = createRequire(import.meta.url)('sodium-native/binding') as Record<string, unknown>;
    const f = b.crypto_generichash;
    if (typeof f !== 'function') return wrapper;
    type Raw = (...a: (ArrayBufferLike | number)[]) => number;
    const raw = f as Raw;
    // The binding takes (buffer, offset, length) triples; the wrapper's asserts are what we skip.
    const direct = (out: Uint8Array, input: Uint8Array, key: Uint8Array): void => {
      if (raw(out.buffer, out.byteOffset, out.byteLength, input.buffer, input.byteOffset, input.byteLength, key.buffer, key.byteOffset, key.byteLength) !== 0) throw new Error('crypto_generichash failed');
    };
    const k = Buffer.alloc(KEY_BYTES, 3);
    const m = Buffer.from('nr-kv generichash self-test');
    const x = Buffer.alloc(MAC_BYTES);
    const y = Buffer.alloc(MAC_BYTES);
    wrapper(x, m, k);
    direct(y, m, k);
    return x.equals(y) && !x.equals(Buffer.alloc(MAC_BYTES)) ? direct : wrapper;
  } catch {
    return wrapper; // no binding of that shape: the wrapper it is
  }
})();
/** @internal Whether the direct binding path is in use (tests). */
export const aeadDirect = aead !== wrapperAead;

export interface PwhashCost {
  opsLimit: number;
  memLimit: number;
}

/** The 256-bit master key: the app's own, or derived from a passphrase. */
export function masterKey(secret: { key?: Uint8Array; passphrase?: string | Uint8Array }, salt: Uint8Array, cost: PwhashCost): Buffer {
  const out = Buffer.alloc(KEY_BYTES);
  if (secret.key !== undefined) {
    if (!(secret.key instanceof Uint8Array) || secret.key.length !== KEY_BYTES) throw new KvTypeError('key must be a 32-byte Uint8Array');
    out.set(secret.key);
    return out;
  }
  const p = secret.passphrase;
  if (typeof p !== 'string' && !(p instanceof Uint8Array)) throw new KvTypeError('an encrypted store needs `key` (32 bytes) or `passphrase`');
  const pass = typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p);
  if (pass.length === 0) throw new KvTypeError('passphrase must not be empty');
  sodium.crypto_pwhash(out, pass, Buffer.from(salt), cost.opsLimit, cost.memLimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
  return out;
}

/** The sub-key of one domain of one store: keyed BLAKE2b-256 of (label ‖ store id) under the master key. */
export function subkey(master: Uint8Array, storeId: Uint8Array, domain: KeyDomain): Buffer {
  const k = Buffer.alloc(KEY_BYTES);
  sodium.crypto_generichash(k, Buffer.concat([Buffer.from(`nr-kv/2 ${domain}\0`), Buffer.from(storeId)]), Buffer.from(master));
  return k;
}

/**
 * The key check value kept in the handle: a MAC, under the key-check
 * sub-key, of everything attach takes from the handle (store id, salt,
 * KDF kind and cost, limits), so a wrong key fails at attach and a handle
 * whose parameters were changed does not check either.
 */
export function keyCheckValue(master: Buffer, storeId: Uint8Array, params: Uint8Array): Buffer {
  const out = Buffer.alloc(KCV_BYTES);
  const k = subkey(master, storeId, 'kcv');
  sodium.crypto_generichash(out, Buffer.concat([KCV_LABEL, Buffer.from(params)]), k);
  k.fill(0);
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.sodium_memcmp(Buffer.from(a), Buffer.from(b));
}

export function randomStoreId(): Buffer {
  const s = Buffer.alloc(STORE_ID_BYTES);
  sodium.randombytes_buf(s);
  return s;
}

export function randomSalt(): Buffer {
  const s = Buffer.alloc(SALT_BYTES);
  sodium.randombytes_buf(s);
  return s;
}

/** A random 48-bit writer id (exact as a double). */
export function randomWriterId(): number {
  const b = Buffer.alloc(6);
  sodium.randombytes_buf(b);
  return b.readUIntLE(0, 6) || 1;
}

/** Seals and opens values, and MACs log records; one per thread. */
export class Cipher {
  readonly secure: boolean;
  private readonly valueKey: Buffer;
  private readonly recordKey: Buffer;
  private readonly snapshotKey: Buffer;
  private readonly chainKey: Buffer;
  private readonly responseKey: Buffer;
  /** Encrypts answers that carry keys (a client's scan), so no key is in clear in a client slot. */
  private readonly answerKey: Buffer;
  private readonly nonces = Buffer.alloc(NONCE_BYTES * 128);
  private nonceAt = this.nonces.length;
  // Private working buffers, and views of them cached by length: a get
  // allocates nothing but its result (values of one size reuse one view).
  private readonly nonce = Buffer.alloc(NONCE_BYTES);
  /** A private copy of one stored block (nonce ‖ ciphertext ‖ tag) and views of its parts for the last length opened. */
  private block = Buffer.alloc(4096);
  private blockNonce = this.block.subarray(0, NONCE_BYTES);
  /** ciphertext ‖ tag of the private copy, for the last length opened. */
  private blockSealed = this.block.subarray(0, TAG_BYTES);
  private readonly tagOut = Buffer.alloc(TAG_BYTES);
  private blockLen = -1;
  private ct = Buffer.alloc(4096);
  private ctView = this.ct.subarray(0, 0);
  private ad = Buffer.alloc(8 + 1024);
  private adView = this.ad.subarray(0, 0);

  /** `master` null: a plaintext store (no encryption, no MACs). Sub-keys are bound to `storeId`. */
  constructor(master: Buffer | null, storeId: Uint8Array) {
    this.secure = master !== null;
    const key = (d: KeyDomain): Buffer => (master ? subkey(master, storeId, d) : Buffer.alloc(0));
    this.valueKey = key('value');
    this.recordKey = key('record');
    this.snapshotKey = key('snapshot');
    this.chainKey = key('chain');
    this.responseKey = key('response');
    this.answerKey = key('answer');
  }

  /** Overwrite every sub-key with zeros (detach); the cipher is unusable afterwards. */
  zero(): void {
    for (const k of [this.valueKey, this.recordKey, this.snapshotKey, this.chainKey, this.responseKey, this.answerKey]) sodium.sodium_memzero(k);
  }

  /**
   * Encrypt private bytes as nonce (24) ‖ ciphertext ‖ tag (16) under the
   * record or snapshot key with associated data `ad`.
   */
  box(domain: BoxDomain, plain: Uint8Array, ad: Uint8Array): Buffer {
    const n = plain.length;
    // Every byte is written below; pooled (Buffer.alloc costs a fresh ArrayBuffer, ~0.8 µs, per call).
    const out = Buffer.allocUnsafe(NONCE_BYTES + n + TAG_BYTES);
    const nonce = out.subarray(0, NONCE_BYTES);
    this.nextNonce(nonce);
    const k = domain === 'record' ? this.recordKey : domain === 'snapshot' ? this.snapshotKey : this.answerKey;
    if (aead.seal(out.subarray(NONCE_BYTES, NONCE_BYTES + n), out.subarray(NONCE_BYTES + n), plain, ad, nonce, k) < 0) throw new Error('could not encrypt data');
    return out;
  }

  /** Open a private copy made by `box`; null if it fails authentication or is too short. */
  unbox(domain: BoxDomain, boxed: Buffer, ad: Uint8Array): Buffer | null {
    if (boxed.length < NONCE_BYTES + TAG_BYTES) return null;
    const out = Buffer.allocUnsafe(boxed.length - NONCE_BYTES - TAG_BYTES); // all written if it opens
    const k = domain === 'record' ? this.recordKey : domain === 'snapshot' ? this.snapshotKey : this.answerKey;
    return aead.open(out, boxed.subarray(NONCE_BYTES), ad, boxed.subarray(0, NONCE_BYTES), k) === out.length ? out : null;
  }

  /** Keyed BLAKE2b-128 of private bytes in the chain or response domain. */
  tagOf(domain: 'chain' | 'response', bytes: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(MAC_BYTES);
    this.tagInto(domain, bytes, out);
    return out;
  }

  /** tagOf into a caller's 16-byte buffer (the chain's hot path allocates nothing). */
  tagInto(domain: 'chain' | 'response', bytes: Uint8Array, out: Uint8Array): void {
    generichash(out, bytes, domain === 'chain' ? this.chainKey : this.responseKey);
  }

  /** Bytes a value of `len` occupies in the arena. */
  storedBytes(len: number): number {
    return this.secure ? NONCE_BYTES + len + TAG_BYTES : len;
  }

  /**
   * Seal `plain` for (keyId, version) into the arena at `off`; returns the tag
   * as a latin1 string ('' for a plaintext store).
   */
  seal(keyId: string, version: number, plain: Uint8Array, arena: Uint8Array, off: number): string {
    if (!this.secure) {
      arena.set(plain, off);
      return '';
    }
    const n = plain.length;
    this.nextNonce(this.nonce);
    const ct = this.ctOf(n);
    const tag = this.tagOut;
    if (aead.seal(ct, tag, plain, this.adFor(keyId, version), this.nonce, this.valueKey) < 0) throw new Error('could not encrypt data');
    arena.set(this.nonce, off);
    arena.set(ct, off + NONCE_BYTES);
    arena.set(tag, off + NONCE_BYTES + n);
    return tag.toString('latin1');
  }

  /** Open the value of (keyId, version) stored at `off`, checking it against the enclave's tag. */
  open(keyId: string, version: number, tag: string, arena: Uint8Array, off: number, len: number): Buffer {
    const stored = this.storedBytes(len);
    if (off < 0 || off + stored > arena.length) throw new IntegrityError('value location out of range', displayKey(keyId));
    const out = Buffer.allocUnsafe(len);
    if (!this.secure) {
      out.set(arena.subarray(off, off + len));
      return out;
    }
    // Verify and decrypt a private copy: shared bytes changing meanwhile cannot leak unverified plaintext.
    if (this.block.length < stored) this.growBlock(stored);
    this.block.set(arena.subarray(off, off + stored));
    if (this.blockLen !== len) this.viewsFor(len);
    // The arena's copy of the tag must equal the enclave's (branch-free compare; a sodium call costs more than the loop).
    const b = this.block;
    let diff = tag.length ^ TAG_BYTES;
    for (let i = 0, at = NONCE_BYTES + len; i < TAG_BYTES; i++) diff |= b[at + i]! ^ tag.charCodeAt(i);
    if (diff !== 0) throw new IntegrityError('stored tag does not match the enclave tag', displayKey(keyId));
    // The private copy's tag equals the enclave's (checked above); open ciphertext ‖ tag of that copy.
    if (aead.open(out, this.blockSealed, this.adFor(keyId, version), this.blockNonce, this.valueKey) !== len) {
      out.fill(0);
      throw new IntegrityError('value failed authentication', displayKey(keyId));
    }
    return out;
  }

  /** A fresh random nonce from the pool (one randombytes call per 128 nonces). */
  private nextNonce(into: Buffer): void {
    if (this.nonceAt === this.nonces.length) {
      sodium.randombytes_buf(this.nonces);
      this.nonceAt = 0;
    }
    this.nonces.copy(into, 0, this.nonceAt, this.nonceAt + NONCE_BYTES);
    this.nonceAt += NONCE_BYTES;
  }

  private growBlock(n: number): void {
    this.block = Buffer.alloc(Math.max(n, this.block.length * 2));
    this.blockNonce = this.block.subarray(0, NONCE_BYTES);
    this.blockLen = -1;
  }

  private viewsFor(len: number): void {
    this.blockSealed = this.block.subarray(NONCE_BYTES, NONCE_BYTES + len + TAG_BYTES);
    this.blockLen = len;
  }

  private ctOf(len: number): Buffer {
    if (this.ctView.length === len) return this.ctView;
    if (this.ct.length < len) this.ct = Buffer.alloc(Math.max(len, this.ct.length * 2));
    this.ctView = this.ct.subarray(0, len);
    return this.ctView;
  }

  /** Associated data: version (u64 LE) ‖ key bytes; written byte by byte (cheaper than Buffer.write for short keys). */
  private adFor(keyId: string, version: number): Buffer {
    const n = 8 + keyId.length;
    if (this.ad.length < n) this.ad = Buffer.alloc(n * 2);
    if (this.adView.length !== n || this.adView.buffer !== this.ad.buffer) this.adView = this.ad.subarray(0, n);
    const ad = this.adView;
    const lo = version % 0x100000000;
    const hi = Math.floor(version / 0x100000000);
    ad[0] = lo;
    ad[1] = lo >>> 8;
    ad[2] = lo >>> 16;
    ad[3] = lo >>> 24;
    ad[4] = hi;
    ad[5] = hi >>> 8;
    ad[6] = hi >>> 16;
    ad[7] = hi >>> 24;
    for (let i = 0; i < keyId.length; i++) ad[8 + i] = keyId.charCodeAt(i);
    return ad;
  }
}

/** A key id (latin1 of the key's bytes) as readable text for error messages. */
export function displayKey(keyId: string): string {
  return Buffer.from(keyId, 'latin1').toString('utf8');
}
