/**
 * Type tests: the README's quick-start example, copied verbatim into
 * test/types/readme-example.ts, compiles under `strict` (issue 11: its
 * unannotated op parameters inferred `never`). test/types/ is excluded from
 * the build; this runs tsc on it with its own tiny tsconfig.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('type tests', () => {
  it('test/types/readme-example.ts is the README example, verbatim', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = /\[`examples\/quickstart\.mjs`\][^\n]*\n\n```js\n([\s\S]*?)```/.exec(readme);
    expect(block, 'the README has the quick-start example block').not.toBeNull();
    expect(readFileSync(path.join(root, 'test/types/readme-example.ts'), 'utf8')).toBe(block![1]);
  });

  it('the README example compiles under strict (tsc --noEmit -p test/types)', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(root, 'test/types/tsconfig.json')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
