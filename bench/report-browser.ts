/**
 * Opens an HTML report in real headless Chromium (Debian's `chromium`,
 * driven by playwright-core): collects console errors, checks that every
 * chart drew every one of its series (a mark labelled with the series, with
 * a non-empty box on the page), and takes a full-page screenshot.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChartCheck {
  suite: string;
  series: string[];
  /** Series with at least one visible mark. */
  drawn: string[];
}

export interface ReportCheck {
  consoleErrors: string[];
  charts: ChartCheck[];
}

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM);

export async function inspectReport(htmlPath: string, screenshotPath?: string): Promise<ReportCheck> {
  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'nr-report-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1500, height: 1000 },
    timeout: 60_000,
  });
  try {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()}`));
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load', timeout: 60_000 });
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const series = JSON.parse(f.getAttribute('data-series') ?? '[]') as string[];
        const prefix = f.getAttribute('data-mark-prefix') ?? '';
        const marks = [...f.querySelectorAll('svg [aria-label]')];
        const drawn = series.filter((s) =>
          marks.some((m) => {
            if (!(m.getAttribute('aria-label') ?? '').startsWith(`${prefix}${s};`)) return false;
            const box = m.getBoundingClientRect();
            return box.width > 0 || box.height > 0;
          }),
        );
        return { suite: f.getAttribute('data-suite') ?? '', series, drawn };
      }),
    );
    if (screenshotPath) await page.screenshot({ path: screenshotPath, fullPage: true });
    return { consoleErrors, charts };
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
