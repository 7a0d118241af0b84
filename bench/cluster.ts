/**
 * Suite `cluster`: node-replication/cluster on one machine, three sites
 * (separate processes, two replica workers each) on a 3-node JetStream
 * cluster (R3), against what a user would otherwise pick, in the same run:
 * - nr-cluster: linearizable reads (one read index per window), writes
 *   batched per replica per microtask, 64 ops in flight per replica;
 * - nr-cluster-seq: the same with sequential (local) reads;
 * - nr-cluster-kv: the secure KV on three sites of its own (createKvSite; records sealed, the chain verified at
 *   every site; one record in flight per replica, 64 ops in flight combined into it), linearizable reads, 100 B values;
 * - nats-kv: a JetStream KV bucket (R3) used directly from 6 workers, 64 in flight each;
 * - postmessage: one site's scale, a Map owned by one worker served to 6 by
 *   postMessage (the hashmap suite's baseline).
 * Workloads read (0 % writes), mixed (10 %), write (100 %). Skipped with a
 * message when nats-server is not on PATH.
 * CPU per op (cpuNsPerOp) counts every process the cell uses over its timed
 * span, divided by the ops: the three nats-servers (natsCpuNsPerOp, also on
 * its own), the cell's three site processes with their replica workers, and
 * this process (the driver; for nats-kv it holds the six client workers).
 * The other system's idle sites are not counted. postmessage's is the
 * hashmap suite's (this process, every thread).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { randomBytes } from 'node:crypto';
import { createKvStream, createStream } from '../src/cluster/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { natsServerPath, startNatsCluster, type NatsCluster } from '../test/support/nats-cluster.js';
import { type SiteProcess, startSite } from '../test/support/cluster-sites.js';
import { runHashmapCell } from './hashmap.js';
import { cpuSpan, nsPerOp } from './process-cpu.js';
import { formatOps, formatOpsCell, type BenchRow } from './report.js';
import { filterCells, ratio, verdict, type BenchArgs, type BenchCell, type BenchSuite } from './suite.js';

const SYSTEMS = ['nr-cluster', 'nr-cluster-seq', 'nr-cluster-kv', 'nats-kv', 'postmessage'] as const;
type System = (typeof SYSTEMS)[number];
const WORKLOADS = [
  ['read', 0],
  ['mixed', 0.1],
  ['write', 1],
] as const;
const SITES = 3;
const REPLICAS = 2;
const THREADS = SITES * REPLICAS;
const INFLIGHT = 64;
const KEYS = 1000;

interface Env {
  nats: NatsCluster;
  sites: SiteProcess[];
  dir: string;
}
let env: Promise<Env> | null = null;
/** The KV's own three sites, started when an nr-cluster-kv cell first runs. */
let kvSites: Promise<SiteProcess[]> | null = null;

/** One NATS cluster and three sites for the whole suite, stopped when the process exits. */
function environment(): Promise<Env> {
  env ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nr-bench-cluster-'));
    const nats = await startNatsCluster(3);
    await createStream(HashMap, { servers: nats.urls, stream: 'BENCH' });
    const nc = await connect({ servers: nats.urls });
    await new Kvm(nc).create('benchkv', { replicas: 3 });
    await nc.close();
    const sites = await Promise.all(Array.from({ length: SITES }, (_, i) => startSite({ servers: nats.urls, stream: 'BENCH', replicas: REPLICAS, history: join(dir, `s${i}`) })));
    return { nats, sites, dir };
  })();
  return env;
}

function kvEnvironment(): Promise<SiteProcess[]> {
  kvSites ??= (async () => {
    const { nats, dir } = await environment();
    const key = new Uint8Array(randomBytes(32));
    const store = await createKvStream({ servers: nats.urls, stream: 'BENCHKV', key });
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const kv = { key: hex(key), storeId: hex(store.storeId), kcv: hex(store.kcv) };
    return Promise.all(Array.from({ length: SITES }, (_, i) => startSite({ servers: nats.urls, stream: 'BENCHKV', replicas: REPLICAS, history: join(dir, `kv${i}`), worker: 'cluster-kv-site', kv })));
  })();
  return kvSites;
}

async function teardown(): Promise<void> {
  if (env === null) return;
  if (kvSites !== null) await Promise.all((await kvSites).map((s) => s.kill()));
  kvSites = null;
  const { nats, sites, dir } = await env;
  env = null;
  await Promise.all(sites.map((s) => s.kill()));
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}

