import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReport, writeReport, type BenchResult, type BenchRow } from '../bench/report.js';
import { renderSuiteSvg, suiteSeries } from '../bench/report-charts.js';
import { formatComparison, formatSummary } from '../bench/report-text.js';
import { baselineRatios, suiteViews, type Panel } from '../bench/report-views.js';
import { mergeResults, readResult } from '../bench/results.js';

// A frozen full run (2026-11-25): real rows of every suite but cluster, so the
// exact figures below do not change when a new run is saved.
const SAVED = readResult('test/fixtures/bench-results-2026-11-25.json');
// The committed run (bench/results/latest.json, replaced by each `--save`).
const LATEST = readResult('bench/results/latest.json');
const views = suiteViews(SAVED.rows);
const panel = (suite: string, id: string): Panel => views.find((v) => v.suite === suite)!.panels.find((p) => p.id === id)!;
const summary = formatSummary(SAVED.rows);
const section = (title: string): string => {
  const start = summary.indexOf(`\n${title}  (`);
  expect(start).toBeGreaterThan(-1);
  return summary.slice(start, summary.indexOf('\n\n', start + 1));
};

describe('the terminal summary shows every measured figure', () => {
  it('cold starts: FIFO 36 and Min-Worker-Set 14, with workers per kind', () => {
    const s = section('cold starts');
    expect(s).toMatch(/fifo\s+36\s+6\n/);
    expect(s).toMatch(/mws\s+14\s+2\.33/);
  });

  it('state transfer: one column per snapshot size, snapshot and whole-join times, and the transfer rate', () => {
    const s = section('state transfer to a joiner');
    expect(s).toMatch(/series\s+10k\s+100k\s+1M/);
    expect(s).toMatch(/snapshot\s+2\.70\s+33\.2\s+467/);
    expect(s).toMatch(/whole join\s+3\.60\s+34\.7\s+468/);
    expect(s).toMatch(/snapshot\s+3\.74M\s+3\.01M\s+2\.14M/);
  });

  it('resume after death: each variant’s stall (resumeMs) and throughput', () => {
    const s = section('resume after a writer dies');
    expect(s).toMatch(/nr-declared-dead\s+9\.60\s+818k/);
    expect(s).toMatch(/nr-fence-100ms\s+102\s+835k/);
    expect(s).toMatch(/nr-fence-1000ms\s+1001\s+200k/);
  });

  it('both kv value sizes get their own panel (no row overwrites another)', () => {
    expect(section('YCSB-A, 100 B values')).toMatch(/nr-kv\s+222k/);
    expect(section('YCSB-A, 1024 B values')).toContain('nr-kv');
    expect(panel('kv', 'A-100B').cells.filter((c) => c.series === 'nr-kv')).toHaveLength(4);
  });

  it('a cell that did not run says why and is never 0', () => {
    const s = section('YCSB-A, 100 B values');
    expect(s).toMatch(/lmdb-enc\s+13\.3k\s+-\[1\]\s+-\[1\]\s+-\[1\]/);
    expect(s).toContain('[1] not run: lmdb with encryptionKey crashes with writers in several threads (docs/kv.md) (lmdb-enc 2 thr, lmdb-enc 4 thr, lmdb-enc 8 thr)');
    expect(section('writes while workers are killed')).toMatch(/nr\s+2\.48M\s+0\n/); // a measured 0 (no kills) stays 0
    const notRun = views.flatMap((v) => v.panels.flatMap((p) => p.cells)).filter((c) => c.value === null);
    expect(notRun.length).toBe(30);
    for (const c of notRun) expect(c.why).toMatch(/^not run: /);
  });

  it('sched panels say what they are, not "(100% writes, none)"', () => {
    expect(summary).not.toContain('none)');
    expect(section('noop tasks')).toMatch(/submit-to-start p99, µs \(lower is better\)/);
  });

  it('every numeric field of every row that is a measurement shows up in some panel', () => {
    const settings = new Set(['threads', 'writeRatio', 'keys', 'durationMs', 'valueBytes', 'fileBytes', 'window', 'tasks', 'fenceAfterMs', 'entries', 'replicas', 'tasksPerSec']);
    for (const run of [SAVED, LATEST]) {
      for (const v of suiteViews(run.rows)) {
      const shown = new Set(v.panels.flatMap((p) => [p.metric.key, ...p.extras.map((m) => m.key)]));
      if (v.suite === 'resilience') shown.add('joinMs'); // the "whole join" series
      for (const r of run.rows.filter((x) => x.suite === v.suite)) {
        for (const [k, val] of Object.entries(r)) {
          if (typeof val === 'number' && !settings.has(k)) {
            expect(shown, `${v.suite}.${k}`).toContain(k);
          }
        }
      }
      }
    }
  });
});

