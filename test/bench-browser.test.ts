// The HTML report in real headless Chromium (Debian's chromium; .ci/run installs it).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReport } from '../bench/report.js';
import { CHROMIUM, chromiumAvailable, inspectReport } from '../bench/report-browser.js';
import { readResult } from '../bench/results.js';

const available = chromiumAvailable();
if (!available) {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: the browser test of the bench report needs Chromium at ${CHROMIUM}\n!! (apt-get install chromium; .ci/run does this). The report was NOT checked.\n${'!'.repeat(78)}\n`);
}

describe.skipIf(!available)('bench report in headless Chromium', () => {
  it('renders every suite’s chart with all its series, no console errors, and a screenshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-browser-'));
    try {
      const result = readResult('bench/results/latest.json');
      const files = await renderReport(result, join(dir, 'latest.json'));
      const shot = join(dir, 'shot.png');
      const check = await inspectReport(files.htmlPath, shot);
      expect(check.consoleErrors).toEqual([]);
      // One chart per suite of the saved run (cluster only where nats-server was there), in run order.
      expect(check.charts.map((c) => c.suite)).toEqual([...new Set(result.rows.map((r) => r.suite))]);
      expect(check.charts.map((c) => c.suite)).toEqual(expect.arrayContaining(['hashmap', 'resilience', 'kv', 'fs', 'sched']));
      for (const c of check.charts) {
        expect(c.series.length, c.suite).toBeGreaterThan(1);
        expect(c.drawn, c.suite).toEqual(c.series);
      }
      const png = readFileSync(shot);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(1500); // full-page screenshot, the viewport's width
      expect(png.readUInt32BE(20)).toBeGreaterThan(2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('notices a series that was not drawn, and a console error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-browser-'));
    try {
      const result = readResult('bench/results/latest.json');
      const files = await renderReport({ ...result, rows: result.rows.filter((r) => r.suite === 'sched') }, join(dir, 'x.json'));
      // Break the chart: drop the piscina marks' labels, as if its series had not been drawn.
      const html = readFileSync(files.htmlPath, 'utf8')
        .replace(/aria-label="series=piscina;[^"]*"/g, 'aria-label="gone"')
        .replace('</body>', "<script>console.error('boom')</script></body>");
      const broken = join(dir, 'broken.html');
      writeFileSync(broken, html);
      const check = await inspectReport(broken);
      expect(check.consoleErrors).toEqual(['boom']);
      expect(check.charts[0]!.drawn).not.toContain('piscina');
      expect(check.charts[0]!.drawn).toContain('nr-sched');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
