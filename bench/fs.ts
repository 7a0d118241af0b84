/**
 * Suite `fs`: fxmark-style workloads on NrFS and its baselines, at 1, 2, 4
 * and 8 threads:
 * - MIX: random 4 KiB preads/pwrites on a 64 MiB file (256 MiB with --full,
 *   16 MiB with --quick) at 0/10/60/100% writes, on one shared file or on
 *   one file per thread (each of size/threads, so the data held stays the
 *   same and 8 replicas of 8 private files still fit in memory);
 * - DRBL/DRBH: read the same 4 KiB block of a private / a shared file;
 * - DWOL/DWOM: overwrite a block of a private file / a thread's own block of a shared file;
 * - MWCL/MWCM: create (open O_CREAT + close) files in a private / a shared directory;
 * - MWRL/MWRM: rename back and forth within a private directory / between a
 *   private directory and a shared one.
 * Systems: nrfs (one replica per thread), nrfs-clients (2 replica threads
 * that run the workload and serve, the others NrFS clients of them: on
 * DWOL/DWOM/MIX each client keeps 64 pipelined preadAsync/pwriteAsync in
 * flight, on the other workloads it makes synchronous calls), tmpfs (node:fs sync calls on a
 * directory under /dev/shm: node's fastest path to tmpfs, each call one
 * system call; its async calls go through libuv's thread pool and cost
 * more per op), memfs (1 thread: its only mode), and
 * copy-limit (1 thread copying random 4 KiB pages out of a JS heap: the
 * ceiling for any in-heap read path), all in the same run.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFs } from '../src/fs/index.js';
import { CLIENT_REPLICAS, FS_COORD_BYTES, type FsSystem, type FsWorkerInput, type FsWorkerOutput, type FxWorkload, type Sharing } from './fs-worker.js';
import { median, TaskPool, withTimeout } from './harness.js';
import { formatOpsCell, type BenchRow } from './report.js';
import { filterCells, ratio, verdict, type BenchArgs, type BenchCell, type BenchSuite } from './suite.js';
import { arrive, FINISHED, PREPARED, ROUND, waitUntilAtLeast, warmupRoundsFor } from './sync.js';

export const FS_SYSTEMS: readonly FsSystem[] = ['nrfs', 'nrfs-clients', 'tmpfs', 'memfs', 'copy-limit'];
const MIB = 1 << 20;

interface FsCell {
  system: FsSystem;
  workload: FxWorkload;
  sharing: Sharing;
  writeRatio: number;
  threads: number;
  fileBytes: number;
  durationMs: number;
  rounds: number;
  /** Unmeasured rounds run first (`warmupRoundsFor`). */
  warmupRounds: number;
}

/** The row's panel in the generic table and chart: MIX cells differ by write ratio and sharing. */
export function panelName(c: Pick<FsCell, 'workload' | 'sharing' | 'writeRatio'>): string {
  return c.workload === 'MIX' ? `MIX-w${Math.round(c.writeRatio * 100)}-${c.sharing}` : c.workload;
}

function shmBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

