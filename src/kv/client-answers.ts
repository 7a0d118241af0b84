/**
 * What NR clients are served (src/kv/client.ts): sealed get, scan and
 * window answers, authenticated for each request's nonce, and the write
 * answer's fields and MAC.
 */
import { OpWriter, type OpReader } from '../nr/index.js';
import { type Cipher, MAC_BYTES, sameBytes, TAG_BYTES } from './crypto.js';
import { answerMac, answerMacInto, META_BYTES, openRequest, padded, readMeta, REQUEST_NONCE_BYTES, writeMeta } from './answers.js';
import { checkLive, type ApplyResult, type KvState, type Meta, type StoreContext } from './enclave.js';
import { IntegrityError, KvConfigError } from './errors.js';

/**
 * Threads without a replica (NR clients) are served only the `sealed`,
 * `sealedGets` and `sealedScan` reads and `apply` writes; their answers are
 * authenticated under the response key (or sealed under the answer key) and
 * name the request (a random nonce; the writer and sequence). Every
 * other read refuses to encode or decode for a client, so a thread without
 * the key gets nothing readable through a client slot, and no plaintext is
 * ever written into one.
 */
export const notForClients = {
  encode(): void {
    throw new KvConfigError('this read returns plaintext and is not served to NR clients: use connectKv, whose reads decrypt in the client thread');
  },
  decode(): never {
    throw new KvConfigError('this read returns plaintext and is not served to NR clients');
  },
};

export const SEALED_LABEL = Buffer.from('nr-kv sealed get\0');
/** Key metadata (answers.ts), count f64, head 16. */
export const SEALED_FIELDS = META_BYTES + 8 + TAG_BYTES;

export const SCAN_LABEL = Buffer.from('nr-kv sealed scan\0');

/** A client's get request (the plaintext sealed by sealRequest): key length u16, key, zero padding. */
export function getRequest(key: string): Buffer {
  const b = Buffer.allocUnsafe(padded(2 + key.length)).fill(0); // pooled: Buffer.alloc costs a fresh ArrayBuffer
  b.writeUInt16LE(key.length, 0);
  b.write(key, 2, 'latin1');
  return b;
}

/** A client's scan request (the plaintext sealed by sealRequest). */
export function scanRequest(start: string | undefined, end: string | undefined, limit: number, budget: number): Buffer {
  // A prefix's end is the prefix plus '\u0100' (after every byte): sent as a flag, the rest as latin1.
  const prefixEnd = end !== undefined && end.endsWith('\u0100');
  if (prefixEnd) end = end!.slice(0, -1);
  const b = Buffer.allocUnsafe(padded(1 + 4 + 4 + 2 + (start?.length ?? 0) + 2 + (end?.length ?? 0))).fill(0);
  let at = b.writeUInt8((start !== undefined ? 1 : 0) | (end !== undefined ? 2 : 0) | (prefixEnd ? 4 : 0), 0);
  at = b.writeUInt32LE(limit, at);
  at = b.writeUInt32LE(budget, at);
  for (const k of [start ?? '', end ?? '']) {
    at = b.writeUInt16LE(k.length, at);
    at += b.write(k, at, 'latin1');
  }
  return b;
}

/** One entry of a scan answer: the key and its metadata (the client opens the value). */
export interface ScanAnswerEntry {
  key: string;
  meta: Meta;
}

/** A client's verified view of a scan answer. */
export interface ScanAnswer {
  count: number;
  head: string;
  /** The node stopped at the slot's size, not at the limit or the range's end. */
  more: boolean;
  entries: ScanAnswerEntry[];
}

/** count f64, head 16, more u8, entries u16. */
const SCAN_HEADER = 8 + TAG_BYTES + 1 + 2;
/** Per entry besides its key: key length u16, version f64, seal id f64, loc u32, len u32, tag 16. */
const SCAN_ENTRY = 2 + 8 + 8 + 4 + 4 + TAG_BYTES;
/** What a sealed answer adds: the AEAD nonce and tag, and the result codec's length prefix. */
const SEALED_OVERHEAD = REQUEST_NONCE_BYTES + TAG_BYTES + 4;

/**
 * A client's scan: the entries' keys and metadata within [start, end), as
 * many as `limit` and the client's slot (`budget` bytes) allow, and the
 * chain position; sealed under the answer key with the request's nonce as
 * AD, so keys stay confidential and the answer names its request.
 */
