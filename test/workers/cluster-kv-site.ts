/**
 * A KV site as its own Node process (forked by test/support/cluster-sites.ts
 * with worker 'cluster-kv-site'): createKvSite() with the key and store
 * parameters from the parent (hex in NR_CLUSTER_SITE), `replicas` replica
 * workers (cluster-kv-replica), and a relay of the parent's commands.
 * The same IPC as cluster-site.ts.
 */
import { Worker } from 'node:worker_threads';
import { createKvSite, type KvStreamParams } from '../../src/cluster/index.js';

interface Start {
  servers: string[];
  stream: string;
  replicas: number;
  writeTimeoutMs?: number;
  readTimeoutMs?: number;
  history: string;
  kv: { key: string; storeId: string; kcv: string };
}

const send = (m: unknown): void => void process.send!(m);
const start = JSON.parse(process.env.NR_CLUSTER_SITE!) as Start;
const key = new Uint8Array(Buffer.from(start.kv.key, 'hex'));
const store: KvStreamParams = { kind: 'nr-kv-stream', storeId: new Uint8Array(Buffer.from(start.kv.storeId, 'hex')), kcv: new Uint8Array(Buffer.from(start.kv.kcv, 'hex')) };

try {
  const kv = await createKvSite({
    key,
    store,
    servers: start.servers,
    stream: start.stream,
    replicas: start.replicas,
    ...(start.writeTimeoutMs ? { writeTimeoutMs: start.writeTimeoutMs } : {}),
    ...(start.readTimeoutMs ? { readTimeoutMs: start.readTimeoutMs } : {}),
  });
  const workers: Worker[] = [];
  for (let i = 0; i < start.replicas; i++) {
    const { data, transferList } = kv.replicaData();
    const w = new Worker(new URL('./cluster-kv-replica.js', import.meta.url), { workerData: { data, key }, transferList });
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
        await kv.close();
        process.exit(0);
      })();
    }
  });
  send({ t: 'ready', site: kv.site.id });
} catch (e) {
  const err = e as { code?: string; name?: string; message?: string };
  send({ t: 'error', code: err.code, name: err.name, message: err.message });
  setTimeout(() => process.exit(1), 50);
}
