/**
 * Which times an op moves, against node:fs on tmpfs (/dev/shm): for each op,
 * whether the mtime and ctime of every name in a small tree changed, plus
 * its mode, link count and size, must be the same under NrFS as under
 * node:fs. (atime is left out: NrFS is noatime, see docs/fs.md.) Each op
 * runs in a fresh tree after a pause longer than tmpfs's clock tick, so a
 * time that moves is seen to move.
 */
import realFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { besideTmpfs, type Fs } from './support/fs-beside-tmpfs.js';

const { nr, base } = besideTmpfs('nrfs-times-');

const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
const setup = (fs: Fs, d: string): void => {
  fs.mkdirSync(`${d}/a/b`, { recursive: true });
  fs.mkdirSync(`${d}/c`);
  fs.writeFileSync(`${d}/a/f`, 'hello');
  fs.writeFileSync(`${d}/a/e`, '');
  fs.symlinkSync('f', `${d}/a/l`);
  fs.writeFileSync(`${d}/c/g`, 'x');
};
const NAMES = ['', '/a', '/a/b', '/a/f', '/a/e', '/a/l', '/c', '/c/g', '/c/b', '/c/f', '/a/g'];
const withFd = (fs: Fs, p: string, flags: string | number, f: (fd: number) => void): void => {
  const fd = fs.openSync(p, flags);
  try {
    f(fd);
  } finally {
    fs.closeSync(fd);
  }
};