export async function runFsCell(cell: FsCell): Promise<BenchRow> {
  const coordBuf = new SharedArrayBuffer(FS_COORD_BYTES);
  const words = new Int32Array(coordBuf);
  const threads = cell.threads;
  const pool = new TaskPool<FsWorkerInput, FsWorkerOutput>('fs-worker', threads);
  let root: string | undefined;
  let handle: FsWorkerInput['handle'];
  try {
    if (cell.system === 'tmpfs') root = mkdtempSync(path.join(shmBase(), 'nrfs-bench-'));
    if (cell.system === 'nrfs' || cell.system === 'nrfs-clients') {
      const replicas = cell.system === 'nrfs' ? threads : Math.min(threads, CLIENT_REPLICAS);
      handle = createFs({
        replicas,
        clients: threads - replicas,
        // PRSP: one more slot, for worker 0's root replica that builds the tree.
        maxReplicas: cell.workload === 'PRSP' ? Math.max(threads + 1, 8) : undefined,
        logBytes: 16 * MIB,
        capacityBytes: cell.fileBytes + 64 * MIB,
        maxInodes: 8 << 20,
        // Two cores shared by up to 8 threads (and other processes): do not fence a replica for a scheduling hiccup.
        fenceAfterMs: 5_000,
      });
    }
    for (let i = 0; i < threads; i++) {
      pool.run(i, {
        system: cell.system,
        workload: cell.workload,
        sharing: cell.sharing,
        writeRatio: cell.writeRatio,
        index: i,
        threads,
        fileBytes: cell.fileBytes,
        durationMs: cell.durationMs,
        rounds: cell.warmupRounds + cell.rounds,
        coord: coordBuf,
        seed: 1000 + i,
        handle,
        root,
      });
    }
    // A worker that throws fails the cell at once instead of leaving the others waiting.
    const failed = Promise.all(pool.results).then(() => new Promise<never>(() => {}));
    await Promise.race([waitUntilAtLeast(words, PREPARED, threads, 180_000), failed]);
    for (let r = 1; r <= cell.warmupRounds + cell.rounds; r++) {
      arrive(words, ROUND);
      await Promise.race([waitUntilAtLeast(words, FINISHED, r * threads, cell.durationMs + 60_000), failed]);
    }
    const outs = (await withTimeout(Promise.all(pool.results), 60_000)).map((o) => ({ ...o, rounds: o.rounds.slice(cell.warmupRounds) }));
    const perRound = Array.from({ length: cell.rounds }, (_, r) =>
      outs.reduce((s, o) => s + (o.rounds[r]!.ops / o.rounds[r]!.elapsedMs) * 1000, 0),
    );
    const row: BenchRow = {
      suite: 'fs',
      workload: cell.workload,
      panel: panelName(cell),
      system: cell.system,
      threads,
      opsPerSec: Math.round(median(perRound)),
      writeRatio: cell.workload === 'MIX' ? cell.writeRatio : cell.workload.startsWith('DW') || cell.workload.startsWith('MW') ? 1 : 0,
      dist: 'uniform',
      sharing: cell.sharing,
      durationMs: cell.durationMs,
      roundsOpsPerSec: perRound.map(Math.round),
    };
    if (cell.workload === 'MIX') row.fileBytes = cell.fileBytes;
    // CPU per op and the share of wall time the threads spent runnable but off a core (other load on
    // the machine): ops/s of a loaded run are not comparable with a quiet one, CPU per op mostly is.
    const all = outs.flatMap((o) => o.rounds);
    if (all.every((r) => r.cpuMs >= 0)) {
      const ops = all.reduce((s, r) => s + r.ops, 0);
      row.cpuNsPerOp = Math.round((all.reduce((s, r) => s + r.cpuMs, 0) * 1e6) / Math.max(ops, 1));
      row.runqShare = Math.round((all.reduce((s, r) => s + r.runqMs, 0) / all.reduce((s, r) => s + r.elapsedMs, 0)) * 100) / 100;
      if (cell.system === 'nrfs-clients' && threads > CLIENT_REPLICAS) {
        // Where a client op's CPU goes: the serving replicas' threads and the clients' threads, each per op of the cell.
        const cpuOf = (os: typeof outs): number => os.flatMap((o) => o.rounds).reduce((s, r) => s + r.cpuMs, 0);
        row.nodeCpuNsPerOp = Math.round((cpuOf(outs.slice(0, CLIENT_REPLICAS)) * 1e6) / Math.max(ops, 1));
        row.clientCpuNsPerOp = Math.round((cpuOf(outs.slice(CLIENT_REPLICAS)) * 1e6) / Math.max(ops, 1));
        row.clientOpShare = Math.round((outs.slice(CLIENT_REPLICAS).flatMap((o) => o.rounds).reduce((s, r) => s + r.ops, 0) / Math.max(ops, 1)) * 100) / 100;
      }
    }
    const dataBytes = outs[0]?.dataBytes;
    if (typeof dataBytes === 'number') {
      row.fileDataBytes = dataBytes;
      row.replicas = cell.system === 'nrfs-clients' ? Math.min(threads, CLIENT_REPLICAS) : threads;
      // File data lives once, in the shared pool; each replica's heap holds page tables and inodes.
      if (typeof outs[0]!.poolBytes === 'number') row.sharedPoolBytes = outs[0]!.poolBytes;
      row.replicaHeapBytes = Math.max(...outs.map((o) => o.heapBytes ?? 0));
      row.inodes = outs[0]!.inodes;
    }
    return row;
  } finally {
    await pool.destroy();
    if (root) rmSync(root, { recursive: true, force: true });
  }
}

const OTHER_WORKLOADS: [FxWorkload, Sharing][] = [
  ['DRBL', 'private'],
  ['DRBH', 'shared'],
  ['DWOL', 'private'],
  ['DWOM', 'shared'],
  ['MWCL', 'private'],
  ['MWCM', 'shared'],
  ['MWRL', 'private'],
  ['MWRM', 'shared'],
  ['PRSD', 'shared'],
  ['PRSL', 'shared'],
  ['PRSP', 'shared'],
];

