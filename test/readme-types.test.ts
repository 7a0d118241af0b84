/**
 * The README's TypeScript example compiles as it stands, under `strict`:
 * the first ```ts block is extracted and type-checked against the built
 * package (what a user gets from `import ... from 'node-replication'`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function typecheck(source: string): { ok: boolean; output: string } {
  // Inside the package, so 'node-replication' resolves to itself (package.json "exports").
  const dir = mkdtempSync(join(ROOT, 'dist', 'readme-types-'));
  try {
    writeFileSync(join(dir, 'example.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'ES2023', lib: ['ES2024'], module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], skipLibCheck: true },
        files: ['example.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
      return { ok: true, output: '' };
    } catch (e) {
      return { ok: false, output: String((e as { stdout?: string }).stdout ?? e) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the README example', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];

  it('compiles under strict exactly as printed', () => {
    expect(block).toBeDefined();
    const r = typecheck(block!);
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  }, 60_000);

  it('without parameter annotations fails with an error that says to annotate them', () => {
    const unannotated = `import { defineStructure } from 'node-replication';
export const S = defineStructure({
  name: 'inventory',
  create: () => new Map(),
  reads: { count: (m, item) => m.get(item) ?? 0 },
  writes: { add: (m, item, n) => m.set(item, n) },
});
`;
    const r = typecheck(unannotated);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('annotate the parameters of this op');
  }, 60_000);
});
