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
  | { op: 'appends'; key: string; who: string; n: number }
  | { op: 'digest' }
  | { op: 'failure' }
  | { op: 'stats' }
  | { op: 'bench'; ms: number; keys: number; inflight: number; writeRatio: number; consistency: Consistency; seed: number };

function errOf(e: unknown): { err: { name: string; code?: string; committed?: unknown; message: string } } {
  const x = e as { name: string; code?: string; committed?: unknown; message: string };
  return { err: { name: x.name, code: x.code, committed: x.committed, message: x.message } };
}

/**
 * `n` tokens appended to a list under one key by compare-and-set by value
 * (read, CAS the list plus the token; lost race: again). A failed read is
 * retried; a CAS that fails with its commit unknown leaves its token
 * "maybe" and goes on with a new one. Resolves with the tokens acknowledged
 * and the maybe ones.
 */
/** A fail-stop ends the run at once, and so does the 200th failure (a cluster that does not come back). */
const fatal = (e: unknown, errors: number): boolean => (e as Error)?.name === 'FailStopError' || errors >= 200;

async function appends(k: string, who: string, n: number): Promise<{ acked: string[]; maybe: string[]; errors: number }> {
  const acked: string[] = [];
  const maybe: string[] = [];
  let errors = 0;
  for (let t = 0; acked.length < n; ) {
    const token = `${who}.${t}`;
    let cur: string | undefined;
    try {
      cur = await kv.getString(k);
    } catch (e) {
      if (fatal(e, ++errors)) throw e;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      const r = await kv.compareAndSet(k, cur, cur === undefined ? token : `${cur},${token}`);
      if (r.ok) {
        acked.push(token);
        t++;
      }
    } catch (e) {
      if (fatal(e, ++errors)) throw e;
      if ((e as { committed?: unknown }).committed !== false) {
        maybe.push(token);
        t++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { acked, maybe, errors };
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
    case 'appends':
      return appends(cmd.key, cmd.who, cmd.n);
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
