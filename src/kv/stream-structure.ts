/**
 * The secure KV as a structure replicated on a cluster stream (a site's
 * local log replicates it inside node-replication/cluster's wrapper; see
 * docs/kv.md "On a cluster"). One write op, `record(sealed)`, whose
 * argument is a sealed stream record (stream-record.ts); the state is each
 * replica's private index of keys to (version, value), the writers'
 * sequences and the authenticated chain.
 *
 * Applying a record: open it (AEAD, this store's record sub-key), parse it
 * with bounds checks, then require
 *   1. its writer's known count at most the records applied here, and the
 *      head at that count equal to its known head (when still remembered);
 *   2. its writer sequence not applied before (a replay), at most
 *      STREAM_WRITER_WINDOW past the writer's highest (a writer has at most
 *      that many records in flight, so every record that many below a new
 *      one was applied before it: a hole that old is a dropped record), and
 *      every record of that writer up to the record's own ack applied here
 *      (the writer had applied them: one missing was dropped or moved after);
 * then the chain advances and the condition and the items apply. Anything
 * else fails the state for good: every later read throws FailStopError,
 * every later record is ignored. The failure is part of the state, so
 * every replica of every site that applies the same stream prefix fails at
 * the same record with the same message.
 *
 * Snapshots (the state as the cluster stores it, and as a site's replicas
 * hand it over): `magic ‖ f64 count ‖ head (16)` in clear, then the state
 * sealed under the store's snapshot sub-key with that prefix and the store
 * id in the associated data. A snapshot of another store, or changed, does
 * not open: restore throws.
 *
 * The structure is made per store and key (`kvStreamStructureFor`) in
 * each thread that replicates it; its name carries the store id, so the
 * stream's identity names the store.
 */
import { deserialize, serialize } from 'node:v8';
import { defineStructure, FailStopError, type OpReader, type OpWriter, type Structure } from '../nr/index.js';
import { Chain } from './chain.js';
import type { Cipher } from './crypto.js';
import { KvConfigError } from './errors.js';
import { SortedKeys } from './sorted-keys.js';
import { checkStreamParams, OP_PUT, openRecord, recordAd, streamCipher, type KvStreamParams } from './stream-record.js';

/** Items per record at most: versions are count × 4096 + item index. */
export const STREAM_MAX_ITEMS = 4096;
/**
 * Records one writer has in flight at most. Two of them may reach the stream
 * in either order (a retried publish), so a writer's sequences may arrive
 * with holes, each filled at most once, and none older than this window.
 */
export const STREAM_WRITER_WINDOW = 8;

/** A writer's sequences applied: the highest, and the ones below it not (yet) applied. */
export interface WriterMark {
  last: number;
  holes: number[];
}

export interface StreamEntry {
  readonly version: number;
  readonly value: Buffer;
}

export interface KvStreamState {
  readonly index: Map<string, StreamEntry>;
  readonly keys: SortedKeys;
  /** Sequences applied per writer id. */
  readonly writers: Map<number, WriterMark>;
  chain: Chain;
  /** Why the state failed verification, or null. */
  failed: string | null;
}

/** What applying one record returns (to its issuer, through the cluster's result hand-over). */
export interface KvRecordResult {
  readonly writer: number;
  readonly seq: number;
  /** The condition held (always true without one); false: nothing applied. */
  readonly ok: boolean;
  /** Per item: a put's new version, a delete's previous version (0: was absent); empty when !ok. */
  readonly versions: number[];
  /** The condition key's version when the condition failed (0: absent). */
  readonly current: number;
  /** Set when this record (or an earlier one) failed the state. */
  readonly failed: string | null;
}

export interface KvStreamInfo {
  readonly count: number;
  readonly head: string;
  readonly size: number;
}

const SNAP_MAGIC = 0x31534b4e; // 'NKS1'
const SNAP_PREFIX = 4 + 8 + 16;
const SNAP_AD_LABEL = Buffer.from('nr-kv-stream/1 snapshot\0');

