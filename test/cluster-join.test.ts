/**
 * Joining and truncation on a real 3-node JetStream cluster (started here
 * on free ports, its own store directories): a stream with bounded
 * retention (40 messages, so a snapshot every 10), sites as separate Node
 * processes. A site that starts after the stream dropped its first
 * messages, or that was paused (SIGSTOP) while the stream moved past its
 * retention, installs a snapshot and replays from there, to the same
 * digest; a corrupt or foreign snapshot is a typed error and never
 * installed. Skipped, loudly, without nats-server.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { CLUSTER_DEFAULTS, type ClusterStats, createSite, createStream, snapshotStreamOf, SnapshotInvalidError } from '../src/cluster/index.js';
import { manifestSubjectOf } from '../src/cluster/defaults.js';
import { encodeManifest, type Manifest, parseManifest } from '../src/cluster/snapshot-format.js';
import { Counter, HashMap } from '../src/nr/structures/index.js';
import { natsServerPath } from './support/nats-cluster.js';
import { type SiteProcess, SiteStartError, startSite, useNatsCluster } from './support/cluster-sites.js';

const NATS = natsServerPath();
if (NATS === null) console.warn('SKIPPED: the cluster join tests need nats-server on PATH (apt-get install nats-server); none found');
const STRUCTURES = fileURLToPath(new URL('../dist/src/nr/structures/index.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const RETENTION = 40;

describe.skipIf(NATS === null)('cluster: joining from snapshots on a stream with bounded retention', () => {
  const f = useNatsCluster('nr-cluster-join-');
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: f.nats.urls });
    jsm = await jetstreamManager(nc);
  }, 20_000);

  afterAll(async () => {
    await nc?.close();
  });

  const start = async (stream: string, name: string, replicas = 2): Promise<SiteProcess> => {
    const s = await startSite({ servers: f.nats.urls, stream, replicas, history: join(f.dir, name) });
    f.sites.push(s);
    return s;
  };
  /** `n` puts, one message each (one in flight), over 30 keys. */
  const writes = async (s: SiteProcess, client: number, n: number): Promise<void> => {
    const r = await s.cmd(0, { op: 'workload', client, ops: n, keys: 30, inflight: 1, writeRatio: 1, seed: client }, 60_000);
    expect(r.ok).toEqual({ done: n, failed: 0 });
  };
  const stats = async (s: SiteProcess, r = 0): Promise<ClusterStats> => (await s.cmd(r, { op: 'stats' })).ok as ClusterStats;
  const digests = async (list: SiteProcess[]): Promise<string[]> => {
    const d = await Promise.all(list.flatMap((s) => Array.from({ length: s.replicas }, (_, r) => s.cmd(r, { op: 'digest' }))));
    for (const x of d) expect(x.err).toBeUndefined();
    return d.map((x) => (x.ok as { digest: string }).digest);
  };
  /** Manifests in the snapshot stream, and the newest one parsed. */
  const manifests = async (stream: string): Promise<{ count: number; newest: Manifest | null; newestSeq: number }> => {
    const subject = manifestSubjectOf(stream);
    const info = await jsm.streams.info(snapshotStreamOf(stream), { subjects_filter: subject });
    const last = await jsm.streams.getMessage(snapshotStreamOf(stream), { last_by_subj: subject });
    return {
      count: info.state.subjects?.[subject] ?? 0,
      newest: last === null ? null : parseManifest(last.data, { fingerprint: HashMap.fingerprint, stream }),
      newestSeq: last?.seq ?? 0,
    };
  };
  /** Wait (bounded) until the newest manifest is at `seq`: the site stores its snapshot after it answered the write. */
  const snapshotAt = async (stream: string, seq: number): Promise<{ count: number; newest: Manifest | null; newestSeq: number }> => {
    const deadline = performance.now() + 15_000;
    for (;;) {
      const m = await manifests(stream);
      if (m.newest?.seq === seq || performance.now() > deadline) return m;
      await sleep(100);
    }
  };

  it('a site joins after the stream was truncated past sequence 1: it installs a snapshot and reaches the same digest', async () => {
    await createStream(HashMap, { servers: f.nats.urls, stream: 'JOIN', maxMessages: RETENTION });
    const a = await start('JOIN', 'join-a');
    await writes(a, 1, 120);
    const info = await jsm.streams.info('JOIN');
    expect(info.state.last_seq).toBe(120);
    expect(info.state.first_seq).toBe(120 - RETENTION + 1);
    // A snapshot per 10 messages, the last at 120; the stream keeps the newest two.
    let m = await snapshotAt('JOIN', 120);
    expect(m.newest?.seq).toBe(120);
    expect(m.newest?.mark).toBe(12);
    // The older ones are purged after the newest manifest is stored: wait (bounded) for that purge.
    for (const deadline = performance.now() + 15_000; m.count > 2 && performance.now() < deadline; ) {
      await sleep(100);
      m = await manifests('JOIN');
    }
    expect(m.count).toBe(2);
    // One per mark, unless marks were passed while one was being stored (then the next is taken at once).
    expect((await stats(a)).snapshotsStored).toBeGreaterThanOrEqual(2);
    expect((await stats(a)).snapshotsStored).toBeLessThanOrEqual(12);

    const b = await start('JOIN', 'join-b');
    const bs = await stats(b);
    expect(bs.snapshotInstalledAt).toBe(120);
    expect(bs.position).toBe(120);
    const d = await digests([a, b]);
    expect(new Set(d).size, JSON.stringify(d)).toBe(1);
    // Both go on from there: a write on the new site is read on the old one, and back.
    expect((await b.cmd(1, { op: 'put', key: 'joined', value: 'b' })).ok).toEqual({ value: null });
    expect((await a.cmd(1, { op: 'get', key: 'joined' })).ok).toEqual({ value: 'b' });
    expect((await a.cmd(0, { op: 'put', key: 'joined', value: 'a' })).ok).toEqual({ value: 'b' });
    expect((await b.cmd(0, { op: 'get', key: 'joined' })).ok).toEqual({ value: 'a' });
    expect(new Set(await digests([a, b])).size).toBe(1);
  }, 90_000);

  it('a site paused (SIGSTOP) while the stream moved past its retention rejoins through a snapshot, never answering stale', async () => {
    await createStream(HashMap, { servers: f.nats.urls, stream: 'PAUSE', maxMessages: RETENTION });
    const a = await start('PAUSE', 'pause-a');
    const b = await start('PAUSE', 'pause-b');
    await writes(a, 2, 15);
    // The sync's read barrier is the stream's 16th message. It answers once b holds everything below the barrier
    // (the 15 writes); the barrier itself carries no state and may or may not have been delivered yet.
    const synced = (await b.cmd(0, { op: 'sync' })).ok as { position: number };
    expect(synced.position).toBeGreaterThanOrEqual(15);
    expect(synced.position).toBeLessThanOrEqual(16);
    b.proc.kill('SIGSTOP');
    try {
      // Past the pull its consumer had outstanding (CLUSTER_DEFAULTS.consumeExpiresMs): what follows is not delivered to it.
      await sleep(CLUSTER_DEFAULTS.consumeExpiresMs + 1_000);
      await writes(a, 3, 100);
      expect((await a.cmd(0, { op: 'put', key: 'last', value: 'L' })).ok).toEqual({ value: null });
      expect((await jsm.streams.info('PAUSE')).state.first_seq).toBeGreaterThan(17);
    } finally {
      b.proc.kill('SIGCONT');
    }
    // Every answer after the pause holds 'last' (acknowledged before these reads began); failures are typed.
    let got: unknown;
    const deadline = performance.now() + 40_000;
    while (got === undefined && performance.now() < deadline) {
      const r = await b.cmd(0, { op: 'get', key: 'last' });
      if (r.ok !== undefined) got = r.ok;
      else {
        expect(r.err?.code).toBe('ERR_CLUSTER_UNAVAILABLE');
        await sleep(200);
      }
    }
    expect(got).toEqual({ value: 'L' });
    const bs = await stats(b);
    expect(bs.snapshotInstalledAt).toBeGreaterThan(16);
    const d = await digests([a, b]);
    expect(new Set(d).size, JSON.stringify(d)).toBe(1);
  }, 120_000);

  it('a corrupt or foreign snapshot is refused with a typed error and never installed; an older valid one behind it is used', async () => {
    await createStream(HashMap, { servers: f.nats.urls, stream: 'BAD', maxMessages: RETENTION });
    const a = await start('BAD', 'bad-a', 1);
    await writes(a, 4, 120);
    const real = await snapshotAt('BAD', 120);
    const good = real.newest!;
    expect(good.seq).toBe(120);
    const js = jetstream(nc);
    const forge = (o: Partial<Manifest>): Promise<unknown> => js.publish(manifestSubjectOf('BAD'), encodeManifest({ ...good, prev: 0, ...o }));
    const ref = { module: STRUCTURES, export: 'HashMap' };
    const attach = (): Promise<unknown> => createSite({ structure: ref, servers: f.nats.urls, stream: 'BAD', replicas: 1 }).then(
      (s) => s.close().then(() => s),
      (e: unknown) => e,
    );
    const flipped = good.sha256.slice();
    flipped[0]! ^= 1;
    // A corrupt chunk: the first chunk again, one byte flipped, on the right subject; a manifest naming it.
    const chunk0 = (await jsm.streams.getMessage(snapshotStreamOf('BAD'), { seq: good.chunks[0]! }))!;
    const bent = chunk0.data.slice();
    bent[bent.length >> 1]! ^= 0x10;
    const bentAt = (await js.publish(chunk0.subject, bent)).seq;
    const cases: [string, Partial<Manifest>, RegExp][] = [
      ['of another structure', { fingerprint: Counter.fingerprint }, /another structure/],
      ['of another stream', { stream: 'JOIN' }, /another stream/],
      ['past the stream', { seq: 5_000 }, /past the stream's last/],
      ['a wrong digest', { sha256: flipped }, /SHA-256/],
      ['a corrupt chunk', { chunks: [bentAt, ...good.chunks.slice(1)].sort((x, y) => x - y) }, /SHA-256|chunk 0/],
    ];
    for (const [name, o, why] of cases) {
      await forge(o);
      const e = await attach();
      expect(e, name).toBeInstanceOf(SnapshotInvalidError);
      expect((e as SnapshotInvalidError).reason, name).toMatch(why);
    }
    // From a site process, the same typed error reaches its starter.
    const err = await startSite({ servers: f.nats.urls, stream: 'BAD', replicas: 1, history: join(f.dir, 'bad-p') }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(SiteStartError);
    expect((err as SiteStartError).code).toBe('ERR_CLUSTER_SNAPSHOT_INVALID');
    // A corrupt newest manifest that links back to the valid one: the site skips it and installs the valid one.
    await forge({ sha256: flipped, prev: real.newestSeq });
    const c = await start('BAD', 'bad-c', 1);
    expect((await stats(c)).snapshotInstalledAt).toBe(120);
    const d = await digests([a, c]);
    expect(new Set(d).size, JSON.stringify(d)).toBe(1);
  }, 120_000);
});
