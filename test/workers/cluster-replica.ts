/**
 * One replica worker of a test site: attachSite() on the hashmap, commands
 * from the site process, and a workload that records its history (call and
 * response times on one clock: performance.timeOrigin + performance.now())
 * to a file with synchronous appends, so a killed process leaves every
 * invocation it issued on disk.
 */
import { appendFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { attachSite, type SiteReplicaData } from '../../src/cluster/index.js';
import { HashMap } from '../../src/nr/structures/index.js';
import { benchLoop } from '../support/cluster-bench.js';
import { mulberry32 } from '../support/prng.js';

const { data, history } = workerData as { data: SiteReplicaData; history: string };
const r = attachSite(data, HashMap);
const now = (): number => performance.timeOrigin + performance.now();

type Cmd =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string; consistency?: 'linearizable' | 'sequential' }
  | { op: 'stats' }
  | { op: 'sync' }
  | { op: 'digest' }
  | { op: 'workload'; client: number; ops: number; keys: number; inflight: number; writeRatio: number; seed: number }
  | { op: 'bench'; ms: number; keys: number; inflight: number; writeRatio: number; consistency: 'linearizable' | 'sequential'; seed: number };

/** A timed run for the bench (test/support/cluster-bench.ts). */
function bench(c: Extract<Cmd, { op: 'bench' }>): Promise<unknown> {
  return benchLoop(c, { write: (key) => r.write('put', key, 'v'), read: (key, consistency) => (consistency === 'sequential' ? r.readLocal('get', key) : r.read('get', key)) });
}

function errOf(e: unknown): { err: { name: string; code?: string; committed?: unknown; message: string } } {
  const x = e as { name: string; code?: string; committed?: unknown; message: string };
  return { err: { name: x.name, code: x.code, committed: x.committed, message: x.message } };
}

async function workload(c: Extract<Cmd, { op: 'workload' }>): Promise<unknown> {
  const rand = mulberry32(c.seed);
  let next = 0;
  let done = 0;
  let failed = 0;
  const one = async (): Promise<void> => {
    while (next < c.ops) {
      const i = next++;
      const key = `k${Math.floor(rand() * c.keys)}`;
      const write = rand() < c.writeRatio;
      const input = write ? { op: 'put', key, value: `${c.client}.${i}` } : { op: 'get', key };
      appendFileSync(history, `${JSON.stringify({ k: 'call', c: c.client, i, input, t: now() })}\n`);
      try {
        const output = write ? await r.write('put', key, `${c.client}.${i}`) : await r.read('get', key);
        appendFileSync(history, `${JSON.stringify({ k: 'ret', c: c.client, i, output: output ?? null, t: now() })}\n`);
        done++;
      } catch (e) {
        appendFileSync(history, `${JSON.stringify({ k: 'err', c: c.client, i, ...errOf(e), t: now() })}\n`);
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: c.inflight }, one));
  return { done, failed };
}

async function run(cmd: Cmd): Promise<unknown> {
  switch (cmd.op) {
    case 'put':
      return { value: (await r.write('put', cmd.key, cmd.value)) ?? null };
    case 'get':
      return { value: (await r.readWith(cmd.consistency ?? 'linearizable', 'get', cmd.key)) ?? null };
    case 'stats':
      return r.stats();
    case 'sync':
      return { position: await r.sync() };
    case 'digest':
      await r.sync();
      return { digest: r.digest(), position: r.position() };
    case 'workload':
      return workload(cmd);
    case 'bench':
      return bench(cmd);
  }
}

parentPort!.on('message', (m: { id: number; cmd: Cmd }) => {
  const t0 = performance.now();
  run(m.cmd).then(
    (result) => parentPort!.postMessage({ id: m.id, result: { ok: result, ms: performance.now() - t0 } }),
    (e: unknown) => parentPort!.postMessage({ id: m.id, result: { ...errOf(e), ms: performance.now() - t0 } }),
  );
});
