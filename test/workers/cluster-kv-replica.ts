/**
 * One replica worker of a test KV site: attachKvSite() and commands from the
 * site process. Values cross IPC as strings; errors as { name, code, message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachKvSite, type KvSiteReplicaData } from '../../src/cluster/index.js';
import { benchLoop } from '../support/cluster-bench.js';

const { data, key } = workerData as { data: KvSiteReplicaData; key: Uint8Array };
const kv = attachKvSite(data, { key });

type Consistency = 'linearizable' | 'sequential';
type Cmd =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string; consistency?: Consistency }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: string | number | null; value: string }
  | { op: 'batch'; ops: { type: 'put' | 'delete'; key: string; value?: string }[] }
  | { op: 'scan'; prefix?: string; limit?: number; consistency?: Consistency }
  | { op: 'size' }
  | { op: 'puts'; prefix: string; valuePrefix?: string; n: number; inflight: number }
  | { op: 'increments'; key: string; n: number }
  | { op: 'digest' }
  | { op: 'failure' }
  | { op: 'stats' }
  | { op: 'bench'; ms: number; keys: number; inflight: number; writeRatio: number; consistency: Consistency; seed: number };

function errOf(e: unknown): { err: { name: string; code?: string; committed?: unknown; message: string } } {
  const x = e as { name: string; code?: string; committed?: unknown; message: string };
  return { err: { name: x.name, code: x.code, committed: x.committed, message: x.message } };
}

/** `n` increments of a counter by compare-and-set by value; resolves with how many this worker made. */
async function increments(k: string, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    const cur = await kv.getString(k);
    const r = await kv.compareAndSet(k, cur, String(Number(cur ?? '0') + 1));
    if (!r.ok) i--; // lost a race: try this increment again
  }
  return n;
}

/** A timed run for the bench (bench/cluster.ts, system nr-cluster-kv; test/support/cluster-bench.ts), 100-byte values. */
function bench(c: Extract<Cmd, { op: 'bench' }>): Promise<unknown> {
  const value = 'v'.repeat(100);
  return benchLoop(c, { write: (key) => kv.put(key, value), read: (key, consistency) => kv.get(key, { consistency }) });
}

async function run(cmd: Cmd): Promise<unknown> {
  switch (cmd.op) {
    case 'put':
      return { version: await kv.put(cmd.key, cmd.value) };
    case 'get':
      return { value: (await kv.getString(cmd.key, cmd.consistency ? { consistency: cmd.consistency } : undefined)) ?? null };
    case 'delete':
      return { deleted: await kv.delete(cmd.key) };
    case 'cas': {
      const r = await kv.compareAndSet(cmd.key, cmd.expected === null ? undefined : cmd.expected, cmd.value);
      return { ok: r.ok, version: r.version, value: r.value === undefined ? null : r.value.toString('utf8') };
    }
    case 'batch':
      return { versions: await kv.batch(cmd.ops.map((o) => (o.type === 'put' ? { type: 'put', key: o.key, value: o.value! } : { type: 'delete', key: o.key }))) };
    case 'scan':
      return (await kv.scan({ ...(cmd.prefix !== undefined ? { prefix: cmd.prefix } : {}), ...(cmd.limit !== undefined ? { limit: cmd.limit } : {}) }, cmd.consistency ? { consistency: cmd.consistency } : undefined)).map((e) => [e.key.toString('utf8'), e.value.toString('utf8'), e.version]);
    case 'size':
      return { size: await kv.size() };
    case 'puts': {
      let next = 0;
      const versions: number[] = [];
      const one = async (): Promise<void> => {
        while (next < cmd.n) {
          const i = next++;
          versions.push(await kv.put(`${cmd.prefix}${i}`, `${cmd.valuePrefix ?? 'v'}${i}`));
        }
      };
      await Promise.all(Array.from({ length: cmd.inflight }, one));
      return { n: versions.length, distinct: new Set(versions).size };
    }
    case 'increments':
      return { made: await increments(cmd.key, cmd.n) };
    case 'digest':
      await kv.sync();
      return { digest: kv.digest() };
    case 'failure':
      return { failure: kv.failure() };
    case 'stats':
      return kv.stats();
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
