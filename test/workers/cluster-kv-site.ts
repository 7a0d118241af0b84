/**
 * A KV site as its own Node process (forked by test/support/cluster-sites.ts
 * with worker 'cluster-kv-site'): createKvSite() with the key and store
 * parameters from the parent (hex in NR_CLUSTER_SITE), `replicas` replica
 * workers (cluster-kv-replica), and the relay of cluster-site.ts
 * (test/support/site-relay.ts).
 */
import { createKvSite, type KvStreamParams } from '../../src/cluster/index.js';
import { runSite, siteStart, type SiteStart, timeoutOptions } from '../support/site-relay.js';

const start = siteStart<SiteStart & { kv: { key: string; storeId: string; kcv: string } }>();
const key = new Uint8Array(Buffer.from(start.kv.key, 'hex'));
const store: KvStreamParams = { kind: 'nr-kv-stream', storeId: new Uint8Array(Buffer.from(start.kv.storeId, 'hex')), kcv: new Uint8Array(Buffer.from(start.kv.kcv, 'hex')) };

await runSite(start.replicas, async () => {
  const kv = await createKvSite({ key, store, servers: start.servers, stream: start.stream, replicas: start.replicas, ...timeoutOptions(start) });
  return {
    id: kv.site.id,
    worker: () => {
      const { data, transferList } = kv.replicaData();
      return { url: new URL('./cluster-kv-replica.js', import.meta.url), workerData: { data, key }, transferList };
    },
    close: () => kv.close(),
  };
});
