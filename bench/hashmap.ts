/**
 * Suite `hashmap`: a 100k-key map under 0/10/100% writes, uniform and
 * zipfian keys, across thread counts, for NR and its baselines:
 * - plain-map: one thread, a plain Map (the limit for a sequential structure);
 * - private-maps: N threads, each with its own unshared Map and no
 *   consistency at all: what the hardware gives N threads, the ceiling for
 *   any replicated design (with more threads than cores, it shows the cost
 *   of time-slicing N working sets through 2 cores' caches);
 * - postmessage: one owner worker serving N client workers, 64 requests in flight each;
 * - lmdb: N workers on one lmdb environment on tmpfs (async puts, awaited per 64 ops);
 * - nr: N replica workers, synchronous calls;
 * - nr-combined: N replica workers, writes submitted async and combined per 64 ops;
 * - nr-batch: N replica workers, writes gathered into writeBatch calls of
 *   NR_BATCH_OPS (64) puts, no promise per write;
 * - nr-cnr: nr (synchronous calls) on NR_CNR_LOGS parallel logs (HashMapCnr:
 *   by key hash), each log a quarter of nr's log bytes;
 * - nr-clients: 2 replica workers (nr-combined, yielding to their event loop
 *   every 64 ops) and N-2 client workers without a replica, 128 ops in flight each.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { createCnrHandle, createHandle } from '../src/nr/index.js';
import { HashMap, HashMapCnr } from '../src/nr/structures/index.js';
import { median, startPostmessage, TaskPool, withTimeout } from './harness.js';
import type { HashmapWorkerInput, HashmapWorkerOutput, WorkerSystem } from './hashmap-worker.js';
import { LATENCY_SAMPLE_EVERY, latencyFields } from './latency.js';
import { formatOps, formatOpsCell, type BenchRow } from './report.js';
import { filterCells, ratio, verdict, type BenchArgs, type BenchCell, type BenchSuite } from './suite.js';
import { cpuNsPerOp, newCoordination, PREPARED, runRounds, waitUntilAtLeast, warmupRoundsFor } from './sync.js';
import { CLIENT_WINDOW, type Dist } from './workload.js';

export const HASHMAP_SYSTEMS = ['plain-map', 'private-maps', 'apply-limit', 'postmessage', 'lmdb', 'nr', 'nr-combined', 'nr-batch', 'nr-cnr', 'nr-clients'] as const;
/** nr-cnr: parallel logs per handle. */
export const NR_CNR_LOGS = 4;
/** nr-clients: this many replica-holding workers; the other threads are their clients. */
export const NR_CLIENTS_REPLICAS = 2;
export type HashmapSystem = (typeof HASHMAP_SYSTEMS)[number];

export interface HashmapCell {
  system: HashmapSystem;
  threads: number;
  writeRatio: number;
  dist: Dist;
  keys: number;
  durationMs: number;
  /** Measured rounds; the row reports the median round. */
  rounds: number;
  /** Unmeasured rounds run first (`warmupRoundsFor`). */
  warmupRounds: number;
  logBytes: number;
}

export function workloadName(writeRatio: number, dist: Dist): string {
  return `w${Math.round(writeRatio * 100)}-${dist}`;
}

function tmpBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

async function preloadLmdb(dir: string, keys: number): Promise<void> {
  const { open } = await import('lmdb');
  const db = open<number, number>({ path: dir, noSync: true });
  await db.transaction(() => {
    for (let k = 0; k < keys; k++) void db.put(k, k);
  });
  await db.close();
}

/** NR_BENCH_LATENCY=1: the synchronous loops time one op in LATENCY_SAMPLE_EVERY too (HashmapWorkerInput.sampleLatency). */
const SAMPLE_LATENCY = process.env.NR_BENCH_LATENCY === '1';

