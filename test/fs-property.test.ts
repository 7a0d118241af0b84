/**
 * Property test: random sequences of namespace and data calls over a small
 * set of names give the same outcomes (results, or error code and syscall)
 * on NrFS and on node:fs in a fresh tmpfs directory, and leave the same tree.
 */
import * as realFs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs, type NodeFsSync } from '../src/fs/index.js';

const shm = realFs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const base = mkdtempSync(path.join(shm, 'nrfs-prop-'));
const nr = attachFs(createFs({ umask: process.umask() }));
const fs = nodeFs(nr);
afterAll(() => {
  nr.detach();
  rmSync(base, { recursive: true, force: true });
});

const name = fc.constantFrom('a', 'b', 'c');
// Paths start with a real name (a leading '..' would leave the scenario's directory), may contain '.'
// and '..' further on, and may end in '/'.
const relPath = fc
  .tuple(name, fc.array(fc.oneof({ weight: 6, arbitrary: name }, { weight: 1, arbitrary: fc.constantFrom('.', '..') }), { maxLength: 3 }))
  .map(([first, rest]) => [first, ...rest].join('/'))
  .chain((p) => fc.constantFrom(p, p, p, `${p}/`));
const data = fc.string({ maxLength: 12 });
type Call =
  | { op: 'mkdir'; p: string; recursive: boolean }
  | { op: 'writeFile' | 'appendFile'; p: string; data: string }
  | { op: 'unlink' | 'rmdir' | 'readFile' | 'readdir' | 'stat' | 'exists'; p: string }
  | { op: 'rename'; p: string; to: string }
  | { op: 'truncate'; p: string; len: number }
  | { op: 'pwrite'; p: string; data: string; pos: number }
  | { op: 'fdio'; p: string; flag: string; data: string; pos: number | null }
  | { op: 'symlink'; target: string; p: string }
  | { op: 'link'; p: string; to: string }
  | { op: 'lstat' | 'readlink' | 'realpath' | 'rm'; p: string }
  | { op: 'chmod'; p: string; mode: number }
  | { op: 'access'; p: string; mode: number };
// Link targets stay inside the scenario's directory: relative, '..' only below a first name (a link at the top must not leave it).
const linkTarget = fc.constantFrom('a', 'b', 'c', 'a/b', 'b/c', 'a/../b', 'b/../c/a', '.', 'a/', 'missing');
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ op: fc.constant('mkdir' as const), p: relPath, recursive: fc.constant(false) }),
  // node:fs's recursive mkdir is not atomic: 'a/../b' with 'a' missing and 'b' a file creates 'a'
  // and then fails; NrFS applies all or nothing. Recursive paths without '..' cannot fail half-way.
  fc.record({ op: fc.constant('mkdir' as const), p: relPath.filter((p) => !p.split('/').includes('..')), recursive: fc.constant(true) }),
  fc.record({ op: fc.constantFrom('writeFile' as const, 'appendFile' as const), p: relPath, data }),
  fc.record({ op: fc.constantFrom('unlink' as const, 'rmdir' as const, 'readFile' as const, 'readdir' as const, 'stat' as const, 'exists' as const), p: relPath }),
  fc.record({ op: fc.constant('rename' as const), p: relPath, to: relPath }),
  fc.record({ op: fc.constant('truncate' as const), p: relPath, len: fc.integer({ min: 0, max: 9000 }) }),
  fc.record({ op: fc.constant('pwrite' as const), p: relPath, data, pos: fc.integer({ min: 0, max: 9000 }) }),
  fc.record({
    op: fc.constant('fdio' as const),
    p: relPath,
    flag: fc.constantFrom('r', 'r+', 'w', 'wx', 'w+', 'a', 'ax', 'a+'),
    data,
    pos: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
  }),
  fc.record({ op: fc.constant('symlink' as const), target: linkTarget, p: relPath }),
  fc.record({ op: fc.constant('link' as const), p: relPath, to: relPath }),
  fc.record({ op: fc.constantFrom('lstat' as const, 'readlink' as const, 'realpath' as const, 'rm' as const), p: relPath }),
  fc.record({ op: fc.constant('chmod' as const), p: relPath, mode: fc.constantFrom(0o644, 0o755, 0o600, 0o700) }),
  fc.record({ op: fc.constant('access' as const), p: relPath, mode: fc.constantFrom(0, 1, 2, 4, 7) }),
);

