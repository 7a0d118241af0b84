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
const position = fc.constantFrom<unknown>(null, undefined, -1, 0, 2, 5, 1n, 3n, -2n, 1.5, '1', 2 ** 53);
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
  | { op: 'access'; p: string; mode: number }
  | { op: 'rw'; p: string; flag: string; writes: { data: string; enc: string; pos: unknown; view: string }[]; reads: unknown[]; len: unknown }
  | { op: 'readdirEnc'; p: string; enc: string; types: boolean }
  | { op: 'copyFile'; p: string; to: string; mode: number }
  | { op: 'cp'; p: string; to: string; recursive: boolean; force: boolean; errorOnExist: boolean };
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
  // The argument forms an adopter passes: positions as null, -1, bigint, fractions, strings; encodings; typed arrays.
  fc.record({
    op: fc.constant('rw' as const),
    p: relPath,
    flag: fc.constantFrom('r+', 'a+', 'w+', 'r'),
    writes: fc.array(fc.record({ data, enc: fc.constantFrom('utf8', 'latin1', 'hex', 'base64', 'nope'), pos: position, view: fc.constantFrom('string', 'buffer', 'uint16', 'dataview') }), { maxLength: 3 }),
    reads: fc.array(position, { maxLength: 3 }),
    len: fc.constantFrom(undefined, 0, 3, -1, 1.5, '2', 2n, 40),
  }),
  fc.record({ op: fc.constant('readdirEnc' as const), p: relPath, enc: fc.constantFrom('utf8', 'hex', 'base64', 'latin1', 'buffer'), types: fc.boolean() }),
  fc.record({ op: fc.constant('copyFile' as const), p: relPath, to: relPath, mode: fc.constantFrom(0, 1, 2) }),
  // A recursive cp into its own subtree through a link ('a' -> 'c', cp c a/a/x) never ends in node 20 (a stack
  // overflow; NrFS stops at ENAMETOOLONG): a recursive cp's destination is a top-level name.
  fc.record({ op: fc.constant('cp' as const), p: relPath, to: relPath, recursive: fc.constant(false), force: fc.boolean(), errorOnExist: fc.boolean() }),
  fc.record({ op: fc.constant('cp' as const), p: relPath, to: name, recursive: fc.constant(true), force: fc.boolean(), errorOnExist: fc.boolean() }),
);

/** An error as an outcome: an argument error's code and message, a system error's code and syscall. */
function outcomeOf(e: unknown, root: string): unknown {
  const err = e as { code?: string; syscall?: string; message?: string };
  return { code: err.code, syscall: err.syscall, message: err.code?.startsWith('ERR_') ? (err.message ?? '').split(root).join('') : undefined };
}

/** Steps of one call, each recorded as its value or its error's outcome. */
function stepper(): { steps: unknown[]; step: (fn: () => unknown) => void } {
  const steps: unknown[] = [];
  const step = (fn: () => unknown): void => {
    try {
      steps.push(fn());
    } catch (e) {
      steps.push(outcomeOf(e, ''));
    }
  };
  return { steps, step };
}

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
        const { steps, step } = stepper();
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
      case 'rw': {
        // Writes and reads in every argument form, each step's outcome (values, or error code and message).
        const fd = f.openSync(p, c.flag);
        const { steps, step } = stepper();
        for (const w of c.writes) {
          const bytes = Buffer.from(w.data, 'latin1');
          step(() => {
            if (w.view === 'string') return f.writeSync(fd, w.data, w.pos as number, w.enc as BufferEncoding);
            const view = w.view === 'buffer' ? bytes : w.view === 'uint16' ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1) : new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
            return f.writeSync(fd, view, 0, view.byteLength, w.pos as number);
          });
        }
        for (const pos of c.reads) {
          step(() => {
            const b = new Uint8Array(16);
            const n = f.readSync(fd, b, 0, 16, pos as number);
            return Buffer.from(b.subarray(0, n)).toString('latin1');
          });
          step(() => {
            const bs = [Buffer.alloc(3), Buffer.alloc(5)];
            return [f.readvSync(fd, bs, pos as number), Buffer.concat(bs).toString('latin1')];
          });
        }
        step(() => f.ftruncateSync(fd, c.len as number));
        step(() => {
          const st = f.fstatSync(fd);
          return st.isFile() ? st.size : 'dir'; // directory sizes differ by design
        });
        f.closeSync(fd);
        return steps;
      }
      case 'readdirEnc': {
        const names = f.readdirSync(p, { encoding: c.enc as BufferEncoding, withFileTypes: c.types }) as unknown[];
        return names.map((n) => (typeof n === 'object' && n !== null && 'name' in n ? (n as { name: unknown }).name : n)).map((n) => (Buffer.isBuffer(n) ? `buffer:${n.toString('hex')}` : n)).sort();
      }
      case 'copyFile':
        f.copyFileSync(p, `${root}/${c.to}`, c.mode);
        return f.readFileSync(`${root}/${c.to}`, 'latin1');
      case 'cp':
        return f.cpSync(p, `${root}/${c.to}`, { recursive: c.recursive, force: c.force, errorOnExist: c.errorOnExist });
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
    return outcomeOf(e, root);
  }
}

/** The tree below `dir`; absolute link targets (cp makes them) relative to the scenario's `root`. */
function tree(f: NodeFsSync, dir: string, root = dir): unknown {
  return (f.readdirSync(dir) as string[]).slice().sort().map((n) => {
    const s = f.lstatSync(`${dir}/${n}`);
    if (s.isSymbolicLink()) return [n, '->', (f.readlinkSync(`${dir}/${n}`) as string).split(root).join('<root>')];
    return s.isDirectory() ? [n, tree(f, `${dir}/${n}`, root)] : [n, f.readFileSync(`${dir}/${n}`, 'latin1'), s.nlink, s.mode];
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