export async function runHashmapCell(cell: HashmapCell): Promise<BenchRow> {
  const coord = newCoordination();
  const words = new Int32Array(coord);
  const base = {
    keys: cell.keys,
    dist: cell.dist,
    writeRatio: cell.writeRatio,
    durationMs: cell.durationMs,
    rounds: cell.warmupRounds + cell.rounds,
    coord,
    sampleLatency: SAMPLE_LATENCY,
  };
  const threads = cell.system === 'postmessage' ? cell.threads + 1 : cell.system === 'plain-map' ? 1 : cell.threads;
  const pool = new TaskPool<HashmapWorkerInput, HashmapWorkerOutput>('hashmap-worker', threads);
  let started = 0;
  const measured = cell.threads;
  let lmdbDir: string | undefined;
  let sharedBytes = 0;
  const start = (system: WorkerSystem, index: number, participants: number, extra: Partial<HashmapWorkerInput> = {}, transfer: MessagePort[] = []) =>
    pool.run(started++, { ...base, system, index, participants, measured: cell.threads, seed: 1000 + index, ...extra }, transfer);
  try {
    switch (cell.system) {
      case 'plain-map':
        start('plain-map', 0, 1);
        break;
      case 'private-maps':
        for (let i = 0; i < cell.threads; i++) start('plain-map', i, cell.threads);
        break;
      case 'apply-limit':
        // One stream for all: every thread applies all of its writes.
        for (let i = 0; i < cell.threads; i++) start('apply-limit', i, cell.threads, { seed: 1000 });
        break;
      case 'nr':
      case 'nr-combined':
      case 'nr-batch': {
        const handle = createHandle(HashMap, { replicas: cell.threads, logBytes: cell.logBytes });
        sharedBytes = handle.memory.buffer.byteLength;
        for (let i = 0; i < cell.threads; i++) start(cell.system, i, cell.threads, { handle });
        break;
      }
      case 'nr-cnr': {
        const cnrHandle = createCnrHandle(HashMapCnr, { logs: NR_CNR_LOGS, replicas: cell.threads, logBytes: cell.logBytes / NR_CNR_LOGS });
        sharedBytes = cnrHandle.logs.reduce((s, h) => s + h.memory.buffer.byteLength, 0) + cnrHandle.order.byteLength;
        for (let i = 0; i < cell.threads; i++) start('nr-cnr', i, cell.threads, { cnrHandle });
        break;
      }
      case 'nr-clients': {
        const clients = cell.threads - NR_CLIENTS_REPLICAS;
        const handle = createHandle(HashMap, {
          replicas: NR_CLIENTS_REPLICAS,
          logBytes: cell.logBytes,
          clients: Math.ceil(clients / NR_CLIENTS_REPLICAS),
          clientSlots: CLIENT_WINDOW,
          clientSlotBytes: 64,
        });
        sharedBytes = handle.memory.buffer.byteLength + handle.context!.byteLength;
        for (let i = 0; i < cell.threads; i++) {
          start(i < NR_CLIENTS_REPLICAS ? 'nr-node' : 'nr-client', i, cell.threads, { handle });
        }
        break;
      }
      case 'lmdb': {
        lmdbDir = mkdtempSync(path.join(tmpBase(), 'nr-bench-lmdb-'));
        await preloadLmdb(lmdbDir, cell.keys);
        for (let i = 0; i < cell.threads; i++) start('lmdb', i, cell.threads, { lmdbPath: lmdbDir });
        break;
      }
      case 'postmessage':
        startPostmessage(cell.threads, start);
        break;
    }
    const participants = cell.system === 'postmessage' ? cell.threads + 1 : measured;
    await waitUntilAtLeast(words, PREPARED, participants, 120_000);
    const cpuUs = await runRounds(words, cell.warmupRounds + cell.rounds, measured, cell.durationMs, cell.warmupRounds);
    const everyRound = await withTimeout(Promise.all(pool.results.slice(0, measured)), 60_000);
    const outs = everyRound.map((o) => ({ ...o, rounds: o.rounds.slice(cell.warmupRounds), latency: o.latency?.slice(cell.warmupRounds) }));
    if (process.env.NR_BENCH_DEBUG) {
      for (const o of outs) {
        const rates = o.rounds.map((r) => Math.round((r.ops / r.elapsedMs) * 1000));
        console.error(JSON.stringify({ rates, ...latencyFields(o.latency ?? []), ...(o.stats ?? {}) }));
      }
    }
    // Each round's throughput is the sum of its workers' rates; report the median round.
    const perRound = Array.from({ length: cell.rounds }, (_, r) =>
      outs.reduce((s, o) => s + (o.rounds[r]!.ops / o.rounds[r]!.elapsedMs) * 1000, 0),
    );
    const opsPerSec = median(perRound);
    const heaps = outs.map((o) => o.stateHeapBytes).filter((h): h is number => typeof h === 'number');
    const row: BenchRow = {
      suite: 'hashmap',
      workload: workloadName(cell.writeRatio, cell.dist),
      system: cell.system,
      threads: cell.threads,
      opsPerSec: Math.round(opsPerSec),
      cpuNsPerOp: cpuNsPerOp(cpuUs, outs.map((o) => o.rounds)),
      writeRatio: cell.writeRatio,
      dist: cell.dist,
      keys: cell.keys,
      durationMs: cell.durationMs,
      roundsOpsPerSec: perRound.map(Math.round),
      // Sampled per-op latency over every measured round of every measured thread.
      ...latencyFields(outs.flatMap((o) => o.latency ?? [])),
    };
    if (heaps.length > 0) row.stateHeapBytesPerWorker = Math.round(heaps.reduce((a, b) => a + b, 0) / heaps.length);
    if (sharedBytes > 0) row.sharedBytes = sharedBytes;
    if (cell.system.startsWith('nr')) row.replicas = cell.system === 'nr-clients' ? NR_CLIENTS_REPLICAS : cell.threads;
    const batches = outs.map((o) => o.batches).filter((b): b is number => typeof b === 'number');
    if (batches.length > 0 && cell.writeRatio > 0) {
      // A worker's batch count covers the warm-up rounds too.
      const ops = everyRound.reduce((s, o) => s + o.rounds.reduce((a, r) => a + r.ops, 0), 0);
      row.writesPerBatch = Math.round(((ops * cell.writeRatio) / Math.max(1, batches.reduce((a, b) => a + b, 0))) * 10) / 10;
    }
    return row;
  } finally {
    await pool.destroy();
    if (lmdbDir) rmSync(lmdbDir, { recursive: true, force: true });
  }
}

