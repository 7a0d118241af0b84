/**
 * The secure KV on a real 3-node JetStream cluster (one cluster for the
 * file, started here on free 127.0.0.1 ports): sites as separate Node
 * processes with compare-and-set; no key or value in clear in the stream's
 * raw messages or its snapshots; forged, cross-store, replayed, dropped and
 * reordered messages published raw to the stream make every site fail stop
 * with a typed error; a site joins from a snapshot; another store's
 * snapshot is refused. Skipped, loudly, without nats-server.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { OpWriter } from '../src/nr/index.js';
import { attachKvSite, createKvSite, createKvStream, type KvSite, type KvSiteHandle, type KvStreamParams, snapshotStreamOf, StreamMismatchError, subjectOf } from '../src/cluster/index.js';
import { encodeEnvelope } from '../src/cluster/envelope.js';
import { FailStopError, WrongKeyError } from '../src/kv/index.js';
import { streamCipher, recordAd, sealRecord, OP_PUT, type StreamRecord } from '../src/kv/stream-record.js';
import { kvStreamStructureFor } from '../src/kv/stream-structure.js';
import { natsServerPath } from './support/nats-cluster.js';
import { type SiteProcess, startSite, useNatsCluster } from './support/cluster-sites.js';

const NATS = natsServerPath();
if (NATS === null) console.warn('SKIPPED: the cluster KV tests need nats-server on PATH (apt-get install nats-server); none found');
const KEY = new Uint8Array(randomBytes(32));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Every raw message of a stream (subject filter optional), as the servers hold them. */
async function rawMessages(jsm: JetStreamManager, stream: string): Promise<Buffer[]> {
  const info = await jsm.streams.info(stream);
  const out: Buffer[] = [];
  for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s }).catch(() => null);
    if (m) out.push(Buffer.from(m.data));
  }
  return out;
}

/** Which of `needles` occur in any of `hay` (as UTF-8 bytes). */
const found = (hay: Buffer[], needles: string[]): string[] => needles.filter((n) => hay.some((b) => b.includes(Buffer.from(n, 'utf8'))));

describe.skipIf(NATS === null)('secure KV on a 3-node JetStream cluster', () => {
  const f = useNatsCluster('nr-cluster-kv-');
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const inProcess: { h: KvSiteHandle; kv: KvSite }[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: f.nats.urls });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  }, 20_000);

  afterAll(async () => {
    for (const s of inProcess) s.kv.detach();
    await Promise.all(inProcess.map((s) => s.h.close()));
    await nc?.close();
  }, 20_000);

  const startKv = async (stream: string, store: KvStreamParams, name: string, replicas = 2): Promise<SiteProcess> => {
    const s = await startSite({ servers: f.nats.urls, stream, replicas, history: join(f.dir, name), worker: 'cluster-kv-site', kv: { key: hex(KEY), storeId: hex(store.storeId), kcv: hex(store.kcv) } });
    f.sites.push(s);
    return s;
  };
  /** A site in this process with one replica (attached in this thread). */
  const local = async (stream: string, store: KvStreamParams): Promise<KvSite> => {
    const h = await createKvSite({ servers: f.nats.urls, stream, key: KEY, store, replicas: 1, readTimeoutMs: 3_000 });
    const kv = attachKvSite(h.replicaData().data, { key: KEY });
    inProcess.push({ h, kv });
    return kv;
  };
  const digests = async (sites: SiteProcess[]): Promise<string[]> => {
    const d = await Promise.all(sites.flatMap((s) => Array.from({ length: s.replicas }, (_, r) => s.cmd(r, { op: 'digest' }))));
    for (const x of d) expect(x.err).toBeUndefined();
    return d.map((x) => (x.ok as { digest: string }).digest);
  };

  it('one site: put, get, delete, batch, compare-and-set and scan across its replicas; a wrong key and another store are typed errors at attach', async () => {
    const store = await createKvStream({ servers: f.nats.urls, stream: 'KV1', key: KEY });
    // A wrong key: WrongKeyError before anything starts; another store's parameters: the stream names its store.
    await expect(createKvSite({ servers: f.nats.urls, stream: 'KV1', key: new Uint8Array(32).fill(7), store })).rejects.toBeInstanceOf(WrongKeyError);
    const other = await createKvStream({ servers: f.nats.urls, stream: 'KV1-OTHER', key: KEY });
    await expect(createKvSite({ servers: f.nats.urls, stream: 'KV1', key: KEY, store: other })).rejects.toBeInstanceOf(StreamMismatchError);
    await expect(createKvStream({ servers: f.nats.urls, stream: 'KV1', key: KEY })).rejects.toBeInstanceOf(StreamMismatchError);

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
    expect(found(await rawMessages(jsm, 'KV1'), ['user:', 'alice', 'bob', 'carol', 'dan', 'p19', 'v19'])).toEqual([]);
  }, 60_000);

  it('three sites (processes) x two replicas: compare-and-set increments from all six lose no update; digests equal; nothing in clear in the stream', async () => {
    const store = await createKvStream({ servers: f.nats.urls, stream: 'KV3', key: KEY });
    const sites = await Promise.all([0, 1, 2].map((i) => startKv('KV3', store, `kv3-${i}`)));
    const N = 8;
    const runs = await Promise.all(sites.flatMap((s) => [0, 1].map((r) => s.cmd(r, { op: 'increments', key: 'counter:secret', n: N }, 60_000))));
    for (const r of runs) expect(r.ok, JSON.stringify(r.err)).toEqual({ made: N });
    for (const s of sites) for (const r of [0, 1]) expect((await s.cmd(r, { op: 'get', key: 'counter:secret' })).ok).toEqual({ value: String(6 * N) });
    await sites[1]!.cmd(0, { op: 'put', key: 'token:site1', value: 'hunter2-plaintext' });
    expect((await sites[2]!.cmd(1, { op: 'get', key: 'token:site1' })).ok).toEqual({ value: 'hunter2-plaintext' });
    const d = await digests(sites);
    expect(new Set(d).size, JSON.stringify(d)).toBe(1);
    expect(found(await rawMessages(jsm, 'KV3'), ['counter:secret', 'token:site1', 'hunter2-plaintext'])).toEqual([]);
  }, 90_000);
});
