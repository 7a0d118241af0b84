/**
 * A log record: the one write op of the store (put, delete, compare-and-set,
 * batch, and a KV client's window of writes and gets), and its codec.
 *
 * Body (encrypted stores: sealed with XChaCha20-Poly1305 under the store's
 * record key, so keys and metadata are never in clear in the log):
 *
 *   u8 format=3  u8 cond (0 none, 1 key's version must equal condVersion)  u16 items
 *   f64 writer id  f64 writer sequence  f64 known count  [known head (16)]
 *   u32 claim: 0 none, else the writer takes the displaced blocks up to chain count known count − (claim − 1) to reuse (displaced.ts)
 *   [cond: f64 condVersion, u16 key length, key bytes]
 *   items: u8 op (1 put, 2 delete, 3 get: a KV client's read in a window record), u16 key length, key bytes,
 *          put: f64 seal id, u32 arena offset, u32 value length, [tag (16)]
 *   zero padding to a multiple of 32 bytes
 *
 * Bracketed fields are in encrypted stores only. The record's AEAD tag is
 * its authenticator in the chain (chain.ts). A replica decoding a record
 * copies it to private memory, opens it and parses it with bounds checks;
 * a failure is not thrown but marked (`bad`), for the apply to fail-stop.
 */
import { OpWriter, type OpReader } from '../nr/index.js';
import { type Cipher, NONCE_BYTES, TAG_BYTES } from './crypto.js';

export const PUT = 1;
export const DELETE = 2;
/** A KV client's get inside a window record: answered at its place in the log (after the client's earlier writes), changes nothing. */
export const GET = 3;

export interface LogItem {
  op: number;
  key: string;
  /** Identifies the sealed ciphertext (part of its AD); issuer-chosen, orders nothing. */
  sealId: number;
  loc: number;
  len: number;
  /** The AEAD tag as a 16-char latin1 string ('' in a plaintext store). */
  tag: string;
}

export interface LogRecord {
  /** True when decoded from the (untrusted) log; false for the issuer's own object. */
  fromLog: boolean;
  /** Why the record failed verification, or null. */
  bad: string | null;
  writer: number;
  seq: number;
  /** The chain count and head the writer had applied when it wrote this record. */
  knownCount: number;
  knownHead: string;
  /** The record's authenticator (its AEAD tag, latin1), set by encode and decode. */
  auth: string;
  cond: number;
  condKey: string;
  condVersion: number;
  /** Displaced blocks up to this chain count go to this record's issuer to free (0: none; displaced.ts). */
  claim: number;
  items: LogItem[];
  /** Issuer only, never encoded: open the value item 0 displaces while applying (an exchange; see structure.ts). */
  openPrev?: boolean;
}


const FORMAT = 3;
const RECORD_AD = Buffer.from('nr-kv record v3');
/** Versions: chain count × ITEMS_PER_RECORD + item index. */
export const ITEMS_PER_RECORD = 4096;

function writeKey(w: OpWriter, key: string): void {
  w.u8(key.length & 0xff);
  w.u8(key.length >>> 8);
  for (let i = 0; i < key.length; i++) w.u8(key.charCodeAt(i));
}

/** Opens and parses a private copy of a record with bounds checks; never throws (a failure is `bad`). */
export class RecordParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;

  constructor(private readonly cipher: Cipher) {}

  decode(r: OpReader): [LogRecord] {
    const rec: LogRecord = { fromLog: true, bad: null, writer: 0, seq: 0, knownCount: 0, knownHead: '', auth: '', cond: 0, condKey: '', condVersion: 0, claim: 0, items: [] };
    try {
      const n = r.remaining;
      const copy = Buffer.from(r.bytes.subarray(r.pos, r.pos + n)); // private: shared bytes may change under us
      r.pos += n;
      if (this.cipher.secure) {
        const body = this.cipher.unbox('record', copy, RECORD_AD);
        if (body === null) {
          rec.bad = 'log record failed authentication';
          return [rec];
        }
        rec.auth = copy.toString('latin1', n - TAG_BYTES, n);
        this.buf = body;
      } else this.buf = copy;
      this.pos = 0;
      this.end = this.buf.length;
      this.parse(rec);
    } catch (e) {
      rec.bad = `malformed log record (${e instanceof Error ? e.message : String(e)})`;
      rec.items = [];
    }
    return [rec];
  }

  private parse(rec: LogRecord): void {
    if (this.u8() !== FORMAT) throw new RangeError('format');
    rec.cond = this.u8();
    const count = this.u16();
    // Versions are count × ITEMS_PER_RECORD + item index: more items would repeat the next record's.
    if (count > ITEMS_PER_RECORD) throw new RangeError('item count');
    rec.writer = this.f64();
    rec.seq = this.f64();
    rec.knownCount = this.f64();
    if (!Number.isSafeInteger(rec.knownCount) || rec.knownCount < 0) throw new RangeError('known count');
    if (this.cipher.secure) {
      const head = this.text(TAG_BYTES);
      rec.knownHead = rec.knownCount === 0 ? '' : head;
    }
    const back = this.u32();
    if (back > rec.knownCount + 1) throw new RangeError('claim');
    rec.claim = back === 0 ? 0 : rec.knownCount - (back - 1);
    if (rec.cond === 1) {
      rec.condVersion = this.f64();
      rec.condKey = this.key();
    } else if (rec.cond !== 0) throw new RangeError('cond');
    for (let i = 0; i < count; i++) {
      const op = this.u8();
      const key = this.key();
      if (op === PUT) {
        const sealId = this.f64();
        const loc = this.u32();
        const len = this.u32();
        const tag = this.cipher.secure ? this.text(TAG_BYTES) : '';
        rec.items.push({ op, key, sealId, loc, len, tag });
      } else if (op === DELETE || op === GET) {
        rec.items.push({ op, key, sealId: 0, loc: 0, len: 0, tag: '' });
      } else throw new RangeError('op');
    }
    if (this.end - this.pos >= PAD_TO) throw new RangeError('trailing bytes');
    while (this.pos < this.end) if (this.u8() !== 0) throw new RangeError('padding');
  }

  private need(k: number): number {
    const at = this.pos;
    if (at + k > this.end) throw new RangeError('short');
    this.pos += k;
    return at;
  }
  private u8(): number {
    return this.buf[this.need(1)]!;
  }
  private u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  private u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  private f64(): number {
    return this.buf.readDoubleLE(this.need(8));
  }
  private key(): string {
    const n = this.u16();
    const at = this.need(n);
    return this.buf.toString('latin1', at, at + n);
  }
  private text(n: number): string {
    const at = this.need(n);
    return this.buf.toString('latin1', at, at + n);
  }
}

