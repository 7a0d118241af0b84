/**
 * The replicated structure: each replica's private "enclave" index and the
 * one write op that changes it.
 *
 * Every write (put, delete, compare-and-set, batch) is one log record. Its
 * body (encrypted stores: sealed with XChaCha20-Poly1305 under the store's
 * record key, so keys and metadata are never in clear in the log):
 *
 *   u8 format=2  u8 cond (0 none, 1 key's version must equal condVersion)  u16 items
 *   f64 writer id  f64 writer sequence  f64 known count  [known head (16)]
 *   [cond: f64 condVersion, u16 key length, key bytes]
 *   items: u8 op (1 put, 2 delete, 3 get: a KV client's read in a window record), u16 key length, key bytes,
 *          put: f64 seal id, u32 arena offset, u32 value length, [tag (16)]
 *   zero padding to a multiple of 32 bytes
 *
 * Bracketed fields are in encrypted stores only. The record's AEAD tag is
 * its authenticator in the chain (chain.ts). A replica decoding a record
 * copies it to private memory, opens it, parses with bounds checks, and
 * checks the chain (the writer's known point) and that the writer's
 * sequence grew. Any failure, and any exception at all while applying,
 * throws the core's FailStopError: the replica halts for good. Applies never
 * read the arena, so they are deterministic whatever happens to it.
 *
 * Versions are assigned at apply time from the chain: record count × 4096 +
 * item index. They are per-key monotonic (and unique store-wide) in enclave
 * state; nothing in shared memory can make one repeat.
 */
import { serialize, deserialize } from 'node:v8';
import { defineStructure, FailStopError, OpWriter, type OpReader, type ValueCodec } from '../nr/index.js';
import { Arena, blockBytesFor } from './arena.js';
import { Chain } from './chain.js';
import { type Cipher, displayKey, MAC_BYTES, NONCE_BYTES, sameBytes, TAG_BYTES } from './crypto.js';
import { answerGets, answerMac, answerMacInto, META_BYTES, openRequest, padded, readMeta, REQUEST_NONCE_BYTES, writeMeta } from './answers.js';
import { IntegrityError, KvConfigError } from './errors.js';
import type { Freshness } from './freshness.js';
import { SortedKeys } from './sorted-keys.js';

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
  items: LogItem[];
}

/** What an apply returns to the issuer. */
export interface ApplyResult {
  /** False when the condition failed (nothing changed). */
  ok: boolean;
  /** The condition key's version when the condition failed, else 0. */
  current: number;
  /** Blocks this write displaced: (offset, stored bytes) pairs, to reclaim once no replica references them. */
  freed: number[];
  /** Per item: the key's metadata before it (null: absent). Meta objects are never mutated. */
  prev: (Meta | null)[];
  /** Per item: the version it got (0 for a delete or a get). */
  versions: number[];
  /** Per get item, in order: the key's metadata at this record (null: absent). */
  reads: (Meta | null)[];
  /** The record's writer and sequence, and the chain after it: a client's authenticated answer names them. */
  writer: number;
  seq: number;
  count: number;
  head: string;
}

/** Enclave metadata of one key; replaced, never mutated, on overwrite. */
export interface Meta {
  /** Enclave-assigned (chain count × 4096 + item index). */
  readonly version: number;
  /** The seal id of its ciphertext's AD. */
  readonly sealId: number;
  readonly loc: number;
  readonly len: number;
  /**
   * The AEAD tag as a 16-char latin1 string ('' in a plaintext store): an
   * on-heap string, not one small ArrayBuffer per key (100k of those cost GC
   * and malloc time in every replica).
   */
  readonly tag: string;
}

export interface KvEntry {
  key: Buffer;
  value: Buffer;
  version: number;
}

export interface KvState {
  readonly map: Map<string, Meta>;
  readonly order: SortedKeys;
  /** Last sequence number applied per writer id. */
  readonly writers: Map<number, number>;
  readonly chain: Chain;
  failure: string | null;
  /** Sum of stored bytes of live values. */
  liveBytes: number;
  readonly ctx: StoreContext;
}

/** What a replica's structure closes over: private keys and the shared arena. */
export interface StoreContext {
  readonly cipher: Cipher;
  readonly arena: Arena;
  /** Heads learned from peers (null: none), checked when this replica reaches their counts. */
  readonly fresh: Freshness | null;
  /** The chain (count, head) this thread's replica reached last (apply and restore update it): a snapshot must not go back behind it. */
  applied: { count: number; head: string };
  /** On a node: blocks displaced by a client's write it just answered (the node reclaims them). */
  onClientFreed?: (freed: number[]) => void;
}

