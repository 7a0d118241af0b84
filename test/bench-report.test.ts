import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  formatTable,
  renderSvgChart,
  writeReport,
  type BenchResult,
  type BenchRow,
} from '../bench/report.js';

const SYSTEMS = ['plain-map', 'postmessage', 'lmdb', 'nr', 'nr-combined'] as const;
const WORKLOADS = [
  { workload: 'w10-uniform', writeRatio: 0.1, dist: 'uniform' },
  { workload: 'w50-zipfian', writeRatio: 0.5, dist: 'zipfian' },
  { workload: 'w0-uniform', writeRatio: 0, dist: 'uniform' },
  { workload: 'w100-zipfian', writeRatio: 1, dist: 'zipfian' },
] as const;

function fakeRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const w of WORKLOADS) {
    for (const system of SYSTEMS) {
      const threads = system === 'plain-map' ? [1] : [1, 2, 4, 8];
      for (const t of threads) {
        const base =
          system === 'plain-map' ? 12_300_000 : system === 'postmessage' ? 84_500 : system === 'lmdb' ? 845_000 : 1_230_000;
        rows.push({
          suite: 'hashmap',
          workload: w.workload,
          system,
          threads: t,
          opsPerSec: system === 'postmessage' ? base / t : base * t,
          writeRatio: w.writeRatio,
          dist: w.dist,
          heapBytesPerWorker: 1024 * t,
        });
      }
    }
  }
  return rows;
}

function fakeResult(): BenchResult {
  return {
    machine: {
      cpus: 8,
      cpuModel: 'Fake <CPU> & "Co"',
      node: 'v20.20.2',
      date: '2025-01-15T10:42:00.000Z',
    },
    rows: fakeRows(),
  };
}

const count = (haystack: string, needle: string): number => haystack.split(needle).length - 1;

describe('formatTable', () => {
  const table = formatTable(fakeRows());

  it('lists every system and workload', () => {
    for (const s of SYSTEMS) expect(table).toContain(s);
    for (const w of WORKLOADS) expect(table).toContain(w.workload);
    expect(table).toContain('hashmap');
  });

  it('formats numbers for humans', () => {
    expect(table).toContain('12.3M'); // plain-map
    expect(table).toContain('1.23M'); // nr @ 1 thread
    expect(table).toContain('9.84M'); // nr @ 8 threads
    expect(table).toContain('845k'); // lmdb @ 1 thread
    expect(table).toContain('84.5k'); // postmessage @ 1 thread
    expect(table).not.toMatch(/\d{4,}/); // no raw ops/s figures
  });

  it('has a column per thread count, `-` where missing, and aligned lines', () => {
    const lines = table.split('\n');
    const header = lines.find((l) => l.includes('system'));
    expect(header).toBeDefined();
    const cols = header!.match(/\d+ thr/g);
    expect(cols).toEqual(['1 thr', '2 thr', '4 thr', '8 thr']);
    const plain = lines.find((l) => l.trim().startsWith('plain-map'));
    expect(plain).toBeDefined();
    expect(plain!.trim().split(/\s+/)).toEqual(['plain-map', '12.3M', '-', '-', '-']);
    // Every row of the first block is as wide as its header (right-aligned columns).
    const start = lines.indexOf(header!);
    for (const l of lines.slice(start + 2, start + 2 + SYSTEMS.length)) {
      expect(l.length).toBe(header!.length);
    }
  });

  it('groups by suite then workload', () => {
    const rows = [
      ...fakeRows(),
      { suite: 'kv', workload: 'w10-uniform', system: 'nr', threads: 2, opsPerSec: 5e5, writeRatio: 0.1, dist: 'uniform' },
    ];
    const t = formatTable(rows);
    expect(t.indexOf('== hashmap ==')).toBeLessThan(t.indexOf('== kv =='));
    expect(t.indexOf('w100-zipfian')).toBeLessThan(t.indexOf('== kv =='));
    expect(t.slice(t.indexOf('== kv =='))).toContain('500k');
  });
});

describe('renderSvgChart', () => {
  const svg = renderSvgChart(fakeResult(), { title: 'Hash map <throughput>' });

  it('is a single well-formed-ish svg element', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(count(svg, '<svg')).toBe(1);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    // No external resources.
    expect(svg).not.toMatch(/<script|@import|href=/);
    // Balanced groups and texts.
    expect(count(svg, '<g')).toBe(count(svg, '</g>'));
    expect(count(svg, '<text')).toBe(count(svg, '</text>'));
  });

  it('has one panel title per workload', () => {
    const titles = [...svg.matchAll(/<text class="panel-title"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(titles).toHaveLength(WORKLOADS.length);
    expect(new Set(titles)).toEqual(new Set(WORKLOADS.map((w) => w.workload)));
  });

  it('shows every system in the shared legend with a stable colour', () => {
    const legend = svg.slice(svg.indexOf('<g class="legend">'), svg.indexOf('</g>\n<g class="panel"'));
    for (const s of SYSTEMS) expect(legend).toContain(`>${s}</text>`);
    // nr is drawn in the same colour in every panel.
    const nrColours = new Set(
      [...svg.matchAll(/data-system="nr">\n<path[^>]*stroke="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1]),
    );
    expect(nrColours.size).toBe(1);
  });

  it('labels the log axis readably', () => {
    for (const label of ['>10k<', '>100k<', '>1M<', '>10M<']) expect(svg).toContain(label);
  });

  it('escapes XML in titles and machine info', () => {
    expect(svg).toContain('Fake &lt;CPU&gt; &amp; &quot;Co&quot;');
    expect(svg).not.toContain('<CPU>');
    expect(svg).toContain('Hash map &lt;throughput&gt;');
    expect(svg).toContain('node v20.20.2');
    expect(svg).toContain('8 CPUs');
    expect(svg).toContain('2025-01-15');
  });

  it('copes with no rows and no machine info', () => {
    const empty = renderSvgChart({ machine: {}, rows: [] });
    expect(empty.startsWith('<svg')).toBe(true);
    expect(empty.endsWith('</svg>')).toBe(true);
    expect(empty).not.toContain('NaN');
    expect(svg).not.toContain('NaN');
  });
});

describe('writeReport', () => {
  it('writes pretty JSON and the SVG next to it, creating directories', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const jsonPath = join(dir, 'nested', 'deeper', 'results.json');
      const result = fakeResult();
      const out = writeReport(result, jsonPath);
      expect(out.jsonPath).toBe(jsonPath);
      expect(dirname(out.svgPath)).toBe(dirname(jsonPath));
      expect(basename(out.svgPath)).toBe('results.svg');
      expect(existsSync(out.jsonPath)).toBe(true);
      expect(existsSync(out.svgPath)).toBe(true);

      const json = readFileSync(out.jsonPath, 'utf8');
      expect(JSON.parse(json)).toEqual(result);
      expect(json).toContain('\n  "machine": {');
      const svg = readFileSync(out.svgPath, 'utf8').trim();
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.endsWith('</svg>')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
