/**
 * The bytes of a stored cluster snapshot: the state of a site's structure
 * at one stream sequence (site-structure.ts encodes it), cut into chunks,
 * and a manifest that names them. Both live in the snapshot stream
 * (snapshots.ts). The manifest, little-endian:
 *
 * | offset | bytes | field |
 * |---|---|---|
 * | 0 | 4 | magic `NRS1` (0x3153524e) |
 * | 4 | 4 | the user structure's fingerprint |
 * | 8 | 4 | the site that wrote it |
 * | 12 | 4 | chunk count n (= ceil(size / snapshotChunkBytes)) |
 * | 16 | 8 | f64: the stream sequence the state reflects (≥ 1) |
 * | 24 | 8 | f64: its snapshot mark (the schedule's count; de-duplicates writers) |
 * | 32 | 8 | f64: size of the state in bytes (1 .. snapshotMaxBytes) |
 * | 40 | 8 | f64: the snapshot stream's sequence of the previous manifest its writer saw (0: none) |
 * | 48 | 32 | SHA-256 of the state bytes |
 * | 80 | 2 | u16 L: length of the log stream's name |
 * | 82 | L | the log stream's name (UTF-8) |
 * | 82 + L | 8 n | f64 each: the snapshot stream's sequences of the chunks, increasing |
 *
 * Chunk i holds state bytes [i × snapshotChunkBytes, …), each full but the
 * last, on the subject `chunkSubjectOf(stream, site, seq)`.
 *
 * Everything read back is data from the network: `parseManifest` and
 * `assembleSnapshot` check every field, size, subject and the digest, and
 * decode the state, before a site installs anything; a failure is
 * SnapshotInvalidError.
 */
import { createHash } from 'node:crypto';
import type { OpTable, Structure } from '../nr/index.js';
import { chunkSubjectOf, CLUSTER_LIMITS } from './defaults.js';
import { SnapshotInvalidError } from './errors.js';
import { decodeSiteState, type SiteState } from './site-structure.js';

export const MANIFEST_MAGIC = 0x3153524e;
const FIXED_BYTES = 82;
const DIGEST_AT = 48;

export interface Manifest {
  readonly fingerprint: number;
  readonly site: number;
  readonly seq: number;
  readonly mark: number;
  readonly size: number;
  readonly prev: number;
  readonly sha256: Uint8Array;
  readonly stream: string;
  readonly chunks: readonly number[];
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

export function chunkCount(size: number): number {
  return Math.ceil(size / CLUSTER_LIMITS.snapshotChunkBytes);
}

/** The state bytes cut into stored chunks (views, no copy). */
export function splitChunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += CLUSTER_LIMITS.snapshotChunkBytes) out.push(bytes.subarray(at, Math.min(bytes.length, at + CLUSTER_LIMITS.snapshotChunkBytes)));
  return out;
}

export function encodeManifest(m: Manifest): Uint8Array {
  const name = Buffer.from(m.stream, 'utf8');
  const b = new Uint8Array(FIXED_BYTES + name.length + 8 * m.chunks.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, MANIFEST_MAGIC, true);
  v.setUint32(4, m.fingerprint >>> 0, true);
  v.setUint32(8, m.site >>> 0, true);
  v.setUint32(12, m.chunks.length, true);
  v.setFloat64(16, m.seq, true);
  v.setFloat64(24, m.mark, true);
  v.setFloat64(32, m.size, true);
  v.setFloat64(40, m.prev, true);
  b.set(m.sha256, DIGEST_AT);
  v.setUint16(80, name.length, true);
  b.set(name, FIXED_BYTES);
  m.chunks.forEach((seq, i) => v.setFloat64(FIXED_BYTES + name.length + 8 * i, seq, true));
  return b;
}

const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** What a manifest must match: this site's structure and stream. */
export interface SnapshotExpectation {
  readonly fingerprint: number;
  readonly stream: string;
}

