/**
 * The part every site process of the cluster tests shares
 * (test/workers/cluster-site.ts, cluster-kv-site.ts): start the replica
 * workers, relay the parent's commands to them over IPC, and report
 * readiness or the typed failure of the site's creation.
 * Parent → { t: 'cmd', id, replica, cmd }, { t: 'exit' }; site → { t: 'ready', site } | { t: 'error', code, name, message } | { t: 'reply', id, result }.
 */
import { type TransferListItem, Worker } from 'node:worker_threads';

/** The options every site process takes from its parent (JSON in NR_CLUSTER_SITE). */
export interface SiteStart {
  servers: string[];
  stream: string;
  replicas: number;
  writeTimeoutMs?: number;
  readTimeoutMs?: number;
}

/** What a site process made: its id, the worker data of replica `i`, and how to close it. */
export interface MadeSite {
  id: number;
  worker(i: number): { url: URL; workerData: unknown; transferList: TransferListItem[] };
  close(): Promise<void>;
}

const send = (m: unknown): void => void process.send!(m);

/** The start options from the parent. */
export function siteStart<T extends SiteStart>(): T {
  return JSON.parse(process.env.NR_CLUSTER_SITE!) as T;
}

/** The timeouts of `start` as site options (only those given). */
export function timeoutOptions(start: SiteStart): { writeTimeoutMs?: number; readTimeoutMs?: number } {
  return {
    ...(start.writeTimeoutMs ? { writeTimeoutMs: start.writeTimeoutMs } : {}),
    ...(start.readTimeoutMs ? { readTimeoutMs: start.readTimeoutMs } : {}),
  };
}

/** Make the site, start `replicas` workers and relay commands until the parent says exit. */
export async function runSite(replicas: number, make: () => Promise<MadeSite>): Promise<void> {
  try {
    const site = await make();
    const workers: Worker[] = [];
    for (let i = 0; i < replicas; i++) {
      const { url, workerData, transferList } = site.worker(i);
      const w = new Worker(url, { workerData, transferList });
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
}