function fail(st: KvStreamState, why: string): KvRecordResult {
  st.failed ??= why;
  return { writer: 0, seq: 0, ok: false, versions: [], current: 0, failed: st.failed };
}

function applyRecord(cipher: Cipher, ad: Uint8Array, st: KvStreamState, sealed: Uint8Array): KvRecordResult {
  if (st.failed !== null) return fail(st, st.failed);
  try {
    const opened = openRecord(cipher, ad, sealed);
    if (typeof opened === 'string') return fail(st, opened);
    const { rec, auth } = opened;
    const chain = st.chain;
    if (rec.knownCount > chain.count) return fail(st, `a record whose writer had applied ${rec.knownCount} records arrived after ${chain.count} (reordered, or records before it dropped)`);
    const known = chain.headAt(rec.knownCount);
    if (known !== undefined && known !== rec.knownHead) return fail(st, `a record's writer had another chain at ${rec.knownCount} (the stream was forked, reordered or spliced)`);
    const mark = st.writers.get(rec.writer) ?? { last: 0, holes: [] };
    // (Messages built only on failure: number-to-string conversions cost more than the rest of the check.)
    const w = (): string => `a record of writer ${rec.writer} with sequence ${rec.seq}`;
    if (rec.seq <= mark.last && !mark.holes.includes(rec.seq)) return fail(st, `${w()}, applied before (replayed)`);
    if (rec.seq > mark.last + STREAM_WRITER_WINDOW) return fail(st, `${w()} after ${mark.last}, more than ${STREAM_WRITER_WINDOW} past it (records dropped)`);
    const old = mark.holes.length === 0 ? undefined : mark.holes.find((h) => h <= rec.seq - STREAM_WRITER_WINDOW || h <= rec.ownAck);
    if (old !== undefined || rec.ownAck > mark.last) {
      return fail(st, `${w()}: its record ${old ?? mark.last + 1} is not here, yet its writer had applied it${old !== undefined && old > rec.ownAck ? ' before this one was sent' : ''} (dropped, or moved after)`);
    }
    if (rec.items.length > STREAM_MAX_ITEMS || (rec.items.length === 0 && rec.cond === null)) return fail(st, 'a record has no items or too many');
    if (rec.seq > mark.last) {
      for (let h = mark.last + 1; h < rec.seq; h++) mark.holes.push(h);
      mark.last = rec.seq;
    } else mark.holes.splice(mark.holes.indexOf(rec.seq), 1);
    st.writers.set(rec.writer, mark);
    chain.advance(cipher, auth);
    const base = chain.count * STREAM_MAX_ITEMS;
    if (rec.cond !== null) {
      const current = st.index.get(rec.cond.key)?.version ?? 0;
      if (current !== rec.cond.version) return { writer: rec.writer, seq: rec.seq, ok: false, versions: [], current, failed: null };
    }
    const versions: number[] = [];
    rec.items.forEach((it, i) => {
      const had = st.index.get(it.key);
      if (it.op === OP_PUT) {
        const version = base + i;
        if (had === undefined) st.keys.insert(it.key);
        // A private copy: the record's bytes are a view of a buffer apply does not own.
        st.index.set(it.key, { version, value: Buffer.from(it.value) });
        versions.push(version);
      } else {
        if (had !== undefined) {
          st.index.delete(it.key);
          st.keys.remove(it.key);
        }
        versions.push(had?.version ?? 0);
      }
    });
    return { writer: rec.writer, seq: rec.seq, ok: true, versions, current: 0, failed: null };
  } catch (e) {
    // Any exception while applying fails the state (never swallowed): alike on every replica, as the bytes are.
    return fail(st, `applying a record threw: ${(e as Error)?.message ?? String(e)}`);
  }
}

function live(st: KvStreamState): KvStreamState {
  if (st.failed !== null) throw new FailStopError(`the KV stream failed verification: ${st.failed}`);
  return st;
}

function emptyState(): KvStreamState {
  return { index: new Map(), keys: new SortedKeys(), writers: new Map(), chain: new Chain(), failed: null };
}