/** Parse and check a manifest; SnapshotInvalidError names the first check that fails. */
export function parseManifest(bytes: Uint8Array, expect: SnapshotExpectation): Manifest {
  const bad = (why: string): never => {
    throw new SnapshotInvalidError(`manifest: ${why}`);
  };
  if (bytes.length < FIXED_BYTES) bad(`${bytes.length} bytes, shorter than its header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== MANIFEST_MAGIC) bad('wrong magic');
  const fingerprint = v.getUint32(4, true);
  if (fingerprint !== expect.fingerprint >>> 0) bad(`of another structure (fingerprint ${fingerprint.toString(16)}, not ${(expect.fingerprint >>> 0).toString(16)})`);
  const n = v.getUint32(12, true);
  const nameLength = v.getUint16(80, true);
  if (bytes.length !== FIXED_BYTES + nameLength + 8 * n) bad(`${bytes.length} bytes, not the ${FIXED_BYTES + nameLength + 8 * n} its counts say`);
  const stream = Buffer.from(bytes.buffer, bytes.byteOffset + FIXED_BYTES, nameLength).toString('utf8');
  if (stream !== expect.stream) bad(`of another stream ('${stream}', not '${expect.stream}')`);
  const seq = v.getFloat64(16, true);
  const mark = v.getFloat64(24, true);
  const size = v.getFloat64(32, true);
  const prev = v.getFloat64(40, true);
  if (!isCount(seq) || seq < 1) bad(`sequence ${seq} is not a stream sequence`);
  if (!isCount(mark) || !isCount(prev)) bad('mark or previous manifest out of range');
  if (!isCount(size) || size < 1 || size > CLUSTER_LIMITS.snapshotMaxBytes) bad(`size ${size} outside 1..${CLUSTER_LIMITS.snapshotMaxBytes}`);
  if (n !== chunkCount(size)) bad(`${n} chunks for ${size} bytes`);
  const chunks: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = v.getFloat64(FIXED_BYTES + nameLength + 8 * i, true);
    if (!isCount(c) || c < 1 || (i > 0 && c <= chunks[i - 1]!)) bad(`chunk ${i} at ${c} is not a sequence after the one before`);
    chunks.push(c);
  }
  // The structure's own (signed) fingerprint, which it equals; a copy of the digest (a Buffer's slice would be a view).
  return { fingerprint: expect.fingerprint, site: v.getUint32(8, true), seq, mark, size, prev, sha256: Uint8Array.prototype.slice.call(bytes, DIGEST_AT, DIGEST_AT + 32), stream, chunks };
}

/** One chunk as the store returned it. */
export interface StoredChunk {
  readonly subject: string;
  readonly data: Uint8Array;
}

/**
 * The state bytes from a manifest's chunks, checked: each on its subject
 * and of its size, the whole matching the digest, decoding to a state at the
 * manifest's sequence. The decoded state is dropped: this is the trial
 * before the bytes go to the local log.
 */
export function assembleSnapshot<S, R extends OpTable<S>, W extends OpTable<S>>(m: Manifest, chunks: readonly StoredChunk[], user: Structure<S, R, W>): Uint8Array {
  const bad = (why: string): never => {
    throw new SnapshotInvalidError(why);
  };
  if (chunks.length !== m.chunks.length) bad(`${chunks.length} chunks found, the manifest names ${m.chunks.length}`);
  const subject = chunkSubjectOf(m.stream, m.site, m.seq);
  const bytes = new Uint8Array(m.size);
  let at = 0;
  chunks.forEach((c, i) => {
    const want = Math.min(CLUSTER_LIMITS.snapshotChunkBytes, m.size - at);
    if (c.subject !== subject) bad(`chunk ${i} is on '${c.subject}', not '${subject}'`);
    if (c.data.length !== want) bad(`chunk ${i} holds ${c.data.length} bytes, not ${want}`);
    bytes.set(c.data, at);
    at += want;
  });
  if (Buffer.compare(sha256(bytes), m.sha256) !== 0) bad('the state does not match its SHA-256');
  const st: SiteState<unknown> = decodeSiteState(user as unknown as Structure<unknown, OpTable<unknown>, OpTable<unknown>>, bytes, false);
  if (st.seq !== m.seq) bad(`the state is at sequence ${st.seq}, the manifest says ${m.seq}`);
  return bytes;
}