/** Record bodies are zero-padded to a multiple of this: key lengths leak only to this granularity. */
const PAD_TO = 32;
/** An encrypted record's body before its items: format, cond, items, writer, seq, known count and head, claim. */
const RECORD_HEADER_BYTES = 1 + 1 + 2 + 8 + 8 + 8 + TAG_BYTES + 4;

/** Body bytes of one item of an encrypted record with a `keyBytes`-byte key (no condition). */
export function recordItemBytes(op: number, keyBytes: number): number {
  return 1 + 2 + keyBytes + (op === PUT ? 8 + 4 + 4 + TAG_BYTES : 0);
}

/** Bytes an encrypted record without a condition takes in a client's request slot, for items whose recordItemBytes sum to `itemBytes`. */
export function recordRequestBytes(itemBytes: number): number {
  return NONCE_BYTES + Math.ceil((RECORD_HEADER_BYTES + itemBytes) / PAD_TO) * PAD_TO + TAG_BYTES;
}

/** The claim as a distance back from the known count (4 bytes, not 8: a record's padded size stays what it was for most keys). */
function claimField(rec: LogRecord): number {
  return rec.claim === 0 ? 0 : rec.knownCount - rec.claim + 1;
}

/** A claim the record can carry (claimField), else none: the issuer applies its own object, which must say what the log says. */
export function encodableClaim(knownCount: number, claim: number): number {
  // Further back than 2^32 - 2 records: claim nothing this time (a later claim takes those blocks too).
  return claim > 0 && claim <= knownCount && knownCount - claim + 1 < 0xffffffff ? claim : 0;
}

function writeBody(cipher: Cipher, w: OpWriter, rec: LogRecord): void {
  w.u8(FORMAT);
  w.u8(rec.cond);
  w.u8(rec.items.length & 0xff);
  w.u8(rec.items.length >>> 8);
  w.f64(rec.writer);
  w.f64(rec.seq);
  w.f64(rec.knownCount);
  if (cipher.secure) for (let i = 0; i < TAG_BYTES; i++) w.u8(rec.knownHead.length === TAG_BYTES ? rec.knownHead.charCodeAt(i) : 0);
  w.u32(claimField(rec));
  if (rec.cond === 1) {
    w.f64(rec.condVersion);
    writeKey(w, rec.condKey);
  }
  for (const it of rec.items) {
    w.u8(it.op);
    writeKey(w, it.key);
    if (it.op === PUT) {
      w.f64(it.sealId);
      w.u32(it.loc);
      w.u32(it.len);
      if (cipher.secure) for (let i = 0; i < TAG_BYTES; i++) w.u8(it.tag.charCodeAt(i));
    }
  }
}

export function encodeRecord(cipher: Cipher, scratch: OpWriter, w: OpWriter, rec: LogRecord): void {
  if (!cipher.secure) {
    writeBody(cipher, w, rec);
    return;
  }
  scratch.pos = 0;
  writeBody(cipher, scratch, rec);
  while (scratch.pos % PAD_TO !== 0) scratch.u8(0);
  const boxed = cipher.box('record', scratch.bytes.subarray(0, scratch.pos), RECORD_AD);
  rec.auth = boxed.toString('latin1', boxed.length - TAG_BYTES);
  w.copyFrom(boxed, 0, boxed.length);
}