function snapshotAd(storeId: Uint8Array, prefix: Uint8Array): Buffer {
  return Buffer.concat([SNAP_AD_LABEL, Buffer.from(storeId), prefix]);
}

function sealState(cipher: Cipher, storeId: Uint8Array, st: KvStreamState): Uint8Array {
  const prefix = Buffer.alloc(SNAP_PREFIX);
  prefix.writeUInt32LE(SNAP_MAGIC, 0);
  prefix.writeDoubleLE(st.chain.count, 4);
  if (st.chain.head.length === 16) prefix.write(st.chain.head, 12, 'latin1');
  const entries: [string, number, Buffer][] = [];
  for (const k of st.keys.all()) {
    const e = st.index.get(k)!;
    entries.push([k, e.version, e.value]);
  }
  const writers = [...st.writers].map(([id, m]) => [id, m.last, m.holes]);
  const body = serialize({ entries, writers, recent: st.chain.recent(), failed: st.failed });
  const boxed = cipher.box('snapshot', body, snapshotAd(storeId, prefix));
  return Buffer.concat([prefix, boxed]);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Open a snapshot of this store; throws (a plain Error naming the check) if it does not open or its contents are out of shape. */
function openState(cipher: Cipher, storeId: Uint8Array, bytes: Uint8Array): KvStreamState {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < SNAP_PREFIX || b.readUInt32LE(0) !== SNAP_MAGIC) throw new Error('not a KV stream snapshot');
  const count = b.readDoubleLE(4);
  if (!isCount(count)) throw new Error('a KV stream snapshot with a bad count');
  const head = count === 0 ? '' : b.toString('latin1', 12, 28);
  const body = cipher.unbox('snapshot', Buffer.from(b.subarray(SNAP_PREFIX)), snapshotAd(storeId, b.subarray(0, SNAP_PREFIX)));
  if (body === null) throw new Error('the KV stream snapshot failed authentication (changed, or of another store)');
  const o = deserialize(body) as { entries?: unknown; writers?: unknown; recent?: { counts?: unknown; heads?: unknown }; failed?: unknown };
  if (!Array.isArray(o.entries) || !Array.isArray(o.writers) || o.recent === undefined || (o.failed !== null && typeof o.failed !== 'string')) throw new Error('a KV stream snapshot out of shape');
  const st = emptyState();
  st.chain = Chain.at(count, head, o.recent.counts as number[], o.recent.heads as string[]);
  const limit = (count + 1) * STREAM_MAX_ITEMS;
  const sorted: string[] = [];
  for (const e of o.entries as unknown[]) {
    const [k, version, value] = e as [unknown, unknown, unknown];
    if (typeof k !== 'string' || !isCount(version) || version >= limit || !(value instanceof Uint8Array) || (sorted.length > 0 && !(sorted[sorted.length - 1]! < k))) throw new Error('a KV stream snapshot entry out of shape');
    st.index.set(k, { version, value: Buffer.from(value) });
    sorted.push(k);
  }
  for (const w of o.writers as unknown[]) {
    const [id, last, holes] = w as [unknown, unknown, unknown];
    if (!isCount(id) || !isCount(last) || st.writers.has(id) || !Array.isArray(holes) || holes.length >= STREAM_WRITER_WINDOW) throw new Error('a KV stream snapshot writer out of shape');
    if (!holes.every((h, i) => isCount(h) && h > 0 && h < last && h > last - STREAM_WRITER_WINDOW && (i === 0 || h > holes[i - 1]))) throw new Error('a KV stream snapshot writer out of shape');
    st.writers.set(id, { last, holes: holes as number[] });
  }
  return { ...st, keys: SortedKeys.from(sorted), failed: o.failed as string | null };
}

const recordCodec = {
  encode(w: OpWriter, sealed: Uint8Array): void {
    w.bytesWithLength(sealed);
  },
  decode(r: OpReader): [Uint8Array] {
    return [r.bytesWithLength()];
  },
};