export const STRUCTURE_NAME = 'nr.kv';
const FORMAT = 2;
const RECORD_AD = Buffer.from('nr-kv record v2');
const SNAPSHOT_AD = Buffer.from('nr-kv snapshot v2');
/** Versions: chain count × ITEMS_PER_RECORD + item index. */
export const ITEMS_PER_RECORD = 4096;

function failStop(state: KvState, reason: string): never {
  state.failure = reason;
  throw new FailStopError(`replica fail-stopped: ${reason}`);
}

function checkLive(state: KvState): void {
  if (state.failure !== null) throw new FailStopError(`replica fail-stopped: ${state.failure}`);
  const f = state.ctx.fresh;
  if (f !== null && f.unchecked.length !== 0) checkLearned(state, f);
}

/**
 * Heads learned from peers since the last op: each one for a count this
 * replica has already passed must equal its own head there (apply checks
 * the rest when it gets there). A head that differs, or two peers that
 * disagree, mean the log was forked under this replica or another: both
 * sides served authentic records in different orders, and only one of them
 * can be the store's history. Halt rather than keep serving either.
 */
function checkLearned(state: KvState, f: Freshness): void {
  const chain = state.chain;
  const counts = f.unchecked.splice(0);
  for (const c of counts) {
    if (c > chain.count) continue;
    const want = f.expected.get(c);
    f.expected.delete(c);
    const have = chain.headAt(c);
    if (want !== undefined && have !== undefined && want !== have) {
      failStop(state, `chain head at record ${c} differs from the one a peer announced: the log was forked or tampered with under this replica`);
    }
  }
  if (f.conflict !== null) failStop(state, f.conflict);
}

/** Any exception while applying is a fail-stop: the record could not be applied the same way everywhere. */
function apply(state: KvState, rec: LogRecord): ApplyResult {
  checkLive(state);
  try {
    return applyChecked(state, rec);
  } catch (e) {
    if (e instanceof FailStopError) throw e;
    failStop(state, `applying a log record threw ${String(e)}`);
  }
}

function applyChecked(state: KvState, rec: LogRecord): ApplyResult {
  if (rec.bad !== null) failStop(state, rec.bad);
  const cipher = state.ctx.cipher;
  const chain = state.chain;
  if (cipher.secure) {
    if (!(rec.knownCount <= chain.count)) {
      failStop(state, `log record of writer ${rec.writer} was written after ${rec.knownCount} records, but only ${chain.count} precede it here: a record was dropped, reordered or hidden`);
    }
    const h = chain.headAt(rec.knownCount);
    if (h !== undefined && h !== rec.knownHead) failStop(state, `log record of writer ${rec.writer} does not extend this replica's chain at record ${rec.knownCount}: the log was reordered, replayed or spliced`);
    if (rec.auth.length !== TAG_BYTES) failStop(state, 'log record without an authenticator');
  }
  const last = state.writers.get(rec.writer) ?? 0;
  if (!(rec.seq > last)) failStop(state, `log record of writer ${rec.writer} replayed or reordered (sequence ${rec.seq} after ${last})`);
  state.writers.set(rec.writer, rec.seq);
  chain.advance(cipher, rec.auth);
  const ctx = state.ctx;
  ctx.applied = { count: chain.count, head: chain.head };
  const want = ctx.fresh?.expected.get(chain.count);
  if (want !== undefined) {
    ctx.fresh!.expected.delete(chain.count);
    if (want !== chain.head) failStop(state, `chain head at record ${chain.count} differs from the one a peer announced: this replica's log was tampered with`);
  }
  const res: ApplyResult = { ok: true, current: 0, freed: [], prev: [], versions: [], reads: [], writer: rec.writer, seq: rec.seq, count: chain.count, head: chain.head };
  if (rec.cond === 1) {
    const cur = state.map.get(rec.condKey)?.version ?? 0;
    if (cur !== rec.condVersion) {
      res.ok = false;
      res.current = cur;
      return res;
    }
  }
  const base = chain.count * ITEMS_PER_RECORD;
  for (let i = 0; i < rec.items.length; i++) {
    const it = rec.items[i]!;
    const prev = state.map.get(it.key);
    res.prev.push(prev ?? null);
    if (it.op === GET) {
      res.versions.push(0);
      res.reads.push(prev ?? null);
      continue;
    }
    if (prev !== undefined) {
      const stored = cipher.storedBytes(prev.len);
      res.freed.push(prev.loc, stored);
      state.liveBytes -= blockBytesFor(stored);
    }
    if (it.op === PUT) {
      const version = base + i;
      res.versions.push(version);
      state.map.set(it.key, { version, sealId: it.sealId, loc: it.loc, len: it.len, tag: it.tag });
      if (prev === undefined) state.order.insert(it.key);
      state.liveBytes += blockBytesFor(cipher.storedBytes(it.len));
    } else {
      res.versions.push(0);
      if (prev !== undefined) {
        state.map.delete(it.key);
        state.order.remove(it.key);
      }
    }
  }
  return res;
}

