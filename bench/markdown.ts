/**
 * `node dist/bench/markdown.js [results.json]` prints the hashmap results as
 * Markdown: one table per workload, then the issue targets as ratios
 * against baselines of the same run. Used to write BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';
import { formatOps, type BenchResult, type BenchRow } from './report.js';

const file = process.argv[2] ?? 'bench/results/latest.json';
const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
const rows = result.rows.filter((r) => r.suite === 'hashmap');
const threads = [...new Set(rows.map((r) => r.threads))].sort((a, b) => a - b);
const systems = ['nr', 'nr-combined', 'nr-clients', 'postmessage', 'lmdb', 'plain-map', 'private-maps'];

function get(workload: string, system: string, t: number): BenchRow | undefined {
  return rows.find((r) => r.workload === workload && r.system === system && r.threads === t);
}
function ops(workload: string, system: string, t: number): number {
  return get(workload, system, t)?.opsPerSec ?? Number.NaN;
}

const x = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');
const out: string[] = [];
if (rows.length > 0) hashmapSections();

function hashmapSections(): void {
for (const workload of [...new Set(rows.map((r) => r.workload))]) {
  out.push(`#### ${workload}`, '', `| system | ${threads.map((t) => `${t} thr`).join(' | ')} |`, `|---|${threads.map(() => '---:').join('|')}|`);
  for (const s of systems) {
    if (!rows.some((r) => r.workload === workload && r.system === s)) continue;
    out.push(`| ${s} | ${threads.map((t) => (get(workload, s, t) ? formatOps(ops(workload, s, t)) : '-')).join(' | ')} |`);
  }
  out.push('');
}

const check = (ok: boolean): string => (ok ? 'met' : '**not met**');
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
out.push('#### Targets (ratios within this run)', '', '| target | wanted | measured | |', '|---|---|---|---|', ...targets, '');

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
}

// Resilience suite.
const res = result.rows.filter((r) => r.suite === 'resilience');
if (res.length > 0) {
  out.push('#### Resilience', '', '| measurement | system | result |', '|---|---|---|');
  for (const r of res) {
    const detail =
      r.workload === 'resume-after-death'
        ? `writers stalled at most ${String(r.resumeMs)} ms`
        : r.workload === 'state-transfer'
          ? `${String(r.entries)} entries: snapshot ${String(r.transferMs)} ms, whole join ${String(r.joinMs)} ms`
          : `${formatOps(r.opsPerSec)} writes/s${r.kills ? ` with ${String(r.kills)} kills` : ''}`;
    out.push(`| ${r.workload} | ${r.system} | ${detail} |`);
  }
  const calm = res.find((r) => r.workload === 'chaos-writes' && r.system === 'nr');
  const chaos = res.find((r) => r.workload === 'chaos-writes' && r.system === 'nr-chaos');
  if (calm && chaos) out.push('', `Write throughput under chaos: ${x(chaos.opsPerSec, calm.opsPerSec)} of the same run without chaos.`);
  out.push('');
}
console.log(out.join('\n'));
