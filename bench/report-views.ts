/**
 * What a run's rows mean, suite by suite: each suite's rows become panels
 * (one workload each), a panel is a grid of cells (series × x value) of one
 * primary metric plus the other figures the cell measured. The terminal
 * summary, the charts, the HTML report and `--compare` all read this one
 * model, so none of them drops a measured figure or shows a cell that did
 * not run as 0: such a cell carries the reason instead.
 */
import { LATENCY_SAMPLE_EVERY } from './latency.js';
import type { BenchRow } from './report.js';

export type Unit = 'ops/s' | 'tasks/s' | 'ms' | 'µs' | 'ns/op' | 'bytes' | 'count' | 'share';

export interface Metric {
  /** The row field. */
  key: string;
  label: string;
  unit: Unit;
  /** null: neither (a setting or a count of events, e.g. kills). */
  higherIsBetter: boolean | null;
}

export type XValue = number | string;

export interface Cell {
  series: string;
  x: XValue;
  /** The primary metric; null when the cell did not run (then `why` says why). */
  value: number | null;
  why?: string;
  /** The other metrics of this cell, by key (absent when not measured). */
  extra: Record<string, number>;
}

export interface Panel {
  suite: string;
  /** Unique within the suite, e.g. `w10-uniform`, `A-100B`. */
  id: string;
  title: string;
  subtitle: string;
  /** `lines`: x is an ordered quantity (threads, entries); `bars`: one bar per series. */
  kind: 'lines' | 'bars';
  xLabel: string;
  xValues: XValue[];
  metric: Metric;
  extras: Metric[];
  series: string[];
  cells: Cell[];
  /** Series compared against `baselines` in the ratio tables (empty: no ratios). */
  subjects: string[];
  baselines: string[];
}

const OPS: Metric = { key: 'opsPerSec', label: 'throughput', unit: 'ops/s', higherIsBetter: true };
const TASKS: Metric = { key: 'opsPerSec', label: 'throughput', unit: 'tasks/s', higherIsBetter: true };

/** Display order of the systems we know; others follow in order of appearance. */
const SERIES_ORDER = [
  'nr', 'nr-combined', 'nr-batch', 'nr-cnr', 'nr-clients', 'nr-kv', 'nr-kv-plain', 'nrfs', 'nr-sched', 'nr-sched-clients',
  'plain-map', 'private-maps', 'apply-limit', 'postmessage', 'lmdb', 'lmdb-enc', 'tmpfs', 'memfs', 'copy-limit', 'piscina',
  'nr-declared-dead', 'nr-fence-100ms', 'nr-fence-1000ms', 'snapshot', 'whole join', 'nr-chaos', 'fifo', 'mws',
];

function orderSeries(names: Iterable<string>): string[] {
  const seen = [...new Set(names)];
  const rank = (s: string): number => {
    const i = SERIES_ORDER.indexOf(s);
    return i === -1 ? SERIES_ORDER.length + seen.indexOf(s) : i;
  };
  return seen.sort((a, b) => rank(a) - rank(b));
}