function hashmapCells(args: BenchArgs): BenchCell[] {
  const durationMs = args.quick ? 150 : 400;
  const rounds = args.quick ? 1 : 3;
  const threadCounts = args.threads.length > 0 ? args.threads : args.quick ? [1, 2, 4] : [1, 2, 4, 8];
  const cells: (HashmapCell & { workload: string })[] = [];
  const dists: Dist[] = ['uniform', 'zipfian'];
  for (const writeRatio of [0, 0.1, 1]) {
    for (const dist of dists) {
      for (const system of HASHMAP_SYSTEMS) {
        const threads =
          system === 'plain-map' ? [1] : system === 'nr-clients' ? threadCounts.filter((t) => t > NR_CLIENTS_REPLICAS) : threadCounts;
        for (const t of threads) {
          const workload = workloadName(writeRatio, dist);
          const warmupRounds = warmupRoundsFor(system === 'postmessage' ? t + 1 : t, durationMs, args.quick);
          cells.push({ system, threads: t, writeRatio, dist, keys: 100_000, durationMs, rounds, warmupRounds, logBytes: 2 * 1024 * 1024, workload });
        }
      }
    }
  }
  return filterCells(cells, args).map((c) => ({ label: `${c.workload} ${c.system} ${c.threads}t`, run: () => runHashmapCell(c) }));
}

