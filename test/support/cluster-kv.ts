/**
 * Helpers of the secure-KV cluster tests: KV site processes
 * (test/workers/cluster-kv-site), their digests, and the raw bytes the
 * servers hold, to search for keys and values.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KvStreamParams } from '../../src/cluster/index.js';
import { type ClusterFixture, type SiteProcess, startSite } from './cluster-sites.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A KV site process with `replicas` replica workers, killed when the fixture ends. */
export async function startKvSite(f: ClusterFixture, o: { stream: string; store: KvStreamParams; key: Uint8Array; name: string; replicas?: number; writeTimeoutMs?: number; readTimeoutMs?: number }): Promise<SiteProcess> {
  const s = await startSite({
    servers: f.nats.urls,
    stream: o.stream,
    replicas: o.replicas ?? 2,
    history: join(f.dir, o.name),
    worker: 'cluster-kv-site',
    kv: { key: hex(o.key), storeId: hex(o.store.storeId), kcv: hex(o.store.kcv) },
    ...(o.writeTimeoutMs ? { writeTimeoutMs: o.writeTimeoutMs } : {}),
    ...(o.readTimeoutMs ? { readTimeoutMs: o.readTimeoutMs } : {}),
  });
  f.sites.push(s);
  return s;
}

/** The digest of every replica of `sites` after a linearizable sync (each must answer). */
export async function kvDigests(sites: SiteProcess[]): Promise<string[]> {
  const d = await Promise.all(sites.flatMap((s) => Array.from({ length: s.replicas }, (_, r) => s.cmd(r, { op: 'digest' }))));
  for (const x of d) expect(x.err).toBeUndefined();
  return d.map((x) => (x.ok as { digest: string }).digest);
}

/** Every raw message of a stream, as the servers hold them. */
export async function rawMessages(jsm: JetStreamManager, stream: string): Promise<Buffer[]> {
  const info = await jsm.streams.info(stream);
  const out: Buffer[] = [];
  for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s }).catch(() => null);
    if (m) out.push(Buffer.from(m.data));
  }
  return out;
}

/** Which of `needles` occur in any of `hay` (as UTF-8 bytes). */
export const found = (hay: Buffer[], needles: string[]): string[] => needles.filter((n) => hay.some((b) => b.includes(Buffer.from(n, 'utf8'))));

/** A test's own NATS connection to the fixture's cluster (its JetStream client and manager), for the file's tests; closed after them. */
export function useJetStream(f: ClusterFixture): { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager } {
  const c = {} as { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager };
  beforeAll(async () => {
    c.nc = await connect({ servers: f.nats.urls });
    c.js = jetstream(c.nc);
    c.jsm = await jetstreamManager(c.nc);
  }, 20_000);
  afterAll(async () => {
    await c.nc?.close();
  });
  return c;
}
