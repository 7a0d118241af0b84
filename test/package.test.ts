/**
 * The package as a user installs it: `npm pack` of an unbuilt copy of the
 * sources (no dist/: its `prepare` script must build), the tarball installed into a fresh project outside this one
 * (offline-friendly: npm's cache first), then a program against every
 * subpath from plain ESM (in the main thread and a worker), the README's
 * examples, CommonJS `require` (Node's require(esm)), and the published
 * declarations compiled by a consumer tsconfig: strict, lib ES2022,
 * skipLibCheck false.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test/fixtures/consumer');
const SUBPATHS = ['.', './structures', './kv', './fs', './sched', './cluster', './lincheck'];
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
let dir = '';
let project = '';
let packed: { files: { path: string }[]; filename: string } | undefined;

const npm = (cwd: string, ...args: string[]): string =>
  execFileSync('npm', [...args, ...NPM_FLAGS], { cwd, encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
const node = (file: string) => spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 60_000 });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nr-package-'));
  // What a git checkout has: sources and configs, no dist/ (node_modules shared, for tsc).
  const checkout = join(dir, 'checkout');
  for (const f of ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md']) cpSync(join(ROOT, f), join(checkout, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  expect(existsSync(join(checkout, 'dist'))).toBe(false);
  packed = (JSON.parse(npm(checkout, 'pack', '--json', '--pack-destination', dir)) as (typeof packed)[])[0];
  project = join(dir, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  npm(project, 'install', join(dir, packed!.filename));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack of an unbuilt checkout', () => {
  it('builds (prepare) and ships the built code and declarations of every subpath, and no sources, tests or maps', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    const files = new Set(packed!.files.map((f) => f.path));
    for (const sub of SUBPATHS) {
      const e = pkg.exports[sub]!;
      expect(files, sub).toContain(e.types.replace(/^\.\//, ''));
      expect(files, sub).toContain(e.default.replace(/^\.\//, ''));
    }
    expect([...files].filter((f) => !/^(dist\/src\/.*\.(js|d\.ts)|package\.json|README\.md)$/.test(f))).toEqual([]);
  });
});

describe('installed from the tarball into a fresh project', () => {
  it('runs a program against every subpath from plain ESM, a worker included', () => {
    copyFileSync(join(FIXTURES, 'every-subpath.mjs'), join(project, 'every-subpath.mjs'));
    const r = node('every-subpath.mjs');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      root: [5, 5, 8, 256],
      worker: 70,
      structures: [5, 5],
      kv: ['ada', true, 'grace'],
      fs: ['hello', ['a.txt'], 'EEXIST'],
      sched: [9, 16],
      lincheck: ['linearizable', 'violation'],
    });
  }, 60_000);

  it('runs the README’s examples (workers on every structure module)', () => {
    for (const e of ['quickstart', 'kv', 'fs', 'sched']) copyFileSync(join(ROOT, 'examples', `${e}.mjs`), join(project, `${e}.mjs`));
    const q = node('quickstart.mjs');
    expect(q.stdout.match(/^worker [01]: apples = [12]$/gm)).toHaveLength(2);
    expect(node('kv.mjs').stdout.match(/^worker [01]: users = worker 0, worker 1/gm)).toHaveLength(2);
    expect(node('fs.mjs').stdout.match(/^worker [01]: EEXIST; \/logs = all.txt worker-0.txt worker-1.txt$/gm)).toHaveLength(2);
    expect(node('sched.mjs').stdout).toMatch(/^squares: 1 4 9 16 \| hello, world \| cold starts: \d+$/m);
  }, 120_000);

  it('loads from CommonJS require() (require(esm), Node >= 20.19)', () => {
    copyFileSync(join(FIXTURES, 'every-subpath.cjs'), join(project, 'every-subpath.cjs'));
    const r = node('every-subpath.cjs');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ map: 11, kv: 'v', fs: 'x', sched: 'function', lincheck: 'register' });
  }, 60_000);

  describe('its declarations, under strict, lib ES2022, skipLibCheck false', () => {
    const tsc = (file: string) => {
      // @types/node from this repository: the consumer's own would come from the registry.
      mkdirSync(join(project, 'node_modules/@types'), { recursive: true });
      try {
        symlinkSync(join(ROOT, 'node_modules/@types/node'), join(project, 'node_modules/@types/node'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const name = file.replace(/\.txt$/, '');
      copyFileSync(join(FIXTURES, file), join(project, name));
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { strict: true, target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: false, noEmit: true, types: ['node'] },
          files: [name],
        }),
      );
      return spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    };

    it('compile a program using every subpath', () => {
      const r = tsc('consumer.ts.txt');
      expect(r.stdout).toBe('');
      expect(r.status).toBe(0);
    }, 120_000);

    it('reject wrong op names, arguments and result types', () => {
      const r = tsc('misuse.ts.txt');
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(/misuse\.ts\(10,15\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/);
      expect(r.stdout).toMatch(/misuse\.ts\(11,9\): error TS2345: Argument of type '"pop"' is not assignable to parameter of type '"push"'/);
      expect(r.stdout).toMatch(/misuse\.ts\(12,7\): error TS2322: Type 'number' is not assignable to type 'string'/);
      expect(r.stdout.match(/error TS/g)).toHaveLength(3); // and nothing from the package's own .d.ts files
    }, 120_000);
  });
});