function orderX(xs: Iterable<XValue>): XValue[] {
  const all = [...new Set(xs)];
  return all.every((x) => typeof x === 'number') ? (all as number[]).sort((a, b) => a - b) : all;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** One cell from a row: the metric's value, or null with the reason it has none. */
function cellOf(row: BenchRow, series: string, x: XValue, metric: Metric, extras: Metric[]): Cell {
  const extra: Record<string, number> = {};
  for (const m of extras) {
    const v = num(row[m.key]);
    if (v !== undefined) extra[m.key] = v;
  }
  if (typeof row.error === 'string') return { series, x, value: null, why: row.error, extra };
  const value = num(row[metric.key]);
  if (value === undefined) return { series, x, value: null, why: `no ${metric.key} recorded`, extra };
  return { series, x, value, extra };
}

interface PanelSpec {
  id: string;
  title: string;
  subtitle: string;
  kind?: Panel['kind'];
  xLabel?: string;
  metric?: Metric;
  extras?: Metric[];
  /** Default: series = system, x = threads, value = row[metric]. */
  cells?: (rows: BenchRow[], metric: Metric, extras: Metric[]) => Cell[];
  subjects?: (series: string[]) => string[];
  baselines?: (series: string[]) => string[];
}

const isNr = (s: string): boolean => s.startsWith('nr');

function buildPanel(suite: string, rows: BenchRow[], spec: PanelSpec): Panel {
  const metric = spec.metric ?? OPS;
  const extras = (spec.extras ?? []).filter((m) => rows.some((r) => num(r[m.key]) !== undefined));
  const cells = spec.cells ? spec.cells(rows, metric, extras) : rows.map((r) => cellOf(r, r.system, r.threads, metric, extras));
  const series = orderSeries(cells.map((c) => c.series));
  return {
    suite,
    id: spec.id,
    title: spec.title,
    subtitle: spec.subtitle,
    kind: spec.kind ?? 'lines',
    xLabel: spec.xLabel ?? 'threads',
    xValues: orderX(cells.map((c) => c.x)),
    metric,
    extras,
    series,
    cells,
    subjects: (spec.subjects ?? ((s) => s.filter(isNr)))(series),
    baselines: (spec.baselines ?? ((s) => s.filter((x) => !isNr(x))))(series),
  };
}

/** Groups rows by a key, in order of first appearance. */
function groupBy(rows: BenchRow[], key: (r: BenchRow) => string): Map<string, BenchRow[]> {
  const m = new Map<string, BenchRow[]>();
  for (const r of rows) {
    const k = key(r);
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return m;
}

const pct = (r: BenchRow): string => `${Math.round(Number(r.writeRatio) * 1000) / 10}% writes`;

/** CPU time of the whole process over the measured rounds, per op: comparable where ops/s is noise. */
const CPU_PER_OP: Metric = { key: 'cpuNsPerOp', label: 'CPU per op (whole process)', unit: 'ns/op', higherIsBetter: false };

function hashmapPanels(rows: BenchRow[]): Panel[] {
  const extras: Metric[] = [
    CPU_PER_OP,
    { key: 'stateHeapBytesPerWorker', label: 'state heap per thread', unit: 'bytes', higherIsBetter: false },
    { key: 'sharedBytes', label: 'shared memory', unit: 'bytes', higherIsBetter: false },
    { key: 'writesPerBatch', label: 'writes per log entry (combining)', unit: 'count', higherIsBetter: null },
    // Sampled per-op latency (bench/latency.ts): one op in LATENCY_SAMPLE_EVERY, issue to settle for async ones.
    { key: 'readP50Us', label: `read latency p50 (1 op in ${LATENCY_SAMPLE_EVERY})`, unit: 'µs', higherIsBetter: false },
    { key: 'readP99Us', label: `read latency p99 (1 op in ${LATENCY_SAMPLE_EVERY})`, unit: 'µs', higherIsBetter: false },
    { key: 'writeP50Us', label: `write latency p50 (1 op in ${LATENCY_SAMPLE_EVERY})`, unit: 'µs', higherIsBetter: false },
    { key: 'writeP99Us', label: `write latency p99 (1 op in ${LATENCY_SAMPLE_EVERY})`, unit: 'µs', higherIsBetter: false },
  ];
  return [...groupBy(rows, (r) => r.workload)].map(([w, rs]) =>
    buildPanel('hashmap', rs, { id: w, title: w, subtitle: `${pct(rs[0]!)}, ${rs[0]!.dist} keys`, extras }),
  );
}

function kvPanels(rows: BenchRow[]): Panel[] {
  return [...groupBy(rows, (r) => `${r.workload}-${String(r.valueBytes)}B`)].map(([id, rs]) =>
    buildPanel('kv', rs, {
      id,
      extras: [CPU_PER_OP],
      title: `YCSB-${rs[0]!.workload}, ${String(rs[0]!.valueBytes)} B values`,
      subtitle: `${pct(rs[0]!)}, ${rs[0]!.dist} keys`,
    }),
  );
}

function fsPanels(rows: BenchRow[]): Panel[] {
  const extras: Metric[] = [
    { key: 'cpuNsPerOp', label: 'CPU per op', unit: 'ns/op', higherIsBetter: false },
    { key: 'runqShare', label: 'run-queue share', unit: 'share', higherIsBetter: false },
    // nrfs-clients only: where a client op's CPU goes (serving replicas' threads, clients' threads) and the clients' share of the ops.
    { key: 'nodeCpuNsPerOp', label: 'CPU per op, serving replicas', unit: 'ns/op', higherIsBetter: false },
    { key: 'clientCpuNsPerOp', label: 'CPU per op, clients', unit: 'ns/op', higherIsBetter: false },
    { key: 'clientOpShare', label: "clients' share of the ops", unit: 'share', higherIsBetter: null },
    // Runs from before issue 17 (file data × replicas); later runs report the two below.
    { key: 'replicaMemoryBytes', label: 'replica memory', unit: 'bytes', higherIsBetter: false },
    { key: 'sharedPoolBytes', label: 'shared page pool', unit: 'bytes', higherIsBetter: false },
    { key: 'replicaHeapBytes', label: 'heap per replica (max)', unit: 'bytes', higherIsBetter: false },
    { key: 'fileDataBytes', label: 'file data at the end', unit: 'bytes', higherIsBetter: null },
    { key: 'inodes', label: 'inodes at the end', unit: 'count', higherIsBetter: null },
  ];
  return [...groupBy(rows, (r) => (typeof r.panel === 'string' ? r.panel : r.workload))].map(([id, rs]) =>
    buildPanel('fs', rs, {
      id,
      title: id,
      subtitle: `${pct(rs[0]!)}${typeof rs[0]!.sharing === 'string' ? `, ${rs[0]!.sharing} file` : ''}`,
      extras,
    }),
  );
}

function schedPanels(rows: BenchRow[]): Panel[] {
  const latency: Metric[] = [
    { key: 'cpuNsPerOp', label: 'CPU per task (whole process)', unit: 'ns/op', higherIsBetter: false },
    { key: 'latencyP50Us', label: 'submit-to-start p50', unit: 'µs', higherIsBetter: false },
    { key: 'latencyP99Us', label: 'submit-to-start p99', unit: 'µs', higherIsBetter: false },
    { key: 'coldStarts', label: 'cold starts', unit: 'count', higherIsBetter: false },
  ];
  return [...groupBy(rows, (r) => r.workload)].map(([w, rs]) =>
    w === 'cold-starts'
      ? buildPanel('sched', rs, {
          id: w,
          title: 'cold starts',
          subtitle: `one multi-kind trace of ${String(rs[0]!.tasks)} tasks, ${rs[0]!.threads} workers`,
          kind: 'bars',
          xLabel: 'policy',
          metric: { key: 'coldStarts', label: 'cold starts', unit: 'count', higherIsBetter: false },
          extras: [{ key: 'meanWorkersPerKind', label: 'workers per kind (mean)', unit: 'count', higherIsBetter: false }],
          cells: (rs2, m, ex) => rs2.map((r) => cellOf(r, r.system, r.system, m, ex)),
          subjects: (s) => s.filter((x) => x === 'mws'),
          baselines: (s) => s.filter((x) => x === 'fifo'),
        })
      : buildPanel('sched', rs, {
          id: w,
          title: `${w} tasks`,
          subtitle: `${String(rs[0]!.window ?? '?')} tasks in flight`,
          xLabel: 'workers',
          metric: TASKS,
          extras: latency,
        }),
  );
}

function resiliencePanels(rows: BenchRow[]): Panel[] {
  const ms = (key: string, label: string): Metric => ({ key, label, unit: 'ms', higherIsBetter: false });
  const out: Panel[] = [];
  for (const [w, rs] of groupBy(rows, (r) => r.workload)) {
    if (w === 'resume-after-death') {
      out.push(
        buildPanel('resilience', rs, {
          id: w,
          title: 'resume after a writer dies',
          subtitle: 'longest stall of the surviving writer',
          kind: 'bars',
          xLabel: 'how the death is noticed',
          metric: ms('resumeMs', 'longest stall'),
          extras: [{ ...OPS, label: 'write throughput' }, { ...CPU_PER_OP, label: 'CPU per write (whole process)' }],
          cells: (rs2, m, ex) => rs2.map((r) => cellOf(r, r.system, r.system, m, ex)),
          subjects: () => [],
        }),
      );
    } else if (w === 'state-transfer') {
      out.push(
        buildPanel('resilience', rs, {
          id: w,
          title: 'state transfer to a joiner',
          subtitle: 'hash map entries in the snapshot',
          xLabel: 'entries',
          metric: ms('transferMs', 'time'),
          extras: [
            { key: 'opsPerSec', label: 'entries/s (snapshot)', unit: 'ops/s', higherIsBetter: true },
            { ...CPU_PER_OP, label: 'CPU per entry (joiner and source threads)' },
          ],
          // Two series from one row: the snapshot alone and the whole join.
          cells: (rs2, m, ex) =>
            rs2.flatMap((r) => [
              cellOf(r, 'snapshot', Number(r.entries), m, ex),
              cellOf(r, 'whole join', Number(r.entries), ms('joinMs', 'time'), []),
            ]),
          subjects: () => [],
        }),
      );
    } else {
      out.push(
        buildPanel('resilience', rs, {
          id: w,
          title: w === 'chaos-writes' ? 'writes while workers are killed' : w,
          subtitle: `${rs[0]!.threads} writer threads${typeof rs[0]!.durationMs === 'number' ? `, ${rs[0]!.durationMs / 1000} s` : ''}`,
          kind: 'bars',
          xLabel: 'run',
          extras: [
            { key: 'kills', label: 'workers killed', unit: 'count', higherIsBetter: null },
            { key: 'fencedWrites', label: 'writes failed with FencedError', unit: 'count', higherIsBetter: null },
            { ...CPU_PER_OP, label: 'CPU per acknowledged write (whole process)' },
          ],
          cells: (rs2, m, ex) => rs2.map((r) => cellOf(r, r.system, r.system, m, ex)),
          subjects: (s) => s.filter((x) => x === 'nr-chaos'),
          baselines: (s) => s.filter((x) => x === 'nr'),
        }),
      );
    }
  }
  return out;
}

function clusterPanels(rows: BenchRow[]): Panel[] {
  const extras: Metric[] = [
    // Site processes, nats-servers and the driver (bench/cluster.ts); postmessage's is its one process.
    { ...CPU_PER_OP, label: 'CPU per op (every process of the cell)' },
    { key: 'natsCpuNsPerOp', label: 'of which nats-servers', unit: 'ns/op', higherIsBetter: false },
    { key: 'writeP50Ms', label: 'write latency p50', unit: 'ms', higherIsBetter: false },
    { key: 'writeP99Ms', label: 'write latency p99', unit: 'ms', higherIsBetter: false },
    { key: 'errors', label: 'failed ops', unit: 'count', higherIsBetter: false },
  ];
  return [...groupBy(rows, (r) => r.workload)].map(([w, rs]) =>
    buildPanel('cluster', rs, {
      id: w,
      title: w,
      subtitle: `${Math.round(rs[0]!.writeRatio * 100)}% writes, ${rs[0]!.threads} threads over three sites`,
      kind: 'bars',
      xLabel: 'system',
      extras,
      cells: (rs2, m, ex) => rs2.map((r) => cellOf(r, r.system, r.system, m, ex)),
    }),
  );
}

const SUITE_PANELS: Record<string, (rows: BenchRow[]) => Panel[]> = {
  hashmap: hashmapPanels,
  resilience: resiliencePanels,
  kv: kvPanels,
  fs: fsPanels,
  sched: schedPanels,
  cluster: clusterPanels,
};

export interface SuiteView {
  suite: string;
  panels: Panel[];
}

/** Every suite's panels, suites in the order their rows appear. */
export function suiteViews(rows: BenchRow[]): SuiteView[] {
  return [...groupBy(rows, (r) => r.suite)].map(([suite, rs]) => ({
    suite,
    panels: (
      SUITE_PANELS[suite] ??
      ((x: BenchRow[]) => [...groupBy(x, (r) => r.workload)].map(([w, g]) => buildPanel(suite, g, { id: w, title: w, subtitle: '' })))
    )(rs),
  }));
}

/** The cell of `series` at `x` (the last row wins if a run repeated one). */
export function cellAt(panel: Panel, series: string, x: XValue): Cell | undefined {
  let found: Cell | undefined;
  for (const c of panel.cells) if (c.series === series && c.x === x) found = c;
  return found;
}

/** Series with a single measured point in a panel of several x values: drawn as reference lines. */
export function referenceSeries(panel: Panel): string[] {
  if (panel.kind !== 'lines' || panel.xValues.length < 2) return [];
  return panel.series.filter((s) => panel.cells.filter((c) => c.series === s && c.value !== null).length === 1);
}

export interface Ratio {
  subject: string;
  baseline: string;
  x: XValue;
  ratio: number;
  /** True when the baseline was measured at one point only and that point is used for every x. */
  againstReference: boolean;
}

/** subject / baseline for every x where both have a value (a reference baseline's one value counts at every x). */
export function baselineRatios(panel: Panel): Ratio[] {
  const refs = new Set(referenceSeries(panel));
  const out: Ratio[] = [];
  for (const subject of panel.subjects) {
    for (const baseline of panel.baselines) {
      const refValue = refs.has(baseline) ? panel.cells.find((c) => c.series === baseline && c.value !== null)?.value : undefined;
      for (const x of panel.xValues) {
        const a = cellAt(panel, subject, x)?.value;
        const own = cellAt(panel, baseline, x)?.value;
        const b = own ?? refValue ?? null;
        if (a === null || a === undefined || b === null || b === 0) continue;
        out.push({ subject, baseline, x, ratio: a / b, againstReference: (own === null || own === undefined) && refValue !== undefined });
      }
    }
  }
  // Bars panels compare across x (one x per series): subject's own x against baseline's own x.
  if (panel.kind === 'bars') {
    for (const subject of panel.subjects) {
      for (const baseline of panel.baselines) {
        const a = cellAt(panel, subject, subject)?.value;
        const b = cellAt(panel, baseline, baseline)?.value;
        if (a !== null && a !== undefined && b !== null && b !== undefined && b !== 0) {
          out.push({ subject, baseline, x: subject, ratio: a / b, againstReference: false });
        }
      }
    }
  }
  return out;
}