function fsCells(args: BenchArgs): BenchCell[] {
  const quick = args.quick;
  const durationMs = quick ? 150 : 250;
  const rounds = quick ? 1 : 3;
  const fileBytes = args.full ? 256 * MIB : quick ? 16 * MIB : 64 * MIB;
  const threadCounts = args.threads.length > 0 ? args.threads : quick ? [1, 2, 4] : [1, 2, 4, 8];
  const cells: FsCell[] = [];
  const add = (workload: FxWorkload, sharing: Sharing, writeRatio: number): void => {
    for (const system of FS_SYSTEMS) {
      if (system === 'copy-limit' && !(workload === 'MIX' && writeRatio === 0 && sharing === 'shared')) continue;
      // Where replicas run the workload they serve their clients at each of their own writes (and from an idle
      // event loop): a replica in a synchronous loop of reads serves nobody, so clients run only where every
      // thread writes.
      if (system === 'nrfs-clients' && !(workload.startsWith('DW') || workload.startsWith('MW') || (workload === 'MIX' && writeRatio > 0))) continue;
      // nrfs-clients up to CLIENT_REPLICAS threads is nrfs (every thread a replica): not run twice.
      const ts = system === 'memfs' || system === 'copy-limit' ? [1] : system === 'nrfs-clients' ? threadCounts.filter((t) => t > CLIENT_REPLICAS) : threadCounts;
      for (const threads of ts) cells.push({ system, workload, sharing, writeRatio, threads, fileBytes, durationMs, rounds, warmupRounds: warmupRoundsFor(threads, durationMs, quick) });
    }
  };
  const ratios = quick ? [0, 0.1, 1] : [0, 0.1, 0.6, 1];
  for (const sharing of quick ? (['shared'] as Sharing[]) : (['shared', 'private'] as Sharing[])) {
    for (const w of ratios) add('MIX', sharing, w);
  }
  for (const [workload, sharing] of OTHER_WORKLOADS) {
    if (quick && !['DRBL', 'DWOL', 'MWCM', 'MWRM', 'PRSD', 'PRSL', 'PRSP'].includes(workload)) continue;
    add(workload, sharing, 0);
  }
  // --workloads names a workload (MIX: every variant of it) or a panel (MIX-w10-shared).
  const wanted = (c: FsCell): boolean => args.workloads.length === 0 || args.workloads.includes(c.workload) || args.workloads.includes(panelName(c));
  return filterCells(cells.filter(wanted), { ...args, workloads: [] }).map((c) => ({ label: `${panelName(c)} ${c.system} ${c.threads}t`, run: () => runFsCell(c) }));
}

