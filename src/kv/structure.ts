/**
 * The replicated structure: each replica's private "enclave" index and the
 * one write op that changes it.
 *
 * Every write (put, delete, compare-and-set, batch) is one log record:
 *
 *   u8 format=1  u8 cond (0 none, 1 key's version must equal condVersion)  u16 items
 *   f64 writer id  f64 writer sequence
 *   [cond: f64 condVersion, u16 key length, key bytes]
 *   items: u8 op (1 put, 2 delete), u16 key length, key bytes,
 *          put: f64 version, u32 arena offset, u32 value length, tag (16, encrypted stores only)
 *   MAC (16, encrypted stores only): keyed BLAKE2b over everything before it
 *
 * The record carries metadata only; the ciphertext is already in the arena.
 * A replica decoding a record copies it to private memory, checks the MAC,
 * parses with bounds checks, and checks that the writer's sequence number
 * grew (replays and reorders of a writer's records fail). Any failure
 * fail-stops the replica: the failure is recorded in its state (the same on
 * every replica that sees the same bytes) and every later op throws
 * IntegrityError. Applies never read the arena, so they are deterministic
 * whatever happens to it; gets verify what they read.
 */
import { serialize, deserialize } from 'node:v8';
import { defineStructure, type OpReader, type OpWriter } from '../nr/index.js';
import { Arena, blockBytesFor } from './arena.js';
import { type Cipher, displayKey, MAC_BYTES, TAG_BYTES } from './crypto.js';
import { IntegrityError } from './errors.js';
import { SortedKeys } from './sorted-keys.js';

export const PUT = 1;
export const DELETE = 2;

export interface LogItem {
  op: number;
  key: string;
  version: number;
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
}

/** Enclave metadata of one key; replaced, never mutated, on overwrite. */
export interface Meta {
  readonly version: number;
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
  failure: string | null;
  /** Sum of stored bytes of live values. */
  liveBytes: number;
  readonly ctx: StoreContext;
}

/** What a replica's structure closes over: private keys and the shared arena. */
export interface StoreContext {
  readonly cipher: Cipher;
  readonly arena: Arena;
}

export const STRUCTURE_NAME = 'nr.kv';
const FORMAT = 1;

function failStop(state: KvState, reason: string): never {
  state.failure = reason;
  throw new IntegrityError(`replica fail-stopped: ${reason}`, undefined, true);
}

function checkLive(state: KvState): void {
  if (state.failure !== null) throw new IntegrityError(`replica fail-stopped: ${state.failure}`, undefined, true);
}

function apply(state: KvState, rec: LogRecord): ApplyResult {
  checkLive(state);
  if (rec.bad !== null) failStop(state, rec.bad);
  const last = state.writers.get(rec.writer) ?? 0;
  if (!(rec.seq > last)) failStop(state, `log record of writer ${rec.writer} replayed or reordered (sequence ${rec.seq} after ${last})`);
  state.writers.set(rec.writer, rec.seq);
  const res: ApplyResult = { ok: true, current: 0, freed: [], prev: [] };
  if (rec.cond === 1) {
    const cur = state.map.get(rec.condKey)?.version ?? 0;
    if (cur !== rec.condVersion) {
      res.ok = false;
      res.current = cur;
      return res;
    }
  }
  const cipher = state.ctx.cipher;
  for (const it of rec.items) {
    const prev = state.map.get(it.key);
    res.prev.push(prev ?? null);
    if (prev !== undefined) {
      const stored = cipher.storedBytes(prev.len);
      res.freed.push(prev.loc, stored);
      state.liveBytes -= blockBytesFor(stored);
    }
    if (it.op === PUT) {
      state.map.set(it.key, { version: it.version, loc: it.loc, len: it.len, tag: it.tag });
      if (prev === undefined) state.order.insert(it.key);
      state.liveBytes += blockBytesFor(cipher.storedBytes(it.len));
    } else if (prev !== undefined) {
      state.map.delete(it.key);
      state.order.remove(it.key);
    }
  }
  return res;
}

function openValue(state: KvState, key: string, m: Meta): Buffer {
  return state.ctx.cipher.open(key, m.version, m.tag, state.ctx.arena.bytes, m.loc, m.len);
}

// ---- codec -----------------------------------------------------------------

function writeKey(w: OpWriter, key: string): void {
  w.u8(key.length & 0xff);
  w.u8(key.length >>> 8);
  for (let i = 0; i < key.length; i++) w.u8(key.charCodeAt(i));
}

/** Parses a private copy of a record with bounds checks; never throws. */
class RecordParser {
  private buf = Buffer.alloc(1024);
  private pos = 0;
  private end = 0;

  constructor(private readonly cipher: Cipher) {}

  decode(r: OpReader): [LogRecord] {
    const n = r.remaining;
    if (this.buf.length < n) this.buf = Buffer.alloc(Math.max(n, this.buf.length * 2));
    this.buf.set(r.bytes.subarray(r.pos, r.pos + n));
    r.pos += n;
    const rec: LogRecord = { fromLog: true, bad: null, writer: 0, seq: 0, cond: 0, condKey: '', condVersion: 0, items: [] };
    this.pos = 0;
    this.end = n;
    if (this.cipher.secure) {
      if (n < MAC_BYTES || !this.cipher.macOk(this.buf.subarray(0, n - MAC_BYTES), this.buf.subarray(n - MAC_BYTES, n))) {
        rec.bad = 'log record failed MAC verification';
        return [rec];
      }
      this.end = n - MAC_BYTES;
    }
    try {
      if (this.u8() !== FORMAT) throw new RangeError('format');
      rec.cond = this.u8();
      const count = this.u16();
      rec.writer = this.f64();
      rec.seq = this.f64();
      if (rec.cond === 1) {
        rec.condVersion = this.f64();
        rec.condKey = this.key();
      } else if (rec.cond !== 0) throw new RangeError('cond');
      for (let i = 0; i < count; i++) {
        const op = this.u8();
        const key = this.key();
        if (op === PUT) {
          const version = this.f64();
          const loc = this.u32();
          const len = this.u32();
          const tag = this.cipher.secure ? this.text(TAG_BYTES) : '';
          rec.items.push({ op, key, version, loc, len, tag });
        } else if (op === DELETE) {
          rec.items.push({ op, key, version: 0, loc: 0, len: 0, tag: '' });
        } else throw new RangeError('op');
      }
      if (this.pos !== this.end) throw new RangeError('trailing bytes');
    } catch {
      rec.bad = 'malformed log record';
      rec.items = [];
    }
    return [rec];
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
    return this.buf.toString('latin1', at, at + n); // a copy: the parse buffer is reused
  }
}


