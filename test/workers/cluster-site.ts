/**
 * A site as its own Node process (forked by test/support/cluster-sites.ts):
 * createSite() for the hashmap, `replicas` replica workers
 * (cluster-replica), and a relay of the parent's commands to them over IPC.
 * Parent → { t: 'cmd', id, replica, cmd }, { t: 'exit' }; site → { t: 'ready' } | { t: 'error', code, name, message } | { t: 'reply', id, result }.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createSite } from '../../src/cluster/index.js';

interface Start {
  servers: string[];
  stream: string;
  replicas: number;
  writeTimeoutMs?: number;
  readTimeoutMs?: number;
  nats?: Record<string, unknown>;
  history: string;
}

const send = (m: unknown): void => void process.send!(m);
const start = JSON.parse(process.env.NR_CLUSTER_SITE!) as Start;
const structurePath = fileURLToPath(new URL('../../src/nr/structures/index.js', import.meta.url));

try {
  const site = await createSite({
    structure: { module: structurePath, export: 'HashMap' },
    servers: start.servers,
    stream: start.stream,
    replicas: start.replicas,
    ...(start.writeTimeoutMs ? { writeTimeoutMs: start.writeTimeoutMs } : {}),
    ...(start.readTimeoutMs ? { readTimeoutMs: start.readTimeoutMs } : {}),
    ...(start.nats ? { nats: start.nats } : {}),
  });
  const workers: Worker[] = [];
  for (let i = 0; i < start.replicas; i++) {
    const { data, transferList } = site.replicaData();
    const w = new Worker(new URL('./cluster-replica.js', import.meta.url), { workerData: { data, history: `${start.history}.r${i}` }, transferList });
    w.on('message', (m: { id: number; result: unknown }) => send({ t: 'reply', id: m.id, result: m.result }));
    w.on('error', (e) => send({ t: 'reply', id: -1, result: { err: { name: e.name, message: e.message } } }));
    workers.push(w);
  }
  await Promise.all(workers.map((w) => new Promise<void>((r) => w.once('online', () => r()))));
  process.on('message', (m: { t: 'cmd'; id: number; replica: number; cmd: unknown } | { t: 'exit' }) => {
    if (m.t === 'cmd') workers[m.replica]!.postMessage({ id: m.id, cmd: m.cmd });
    else if (m.t === 'exit') {
      void (async () => {
        await Promise.all(workers.map((w) => w.terminate()));
        await site.close();
        process.exit(0);
      })();
    }
  });
  send({ t: 'ready', site: site.id });
} catch (e) {
  const err = e as { code?: string; name?: string; message?: string };
  send({ t: 'error', code: err.code, name: err.name, message: err.message });
  setTimeout(() => process.exit(1), 50);
}