const OPS: Record<string, (fs: Fs, d: string) => unknown> = {
  "open 'w' of an empty file": (fs, d) => withFd(fs, `${d}/a/e`, 'w', () => {}),
  "open 'w' of a file with data": (fs, d) => withFd(fs, `${d}/a/f`, 'w', () => {}),
  'open O_RDWR|O_TRUNC of an empty file': (fs, d) => withFd(fs, `${d}/a/e`, fs.constants.O_RDWR | fs.constants.O_TRUNC, () => {}),
  'open O_RDONLY|O_TRUNC of an empty file': (fs, d) => withFd(fs, `${d}/a/e`, fs.constants.O_RDONLY | fs.constants.O_TRUNC, () => {}),
  "open 'w' through a link to an empty file": (fs, d) => {
    fs.symlinkSync('e', `${d}/a/g`);
    pause(25);
    withFd(fs, `${d}/a/g`, 'w', () => {});
  },
  "open 'a' of an existing file": (fs, d) => withFd(fs, `${d}/a/f`, 'a', () => {}),
  "open 'r+'": (fs, d) => withFd(fs, `${d}/a/f`, 'r+', () => {}),
  "open 'a' creating": (fs, d) => withFd(fs, `${d}/a/g`, 'a', () => {}),
  "writeFile '' over an empty file": (fs, d) => fs.writeFileSync(`${d}/a/e`, ''),
  "writeFile 'x'": (fs, d) => fs.writeFileSync(`${d}/a/f`, 'x'),
  "writeFile '' with flag 'r+'": (fs, d) => fs.writeFileSync(`${d}/a/f`, '', { flag: 'r+' }),
  "writeFile 'x' with flag 'r+'": (fs, d) => fs.writeFileSync(`${d}/a/f`, 'x', { flag: 'r+' }),
  "appendFile ''": (fs, d) => fs.appendFileSync(`${d}/a/f`, ''),
  "appendFile '' to an empty file": (fs, d) => fs.appendFileSync(`${d}/a/e`, ''),
  "appendFile '' creating": (fs, d) => fs.appendFileSync(`${d}/a/g`, ''),
  "appendFile 'q'": (fs, d) => fs.appendFileSync(`${d}/a/f`, 'q'),
  "appendFile 'q' through a link": (fs, d) => fs.appendFileSync(`${d}/a/l`, 'q'),
  "appendFile '' to a file given by fd": (fs, d) => withFd(fs, `${d}/a/f`, 'a', (fd) => fs.appendFileSync(fd, '')),
  "writeFile '' to a file given by fd": (fs, d) => withFd(fs, `${d}/a/f`, 'r+', (fd) => fs.writeFileSync(fd, '')),
  'write of 0 bytes': (fs, d) => withFd(fs, `${d}/a/f`, 'r+', (fd) => fs.writeSync(fd, Buffer.alloc(0))),
  'pwrite of 0 bytes past the end': (fs, d) => withFd(fs, `${d}/a/f`, 'r+', (fd) => fs.writeSync(fd, Buffer.alloc(0), 0, 0, 100)),
  'writev of nothing': (fs, d) => withFd(fs, `${d}/a/f`, 'r+', (fd) => fs.writevSync(fd, [])),
  'write of 1 byte': (fs, d) => withFd(fs, `${d}/a/f`, 'r+', (fd) => fs.writeSync(fd, 'Z', 2)),
  'truncate to the same size': (fs, d) => fs.truncateSync(`${d}/a/f`, 5),
  'truncate an empty file to 0': (fs, d) => fs.truncateSync(`${d}/a/e`, 0),
  'ftruncate to the same size': (fs, d) => withFd(fs, `${d}/a/f`, 'r+', (fd) => fs.ftruncateSync(fd, 5)),
  'truncate through a link': (fs, d) => fs.truncateSync(`${d}/a/l`, 2),
  'chmod to the same mode': (fs, d) => fs.chmodSync(`${d}/a/f`, 0o644),
  'fchmod': (fs, d) => withFd(fs, `${d}/a/f`, 'r', (fd) => fs.fchmodSync(fd, 0o640)),
  'chown to the same owner': (fs, d) => fs.chownSync(`${d}/a/f`, process.getuid!(), process.getgid!()),
  'utimes': (fs, d) => fs.utimesSync(`${d}/a/f`, 5, 6),
  'futimes': (fs, d) => withFd(fs, `${d}/a/f`, 'r', (fd) => fs.futimesSync(fd, 3, 4)),
  'lutimes of a link': (fs, d) => fs.lutimesSync(`${d}/a/l`, 1, 2),
  'utimes of a directory': (fs, d) => fs.utimesSync(`${d}/a`, 7, 8),
  'copyFile onto an existing file': (fs, d) => fs.copyFileSync(`${d}/a/e`, `${d}/a/f`),
  'copyFile to a new name': (fs, d) => fs.copyFileSync(`${d}/a/f`, `${d}/c/f`),
  'copyFile of a directory to a new name (EISDIR)': (fs, d) => fs.copyFileSync(`${d}/a/b`, `${d}/c/f`),
  'copyFile of a directory to a new name, COPYFILE_EXCL (EISDIR)': (fs, d) => fs.copyFileSync(`${d}/a/b`, `${d}/c/f`, fs.constants.COPYFILE_EXCL),
  'copyFile of a directory onto a file (EISDIR, the file removed)': (fs, d) => fs.copyFileSync(`${d}/a/b`, `${d}/c/g`),
  'copyFile with COPYFILE_FICLONE_FORCE to a new name (ENOTSUP)': (fs, d) => fs.copyFileSync(`${d}/a/f`, `${d}/c/f`, fs.constants.COPYFILE_FICLONE_FORCE),
  'rename a file within its directory': (fs, d) => fs.renameSync(`${d}/a/f`, `${d}/a/g`),
  'rename a file across directories': (fs, d) => fs.renameSync(`${d}/a/f`, `${d}/c/f`),
  'rename a directory across directories': (fs, d) => fs.renameSync(`${d}/a/b`, `${d}/c/b`),
  'rename a directory over an empty one': (fs, d) => fs.renameSync(`${d}/a/b`, `${d}/c`),
  'rename a name onto itself': (fs, d) => fs.renameSync(`${d}/a/f`, `${d}/a/f`),
  'rename onto another link of the same file': (fs, d) => {
    fs.linkSync(`${d}/a/f`, `${d}/a/g`);
    pause(25);
    fs.renameSync(`${d}/a/f`, `${d}/a/g`);
  },
  'link across directories': (fs, d) => fs.linkSync(`${d}/a/f`, `${d}/c/f`),
  'unlink one of two links': (fs, d) => {
    fs.linkSync(`${d}/a/f`, `${d}/c/f`);
    pause(25);
    fs.unlinkSync(`${d}/c/f`);
  },
  'unlink a link': (fs, d) => fs.unlinkSync(`${d}/a/l`),
  'rmdir': (fs, d) => fs.rmdirSync(`${d}/a/b`),
  'mkdir -p': (fs, d) => fs.mkdirSync(`${d}/a/b/x/y`, { recursive: true }),
  'mkdir -p of an existing directory': (fs, d) => fs.mkdirSync(`${d}/a/b`, { recursive: true }),
  'rm -r': (fs, d) => fs.rmSync(`${d}/a`, { recursive: true }),
  'readFile': (fs, d) => fs.readFileSync(`${d}/a/f`),
  'readdir': (fs, d) => fs.readdirSync(`${d}/a`),
};

type Seen = string;
const seen = (before: realFs.Stats | string, after: realFs.Stats | string): Seen => {
  if (typeof after === 'string') return after;
  const moved = (k: 'mtimeMs' | 'ctimeMs'): string => (typeof before === 'string' ? 'new' : before[k] !== after[k] ? 'moved' : 'same');
  return `mode ${after.mode.toString(8)} nlink ${after.nlink} size ${after.isDirectory() ? '-' : after.size} mtime ${moved('mtimeMs')} ctime ${moved('ctimeMs')}`;
};
const lstat = (fs: Fs, p: string): realFs.Stats | string => {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
};
let n = 0;
const run = (fs: Fs, op: (fs: Fs, d: string) => unknown): Record<string, Seen> => {
  const d = `${base}/${n++}`;
  fs.mkdirSync(d);
  setup(fs, d);
  pause(25);
  const before = NAMES.map((p) => lstat(fs, d + p));
  let outcome = 'ok';
  try {
    op(fs, d);
  } catch (e) {
    outcome = (e as NodeJS.ErrnoException).code ?? String(e);
  }
  const out: Record<string, Seen> = { outcome };
  NAMES.forEach((p, i) => (out[p || '.'] = seen(before[i]!, lstat(fs, d + p))));
  return out;
};

