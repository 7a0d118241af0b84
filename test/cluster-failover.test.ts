/**
 * Reads and attach through a JetStream leader election, on a real 3-node
 * cluster (free ports, its own store directories): the nats-server that
 * leads the stream's Raft group is killed, and for the seconds the group
 * has no leader, requests fail. A linearizable read issued then is
 * answered with the latest acknowledged value within its bound, or fails
 * with ClusterUnavailableError after the bound: never a raw NATS error,
 * never early, never stale. An attach in that window succeeds or fails the
 * same typed way. Skipped, loudly, without nats-server.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ClusterUnavailableError, createSite, createStream } from '../src/cluster/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { natsServerPath } from './support/nats-cluster.js';
import { type SiteProcess, startSite, useNatsCluster } from './support/cluster-sites.js';

const NATS = natsServerPath();
if (NATS === null) console.warn('SKIPPED: the cluster failover tests need nats-server on PATH (apt-get install nats-server); none found');
const STRUCTURES = fileURLToPath(new URL('../dist/src/nr/structures/index.js', import.meta.url));

describe.skipIf(NATS === null)('cluster: a stream leader killed', () => {
  const f = useNatsCluster('nr-cluster-failover-');

  it('linearizable reads issued while the leader dies: the latest value within the bound, or ClusterUnavailableError after it', async () => {
    const { nats, dir, sites } = f;
    const bound = 4_000;
    await createStream(HashMap, { servers: nats.urls, stream: 'LEAD' });
    const start = async (name: string): Promise<SiteProcess> => {
      const s = await startSite({ servers: nats.urls, stream: 'LEAD', replicas: 1, history: join(dir, name), readTimeoutMs: bound, writeTimeoutMs: 10_000 });
      sites.push(s);
      return s;
    };
    const a = await start('a');
    const b = await start('b');
    expect((await a.cmd(0, { op: 'put', key: 'k', value: 'v1' })).ok).toEqual({ value: null });
    expect((await b.cmd(0, { op: 'get', key: 'k' })).ok).toEqual({ value: 'v1' });

    const nc = await connect({ servers: nats.urls });
    const leader = (await (await jetstreamManager(nc)).streams.info('LEAD')).cluster?.leader;
    await nc.close();
    const victim = ['n0', 'n1', 'n2'].indexOf(leader ?? '');
    expect(victim, `stream leader ${leader}`).toBeGreaterThanOrEqual(0);
    // Acknowledged before the kill: every read issued after it must return it.
    expect((await a.cmd(0, { op: 'put', key: 'k', value: 'v2' })).ok).toEqual({ value: 'v1' });
    await nats.kill(victim);

    const outcomes: { site: string; ok?: unknown; err?: { name: string; code?: string; message: string }; ms: number }[] = [];
    // Read for 8 s, and on until a read was answered (the group has a leader again), within 40 s.
    const until = performance.now() + 8_000;
    const hardUntil = performance.now() + 40_000;
    const reader = async (s: SiteProcess, name: string): Promise<void> => {
      const more = (): boolean => performance.now() < until || (!outcomes.some((o) => o.ok !== undefined) && performance.now() < hardUntil);
      while (more()) outcomes.push({ site: name, ...(await s.cmd(0, { op: 'get', key: 'k' }, 30_000)) });
    };
    // An attach in the same window: a site, or the typed error.
    const attach = createSite({ structure: { module: STRUCTURES, export: 'HashMap' }, servers: nats.urls, stream: 'LEAD', replicas: 1, readTimeoutMs: bound }).then(
      async (s) => {
        await s.close();
        return 'attached';
      },
      (e: unknown) => e,
    );
    await Promise.all([reader(a, 'a'), reader(b, 'b')]);
    const attached = await attach;
    if (attached !== 'attached') expect(attached).toBeInstanceOf(ClusterUnavailableError);

    const answered = outcomes.filter((o) => o.ok !== undefined);
    console.log(`failover: ${answered.length} reads answered, ${outcomes.length - answered.length} failed typed; attach: ${attached === 'attached' ? 'attached' : `${(attached as Error).name}: ${(attached as Error).message}`}`);
    for (const o of outcomes) {
      const what = JSON.stringify(o);
      if (o.ok !== undefined) {
        expect(o.ok, what).toEqual({ value: 'v2' });
        expect(o.ms, what).toBeLessThan(bound + 1_500);
      } else {
        expect(o.err?.code, what).toBe('ERR_CLUSTER_UNAVAILABLE');
        expect(o.ms, what).toBeGreaterThanOrEqual(bound - 50);
        expect(o.ms, what).toBeLessThan(bound + 1_500);
      }
    }
    // The group elected a leader: reads were answered again.
    expect(answered.length, JSON.stringify(outcomes)).toBeGreaterThan(0);

    // After the election, writes and reads go on, across sites.
    nats.restart(victim);
    expect((await b.cmd(0, { op: 'put', key: 'k', value: 'v3' })).ok).toEqual({ value: 'v2' });
    expect((await a.cmd(0, { op: 'get', key: 'k' })).ok).toEqual({ value: 'v3' });
  }, 90_000);
});