export type KvStreamReads = {
  entry: (st: KvStreamState, key: string) => StreamEntry | undefined;
  scan: (st: KvStreamState, start: string | undefined, end: string | undefined, limit: number) => [string, StreamEntry][];
  info: (st: KvStreamState) => KvStreamInfo;
  /** Every record of `writer` up to this sequence is applied (what its next record's own ack says). */
  writerAck: (st: KvStreamState, writer: number) => number;
  /** Whether `writer`'s record `seq` is applied. */
  writerApplied: (st: KvStreamState, writer: number, seq: number) => boolean;
  failure: (st: KvStreamState) => string | null;
};
export type KvStreamWrites = { record: (st: KvStreamState, sealed: Uint8Array) => KvRecordResult };
export type KvStreamStructure = Structure<KvStreamState, KvStreamReads, KvStreamWrites>;

/** What a thread needs to build the structure: the key and the store's parameters (private: never in shared memory). */
export interface KvStreamSetup {
  readonly key: Uint8Array;
  readonly store: KvStreamParams;
}

/** The structure of one store in this thread (derives the store's sub-keys; WrongKeyError on a wrong key). */
export function kvStreamStructureFor(setup: KvStreamSetup): KvStreamStructure {
  if (setup === null || typeof setup !== 'object') throw new KvConfigError('kvStreamStructureFor needs { key, store }');
  const store = checkStreamParams(setup.store);
  const cipher = streamCipher(store, setup.key);
  const ad = recordAd(store.storeId);
  const storeId = store.storeId;
  const structure = defineStructure({
    // The store id in the name: the stream's identity (its description) names the store, so a site given another
    // store's parameters is refused at attach (StreamMismatchError), before any record is read.
    name: `nr-kv-stream:${Buffer.from(storeId).toString('hex')}`,
    version: 1,
    create: emptyState,
    reads: {
      entry: (st: KvStreamState, key: string): StreamEntry | undefined => live(st).index.get(key),
      scan: (st: KvStreamState, start: string | undefined, end: string | undefined, limit: number): [string, StreamEntry][] => {
        const out: [string, StreamEntry][] = [];
        if (limit <= 0) return out;
        live(st).keys.range(start, end, (k) => {
          out.push([k, st.index.get(k)!]);
          return out.length < limit;
        });
        return out;
      },
      info: (st: KvStreamState): KvStreamInfo => ({ count: live(st).chain.count, head: st.chain.head, size: st.index.size }),
      writerAck: (st: KvStreamState, writer: number): number => {
        const m = live(st).writers.get(writer);
        return m === undefined ? 0 : m.holes.length > 0 ? Math.min(...m.holes) - 1 : m.last;
      },
      writerApplied: (st: KvStreamState, writer: number, seq: number): boolean => {
        const m = live(st).writers.get(writer);
        return m !== undefined && seq <= m.last && !m.holes.includes(seq);
      },
      failure: (st: KvStreamState): string | null => st.failed,
    },
    writes: {
      record: (st: KvStreamState, sealed: Uint8Array): KvRecordResult => applyRecord(cipher, ad, st, sealed),
    },
    codecs: { record: recordCodec },
    digest: (st) => `${st.chain.count}:${Buffer.from(st.chain.head, 'latin1').toString('hex')}:${st.index.size}:${st.failed ?? ''}`,
    snapshot: (st) => sealState(cipher, storeId, st),
    restore: (bytes) => openState(cipher, storeId, bytes),
  });
  ciphers.set(structure, cipher);
  return structure;
}

/** Each structure's cipher: its thread seals records with it, and zeroes it when done (structureCipher). */
const ciphers = new WeakMap<object, Cipher>();

/** The cipher a structure of kvStreamStructureFor applies with (the same sub-keys seal this thread's records). */
export function structureCipher(structure: KvStreamStructure): Cipher {
  const c = ciphers.get(structure);
  if (c === undefined) throw new KvConfigError('not a structure of kvStreamStructureFor');
  return c;
}