export function sealedScan(s: KvState, req: Buffer): Buffer {
  checkLive(s);
  const cipher = s.ctx.cipher;
  const { plain, nonce } = openRequest(cipher, SCAN_LABEL, req);
  const flags = plain.readUInt8(0);
  const limit = plain.readUInt32LE(1);
  const budget = plain.readUInt32LE(5);
  let at = 9;
  const keys: string[] = [];
  for (let i = 0; i < 2; i++) {
    const n = plain.readUInt16LE(at);
    keys.push(plain.toString('latin1', at + 2, at + 2 + n));
    at += 2 + n;
  }
  const start = flags & 1 ? keys[0] : undefined;
  const end = flags & 2 ? keys[1] + (flags & 4 ? '\u0100' : '') : undefined;
  const picked: string[] = [];
  let bytes = SCAN_HEADER + SEALED_OVERHEAD;
  let more = false;
  if (limit > 0) {
    s.order.range(start, end, (k) => {
      if (bytes + SCAN_ENTRY + k.length > budget) {
        more = true;
        return false;
      }
      bytes += SCAN_ENTRY + k.length;
      picked.push(k);
      return picked.length < limit;
    });
  }
  const body = Buffer.allocUnsafe(bytes - SEALED_OVERHEAD); // every byte written
  at = body.writeDoubleLE(s.chain.count, 0);
  at += body.write(s.chain.head.padEnd(TAG_BYTES, '\0'), at, 'latin1');
  at = body.writeUInt8(more ? 1 : 0, at);
  at = body.writeUInt16LE(picked.length, at);
  for (const k of picked) {
    const m = s.map.get(k)!;
    at = body.writeUInt16LE(k.length, at);
    at += body.write(k, at, 'latin1');
    at = body.writeDoubleLE(m.version, at);
    at = body.writeDoubleLE(m.sealId, at);
    at = body.writeUInt32LE(m.loc, at);
    at = body.writeUInt32LE(m.len, at);
    at += body.write(m.tag, at, 'latin1');
  }
  return cipher.box('answer', body, Buffer.concat([SCAN_LABEL, Buffer.from(nonce, 'latin1')]));
}

/** The client's side: open and parse a scan answer for the request named `nonce`; null if it fails authentication or shape. */
export function openScanAnswer(cipher: Cipher, nonce: string, ans: Buffer): ScanAnswer | null {
  const body = cipher.unbox('answer', ans, Buffer.concat([SCAN_LABEL, Buffer.from(nonce, 'latin1')]));
  if (body === null || body.length < SCAN_HEADER) return null;
  const out: ScanAnswer = { count: body.readDoubleLE(0), head: body.toString('latin1', 8, 8 + TAG_BYTES), more: body[8 + TAG_BYTES] === 1, entries: [] };
  const n = body.readUInt16LE(8 + TAG_BYTES + 1);
  let at = SCAN_HEADER;
  for (let i = 0; i < n; i++) {
    if (at + 2 > body.length) return null;
    const kl = body.readUInt16LE(at);
    if (at + SCAN_ENTRY + kl > body.length) return null;
    const key = body.toString('latin1', at + 2, at + 2 + kl);
    at += 2 + kl;
    const meta: Meta = {
      version: body.readDoubleLE(at),
      sealId: body.readDoubleLE(at + 8),
      loc: body.readUInt32LE(at + 16),
      len: body.readUInt32LE(at + 20),
      tag: body.toString('latin1', at + 24, at + 24 + TAG_BYTES),
    };
    at += SCAN_ENTRY - 2;
    out.entries.push({ key, meta });
  }
  return at === body.length ? out : null;
}

/** The answer to a client's get: the key's metadata and the chain position, MAC'd with the request's nonce. */
export function sealedAnswer(s: KvState, req: Buffer): Buffer {
  checkLive(s);
  const { plain, nonce } = openRequest(s.ctx.cipher, SEALED_LABEL, req);
  const n = plain.length >= 2 ? plain.readUInt16LE(0) : -1;
  if (n < 0 || 2 + n > plain.length) throw new IntegrityError('a client request is malformed');
  const key = plain.toString('latin1', 2, 2 + n);
  const m = s.map.get(key);
  const out = Buffer.allocUnsafe(SEALED_FIELDS + MAC_BYTES);
  const at = out.writeDoubleLE(s.chain.count, writeMeta(out, 0, m));
  // An empty chain's head is '': zeros, never pooled bytes, go into the slot.
  out.fill(0, at, at + TAG_BYTES);
  out.write(s.chain.head, at, 'latin1');
  answerMacInto(s.ctx.cipher, SEALED_LABEL, nonce, key, out.subarray(0, SEALED_FIELDS), out.subarray(SEALED_FIELDS));
  return out;
}

/** A client's verified view of a write's answer. */
export interface ClientWriteAnswer {
  ok: boolean;
  current: number;
  versions: number[];
  /** Per get item of the record, in order: the key's metadata at the record (null: absent). */
  reads: (Meta | null)[];
  count: number;
  head: string;
  writer: number;
  seq: number;
  /** False if the answer failed its MAC (tampered in the client slot). */
  authentic: boolean;
}