function fsMarkdown(rows: BenchRow[]): string[] {
  const out: string[] = [];
  const fsRows = rows.filter((r) => r.suite === 'fs');
  const threads = [...new Set(fsRows.map((r) => r.threads))].sort((a, b) => a - b);
  const get = (panel: string, system: string, t: number): BenchRow | undefined =>
    fsRows.find((r) => r.panel === panel && r.system === system && r.threads === t);
  const ops = (panel: string, system: string, t: number): number => get(panel, system, t)?.opsPerSec ?? Number.NaN;
  const mib = (b: number): string => `${(b / MIB).toFixed(1)} MiB`;
  for (const panel of [...new Set(fsRows.map((r) => r.panel as string))]) {
    const first = fsRows.find((r) => r.panel === panel)!;
    const desc = first.workload === 'MIX' ? `${Math.round(first.writeRatio * 100)}% writes, ${first.sharing} file${first.sharing === 'private' ? 's' : ''}, ${mib(first.fileBytes as number)}` : `${first.sharing}`;
    out.push(`#### ${panel} (${desc})`, '', `| system | ${threads.map((t) => `${t} thr`).join(' | ')} | nrfs shared pool, largest replica heap (per thread count) |`, `|---|${threads.map(() => '---:').join('|')}|---:|`);
    for (const s of FS_SYSTEMS) {
      if (!fsRows.some((r) => r.panel === panel && r.system === s)) continue;
      const memOf = (r: BenchRow | undefined): string | null =>
        r === undefined || typeof r.sharedPoolBytes !== 'number' || typeof r.replicaHeapBytes !== 'number' ? null : `${mib(r.sharedPoolBytes)}, ${mib(r.replicaHeapBytes)}`;
      const mem = s === 'nrfs' ? threads.map((t) => memOf(get(panel, s, t))).filter((m): m is string => m !== null).join(' / ') : '';
      out.push(`| ${s} | ${threads.map((t) => { const r = get(panel, s, t); return r ? formatOpsCell(r) : '-'; }).join(' | ')} | ${mem} |`);
    }
    out.push('');
  }
  const targets: string[] = [];
  const mt = threads.filter((t) => get('MIX-w0-shared', 'nrfs', t));
  for (const t of mt) {
    const a = ops('MIX-w0-shared', 'nrfs', t);
    const b = ops('MIX-w0-shared', 'tmpfs', t);
    targets.push(`| MIX 0% (shared file), ${t} thr: nrfs vs tmpfs | ≥ 4× | ${ratio(a, b)} | ${verdict(a / b >= 4)} |`);
  }
  {
    const a = ops('MIX-w0-shared', 'nrfs', 1);
    const b = ops('MIX-w0-shared', 'copy-limit', 1);
    targets.push(`| MIX 0% (shared file), 1 thr: nrfs vs 4 KiB copy limit | ≥ 0.4× | ${ratio(a, b)} | ${verdict(a / b >= 0.4)} |`);
  }
  for (const t of threads.filter((t) => get('MIX-w10-shared', 'nrfs', t))) {
    const a = ops('MIX-w10-shared', 'nrfs', t);
    const b = ops('MIX-w10-shared', 'tmpfs', t);
    targets.push(`| MIX 10% (shared file), ${t} thr: nrfs vs tmpfs | ≥ 2× | ${ratio(a, b)} | ${verdict(a / b >= 2)} |`);
  }
  for (const t of threads.filter((t) => get('MWCM', 'nrfs', t))) {
    const a = ops('MWCM', 'nrfs', t);
    const b = ops('MWCM', 'tmpfs', t);
    targets.push(`| MWCM, ${t} thr: nrfs vs tmpfs | ≥ 5× | ${ratio(a, b)} | ${verdict(a / b >= 5)} |`);
  }
  // Issue 17 (file data in shared pages): its "done when" ratios.
  const against = (panel: string, t: number, want: number, label: string): void => {
    if (!get(panel, 'nrfs', t) || !get(panel, 'tmpfs', t)) return;
    const a = ops(panel, 'nrfs', t);
    const b = ops(panel, 'tmpfs', t);
    targets.push(`| ${label}, ${t} thr: nrfs vs tmpfs (issue 17) | ≥ ${want}× | ${ratio(a, b)} | ${verdict(a / b >= want)} |`);
  };
  for (const t of threads) for (const w of ['DWOL', 'DWOM']) against(w, t, t <= 2 ? 1 : 0.5, w);
  for (const t of threads) against('MIX-w10-shared', t, 1.5, 'MIX 10% (shared file)');
  for (const t of threads) against('MWCM', t, 1, 'MWCM');
  if (get('MIX-w0-shared', 'nrfs', 1) && get('MIX-w0-shared', 'copy-limit', 1)) {
    const a = ops('MIX-w0-shared', 'nrfs', 1);
    const b = ops('MIX-w0-shared', 'copy-limit', 1);
    targets.push(`| MIX 0% (shared file), 1 thr: nrfs vs 4 KiB copy limit (issue 17) | ≥ 0.8× | ${ratio(a, b)} | ${verdict(a / b >= 0.8)} |`);
  }
  // Path resolution costs, as CPU time per stat (ops/s of these short cells swing with other load on the machine).
  const cpu = (panel: string, system: string, t: number): string => {
    const ns = get(panel, system, t)?.cpuNsPerOp;
    return typeof ns === 'number' ? `${ns} ns` : 'n/a';
  };
  for (const t of threads.filter((t) => get('PRSL', 'nrfs', t))) {
    targets.push(
      `| path resolution, ${t} thr: CPU per stat, nrfs plain 8 names / through 3 symlinks / + permission checks (uid 1000); tmpfs through 3 symlinks | measured | ${cpu('PRSD', 'nrfs', t)} / ${cpu('PRSL', 'nrfs', t)} / ${cpu('PRSP', 'nrfs', t)}; ${cpu('PRSL', 'tmpfs', t)} | - |`,
    );
  }
  out.push('#### Targets (ratios within this run)', '', '| target | wanted | measured | |', '|---|---|---|---|', ...targets, '');
  return out;
}

export const fsSuite: BenchSuite = { name: 'fs', cells: fsCells, markdown: fsMarkdown, progressKeys: ['cpuNsPerOp', 'nodeCpuNsPerOp', 'clientCpuNsPerOp', 'runqShare', 'sharedPoolBytes', 'replicaHeapBytes'] };