function encodeRecord(cipher: Cipher, w: OpWriter, rec: LogRecord): void {
  const start = w.pos;
  w.u8(FORMAT);
  w.u8(rec.cond);
  w.u8(rec.items.length & 0xff);
  w.u8(rec.items.length >>> 8);
  w.f64(rec.writer);
  w.f64(rec.seq);
  if (rec.cond === 1) {
    w.f64(rec.condVersion);
    writeKey(w, rec.condKey);
  }
  for (const it of rec.items) {
    w.u8(it.op);
    writeKey(w, it.key);
    if (it.op === PUT) {
      w.f64(it.version);
      w.u32(it.loc);
      w.u32(it.len);
      if (cipher.secure) for (let i = 0; i < TAG_BYTES; i++) w.u8(it.tag.charCodeAt(i));
    }
  }
  if (cipher.secure) {
    const body = w.pos;
    for (let i = 0; i < MAC_BYTES; i++) w.u8(0);
    cipher.macInto(w.bytes.subarray(start, body), w.bytes, body);
  }
}

// ---- snapshots ----------------------------------------------------------------

interface SnapshotBody {
  keys: string[];
  metas: [number, number, number, string][];
  writers: [number, number][];
  failure: string | null;
  liveBytes: number;
}

function snapshot(state: KvState): Uint8Array {
  const keys = state.order.all();
  const body: SnapshotBody = {
    keys,
    metas: keys.map((k) => {
      const m = state.map.get(k)!;
      return [m.version, m.loc, m.len, m.tag];
    }),
    writers: [...state.writers.entries()],
    failure: state.failure,
    liveBytes: state.liveBytes,
  };
  const bytes = serialize(body);
  if (!state.ctx.cipher.secure) return bytes;
  const out = new Uint8Array(bytes.length + MAC_BYTES);
  out.set(bytes);
  state.ctx.cipher.macInto(bytes, out, bytes.length);
  return out;
}

function restore(ctx: StoreContext, bytes: Uint8Array): KvState {
  const state = emptyState(ctx);
  let body: SnapshotBody;
  try {
    // The snapshot travelled through shared memory: verify a private copy.
    const copy = Buffer.from(bytes);
    let n = copy.length;
    if (ctx.cipher.secure) {
      n -= MAC_BYTES;
      if (n < 0 || !ctx.cipher.macOk(copy.subarray(0, n), copy.subarray(n))) throw new Error('mac');
    }
    body = deserialize(copy.subarray(0, n)) as SnapshotBody;
    body.keys.forEach((k, i) => {
      const [version, loc, len, tag] = body.metas[i]!;
      if (typeof tag !== 'string' || tag.length !== (ctx.cipher.secure ? TAG_BYTES : 0)) throw new Error('tag');
      state.map.set(k, { version, loc, len, tag });
    });
    state.writers.clear();
    for (const [w, s] of body.writers) state.writers.set(w, s);
    return {
      ...state,
      order: SortedKeys.from(body.keys),
      failure: body.failure,
      liveBytes: body.liveBytes,
    };
  } catch {
    state.failure = 'state-transfer snapshot failed verification';
    return state;
  }
}

function emptyState(ctx: StoreContext): KvState {
  return { map: new Map(), order: new SortedKeys(), writers: new Map(), failure: null, liveBytes: 0, ctx };
}

// ---- the structure ---------------------------------------------------------------

/** Build this thread's structure object: the same shape (fingerprint) everywhere, closing over private keys. */
export function kvStructure(ctx: StoreContext) {
  const parser = new RecordParser(ctx.cipher);
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
      info: (s: KvState): { keys: number; liveBytes: number; failure: string | null } => ({
        keys: s.map.size,
        liveBytes: s.liveBytes,
        failure: s.failure,
      }),
      /** @internal Enclave metadata of a key (tests locate values in the arena with it). */
      meta: (s: KvState, key: string): Meta | undefined => {
        const m = s.map.get(key);
        return m === undefined ? undefined : { ...m };
      },
    },
    writes: { apply },
    codecs: {
      apply: {
        encode: (w: OpWriter, rec: LogRecord) => encodeRecord(ctx.cipher, w, rec),
        decode: (r: OpReader) => parser.decode(r),
      },
    },
    digest: (s: KvState): string => {
      const parts = s.order.all().map((k) => {
        const m = s.map.get(k)!;
        return `${Buffer.from(k, 'latin1').toString('hex')}:${m.version}:${m.loc}:${m.len}:${Buffer.from(m.tag, 'latin1').toString('hex')}`;
      });
      return `${s.map.size}:${s.failure ?? ''}:${parts.join(',')}`;
    },
    snapshot,
    restore: (bytes: Uint8Array) => restore(ctx, bytes),
  });
}

export type KvStructure = ReturnType<typeof kvStructure>;
export { displayKey };