describe('NrFS moves the times node:fs moves on tmpfs', () => {
  for (const [name, op] of Object.entries(OPS)) {
    it(name, () => {
      const theirs = run(realFs, op);
      const ours = run(nr, op);
      expect(ours).toEqual(theirs);
    });
  }
});

describe('stat sizes and blocks as tmpfs reports them', () => {
  const shape = (s: realFs.Stats): string => `size ${s.size} blocks ${s.blocks} nlink ${s.nlink}`;
  it('directories (20 bytes an entry, no blocks), symbolic links (a page past 127 bytes), sparse and partial files', () => {
    const build = (fs: Fs): Record<string, string> => {
      const d = `${base}/${n++}`;
      fs.mkdirSync(`${d}/dir/sub`, { recursive: true });
      for (const name of ['x', 'y', 'z']) fs.writeFileSync(`${d}/dir/${name}`, name);
      fs.unlinkSync(`${d}/dir/y`);
      fs.renameSync(`${d}/dir/z`, `${d}/dir/x`);
      fs.symlinkSync('a'.repeat(127), `${d}/short`);
      fs.symlinkSync('a'.repeat(128), `${d}/long`);
      fs.symlinkSync('a'.repeat(4000), `${d}/longest`);
      fs.writeFileSync(`${d}/sparse`, '');
      fs.truncateSync(`${d}/sparse`, 10_000);
      fs.writeFileSync(`${d}/partial`, 'x'.repeat(4097));
      fs.mkdirSync(`${d}/empty`);
      const out: Record<string, string> = {};
      for (const p of ['', '/dir', '/dir/sub', '/empty', '/short', '/long', '/longest', '/sparse', '/partial']) out[p || '.'] = shape(fs.lstatSync(d + p));
      return out;
    };
    expect(build(nr)).toEqual(build(realFs));
  });
});

describe('times the kernel refuses (an Invalid Date, seconds past an int64): EINVAL after the path or fd resolves, nothing changed', () => {
  const bad = new Date(NaN);
  const CALLS: Record<string, (fs: Fs, d: string) => unknown> = {
    'utimes, an Invalid Date': (fs, d) => fs.utimesSync(`${d}/f`, bad, 1),
    'utimes, 1e308 s': (fs, d) => fs.utimesSync(`${d}/f`, 1, 1e308),
    "utimes, '-1e300'": (fs, d) => fs.utimesSync(`${d}/f`, '-1e300' as unknown as number, 1),
    'utimes of a missing path, an Invalid Date (ENOENT first)': (fs, d) => fs.utimesSync(`${d}/missing`, bad, 1),
    'lutimes, 1e308 s': (fs, d) => fs.lutimesSync(`${d}/f`, 1e308, 1),
    'futimes, an Invalid Date': (fs, d) => withFd(fs, `${d}/f`, 'r', (fd) => fs.futimesSync(fd, bad, 1)),
    'futimes of a closed fd, an Invalid Date (EBADF first)': (fs, d) => {
      const fd = fs.openSync(`${d}/f`, 'r');
      fs.closeSync(fd);
      fs.futimesSync(fd, bad, 1);
    },
    'callback utimes, an Invalid Date': (fs, d) => new Promise<void>((resolve, reject) => fs.utimes(`${d}/f`, bad, 1, (e) => (e ? reject(e) : resolve()))),
    'promises.utimes, 1e400 as a string': (fs, d) => fs.promises.utimes(`${d}/f`, 1, '1e400'),
    'FileHandle.utimes, an Invalid Date': async (fs, d) => {
      const h = await fs.promises.open(`${d}/f`, 'r');
      try {
        await h.utimes(bad, 1);
      } finally {
        await h.close();
      }
    },
    'utimes, 1e15 s (accepted)': (fs, d) => (fs.utimesSync(`${d}/f`, 1e15, 1e15), fs.statSync(`${d}/f`).mtimeMs),
  };
  for (const [name, call] of Object.entries(CALLS)) {
    it(name, async () => {
      const out = async (fs: Fs): Promise<string> => {
        const d = `${base}/${n++}`;
        fs.mkdirSync(d);
        fs.writeFileSync(`${d}/f`, '');
        fs.utimesSync(`${d}/f`, 7, 7);
        try {
          return `ok ${String(await call(fs, d))} mtime ${fs.statSync(`${d}/f`).mtimeMs}`;
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          return `${err.code} ${err.syscall} ${err.message.replace(d, '<d>')} mtime ${fs.statSync(`${d}/f`).mtimeMs}`;
        }
      };
      const theirs = await out(realFs);
      expect(await out(nr)).toBe(theirs);
    });
  }
});