function apply(f: NodeFsSync, root: string, c: Call): unknown {
  const p = `${root}/${c.p}`;
  try {
    switch (c.op) {
      case 'mkdir':
        return f.mkdirSync(p, { recursive: c.recursive })?.slice(root.length) ?? null;
      case 'writeFile':
        return f.writeFileSync(p, c.data);
      case 'appendFile':
        return f.appendFileSync(p, c.data);
      case 'unlink':
        return f.unlinkSync(p);
      case 'rmdir':
        return f.rmdirSync(p);
      case 'readFile':
        return f.readFileSync(p, 'latin1');
      case 'readdir':
        return (f.readdirSync(p) as string[]).slice().sort();
      case 'stat': {
        const s = f.statSync(p);
        return [s.isFile(), s.isDirectory(), s.isFile() ? s.size : -1, s.nlink];
      }
      case 'exists':
        return f.existsSync(p);
      case 'rename':
        return f.renameSync(p, `${root}/${c.to}`);
      case 'truncate':
        return f.truncateSync(p, c.len);
      case 'fdio': {
        // Open with a flag, write (maybe positioned), read back from the start, close: each step's outcome.
        const fd = f.openSync(p, c.flag);
        const steps: unknown[] = [];
        const step = (fn: () => unknown): void => {
          try {
            steps.push(fn());
          } catch (e) {
            const err = e as { code?: string; syscall?: string };
            steps.push({ code: err.code, syscall: err.syscall });
          }
        };
        step(() => f.writeSync(fd, Buffer.from(c.data), 0, c.data.length, c.pos));
        step(() => {
          const b = Buffer.alloc(64);
          const n = f.readSync(fd, b, 0, 64, null);
          return b.subarray(0, n).toString('latin1');
        });
        step(() => {
          const st = f.fstatSync(fd);
          return st.isFile() ? st.size : 'dir'; // directory sizes differ by design (tmpfs: bytes of entries)
        });
        f.closeSync(fd);
        return steps;
      }
      case 'symlink':
        return f.symlinkSync(c.target, p);
      case 'link':
        return f.linkSync(p, `${root}/${c.to}`);
      case 'lstat': {
        const s = f.lstatSync(p);
        // A directory's size, links and mode are left out: '..' can reach above the scenario's directory.
        return s.isDirectory() ? 'dir' : [s.isFile(), s.isSymbolicLink(), s.size, s.nlink, s.mode];
      }
      case 'readlink':
        return f.readlinkSync(p);
      case 'realpath':
        return (f.realpathSync.native(p) as string).slice(root.length);
      case 'rm':
        return f.rmSync(p, { recursive: true });
      case 'chmod':
        f.chmodSync(p, c.mode);
        return f.statSync(p).mode;
      case 'access':
        return f.accessSync(p, c.mode);
      case 'pwrite': {
        const fd = f.openSync(p, 'r+');
        try {
          return f.writeSync(fd, Buffer.from(c.data), 0, c.data.length, c.pos);
        } finally {
          f.closeSync(fd);
        }
      }
    }
  } catch (e) {
    const err = e as { code?: string; syscall?: string };
    return { code: err.code, syscall: err.syscall };
  }
}

function tree(f: NodeFsSync, dir: string): unknown {
  return (f.readdirSync(dir) as string[]).slice().sort().map((n) => {
    const s = f.lstatSync(`${dir}/${n}`);
    if (s.isSymbolicLink()) return [n, '->', f.readlinkSync(`${dir}/${n}`)];
    return s.isDirectory() ? [n, tree(f, `${dir}/${n}`)] : [n, f.readFileSync(`${dir}/${n}`, 'latin1'), s.nlink, s.mode];
  });
}

describe('NrFS vs node:fs on tmpfs, random call sequences', () => {
  let run = 0;
  it('give the same outcome for every call and the same final tree', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 25 }), (calls) => {
        const dir = `/r${run++}`;
        realFs.mkdirSync(base + dir);
        fs.mkdirSync(dir);
        for (const c of calls) {
          const want = apply(realFs as unknown as NodeFsSync, base + dir, c);
          const got = apply(fs, dir, c);
          expect([c, got]).toEqual([c, want]);
        }
        expect(tree(fs, dir)).toEqual(tree(realFs as unknown as NodeFsSync, base + dir));
      }),
      { numRuns: Number(process.env.NRFS_PROP_RUNS ?? 300), seed: Number(process.env.NRFS_PROP_SEED ?? 20261125) },
    );
  });
});
