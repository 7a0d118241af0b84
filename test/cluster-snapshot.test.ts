/**
 * Cluster snapshots are data from the network: every check a site makes
 * before installing one (snapshot-format.ts), and what installing does to
 * a site's state (site-structure.ts: stage, install). A manifest that is
 * truncated, extended, of another structure or stream, out of range, or
 * whose chunks are on the wrong subject, of the wrong size, or do not
 * match the digest, is SnapshotInvalidError with the check named; an
 * install whose parts do not match changes nothing. No NATS needed.
 */
import { describe, expect, it } from 'vitest';
import { OpWriter } from '../src/nr/index.js';
import { Counter, HashMap } from '../src/nr/structures/index.js';
import { chunkSubjectOf, CLUSTER_LIMITS } from '../src/cluster/defaults.js';
import { encodeEnvelope } from '../src/cluster/envelope.js';
import { SnapshotInvalidError } from '../src/cluster/errors.js';
import { decodeSiteState, encodeSiteState, messageCost, type SiteState, siteStructure, userWriteOps } from '../src/cluster/site-structure.js';
import { assembleSnapshot, encodeManifest, type Manifest, parseManifest, sha256, splitChunks, type StoredChunk } from '../src/cluster/snapshot-format.js';

const wrapped = siteStructure(HashMap);
type W = { [k: string]: (st: SiteState<unknown>, ...a: never[]) => void };
const writes = wrapped.writes as unknown as W;
const apply = (st: SiteState<unknown>, seq: number, msg: Uint8Array): void => (writes.apply as (s: unknown, q: number, m: Uint8Array) => void)(st, seq, msg);
const stage = (st: SiteState<unknown>, seq: number, part: number, b: Uint8Array): void => (writes.stage as (s: unknown, q: number, p: number, b: Uint8Array) => void)(st, seq, part, b);
const install = (st: SiteState<unknown>, seq: number, parts: number, total: number): void => (writes.install as (s: unknown, q: number, p: number, t: number) => void)(st, seq, parts, total);
const digest = (st: SiteState<unknown>): string => wrapped.digest!(st);
const codecs = userWriteOps(HashMap as never).map((o) => o.codec);
const PUT = HashMap.writeNames.indexOf('put');
const STREAM = 'SNAPTEST';
const expectation = { fingerprint: HashMap.fingerprint, stream: STREAM };

/** The summed messageCost of the messages stateAfter applied last. */
let appliedCost = 0;

/** A site state after `n` batches of puts with long values (about 600 KB at n = 30: three chunks). */
function stateAfter(n: number): SiteState<unknown> {
  const st = wrapped.create();
  const w = new OpWriter();
  appliedCost = 0;
  for (let b = 1; b <= n; b++) {
    const ops = Array.from({ length: 100 }, (_, i) => ({ opId: PUT, args: [`k${b}.${i}`, `${'v'.repeat(180)}${b}.${i}`] }));
    const msg = encodeEnvelope(w, HashMap.fingerprint, { site: 1, origin: 2, batch: b }, ops, codecs);
    appliedCost += messageCost(msg.length);
    apply(st, b, msg);
  }
  return st;
}

const site = 0xabc;
const state = stateAfter(30);
const stateCost = appliedCost;
const bytes = encodeSiteState(HashMap as never, state);
const parts = splitChunks(bytes);
const manifest: Manifest = { fingerprint: HashMap.fingerprint, site, seq: 30, mark: 3, size: bytes.length, prev: 0, sha256: sha256(bytes), stream: STREAM, chunks: parts.map((_, i) => 10 + 2 * i) };
const stored = (m = manifest, data = parts): StoredChunk[] => data.map((d) => ({ subject: chunkSubjectOf(STREAM, m.site, m.seq), data: d }));
const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SnapshotInvalidError);
    return (e as SnapshotInvalidError).reason;
  }
  throw new Error('expected SnapshotInvalidError');
};

