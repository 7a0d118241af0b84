/** The README's example must run as printed: examples/quickstart.mjs, against the built package. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('README example', () => {
  it('runs: two workers replicate a custom structure', () => {
    const script = fileURLToPath(new URL('../examples/quickstart.mjs', import.meta.url));
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
    const lines = out.trim().split('\n').sort();
    expect(lines).toHaveLength(4);
    // Each worker's two async adds were combined and answered in order (2 then 5 more).
    for (const id of [0, 1]) {
      const pears = lines.find((l) => l.startsWith(`worker ${id}: pears`))!;
      const [a, b] = JSON.parse(pears.slice(pears.indexOf('['))) as [number, number];
      expect(b - a).toBe(3);
      expect(lines.some((l) => l.startsWith(`worker ${id}: apples =`))).toBe(true);
    }
  });
});
