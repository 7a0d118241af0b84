/**
 * `npm run bench:report -- [RESULTS.json] [--compare OLD.json] [--no-screenshot]`
 *
 * Renders the charts and the HTML report of an existing results file next
 * to it (default: the committed bench/results/latest.json, with its
 * screenshot), without running anything; `--compare` prints each cell's
 * ratio to an earlier run.
 */
import path from 'node:path';
import { renderReport } from './report.js';
import { formatComparison, formatSummary } from './report-text.js';
import { readResult, screenshotIfPossible } from './results.js';
import { SAVED_JSON } from './saved.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let file = SAVED_JSON;
  let compare: string | undefined;
  let screenshot = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--compare') {
      compare = argv[++i];
      if (!compare) throw new Error('--compare takes the JSON file of an earlier run');
    } else if (a === '--no-screenshot') screenshot = false;
    else if (a.startsWith('--')) throw new Error(`unknown option '${a}'. Usage: npm run bench:report -- [RESULTS.json] [--compare OLD.json] [--no-screenshot]`);
    else file = path.resolve(a);
  }
  const result = readResult(file);
  console.log(formatSummary(result.rows));
  if (compare) console.log(formatComparison(readResult(compare).rows, result.rows, path.relative(process.cwd(), compare)));
  const files = await renderReport(result, file);
  const rel = (p: string): string => path.relative(process.cwd(), p);
  console.log(`wrote ${rel(files.htmlPath)} and ${files.svgPaths.map(rel).join(', ')}`);
  if (screenshot) await screenshotIfPossible(files.htmlPath);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