const row = (workload: string, writeRatio: number, system: System, opsPerSec: number, extra: Record<string, unknown> = {}): BenchRow => ({
  suite: 'cluster',
  workload,
  system,
  threads: THREADS,
  opsPerSec: Math.round(opsPerSec),
  writeRatio,
  dist: 'uniform',
  ...extra,
});

/** The row's CPU fields from a cell's cpuSpan: all of it per op, and the nats-servers' share on its own. */
function cpuFields(us: { nats: number; self: number; sites?: number }, ops: number): { cpuNsPerOp?: number; natsCpuNsPerOp?: number } {
  return { cpuNsPerOp: nsPerOp(us.nats + us.self + (us.sites ?? 0), ops), natsCpuNsPerOp: nsPerOp(us.nats, ops) };
}

async function runSites(workload: string, writeRatio: number, system: System, ms: number): Promise<BenchRow> {
  const sites = system === 'nr-cluster-kv' ? await kvEnvironment() : (await environment()).sites;
  const consistency = system === 'nr-cluster-seq' ? 'sequential' : 'linearizable';
  const cpu = cpuSpan({ nats: (await environment()).nats.pids(), sites: sites.map((s) => s.proc.pid!) });
  const outs = await Promise.all(
    sites.flatMap((s, i) => Array.from({ length: REPLICAS }, (_, r) => s.cmd(r, { op: 'bench', ms, keys: KEYS, inflight: INFLIGHT, writeRatio, consistency, seed: 7 + i * 2 + r }, ms + 60_000))),
  );
  let ops = 0;
  let errors = 0;
  const p50: number[] = [];
  const p99: number[] = [];
  for (const o of outs) {
    if (o.err) throw new Error(`${system}: ${o.err.message}`);
    const b = o.ok as { ops: number; errors: number; p50: number | null; p99: number | null };
    ops += b.ops;
    errors += b.errors;
    if (b.p50 !== null) p50.push(b.p50);
    if (b.p99 !== null) p99.push(b.p99);
  }
  const us = cpu.stop();
  return row(workload, writeRatio, system, (ops * 1000) / ms, {
    ...cpuFields(us, ops),
    errors,
    writeP50Ms: p50.length ? Number(Math.max(...p50).toFixed(2)) : null,
    writeP99Ms: p99.length ? Number(Math.max(...p99).toFixed(2)) : null,
  });
}

async function runNatsKv(workload: string, writeRatio: number, ms: number): Promise<BenchRow> {
  const { nats } = await environment();
  const workers = Array.from({ length: THREADS }, (_, i) => new Worker(new URL('./nats-kv-worker.js', import.meta.url), { workerData: { servers: nats.urls, bucket: 'benchkv', keys: KEYS, writeRatio, inflight: INFLIGHT, ms, seed: 11 + i } }));
  try {
    const msgs = workers.map((w) => {
      const inbox: unknown[] = [];
      const waiters: ((m: unknown) => void)[] = [];
      w.on('message', (m) => (waiters.length ? waiters.shift()!(m) : inbox.push(m)));
      w.on('error', (e) => waiters.shift()?.({ error: e.message }));
      return (): Promise<unknown> => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiters.push(r)));
    });
    await Promise.all(msgs.map((next) => next()));
    const cpu = cpuSpan({ nats: nats.pids() });
    for (const w of workers) w.postMessage('go');
    const outs = (await Promise.all(msgs.map((next) => next()))) as { ops: number; errors: number; error?: string }[];
    const us = cpu.stop();
    const bad = outs.find((o) => o.error);
    if (bad) throw new Error(`nats-kv: ${bad.error}`);
    const ops = outs.reduce((a, o) => a + o.ops, 0);
    return row(workload, writeRatio, 'nats-kv', (ops * 1000) / ms, { ...cpuFields(us, ops), errors: outs.reduce((a, o) => a + o.errors, 0) });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function runPostmessage(workload: string, writeRatio: number, ms: number): Promise<BenchRow> {
  const r = await runHashmapCell({ system: 'postmessage', threads: THREADS, writeRatio, dist: 'uniform', keys: KEYS, durationMs: ms, rounds: 1, warmupRounds: 0, logBytes: 2 * 1024 * 1024 });
  return { ...r, suite: 'cluster', workload, system: 'postmessage' };
}