describe('ratios against baselines', () => {
  it('every NR system against every baseline, a one-thread reference used at every thread count', () => {
    const ratios = baselineRatios(panel('hashmap', 'w0-uniform'));
    const nrPlain = ratios.find((r) => r.subject === 'nr' && r.baseline === 'plain-map' && r.x === 1)!;
    expect(nrPlain.ratio).toBeCloseTo(20.1e6 / 23.0e6, 1);
    expect(ratios.find((r) => r.subject === 'nr' && r.baseline === 'plain-map' && r.x === 2)!.againstReference).toBe(true);
    expect(new Set(ratios.map((r) => r.baseline))).toEqual(new Set(['plain-map', 'private-maps', 'postmessage', 'lmdb']));
    const cold = baselineRatios(panel('sched', 'cold-starts'));
    expect(cold).toEqual([{ subject: 'mws', baseline: 'fifo', x: 'mws', ratio: 14 / 36, againstReference: false }]);
  });
});

describe('charts', () => {
  it('one SVG per suite, its own legend with every series, no two series in the same colour and shape', async () => {
    for (const v of views) {
      const svg = await renderSuiteSvg(v);
      expect(svg.startsWith('<svg')).toBe(true);
      const legend = svg.slice(svg.indexOf('role-legend'));
      const series = suiteSeries(v);
      for (const s of series) expect(legend, `${v.suite} legend`).toContain(`>${s}</text>`);
      // The legend's symbols: one per series, each (fill colour, shape path) distinct.
      const symbols = [...legend.matchAll(/role-legend-symbol[^>]*><path transform="[^"]*" d="([^"]*)" fill="([^"]*)"/g)].map((m) => `${m[2]} ${m[1]}`);
      expect(symbols.length, v.suite).toBe(series.length);
      expect(new Set(symbols.map((x) => x.split(' ')[0])).size, `${v.suite} colours`).toBe(series.length);
      expect(new Set(symbols.map((x) => x.slice(x.indexOf(' ')))).size, `${v.suite} shapes`).toBe(series.length);
      expect(svg).not.toContain('NaN');
    }
  });

  it('reference lines are labelled in the margin, labels at least 11 px apart', async () => {
    const fs = views.find((v) => v.suite === 'fs')!;
    const one = { suite: 'fs', panels: [fs.panels.find((p) => p.id === 'MIX-w0-shared')!] };
    const svg = await renderSuiteSvg(one);
    const labels = [...svg.matchAll(/<text[^>]*transform="translate\(([\d.]+),([\d.]+)\)"[^>]*>((?:memfs|copy-limit) [^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), text: m[3] }));
    expect(labels.map((l) => l.text.split(' ')[0]).sort()).toEqual(['copy-limit', 'memfs']);
    expect(Math.abs(labels[0]!.y - labels[1]!.y)).toBeGreaterThanOrEqual(11);
    for (const l of labels) expect(l.x).toBeGreaterThan(230); // right of the 230 px plot: never on a data point
  });

  it('time suites are charted too: resilience and the cold starts', async () => {
    const svg = await renderSuiteSvg(views.find((v) => v.suite === 'resilience')!);
    for (const s of ['nr-declared-dead', 'snapshot', 'whole join', 'nr-chaos']) expect(svg).toContain(`aria-label="series=${s};`);
    const sched = await renderSuiteSvg(views.find((v) => v.suite === 'sched')!);
    expect(sched).toContain('aria-label="series=mws; policy=mws; cold starts=14 count"');
  });

  it('only the thread counts a quick run measured get a column', async () => {
    const quick = SAVED.rows.filter((r) => r.suite === 'sched' && r.workload === 'noop' && r.threads !== 8);
    const v = suiteViews(quick)[0]!;
    expect(v.panels[0]!.xValues).toEqual([1, 2, 4]);
    expect(await renderSuiteSvg(v)).not.toContain('8 wkr');
  });
});

describe('files', () => {
  it('writeReport: JSON, one SVG per suite and a self-contained HTML report next to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const files = await writeReport(SAVED, join(dir, 'nested', 'run.json'));
      expect(JSON.parse(readFileSync(join(dir, 'nested', 'run.json'), 'utf8'))).toEqual(SAVED);
      expect(files.svgPaths.map((p) => p.slice(dir.length))).toEqual(['hashmap', 'resilience', 'kv', 'fs', 'sched'].map((s) => `/nested/run-${s}.svg`));
      const html = readFileSync(files.htmlPath, 'utf8');
      expect(files.htmlPath).toBe(join(dir, 'nested', 'run.html'));
      expect(html).not.toMatch(/<script|<link|src=|@import|url\(/); // nothing loaded from elsewhere
      expect(html.match(/<figure class="chart"/g)).toHaveLength(5);
      expect(html).toContain('nr / plain-map');
      expect(html).toContain('mws / fifo');
      expect(html).toContain('not run: lmdb with encryptionKey');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the committed charts and report are the ones rendered from the committed JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const files = await renderReport(LATEST, join(dir, 'latest.json'));
      expect(readFileSync(files.htmlPath, 'utf8')).toBe(readFileSync('bench/results/latest.html', 'utf8'));
      for (const p of files.svgPaths) expect(readFileSync(p, 'utf8')).toBe(readFileSync(`bench/results/${p.slice(dir.length + 1)}`, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mergeResults: a --save of some cells replaces those cells only', () => {
    const fresh: BenchResult = {
      machine: { date: 'fresh' },
      rows: [{ ...SAVED.rows.find((r) => r.workload === 'cold-starts' && r.system === 'mws')!, coldStarts: 13 }],
    };
    const merged = mergeResults(SAVED, fresh, ['sched']);
    expect(merged.rows).toHaveLength(SAVED.rows.length);
    expect(merged.rows.filter((r) => r.workload === 'cold-starts').map((r) => [r.system, r.coldStarts])).toEqual([['fifo', 36], ['mws', 13]]);
    expect(merged.machine.sched).toEqual({ date: 'fresh' });
    expect(merged.machine.date).toBe(SAVED.machine.date);
  });

  it('--compare: each cell’s ratio to the earlier run, and what is missing on either side', () => {
    const older: BenchRow[] = SAVED.rows.filter((r) => r.suite === 'sched').map((r) => (r.workload === 'noop' && r.threads === 2 ? { ...r, opsPerSec: r.opsPerSec / 2 } : r));
    const newer = SAVED.rows.filter((r) => r.suite === 'sched' && !(r.workload === 'noop' && r.threads === 8 && r.system === 'piscina'));
    const out = formatComparison(older.filter((r) => !(r.workload === 'noop' && r.threads === 1 && r.system === 'piscina')), newer, 'old.json');
    const noop = out.slice(out.indexOf('sched noop tasks'), out.indexOf('sched 50us'));
    expect(noop).toMatch(/nr-sched\s+1\.00×\s+2\.00×\s+1\.00×\s+1\.00×/);
    expect(noop).toMatch(/piscina\s+new\s+2\.00×\s+1\.00×\s+-/);
    expect(out).toMatch(/mws\s+1\.00×/);
  });
});

describe('npm run bench arguments', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['dist/bench/run.js', ...args], { encoding: 'utf8', timeout: 30_000 });

  it('refuses to --save a quick run, --save with --json, and a --compare file that does not exist', () => {
    expect(run('--save', '--quick').stderr).toContain('--save with --quick would replace the committed full-run results');
    expect(run('--save', '--json', '/tmp/x.json').stderr).toContain('--save writes bench/results/latest.json');
    expect(run('--compare', '/nonexistent.json').stderr).toContain("--compare: no such file '/nonexistent.json'");
    expect(run('--bogus').stderr).toContain("unknown argument '--bogus'");
  });

  it('ad-hoc results go to a fresh folder under the gitignored bench/results/tmp/', () => {
    const out = run('sched', '--workloads', 'none'); // no cell matches: nothing runs, the (empty) report is written
    expect(out.status, out.stderr).toBe(0);
    const json = /wrote (\S+\/run\.json),/.exec(out.stdout)?.[1];
    expect(json).toMatch(/^bench\/results\/tmp\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\/run\.json$/);
    expect(existsSync(json!.replace(/json$/, 'html'))).toBe(true);
    rmSync(join(json!, '..'), { recursive: true, force: true });
    expect(readFileSync('.gitignore', 'utf8')).toMatch(/^\/bench\/results\/tmp\/$/m);
    expect(execFileSync('git', ['check-ignore', 'bench/results/tmp/2026-12-02T10-00-00Z/run.json'], { encoding: 'utf8' }).trim()).toBe(
      'bench/results/tmp/2026-12-02T10-00-00Z/run.json',
    );
    expect(existsSync('bench/results/latest.json')).toBe(true);
  });
});
