/**
 * Symbolic links at their edges, against node:fs on tmpfs (/dev/shm): long
 * targets and targets with names over NAME_MAX (symlink(2) checks only the
 * length; the names fail when followed), dangling and broken links under
 * realpath (node's JavaScript realpath stats a link before reading it, so
 * its error is a 'stat'), and realpath.native. Each step runs in sequence on
 * both in a fresh directory; its outcome (a value, or the error's code,
 * syscall and path below the directory) must be the same.
 */
import realFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { besideTmpfs, type Fs } from './support/fs-beside-tmpfs.js';

const { nr, base } = besideTmpfs('nrfs-links-');

let n = 0;
const outcomes = (fs: Fs, steps: ReadonlyArray<readonly [string, (fs: Fs, d: string) => unknown]>): string[] => {
  const d = `${base}/${n++}`;
  fs.mkdirSync(d);
  return steps.map(([name, step]) => {
    try {
      const v = step(fs, d);
      return `${name}: ok ${typeof v === 'string' ? v.replace(d, '<d>') : JSON.stringify(v)}`;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return `${name}: ${err.code} ${err.syscall} ${err.path?.replace(d, '<d>')} ${err.message.replaceAll(d, '<d>')}`;
    }
  });
};
const same = (steps: ReadonlyArray<readonly [string, (fs: Fs, d: string) => unknown]>): void => {
  expect(outcomes(nr, steps)).toEqual(outcomes(realFs, steps));
};

const long = 'b'.repeat(300);
describe('symbolic links at their edges, as node:fs on tmpfs', () => {
  it('a target is checked for its length only; its names over NAME_MAX fail when followed (ENAMETOOLONG)', () => {
    same([
      ['4095-byte target', (fs, d) => fs.symlinkSync('/' + 'a/'.repeat(2047), `${d}/l4095`)],
      ['4096-byte target', (fs, d) => fs.symlinkSync('a'.repeat(4096), `${d}/l4096`)],
      ['4000-byte name as target', (fs, d) => fs.symlinkSync('a'.repeat(4000), `${d}/lname`)],
      ['readlink it', (fs, d) => fs.readlinkSync(`${d}/lname`).length],
      ['lstat it', (fs, d) => fs.lstatSync(`${d}/lname`).size],
      ['stat through it', (fs, d) => fs.statSync(`${d}/lname`)],
      ['300-byte name inside a target', (fs, d) => fs.symlinkSync(`${long}/c`, `${d}/lmid`)],
      ['stat through a long middle name', (fs, d) => fs.statSync(`${d}/lmid`)],
      ['writeFile through a long middle name', (fs, d) => fs.writeFileSync(`${d}/lmid`, 'x')],
      ['a dangling link to a long last name', (fs, d) => fs.symlinkSync(`${d}/${long}`, `${d}/llast`)],
      ['writeFile through it creates nothing', (fs, d) => fs.writeFileSync(`${d}/llast`, 'x')],
      ['open wx through it', (fs, d) => fs.openSync(`${d}/llast`, 'w')],
      ['mkdir through a link to a directory', (fs, d) => {
        fs.mkdirSync(`${d}/dir`);
        fs.symlinkSync('dir', `${d}/ldir`);
        return fs.mkdirSync(`${d}/ldir/${'c'.repeat(255)}`);
      }],
      ['the directory lists', (fs, d) => fs.readdirSync(d)],
      ['an empty target', (fs, d) => fs.symlinkSync('', `${d}/lempty`)],
    ]);
  });

  it("realpath through dangling, broken and looping links: node's JavaScript realpath reports a 'stat'", () => {
    same([
      ['setup', (fs, d) => {
        fs.symlinkSync('nope', `${d}/dangling`);
        fs.writeFileSync(`${d}/f`, '');
        fs.symlinkSync('f/x', `${d}/broken`);
        fs.symlinkSync('dangling', `${d}/chain`);
        fs.mkdirSync(`${d}/dd`);
        fs.symlinkSync('../f/y', `${d}/dd/up`);
        fs.symlinkSync('loop', `${d}/loop`);
        fs.symlinkSync(`${long}`, `${d}/toolong`);
      }],
      ...['dangling', 'broken', 'dangling/x', 'nope/x', 'f/x', 'chain', 'chain/z', 'dd/up', 'dd/up/q', 'loop', 'loop/a', 'toolong', 'dd/../dangling', 'f'].flatMap(
        (p) =>
          [
            [`realpath ${p}`, (fs: Fs, d: string) => fs.realpathSync(`${d}/${p}`)],
            [`realpath.native ${p}`, (fs: Fs, d: string) => fs.realpathSync.native(`${d}/${p}`)],
          ] as const,
      ),
    ]);
  });

  it("copyFile to a name ending in '/': EISDIR once the parent resolves, whatever is there (libuv's O_CREAT open)", () => {
    same([
      ['setup', (fs, d) => {
        fs.mkdirSync(`${d}/dir`);
        fs.writeFileSync(`${d}/f`, 'x');
        fs.writeFileSync(`${d}/g`, 'y');
      }],
      ...[['f', 'dir/'], ['f', 'g/'], ['f', 'new/'], ['f', 'missing/x/'], ['f', 'g/x/'], ['dir', 'dir/'], ['f', 'dir/x/'], ['nope', 'g/']].flatMap(
        ([src, dest]) =>
          [0, 1].map((mode) => [`copyFile ${src} ${dest} ${mode}`, (fs: Fs, d: string) => fs.copyFileSync(`${d}/${src}`, `${d}/${dest}`, mode)] as const),
      ),
      ['the tree', (fs, d) => fs.readdirSync(d).concat(fs.readFileSync(`${d}/g`, 'utf8'))],
    ]);
  });
});
