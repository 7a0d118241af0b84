/**
 * The secure KV on a real 3-node JetStream cluster (one cluster for the
 * file, started here on free 127.0.0.1 ports): a site (a separate Node
 * process) and its replicas; no key or value in clear in the stream's raw
 * messages or its snapshots; forged, cross-store, replayed, dropped and
 * reordered messages published raw to the stream make every site fail stop
 * with a typed error; a site joins from a snapshot; another store's
 * snapshot is refused. Three sites under a leader kill:
 * cluster-kv-sites.test.ts. Skipped, loudly, without nats-server.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { OpWriter } from '../src/nr/index.js';
import { attachKvSite, ClusterConfigError, createKvSite, createKvStream, type KvSite, type KvSiteHandle, type KvStreamParams, snapshotStreamOf, SnapshotInvalidError, StreamMismatchError, subjectOf } from '../src/cluster/index.js';
import { encodeEnvelope, forEachOp, parseEnvelope } from '../src/cluster/envelope.js';
import { chunkSubjectOf, manifestSubjectOf } from '../src/cluster/defaults.js';
import { encodeManifest, type Manifest, parseManifest, sha256 } from '../src/cluster/snapshot-format.js';
import { encodeSiteState, userWriteOps } from '../src/cluster/site-structure.js';
import { FailStopError, KvConfigError, KvSizeError, KvTypeError, WrongKeyError } from '../src/kv/index.js';
import { streamCipher, recordAd, sealRecord, OP_PUT, type StreamRecord } from '../src/kv/stream-record.js';
import { kvStreamStructureFor } from '../src/kv/stream-structure.js';
import { natsServerPath } from './support/nats-cluster.js';
import { type SiteProcess, useNatsCluster } from './support/cluster-sites.js';
import { found, kvDigests, rawMessages, startKvSite, useJetStream } from './support/cluster-kv.js';

const NATS = natsServerPath();
if (NATS === null) console.warn('SKIPPED: the cluster KV tests need nats-server on PATH (apt-get install nats-server); none found');
const KEY = new Uint8Array(randomBytes(32));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(NATS === null)('secure KV on a 3-node JetStream cluster', () => {
  const f = useNatsCluster('nr-cluster-kv-');
  const nats = useJetStream(f);
  const inProcess: { h: KvSiteHandle; kv: KvSite }[] = [];

  afterAll(async () => {
    for (const s of inProcess) s.kv.detach();
    await Promise.all(inProcess.map((s) => s.h.close()));
  }, 20_000);

  const startKv = (stream: string, store: KvStreamParams, name: string): Promise<SiteProcess> => startKvSite(f, { stream, store, key: KEY, name });
  /** A site in this process with one replica (attached in this thread). */
  const local = async (stream: string, store: KvStreamParams, logBytes?: number): Promise<KvSite> => {
    const h = await createKvSite({ servers: f.nats.urls, stream, key: KEY, store, replicas: 1, readTimeoutMs: 3_000, ...(logBytes ? { logBytes } : {}) });
    const kv = attachKvSite(h.replicaData().data, { key: KEY });
    inProcess.push({ h, kv });
    return kv;
  };
  const digests = kvDigests;

  it('one site: put, get, delete, batch, compare-and-set and scan across its replicas; a wrong key and another store are typed errors at attach', async () => {
    const store = await createKvStream({ servers: f.nats.urls, stream: 'KV1', key: KEY });
    // A wrong key: WrongKeyError before anything starts; another store's parameters: the stream names its store.
    await expect(createKvSite({ servers: f.nats.urls, stream: 'KV1', key: new Uint8Array(32).fill(7), store })).rejects.toBeInstanceOf(WrongKeyError);
    const other = await createKvStream({ servers: f.nats.urls, stream: 'KV1-OTHER', key: KEY });
    await expect(createKvSite({ servers: f.nats.urls, stream: 'KV1', key: KEY, store: other })).rejects.toBeInstanceOf(StreamMismatchError);
    await expect(createKvStream({ servers: f.nats.urls, stream: 'KV1', key: KEY })).rejects.toBeInstanceOf(StreamMismatchError);

    // Bad input on a site's handle: typed, at the call, nothing sent.
    const h = await local('KV1', store);
    await expect(h.put('k', 5 as unknown as string)).rejects.toBeInstanceOf(KvTypeError);
    await expect(h.put('user:\uD800', 'x')).rejects.toBeInstanceOf(KvTypeError);
    await expect(h.put('x'.repeat(2000), 'x')).rejects.toBeInstanceOf(KvSizeError);
    await expect(h.batch([{ type: 'put', key: 'a', value: 'b', version: 3 } as never])).rejects.toBeInstanceOf(KvTypeError);
    await expect(h.scan({ limt: 3 } as never)).rejects.toBeInstanceOf(KvTypeError);
    await expect(h.get('k', { consistency: 'eventual' } as never)).rejects.toBeInstanceOf(ClusterConfigError);
    await expect(h.get('k', { fresh: true } as never)).rejects.toBeInstanceOf(KvTypeError);
    expect(() => attachKvSite(inProcess[0]!.h.replicaData().data, { key: new Uint8Array(32).fill(7) })).toThrow(WrongKeyError);
    expect(() => attachKvSite(inProcess[0]!.h.replicaData().data, { key: KEY, staleMs: 5 } as never)).toThrow(KvConfigError);
    expect(h.stats()).toMatchObject({ recordsWritten: 0, writerSeq: 0 });
    // A site with the smallest local log (batches of at most 3 KiB): puts issued together are combined into
    // records that fit it; a value too large for it alone is ClusterConfigError, nothing stored.
    const small = await local('KV1', store, 16 * 1024);
    const big = await Promise.all(Array.from({ length: 20 }, (_, i) => small.put(`big${i}`, 'x'.repeat(500))));
    expect(new Set(big).size).toBe(20);
    expect(small.stats().recordsWritten).toBeGreaterThanOrEqual(4);
    await expect(small.put('huge', 'x'.repeat(4000))).rejects.toBeInstanceOf(ClusterConfigError);
    expect(await small.get('huge')).toBeUndefined();
    expect(await small.batch(big.map((_, i) => ({ type: 'delete' as const, key: `big${i}` })))).toEqual(big);

    const a = await startKv('KV1', store, 'kv1');
    const v1 = (await a.cmd(0, { op: 'put', key: 'user:1', value: 'alice' })).ok as { version: number };
    expect(v1.version).toBeGreaterThan(0);
    expect((await a.cmd(1, { op: 'get', key: 'user:1' })).ok).toEqual({ value: 'alice' });
    expect((await a.cmd(1, { op: 'cas', key: 'user:1', expected: 'bob', value: 'carol' })).ok).toEqual({ ok: false, version: v1.version, value: 'alice' });
    const cas = (await a.cmd(1, { op: 'cas', key: 'user:1', expected: 'alice', value: 'bob' })).ok as { ok: boolean; version: number };
    expect(cas.ok).toBe(true);
    expect((await a.cmd(0, { op: 'cas', key: 'user:1', expected: v1.version, value: 'eve' })).ok).toEqual({ ok: false, version: cas.version, value: null });
    expect((await a.cmd(0, { op: 'cas', key: 'user:2', expected: null, value: 'dan' })).ok).toMatchObject({ ok: true });
    expect((await a.cmd(0, { op: 'cas', key: 'user:2', expected: null, value: 'dan2' })).ok).toMatchObject({ ok: false, value: 'dan' });
    const b = (await a.cmd(1, { op: 'batch', ops: [{ type: 'put', key: 'user:3', value: 'x' }, { type: 'delete', key: 'user:2' }, { type: 'delete', key: 'nope' }] })).ok as { versions: number[] };
    expect(b.versions).toHaveLength(3);
    expect(b.versions[2]).toBe(0);
    expect((await a.cmd(0, { op: 'delete', key: 'user:3' })).ok).toEqual({ deleted: true });
    expect((await a.cmd(0, { op: 'delete', key: 'user:3' })).ok).toEqual({ deleted: false });
    await a.cmd(1, { op: 'put', key: 'user:4', value: 'y' });
    await a.cmd(1, { op: 'put', key: 'other', value: 'z' });
    expect((await a.cmd(0, { op: 'scan', prefix: 'user:' })).ok).toEqual([
      ['user:1', 'bob', cas.version],
      ['user:4', 'y', expect.any(Number)],
    ]);
    expect((await a.cmd(0, { op: 'size' })).ok).toEqual({ size: 3 });
    // 200 puts, 20 in flight: combined into few records (one in flight per writer), every version distinct.
    expect((await a.cmd(1, { op: 'puts', prefix: 'p', n: 200, inflight: 20 })).ok).toEqual({ n: 200, distinct: 200 });
    const st = (await a.cmd(1, { op: 'stats' })).ok as { recordsWritten: number };
    expect(st.recordsWritten).toBeLessThan(100);
    const d = await digests([a]);
    expect(new Set(d).size, JSON.stringify(d)).toBe(1);
    // Nothing of a key or a value in clear in the stream.
    expect(found(await rawMessages(nats.jsm, 'KV1'), ['user:', 'alice', 'carol', 'other'])).toEqual([]);
  }, 60_000);

  it("a site joins from a snapshot (the stream truncated) and agrees; no key or value in clear in the snapshots; another store's snapshot is refused", async () => {
    const store = await createKvStream({ servers: f.nats.urls, stream: 'KVS', key: KEY, maxMessages: 20 });
    const a = await startKv('KVS', store, 'kvs-a');
    // 30 records (one in flight): the stream keeps 20, a snapshot every 5.
    expect((await a.cmd(0, { op: 'puts', prefix: 'snap-secret-key-', valuePrefix: 'snap-secret-value-', n: 30, inflight: 1 })).ok).toEqual({ n: 30, distinct: 30 });
    expect((await nats.jsm.streams.info('KVS')).state.first_seq).toBeGreaterThan(1);
    const manifest = async (): Promise<Manifest | null> => {
      const m = await nats.jsm.streams.getMessage(snapshotStreamOf('KVS'), { last_by_subj: manifestSubjectOf('KVS') }).catch(() => null);
      return m === null ? null : parseManifest(m.data, { fingerprint: kvStreamStructureFor({ key: KEY, store }).fingerprint, stream: 'KVS' });
    };
    let good: Manifest | null = null;
    for (const deadline = performance.now() + 15_000; (good === null || good.seq < 30) && performance.now() < deadline; ) {
      good = await manifest();
      if (good === null || good.seq < 30) await sleep(100);
    }
    expect(good?.seq).toBeGreaterThanOrEqual(30);
    expect(found(await rawMessages(nats.jsm, snapshotStreamOf('KVS')), ['snap-secret'])).toEqual([]);

    const b = await startKv('KVS', store, 'kvs-b');
    expect(((await b.cmd(0, { op: 'stats' })).ok as { snapshotInstalledAt: number }).snapshotInstalledAt).toBeGreaterThanOrEqual(30);
    expect((await b.cmd(1, { op: 'get', key: 'snap-secret-key-7' })).ok).toEqual({ value: 'snap-secret-value-7' });
    await b.cmd(0, { op: 'put', key: 'joined', value: 'b' });
    expect((await a.cmd(1, { op: 'get', key: 'joined' })).ok).toEqual({ value: 'b' });
    const d = await digests([a, b]);
    expect(new Set(d).size, JSON.stringify(d)).toBe(1);

    // Another store's state (same key, role=admin), under a manifest forged for this stream with a right digest:
    // everything the manifest checks passes; the sealed state does not open under this store's snapshot key.
    const other = await createKvStream({ servers: f.nats.urls, stream: 'KVS-OTHER', key: KEY });
    const otherStructure = kvStreamStructureFor({ key: KEY, store: other });
    const otherState = otherStructure.create();
    const admin = sealRecord(streamCipher(other, KEY), recordAd(other.storeId), { writer: 5, seq: 1, ownAck: 0, knownCount: 0, knownHead: '', cond: null, items: [{ op: OP_PUT, key: 'role', value: Buffer.from('admin') }] });
    expect(otherStructure.writes.record(otherState, admin).failed).toBeNull();
    const g = good!;
    const bytes = encodeSiteState(otherStructure as never, { user: otherState, seq: g.seq + 1, skipped: 0, bytes: 0, staging: null });
    const chunkSeq = (await nats.js.publish(chunkSubjectOf('KVS', 9, g.seq + 1), bytes)).seq;
    await nats.js.publish(manifestSubjectOf('KVS'), encodeManifest({ ...g, site: 9, seq: g.seq + 1, mark: g.mark + 1, size: bytes.length, prev: 0, sha256: sha256(bytes), chunks: [chunkSeq] }));
    const e = await createKvSite({ servers: f.nats.urls, stream: 'KVS', key: KEY, store, replicas: 1 }).then((h) => h.close().then(() => h), (x: unknown) => x);
    expect(e).toBeInstanceOf(SnapshotInvalidError);
    expect((e as SnapshotInvalidError).reason).toMatch(/refused the state.*failed authentication/);
  }, 60_000);

  // Concurrent: each case has its own stream and sites, and most of a case's time is waiting on the cluster.
  describe.concurrent('messages published raw to the stream', () => {
    /** A stream with two sites (in this process, one replica each) that agree on role=user. */
    const setup = async (stream: string) => {
      const store = await createKvStream({ servers: f.nats.urls, stream, key: KEY });
      const structure = kvStreamStructureFor({ key: KEY, store });
      const codecs = userWriteOps(structure as never).map((o) => o.codec);
      const a = await local(stream, store);
      const b = await local(stream, store);
      await a.put('role', 'user');
      expect(await b.getString('role')).toBe('user');
      /** Publish `record` as a well-formed batch of this stream (the fingerprint is public: it is in the stream's description). */
      const publish = async (record: Uint8Array, fingerprint = structure.fingerprint): Promise<void> => {
        await nats.js.publish(subjectOf(stream), encodeEnvelope(new OpWriter(), fingerprint, { site: 1, origin: 2, batch: 3 }, [{ opId: 0, args: [record] }], codecs));
      };
      /** A private replica of the stream (the test holds the key): the state of a writer that had applied it all. */
      const shadow = async () => {
        const st = structure.create();
        for (const m of await rawMessages(nats.jsm, stream)) {
          const head = parseEnvelope(m, structure.fingerprint, 1);
          if (head !== null) forEachOp(m, head.count, (_, r) => expect(structure.writes.record(st, r.bytesWithLength()).failed).toBeNull());
        }
        return st;
      };
      /** An authentic record of `store` by a writer of the test's (the key is needed to make one: a network holding back or reordering a writer's publishes delivers such records). */
      const record = (rec: Partial<StreamRecord> & Pick<StreamRecord, 'writer' | 'seq'>, of = store): Buffer =>
        sealRecord(streamCipher(of, KEY), recordAd(of.storeId), { ownAck: 0, knownCount: 0, knownHead: '', cond: null, items: [{ op: OP_PUT, key: 'role', value: Buffer.from('admin') }], ...rec });
      /** Both sites fail stop: reads and writes throw FailStopError naming the check, and no read returns a value. */
      const bothFailStop = async (why: RegExp): Promise<void> => {
        for (const kv of [a, b]) {
          const e = await kv.getString('role').then((v) => v, (x: unknown) => x);
          expect(e, `a read returned ${String(e)}`).toBeInstanceOf(FailStopError);
          expect((e as Error).message).toMatch(why);
          await expect(kv.put('x', 'y')).rejects.toBeInstanceOf(FailStopError);
          expect(kv.failure()).toMatch(why);
        }
      };
      return { store, structure, a, b, publish, shadow, record, bothFailStop };
    };

    it('a forged record (random bytes in a well-formed batch): every site fails stop', async () => {
      const t = await setup('KVA-FORGED');
      await t.publish(randomBytes(96));
      await t.bothFailStop(/failed authentication/);
    }, 30_000);

    it("another store's record (same key): as it is, not this structure's batch, skipped; wrapped as this stream's batch, every site fails stop", async () => {
      const t = await setup('KVA-CROSS');
      const other = await createKvStream({ servers: f.nats.urls, stream: 'KVA-CROSS-OTHER', key: KEY });
      const foreign = t.record({ writer: 77, seq: 1 }, other);
      await t.publish(foreign, kvStreamStructureFor({ key: KEY, store: other }).fingerprint);
      expect(await t.a.getString('role')).toBe('user');
      expect(await t.b.getString('role')).toBe('user');
      await t.publish(foreign);
      await t.bothFailStop(/failed authentication/);
    }, 30_000);

    it("a site's own message published again (replayed): every site fails stop", async () => {
      const t = await setup('KVA-REPLAY');
      const first = (await rawMessages(nats.jsm, 'KVA-REPLAY')).find((m) => parseEnvelope(m, t.structure.fingerprint, 1) !== null)!;
      await nats.js.publish(subjectOf('KVA-REPLAY'), first);
      await t.bothFailStop(/replayed/);
    }, 30_000);

    it("a writer's record dropped (its next one, written after it had applied it, arrives alone): every site fails stop, the later value is never served", async () => {
      const t = await setup('KVA-DROP');
      await t.publish(t.record({ writer: 91, seq: 2, ownAck: 1, items: [{ op: OP_PUT, key: 'role', value: Buffer.from('root') }] }));
      await t.bothFailStop(/dropped/);
    }, 30_000);

    it('two records reordered (the second written after its writer applied the first): every site fails stop', async () => {
      const t = await setup('KVA-REORDER');
      const st = await t.shadow();
      const before = t.structure.reads.info(st);
      const first = t.record({ writer: 101, seq: 1, knownCount: before.count, knownHead: before.head });
      // The second writer had applied `first`: its known point is one record past it.
      expect(t.structure.writes.record(st, first).failed).toBeNull();
      const after = t.structure.reads.info(st);
      const second = t.record({ writer: 102, seq: 1, knownCount: after.count, knownHead: after.head, items: [{ op: OP_PUT, key: 'role', value: Buffer.from('revoked') }] });
      await t.publish(second);
      await t.publish(first);
      await t.bothFailStop(/reordered/);
    }, 30_000);
  });
});