function hashmapMarkdown(rows: BenchRow[]): string[] {
  const out: string[] = [];
  const threads = [...new Set(rows.map((r) => r.threads))].sort((a, b) => a - b);
  const get = (workload: string, system: string, t: number): BenchRow | undefined =>
    rows.find((r) => r.workload === workload && r.system === system && r.threads === t);
  const ops = (workload: string, system: string, t: number): number => get(workload, system, t)?.opsPerSec ?? Number.NaN;
  const x = ratio;
  const check = verdict;
  for (const workload of [...new Set(rows.map((r) => r.workload))]) {
    out.push(`#### ${workload}`, '', `| system | ${threads.map((t) => `${t} thr`).join(' | ')} |`, `|---|${threads.map(() => '---:').join('|')}|`);
    for (const s of HASHMAP_SYSTEMS) {
      if (!rows.some((r) => r.workload === workload && r.system === s)) continue;
      out.push(`| ${s} | ${threads.map((t) => { const r = get(workload, s, t); return r ? formatOpsCell(r) : '-'; }).join(' | ')} |`);
    }
    out.push('');
  }

  const targets: string[] = [];
  const t0 = (w: string, s: string, t: number): number => ops(w, s, t);
  const r1 = t0('w0-uniform', 'nr', 1) / t0('w0-uniform', 'plain-map', 1);
  targets.push(`| 0% writes, uniform: nr 1 worker vs plain-map | ≥ 0.8× | ${x(t0('w0-uniform', 'nr', 1), t0('w0-uniform', 'plain-map', 1))} | ${check(r1 >= 0.8)} |`);
  const r2 = t0('w0-uniform', 'nr', 2) / t0('w0-uniform', 'nr', 1);
  targets.push(`| 0% writes, uniform: nr 2 workers vs 1 | ≥ 1.8× | ${x(t0('w0-uniform', 'nr', 2), t0('w0-uniform', 'nr', 1))} | ${check(r2 >= 1.8)} |`);
  for (const t of [2, 4, 8]) {
    const a = t0('w10-uniform', 'nr-combined', t);
    targets.push(`| 10% writes, uniform: nr-combined vs postmessage, ${t} thr | ≥ 30× | ${x(a, t0('w10-uniform', 'postmessage', t))} | ${check(a / t0('w10-uniform', 'postmessage', t) >= 30)} |`);
    targets.push(`| 10% writes, uniform: nr-combined vs lmdb, ${t} thr | ≥ 10× | ${x(a, t0('w10-uniform', 'lmdb', t))} | ${check(a / t0('w10-uniform', 'lmdb', t) >= 10)} |`);
  }
  const r3 = t0('w100-uniform', 'nr-combined', 2) / t0('w100-uniform', 'nr-combined', 1);
  targets.push(`| 100% writes, uniform: nr-combined 2 workers vs 1 | ≥ 1.0× | ${x(t0('w100-uniform', 'nr-combined', 2), t0('w100-uniform', 'nr-combined', 1))} | ${check(r3 >= 1)} |`);
  const r4 = t0('w10-uniform', 'nr-combined', 8) / t0('w10-uniform', 'nr-combined', 2);
  targets.push(`| 10% writes, uniform: nr-combined 8 workers vs 2 | ≥ 0.5× | ${x(t0('w10-uniform', 'nr-combined', 8), t0('w10-uniform', 'nr-combined', 2))} | ${check(r4 >= 0.5)} |`);
  for (const t of [4, 8]) {
    const a = t0('w10-uniform', 'nr-clients', t);
    targets.push(`| 10% writes, uniform: nr-clients vs postmessage, ${t} thr | ≥ 5× | ${x(a, t0('w10-uniform', 'postmessage', t))} | ${check(a / t0('w10-uniform', 'postmessage', t) >= 5)} |`);
  }
  // Issue 16: writes near the ceiling every replica's apply sets, reads near private maps.
  if (rows.some((r) => r.system === 'apply-limit')) {
    for (const [w, want, ts] of [['w100-uniform', 0.5, [1, 2]], ['w10-uniform', 0.6, [1, 2]]] as const) {
      for (const t of ts) {
        const a = t0(w, 'nr-combined', t);
        const b = t0(w, 'apply-limit', t);
        targets.push(`| ${w}: nr-combined vs apply-limit, ${t} thr | ≥ ${want}× | ${x(a, b)} | ${check(a / b >= want)} |`);
        const batched = t0(w, 'nr-batch', t);
        if (Number.isFinite(batched)) targets.push(`| ${w}: nr-batch vs apply-limit, ${t} thr | ≥ ${want}× | ${x(batched, b)} | ${check(batched / b >= want)} |`);
      }
    }
  }
  for (const t of [1, 2, 4]) {
    const a = t0('w0-uniform', 'nr', t);
    const b = t0('w0-uniform', 'private-maps', t);
    targets.push(`| 0% writes, uniform: nr vs private-maps, ${t} thr | ≥ 0.8× | ${x(a, b)} | ${check(a / b >= 0.8)} |`);
  }
  out.push('#### Targets (ratios within this run)', '', '| target | wanted | measured | |', '|---|---|---|---|', ...targets, '');

  out.push(...latencyMarkdown(rows, threads));

  // Memory: replica heap per worker, and total replica memory for nr-clients vs one replica per thread.
  const mem: string[] = ['#### Memory', '', '| system | threads | replicas | replica heap per replica | total replica heap | shared memory |', '|---|---:|---:|---:|---:|---:|'];
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  for (const s of ['nr-combined', 'nr-clients']) {
    for (const t of threads) {
      const row = get('w10-uniform', s, t);
      if (!row || typeof row.stateHeapBytesPerWorker !== 'number') continue;
      const reps = (row.replicas as number) ?? t;
      mem.push(`| ${s} | ${t} | ${reps} | ${mb(row.stateHeapBytesPerWorker)} | ${mb(row.stateHeapBytesPerWorker * reps)} | ${mb(row.sharedBytes as number)} |`);
    }
  }
  out.push(...mem, '');
  return out;
}