function openValue(state: KvState, key: string, m: Meta): Buffer {
  return state.ctx.cipher.open(key, m.sealId, m.tag, state.ctx.arena.bytes, m.loc, m.len);
}

// ---- codec -----------------------------------------------------------------

function writeKey(w: OpWriter, key: string): void {
  w.u8(key.length & 0xff);
  w.u8(key.length >>> 8);
  for (let i = 0; i < key.length; i++) w.u8(key.charCodeAt(i));
}

/** Opens and parses a private copy of a record with bounds checks; never throws (a failure is `bad`). */
class RecordParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;

  constructor(private readonly cipher: Cipher) {}

  decode(r: OpReader): [LogRecord] {
    const rec: LogRecord = { fromLog: true, bad: null, writer: 0, seq: 0, knownCount: 0, knownHead: '', auth: '', cond: 0, condKey: '', condVersion: 0, items: [] };
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
/** An encrypted record's body before its items: format, cond, items, writer, seq, known count and head. */
const RECORD_HEADER_BYTES = 1 + 1 + 2 + 8 + 8 + 8 + TAG_BYTES;

/** Body bytes of one item of an encrypted record with a `keyBytes`-byte key (no condition). */
export function recordItemBytes(op: number, keyBytes: number): number {
  return 1 + 2 + keyBytes + (op === PUT ? 8 + 4 + 4 + TAG_BYTES : 0);
}

/** Bytes an encrypted record without a condition takes in a client's request slot, for items whose recordItemBytes sum to `itemBytes`. */
export function recordRequestBytes(itemBytes: number): number {
  return NONCE_BYTES + Math.ceil((RECORD_HEADER_BYTES + itemBytes) / PAD_TO) * PAD_TO + TAG_BYTES;
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

function encodeRecord(cipher: Cipher, scratch: OpWriter, w: OpWriter, rec: LogRecord): void {
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

// ---- snapshots ----------------------------------------------------------------

interface SnapshotBody {
  keys: string[];
  metas: [number, number, number, number, string][];
  writers: [number, number][];
  failure: string | null;
  liveBytes: number;
  count: number;
  head: string;
  /** The heads the provider still remembered before `count` (Chain.recent): the receiver checks the snapshot extends its own chain. */
  heads: { counts: number[]; heads: string[] };
  /** The log position the state reflects: a snapshot announced at another position is refused. */
  pos: number;
}

/**
 * The state as a snapshot for a replica that recovers by state transfer:
 * sealed under the snapshot key (nothing readable in the shared transfer
 * buffer), bound to the store (its key) and to the chain (count, head).
 */
function snapshot(state: KvState, pos = -1): Uint8Array {
  const keys = state.order.all();
  const body: SnapshotBody = {
    keys,
    metas: keys.map((k) => {
      const m = state.map.get(k)!;
      return [m.version, m.sealId, m.loc, m.len, m.tag];
    }),
    writers: [...state.writers.entries()],
    failure: state.failure,
    liveBytes: state.liveBytes,
    count: state.chain.count,
    head: state.chain.head,
    heads: state.chain.recent(),
    pos,
  };
  const bytes = serialize(body);
  return state.ctx.cipher.secure ? state.ctx.cipher.box('snapshot', bytes, SNAPSHOT_AD) : bytes;
}

/**
 * Restore from a snapshot that travelled through shared memory. Anything
 * wrong (authentication, shape, a chain position behind the one this
 * replica had already reached: a rollback) leaves a state whose every
 * later op fail-stops.
 */
function restore(ctx: StoreContext, bytes: Uint8Array, pos: number): KvState {
  const state = emptyState(ctx);
  try {
    const copy = Buffer.from(bytes); // private copy
    const plain = ctx.cipher.secure ? ctx.cipher.unbox('snapshot', copy, SNAPSHOT_AD) : copy;
    if (plain === null) throw new Error('it failed authentication');
    const body = deserialize(plain) as SnapshotBody;
    const tagLen = ctx.cipher.secure ? TAG_BYTES : 0;
    if (!Number.isSafeInteger(body.count) || body.count < 0 || typeof body.head !== 'string') throw new Error('bad chain position');
    if (body.pos !== pos) throw new Error(`it was taken at log position ${body.pos} but handed over as position ${pos}`);
    if (body.count < ctx.applied.count || (body.count === ctx.applied.count && body.head !== ctx.applied.head)) {
      throw new Error(`it is at chain record ${body.count}, behind (or beside) record ${ctx.applied.count} this replica had already applied: a rollback`);
    }
    const chain = Chain.at(body.count, body.head, body.heads?.counts, body.heads?.heads);
    // Ahead is not enough: it must be ahead on this replica's own chain (a forked provider's state is not).
    const there = chain.headAt(ctx.applied.count);
    if (ctx.applied.count > 0 && there !== undefined && there !== ctx.applied.head) {
      throw new Error(`its chain does not extend the one this replica had applied (their heads at record ${ctx.applied.count} differ): a forked state`);
    }
    body.keys.forEach((k, i) => {
      const [version, sealId, loc, len, tag] = body.metas[i]!;
      if (typeof k !== 'string' || typeof tag !== 'string' || tag.length !== tagLen) throw new Error('bad entry');
      state.map.set(k, { version, sealId, loc, len, tag });
    });
    for (const [w, s] of body.writers) state.writers.set(w, s);
    ctx.applied = { count: body.count, head: body.head };
    // Heads learned for counts this replica now skips over: compare them with the snapshot's (checkLive).
    const f = ctx.fresh;
    if (f !== null) for (const c of f.expected.keys()) if (c <= body.count) f.unchecked.push(c);
    return { ...state, order: SortedKeys.from(body.keys), chain, failure: body.failure, liveBytes: body.liveBytes };
  } catch (e) {
    state.failure = `state-transfer snapshot failed verification: ${e instanceof Error ? e.message : String(e)}`;
    return state;
  }
}

function emptyState(ctx: StoreContext): KvState {
  return { map: new Map(), order: new SortedKeys(), writers: new Map(), chain: new Chain(), failure: null, liveBytes: 0, ctx };
}

// ---- clients ------------------------------------------------------------------------

/**
 * Threads without a replica (NR clients) are served only the `sealed`,
 * `sealedGets` and `sealedScan` reads and `apply` writes; their answers are
 * authenticated under the response key (or sealed under the answer key) and
 * name the request (a random nonce; the writer and sequence). Every
 * other read refuses to encode or decode for a client, so a thread without
 * the key gets nothing readable through a client slot, and no plaintext is
 * ever written into one.
 */
const notForClients = {
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
function sealedScan(s: KvState, req: Buffer): Buffer {
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
function sealedAnswer(s: KvState, req: Buffer): Buffer {
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

function clientWriteCodec(ctx: StoreContext) {
  return {
    /** On the node, answering a client: authenticate, and hand the displaced blocks to the node to reclaim. */
    encode(w: OpWriter, res: ApplyResult): void {
      if (res.freed.length > 0) ctx.onClientFreed?.(res.freed);
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
const sealedRequestCodec = {
  encode: (w: OpWriter, req: Buffer) => w.bytesWithLength(req),
  decode: (r: OpReader): [Buffer] => [readPrivate(r)],
};
const sealedResultCodec = {
  encode: (w: OpWriter, b: Buffer) => w.bytesWithLength(b),
  decode: (r: OpReader): Buffer => readPrivate(r),
};

/**
 * A length-prefixed blob copied out of shared memory into a pooled Buffer
 * (bytesWithLength would make a fresh ArrayBuffer per call). A length past
 * the payload gives an empty blob, which then fails authentication.
 */
function readPrivate(r: OpReader): Buffer {
  const n = r.u32();
  if (n > r.remaining) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(n);
  out.set(r.bytes.subarray(r.pos, r.pos + n));
  r.pos += n;
  return out;
}

/** Build this thread's structure object: the same shape (fingerprint) everywhere, closing over private keys. */
export function kvStructure(ctx: StoreContext) {
  const parser = new RecordParser(ctx.cipher);
  const scratch = new OpWriter(1024);
  return defineStructure({
    name: STRUCTURE_NAME,
    version: 1,
    create: (): KvState => emptyState(ctx),
    reads: {
      get: (s: KvState, key: string): Buffer | undefined => {
        checkLive(s);
        const m = s.map.get(key);
        return m === undefined ? undefined : openValue(s, key, m);
      },
      /** Current version (0 if absent) and value, for compare-and-set by value. */
      entry: (s: KvState, key: string): { version: number; value: Buffer | undefined } => {
        checkLive(s);
        const m = s.map.get(key);
        return m === undefined ? { version: 0, value: undefined } : { version: m.version, value: openValue(s, key, m) };
      },
      version: (s: KvState, key: string): number => {
        checkLive(s);
        return s.map.get(key)?.version ?? 0;
      },
      has: (s: KvState, key: string): boolean => {
        checkLive(s);
        return s.map.has(key);
      },
      size: (s: KvState): number => {
        checkLive(s);
        return s.map.size;
      },
      scan: (s: KvState, start: string | undefined, end: string | undefined, limit: number): KvEntry[] => {
        checkLive(s);
        const out: KvEntry[] = [];
        if (limit <= 0) return out;
        s.order.range(start, end, (k) => {
          const m = s.map.get(k)!;
          out.push({ key: Buffer.from(k, 'latin1'), value: openValue(s, k, m), version: m.version });
          return out.length < limit;
        });
        return out;
      },
      info: (s: KvState): { keys: number; liveBytes: number; failure: string | null; count: number } => ({
        keys: s.map.size,
        liveBytes: s.liveBytes,
        failure: s.failure,
        count: s.chain.count,
      }),
      /** For KV clients: the key's metadata, authenticated for the request's nonce; the client opens the value itself. */
      sealed: (s: KvState, req: Buffer): Buffer => sealedAnswer(s, req),
      /** For KV clients: a range's keys and metadata, sealed for the request's nonce; the client opens the values itself. */
      sealedScan: (s: KvState, req: Buffer): Buffer => sealedScan(s, req),
      /** For KV clients: a window of gets, each key's metadata in the request's order, MAC'd for its nonce (answers.ts). */
      sealedGets: (s: KvState, req: Buffer): Buffer => {
        checkLive(s);
        return answerGets(s.ctx.cipher, (k) => s.map.get(k), s.chain.count, s.chain.head, req);
      },
      /** Compare heads learned from peers with this replica's chain (checkLive); FailStopError on a fork. */
      verify: (s: KvState): void => checkLive(s),
      /** @internal Enclave metadata of a key (tests locate values in the arena with it). */
      meta: (s: KvState, key: string): Meta | undefined => {
        const m = s.map.get(key);
        return m === undefined ? undefined : { ...m };
      },
    },
    writes: { apply },
    codecs: {
      apply: {
        encode: (w: OpWriter, rec: LogRecord) => encodeRecord(ctx.cipher, scratch, w, rec),
        decode: (r: OpReader) => parser.decode(r),
      },
    },
    readCodecs: {
      get: notForClients,
      entry: notForClients,
      version: notForClients,
      has: notForClients,
      size: notForClients,
      scan: notForClients,
      info: notForClients,
      verify: notForClients,
      meta: notForClients,
      sealed: sealedRequestCodec,
      sealedScan: sealedRequestCodec,
      sealedGets: sealedRequestCodec,
    },
    resultCodecs: {
      sealed: sealedResultCodec,
      sealedScan: sealedResultCodec,
      sealedGets: sealedResultCodec,
      // A client decodes the answer into its verified view (ClientWriteAnswer), not the node's ApplyResult.
      apply: clientWriteCodec(ctx) as unknown as ValueCodec<ApplyResult>,
    },
    digest: (s: KvState): string => {
      const parts = s.order.all().map((k) => {
        const m = s.map.get(k)!;
        return `${Buffer.from(k, 'latin1').toString('hex')}:${m.version}:${m.sealId}:${m.loc}:${m.len}:${Buffer.from(m.tag, 'latin1').toString('hex')}`;
      });
      return `${s.map.size}:${s.chain.count}:${Buffer.from(s.chain.head, 'latin1').toString('hex')}:${s.failure ?? ''}:${parts.join(',')}`;
    },
    snapshot,
    restore: (bytes: Uint8Array, pos?: number) => restore(ctx, bytes, pos ?? -1),
  });
}

export type KvStructure = ReturnType<typeof kvStructure>;
export { displayKey };