function clusterCells(args: BenchArgs): BenchCell[] {
  if (natsServerPath() === null) {
    console.warn('cluster: SKIPPED: nats-server is not on PATH (apt-get install nats-server)');
    return [];
  }
  const ms = args.quick ? 1_000 : 3_000;
  const cells = WORKLOADS.flatMap(([workload, writeRatio]) => SYSTEMS.map((system) => ({ system, workload, writeRatio })));
  return filterCells(cells, args).map((c) => ({
    label: `${c.workload} ${c.system} ${THREADS}t`,
    run: () =>
      c.system === 'nats-kv' ? runNatsKv(c.workload, c.writeRatio, ms) : c.system === 'postmessage' ? runPostmessage(c.workload, c.writeRatio, ms) : runSites(c.workload, c.writeRatio, c.system, ms),
  }));
}

function clusterMarkdown(rows: BenchRow[]): string[] {
  const rs = rows.filter((r) => r.suite === 'cluster');
  if (rs.length === 0) return [];
  const find = (w: string, s: string): BenchRow | undefined => rs.find((r) => r.workload === w && r.system === s);
  const get = (w: string, s: string): number => find(w, s)?.opsPerSec ?? NaN;
  const out = ['| workload | ' + SYSTEMS.join(' | ') + ' |', '|---|' + SYSTEMS.map(() => '---|').join('')];
  const cell = (w: string, s: string): string => {
    const r = find(w, s);
    return r ? formatOpsCell(r) : formatOps(NaN);
  };
  for (const [w] of WORKLOADS) out.push(`| ${w} | ${SYSTEMS.map((s) => cell(w, s)).join(' | ')} |`);
  if (rs.some((r) => typeof r.cpuNsPerOp === 'number' && r.system !== 'postmessage')) {
    const share = (w: string, s: string): string => {
      const r = find(w, s);
      return typeof r?.natsCpuNsPerOp === 'number' && typeof r.cpuNsPerOp === 'number' ? `${Math.round((100 * r.natsCpuNsPerOp) / r.cpuNsPerOp)} %` : 'n/a';
    };
    out.push('', 'Cells are ops/s · CPU per op: every process the cell uses (the three nats-servers, the cell\'s three sites with their replica workers, the driver with its workers), over the timed span, per op. The nats-servers\' share of it:', '');
    const own = SYSTEMS.filter((s) => s !== 'postmessage');
    out.push('| workload | ' + own.join(' | ') + ' |', '|---|' + own.map(() => '---|').join(''));
    for (const [w] of WORKLOADS) out.push(`| ${w} | ${own.map((s) => share(w, s)).join(' | ')} |`);
  }
  const t = (label: string, a: number, b: number, goal: number): string => `| ${label} | ≥ ${goal}× | ${ratio(a, b)} | ${verdict(a / b >= goal)} |`;
  out.push('', '| target | goal | measured | verdict |', '|---|---|---|---|');
  out.push(t('read: nr-cluster-seq vs nats-kv gets', get('read', 'nr-cluster-seq'), get('read', 'nats-kv'), 100));
  out.push(t('read: nr-cluster (linearizable) vs nats-kv gets', get('read', 'nr-cluster'), get('read', 'nats-kv'), 5));
  out.push(t('write: nr-cluster vs nats-kv puts', get('write', 'nr-cluster'), get('write', 'nats-kv'), 3));
  const kvr = (wl: string): string => ratio(get(wl, 'nr-cluster-kv'), get(wl, 'nr-cluster'));
  out.push('', `The secure KV on sites (nr-cluster-kv) vs the plain hashmap (nr-cluster), same run: read ${kvr('read')}, mixed ${kvr('mixed')}, write ${kvr('write')}; vs nats-kv: read ${ratio(get('read', 'nr-cluster-kv'), get('read', 'nats-kv'))}, write ${ratio(get('write', 'nr-cluster-kv'), get('write', 'nats-kv'))}.`);
  const w = rs.find((r) => r.workload === 'write' && r.system === 'nr-cluster');
  const ms = (v: unknown): string => (typeof v === 'number' ? `${v.toFixed(1)} ms` : 'n/a');
  if (w) out.push('', `Write latency (call to the writer's own result: publish, quorum ack, local apply), nr-cluster, write workload, worst of the six replicas: p50 ${ms(w.writeP50Ms)}, p99 ${ms(w.writeP99Ms)}.`);
  return out;
}

export const clusterSuite: BenchSuite = { name: 'cluster', cells: clusterCells, progressKeys: ['cpuNsPerOp', 'natsCpuNsPerOp', 'errors', 'writeP50Ms', 'writeP99Ms'], markdown: clusterMarkdown, teardown };