/**
 * A write's answer to a client: ok u8, current f64, writer f64, seq f64,
 * count f64, head 16, u16 n, n × version f64, u16 m, m × key metadata (the
 * record's get items), then (separately length-prefixed) its MAC.
 */
const WRITE_ANSWER_HEADER = 1 + 8 * 4 + TAG_BYTES + 2;

/** Bytes the answer to a record of `items` items, `gets` of them get items, takes in a client slot (two length prefixes, fields, MAC). */
export function writeAnswerBytes(items: number, gets: number): number {
  return 4 + WRITE_ANSWER_HEADER + 8 * items + 2 + META_BYTES * gets + 4 + MAC_BYTES;
}

export const WRITE_LABEL = Buffer.from('nr-kv client write\0');

/** @internal The fields of a write's answer (tests forge answers with it). */
export function writeAnswerFields(res: Pick<ApplyResult, 'ok' | 'current' | 'writer' | 'seq' | 'count' | 'head' | 'versions' | 'reads'>): Buffer {
  const b = Buffer.allocUnsafe(WRITE_ANSWER_HEADER + 8 * res.versions.length + 2 + META_BYTES * res.reads.length); // every byte written
  let at = b.writeUInt8(res.ok ? 1 : 0, 0);
  for (const v of [res.current, res.writer, res.seq, res.count]) at = b.writeDoubleLE(v, at);
  at += b.write(res.head.padEnd(TAG_BYTES, '\0'), at, 'latin1');
  at = b.writeUInt16LE(res.versions.length, at);
  for (const v of res.versions) at = b.writeDoubleLE(v, at);
  at = b.writeUInt16LE(res.reads.length, at);
  for (const m of res.reads) at = writeMeta(b, at, m);
  return b;
}

export function clientWriteCodec(ctx: StoreContext) {
  return {
    /** On the node, answering a client: authenticate, and tell the node its client displaced blocks (it may claim them). */
    encode(w: OpWriter, res: ApplyResult): void {
      if (res.displaced > 0) ctx.onClientDisplaced?.();
      const fields = writeAnswerFields(res);
      w.bytesWithLength(fields);
      w.bytesWithLength(answerMac(ctx.cipher, WRITE_LABEL, '', '', fields));
    },
    /** On the client: parse and verify (the caller checks writer and sequence are its own). */
    decode(r: OpReader): ClientWriteAnswer {
      const fields = readPrivate(r);
      const mac = readPrivate(r);
      const ans: ClientWriteAnswer = { ok: false, current: 0, versions: [], reads: [], count: 0, head: '', writer: 0, seq: 0, authentic: false };
      if (!ctx.cipher.secure || fields.length < WRITE_ANSWER_HEADER + 2 || !sameBytes(mac, answerMac(ctx.cipher, WRITE_LABEL, '', '', fields))) return ans;
      ans.ok = fields[0] === 1;
      ans.current = fields.readDoubleLE(1);
      ans.writer = fields.readDoubleLE(9);
      ans.seq = fields.readDoubleLE(17);
      ans.count = fields.readDoubleLE(25);
      ans.head = fields.toString('latin1', 33, 49);
      const n = fields.readUInt16LE(49);
      const readsAt = WRITE_ANSWER_HEADER + 8 * n;
      if (fields.length < readsAt + 2) return ans;
      const m = fields.readUInt16LE(readsAt);
      if (fields.length !== readsAt + 2 + META_BYTES * m) return ans;
      for (let i = 0; i < n; i++) ans.versions.push(fields.readDoubleLE(WRITE_ANSWER_HEADER + 8 * i));
      for (let i = 0; i < m; i++) ans.reads.push(readMeta(fields, readsAt + 2 + META_BYTES * i));
      ans.authentic = true;
      return ans;
    },
  };
}

/** A sealed request (its bytes are copied out of the slot: shared memory may change under the node). */
export const sealedRequestCodec = {
  encode: (w: OpWriter, req: Buffer) => w.bytesWithLength(req),
  decode: (r: OpReader): [Buffer] => [readPrivate(r)],
};
export const sealedResultCodec = {
  encode: (w: OpWriter, b: Buffer) => w.bytesWithLength(b),
  decode: (r: OpReader): Buffer => readPrivate(r),
};

/**
 * A length-prefixed blob copied out of shared memory into a pooled Buffer
 * (bytesWithLength would make a fresh ArrayBuffer per call). A length past
 * the payload gives an empty blob, which then fails authentication; so does
 * a payload too short to hold the length (OpReader would throw DecodeError,
 * which for a logged request is a fail-stop: a forged request is answered
 * IntegrityError instead, as every other forged request is).
 */
function readPrivate(r: OpReader): Buffer {
  if (r.remaining < 4) return Buffer.alloc(0);
  const n = r.u32();
  if (n > r.remaining) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(n);
  out.set(r.bytes.subarray(r.pos, r.pos + n));
  r.pos += n;
  return out;
}