/**
 * The sampled latencies of the 10 %-write workloads, one table each: per
 * system and thread count, read p50 / p99 and write p50 / p99 in µs.
 */
function latencyMarkdown(rows: BenchRow[], threads: number[]): string[] {
  const out: string[] = [];
  const us = (v: unknown): string => (typeof v === 'number' ? formatOps(v) : '-');
  for (const workload of [...new Set(rows.filter((r) => r.writeRatio === 0.1).map((r) => r.workload))]) {
    const sampled = rows.filter((r) => r.workload === workload && typeof r.readP50Us === 'number');
    if (sampled.length === 0) continue;
    out.push(
      `#### Latency, ${workload} (µs, 1 op in ${LATENCY_SAMPLE_EVERY} timed: read p50 / p99 · write p50 / p99)`,
      '',
      `| system | ${threads.map((t) => `${t} thr`).join(' | ')} |`,
      `|---|${threads.map(() => '---:').join('|')}|`,
    );
    for (const s of HASHMAP_SYSTEMS) {
      if (!sampled.some((r) => r.system === s)) continue;
      const cells = threads.map((t) => {
        const r = sampled.find((x) => x.system === s && x.threads === t);
        return r ? `${us(r.readP50Us)} / ${us(r.readP99Us)} · ${us(r.writeP50Us)} / ${us(r.writeP99Us)}` : '-';
      });
      out.push(`| ${s} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out;
}

export const hashmapSuite: BenchSuite = {
  name: 'hashmap',
  cells: hashmapCells,
  markdown: hashmapMarkdown,
  progressKeys: ['cpuNsPerOp', 'readP50Us', 'readP99Us', 'writeP50Us', 'writeP99Us'],
};
