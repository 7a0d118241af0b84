/**
 * A site as its own Node process (forked by test/support/cluster-sites.ts):
 * createSite() for the hashmap, `replicas` replica workers
 * (cluster-replica), and a relay of the parent's commands to them over IPC
 * (test/support/site-relay.ts).
 */
import { fileURLToPath } from 'node:url';
import { createSite } from '../../src/cluster/index.js';
import { runSite, siteStart, type SiteStart, timeoutOptions } from '../support/site-relay.js';

const start = siteStart<SiteStart & { nats?: Record<string, unknown>; history: string }>();
const structurePath = fileURLToPath(new URL('../../src/nr/structures/index.js', import.meta.url));

await runSite(start.replicas, async () => {
  const site = await createSite({
    structure: { module: structurePath, export: 'HashMap' },
    servers: start.servers,
    stream: start.stream,
    replicas: start.replicas,
    ...timeoutOptions(start),
    ...(start.nats ? { nats: start.nats } : {}),
  });
  return {
    id: site.id,
    worker: (i) => {
      const { data, transferList } = site.replicaData();
      return { url: new URL('./cluster-replica.js', import.meta.url), workerData: { data, history: `${start.history}.r${i}` }, transferList };
    },
    close: () => site.close(),
  };
});
