/** The README's examples must run as printed (examples/*.mjs), against the built package. */
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

  const run = (name: string): string[] => {
    const script = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
    return execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 }).trim().split('\n').sort();
  };

  it('kv: two workers share a secure store; scans see both, exactly one wins the CAS', () => {
    const lines = run('kv.mjs');
    expect(lines.map((l) => l.replace(' (leader)', ''))).toEqual(['worker 0: users = worker 0, worker 1', 'worker 1: users = worker 0, worker 1']);
    expect(lines.filter((l) => l.endsWith('(leader)'))).toHaveLength(1);
  });

  it('fs: two workers write one tree; both replicas list it; errors carry node:fs codes', () => {
    expect(run('fs.mjs')).toEqual(['worker 0: EEXIST; /logs = all.txt worker-0.txt worker-1.txt', 'worker 1: EEXIST; /logs = all.txt worker-0.txt worker-1.txt']);
  });

  it('sched: the main thread submits, two runner workers run, results come back', () => {
    const [line] = run('sched.mjs');
    expect(line).toMatch(/^squares: 1 4 9 16 \| hello, world \| cold starts: \d+$/);
  });
});