describe('cluster snapshots', () => {
  it('a state of several chunks round-trips: manifest, chunks, digest, install', () => {
    expect(parts.length).toBe(Math.ceil(bytes.length / CLUSTER_LIMITS.snapshotChunkBytes));
    expect(parts.length).toBeGreaterThanOrEqual(3);
    const m = parseManifest(encodeManifest(manifest), expectation);
    expect(m).toEqual(manifest);
    const back = assembleSnapshot(m, stored(), HashMap);
    expect(Buffer.compare(back, bytes)).toBe(0);
    // Installed on a fresh state in parts of another size (the local log's), it is the original state.
    const st = wrapped.create();
    const size = 100_000;
    const n = Math.ceil(back.length / size);
    for (let i = 0; i < n; i++) stage(st, 30, i, back.slice(i * size, (i + 1) * size));
    install(st, 30, n, back.length);
    expect(st.seq).toBe(30);
    expect(st.staging).toBeNull();
    expect(state.bytes).toBe(stateCost);
    expect(st.bytes).toBe(state.bytes);
    expect(digest(st)).toBe(digest(state));
    expect((st.user as Map<string, string>).get('k30.99')).toBe(`${'v'.repeat(180)}30.99`);
  });

  it('every truncation and a one-byte extension of a manifest is refused', () => {
    const good = encodeManifest(manifest);
    for (let n = 0; n < good.length; n++) expect(reason(() => parseManifest(good.subarray(0, n), expectation)), `truncated to ${n}`).toMatch(/^manifest: /);
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(reason(() => parseManifest(longer, expectation))).toMatch(/bytes, not the/);
  });

  it('a foreign manifest (another structure, another stream) or one out of range is refused with the check named', () => {
    const enc = (o: Partial<Manifest>): Uint8Array => encodeManifest({ ...manifest, ...o });
    expect(reason(() => parseManifest(enc({ fingerprint: Counter.fingerprint }), expectation))).toMatch(/another structure/);
    expect(reason(() => parseManifest(enc({ stream: 'OTHER' }), expectation))).toMatch(/another stream/);
    expect(reason(() => parseManifest(enc({ seq: 0 }), expectation))).toMatch(/not a stream sequence/);
    expect(reason(() => parseManifest(enc({ seq: 1.5 }), expectation))).toMatch(/not a stream sequence/);
    expect(reason(() => parseManifest(enc({ size: CLUSTER_LIMITS.snapshotMaxBytes + 1, chunks: [] }), expectation))).toMatch(/size/);
    expect(reason(() => parseManifest(enc({ size: bytes.length + CLUSTER_LIMITS.snapshotChunkBytes }), expectation))).toMatch(/chunks for/);
    expect(reason(() => parseManifest(enc({ chunks: [10, 10, 11] }), expectation))).toMatch(/not a sequence after/);
    expect(reason(() => parseManifest(enc({ prev: -1 }), expectation))).toMatch(/out of range/);
    const magic = encodeManifest(manifest);
    magic[0]! ^= 1;
    expect(reason(() => parseManifest(magic, expectation))).toMatch(/magic/);
  });

  it('chunks on another subject, of the wrong size, missing, or not matching the digest are refused', () => {
    expect(reason(() => assembleSnapshot(manifest, stored().slice(1), HashMap))).toMatch(/chunks found/);
    const wrongSubject = stored();
    wrongSubject[1] = { subject: chunkSubjectOf(STREAM, site + 1, manifest.seq), data: parts[1]! };
    expect(reason(() => assembleSnapshot(manifest, wrongSubject, HashMap))).toMatch(/is on/);
    const short = stored();
    short[0] = { subject: short[0]!.subject, data: parts[0]!.subarray(1) };
    expect(reason(() => assembleSnapshot(manifest, short, HashMap))).toMatch(/holds/);
    for (const at of [0, 1000, bytes.length - 1]) {
      const flipped = Uint8Array.from(bytes);
      flipped[at]! ^= 0x40;
      expect(reason(() => assembleSnapshot(manifest, stored(manifest, splitChunks(flipped)), HashMap)), `byte ${at}`).toMatch(/SHA-256/);
    }
  });

  it('a state whose digest matches but that does not decode, is at another sequence, or holds a staging is refused', () => {
    const withDigest = (b: Uint8Array, o: Partial<Manifest> = {}): [Manifest, StoredChunk[]] => {
      const m = { ...manifest, size: b.length, sha256: sha256(b), chunks: splitChunks(b).map((_, i) => 10 + i), ...o };
      return [m, stored(m, splitChunks(b))];
    };
    expect(reason(() => assembleSnapshot(...withDigest(new Uint8Array([1, 2, 3, 4])), HashMap))).toMatch(/does not decode|not an object/);
    expect(reason(() => assembleSnapshot(...withDigest(bytes, { seq: 31 }), HashMap))).toMatch(/at sequence 30, the manifest says 31/);
    const staged = encodeSiteState(HashMap as never, { ...stateAfter(1), staging: { seq: 5, parts: [new Uint8Array(3)] } });
    expect(reason(() => assembleSnapshot(...withDigest(staged, { seq: 1 }), HashMap))).toMatch(/being installed/);
    const bad = encodeSiteState(HashMap as never, { ...stateAfter(1), skipped: 7 });
    expect(reason(() => decodeSiteState(HashMap as never, bad, false))).toMatch(/out of range/);
  });

  it('an install that does not match its parts, or is not past the state, changes nothing', () => {
    const small = stateAfter(2);
    const b = encodeSiteState(HashMap as never, small);
    const half = Math.ceil(b.length / 2);
    const target = (): SiteState<unknown> => {
      const st = wrapped.create();
      apply(st, 1, encodeEnvelope(new OpWriter(), HashMap.fingerprint, { site: 1, origin: 2, batch: 1 }, [{ opId: PUT, args: ['x', 'y'] }], codecs));
      return st;
    };
    const cases: [string, (st: SiteState<unknown>) => void][] = [
      ['a part missing', (st) => (stage(st, 2, 0, b.slice(0, half)), install(st, 2, 2, b.length))],
      ['parts out of order', (st) => (stage(st, 2, 1, b.slice(half)), stage(st, 2, 0, b.slice(0, half)), install(st, 2, 2, b.length))],
      ['another sequence', (st) => (stage(st, 2, 0, b.slice(0, half)), stage(st, 2, 1, b.slice(half)), install(st, 3, 2, b.length))],
      ['another total', (st) => (stage(st, 2, 0, b.slice(0, half)), stage(st, 2, 1, b.slice(half)), install(st, 2, 2, b.length + 1))],
      ['not past the state', (st) => (stage(st, 1, 0, b), install(st, 1, 1, b.length))],
    ];
    for (const [name, run] of cases) {
      const st = target();
      const before = digest(st);
      run(st);
      expect(digest(st), name).toBe(before);
      expect(st.seq, name).toBe(1);
      expect(st.staging, name).toBeNull();
    }
    // The matching install takes the state whole, its cost included.
    const st = target();
    stage(st, 2, 0, b.slice(0, half));
    stage(st, 2, 1, b.slice(half));
    install(st, 2, 2, b.length);
    expect(digest(st)).toBe(digest(small));
    expect(st.bytes).toBe(small.bytes);
  });
});
