/**
 * Conformance: the same table of calls against node:fs on a fresh tmpfs
 * directory (/dev/shm) and against NrFS, with the same relative paths. Each
 * call's outcome (a normalised result, or the error's code, syscall and
 * message with the base directory removed) must be identical.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs, type NodeFsSync, type NrFs } from '../src/fs/index.js';

const shm = realFs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
/** An fd number nothing in this process has open. */
const BAD_FD = 987_654;

type Outcome = { ok: unknown } | { err: { code: unknown; syscall: unknown; message: string } };

interface Ctx {
  fs: NodeFsSync;
  p: (rel: string) => string;
  rec: (label: string, fn: () => unknown) => void;
}

function normalise(v: unknown, base: string): unknown {
  if (Buffer.isBuffer(v)) return { buffer: v.toString('latin1') };
  if (typeof v === 'string') return v.split(base).join('');
  if (Array.isArray(v)) return v.map((x) => normalise(x, base));
  if (v !== null && typeof v === 'object' && 'isFile' in v && typeof (v as { isFile: unknown }).isFile === 'function') {
    const s = v as realFs.Stats;
    if ('ino' in s && 'mode' in s) {
      return { file: s.isFile(), dir: s.isDirectory(), size: s.isFile() ? s.size : 'dir', mode: s.mode, nlink: s.nlink, blocks: s.isFile() ? s.blocks : 'dir' };
    }
    const d = v as realFs.Dirent;
    return { name: d.name, file: d.isFile(), dir: d.isDirectory() };
  }
  return v;
}

/** Scenarios: each runs in its own fresh directory. Numbers that are fds are recorded as 'fd'. */
const scenarios: Record<string, (c: Ctx) => void> = {
  'write, read, stat, exists': ({ fs, p, rec }) => {
    rec('writeFile', () => fs.writeFileSync(p('f'), 'hello'));
    rec('readFile utf8', () => fs.readFileSync(p('f'), 'utf8'));
    rec('readFile buffer', () => fs.readFileSync(p('f')));
    rec('stat', () => fs.statSync(p('f')));
    rec('exists', () => fs.existsSync(p('f')));
    rec('exists missing', () => fs.existsSync(p('nope')));
    rec('stat missing', () => fs.statSync(p('nope')));
    rec('appendFile', () => fs.appendFileSync(p('f'), ' world'));
    rec('appendFile creates', () => fs.appendFileSync(p('g'), 'new'));
    rec('read both', () => [fs.readFileSync(p('f'), 'utf8'), fs.readFileSync(p('g'), 'utf8')]);
    rec('writeFile wx existing', () => fs.writeFileSync(p('f'), 'x', { flag: 'wx' }));
    rec('writeFile replaces', () => fs.writeFileSync(p('f'), 'ab'));
    rec('read replaced', () => fs.readFileSync(p('f'), 'latin1'));
    rec('stat root dir', () => fs.statSync(p('')));
  },
  'open flags and modes': ({ fs, p, rec }) => {
    rec('open r missing', () => fs.openSync(p('m'), 'r'));
    rec('open r+ missing', () => fs.openSync(p('m'), 'r+'));
    rec('open w creates', () => typeof fs.openSync(p('m'), 'w'));
    rec('open wx existing', () => fs.openSync(p('m'), 'wx'));
    rec('open numeric O_CREAT|O_EXCL existing', () => fs.openSync(p('m'), realFs.constants.O_CREAT | realFs.constants.O_EXCL | realFs.constants.O_WRONLY));
    rec('mode', () => fs.writeFileSync(p('mode'), 'x', { mode: 0o600 }));
    rec('stat mode', () => fs.statSync(p('mode')));
    rec('w truncates', () => {
      fs.writeFileSync(p('t'), '123456');
      fs.closeSync(fs.openSync(p('t'), 'w'));
      return fs.readFileSync(p('t'), 'utf8');
    });
    rec('a appends at end despite position', () => {
      fs.writeFileSync(p('ap'), 'abc');
      const fd = fs.openSync(p('ap'), 'a');
      fs.writeSync(fd, Buffer.from('XY'), 0, 2, 0);
      fs.writeSync(fd, 'Z');
      fs.closeSync(fd);
      return fs.readFileSync(p('ap'), 'utf8');
    });
    rec('a+ reads from start', () => {
      const fd = fs.openSync(p('ap'), 'a+');
      const b = Buffer.alloc(3);
      const n = fs.readSync(fd, b, 0, 3, null);
      fs.closeSync(fd);
      return [n, b.toString()];
    });
    rec('r+ overwrites in place', () => {
      const fd = fs.openSync(p('ap'), 'r+');
      fs.writeSync(fd, 'q');
      fs.closeSync(fd);
      return fs.readFileSync(p('ap'), 'utf8');
    });
    rec('bad flag string', () => fs.openSync(p('ap'), 'rw' as string));
  },
  'EBADF and open-mode violations': ({ fs, p, rec }) => {
    fs.writeFileSync(p('f'), 'data');
    const r = fs.openSync(p('f'), 'r');
    const w = fs.openSync(p('f'), 'w');
    rec('write through r fd', () => fs.writeSync(r, 'x'));
    rec('read through w fd', () => fs.readSync(w, Buffer.alloc(4), 0, 4, 0));
    rec('ftruncate through r fd', () => fs.ftruncateSync(r, 0));
    rec('fstat', () => fs.fstatSync(w));
    rec('close', () => [fs.closeSync(r), fs.closeSync(w)]);
    rec('read bad fd', () => fs.readSync(BAD_FD, Buffer.alloc(1), 0, 1, null));
    rec('write bad fd', () => fs.writeSync(BAD_FD, 'x'));
    rec('close bad fd', () => fs.closeSync(BAD_FD));
    rec('fstat bad fd', () => fs.fstatSync(BAD_FD));
    rec('writeFile with flag r', () => fs.writeFileSync(p('f'), 'x', { flag: 'r' }));
  },
  'EISDIR, ENOTDIR, ENOTEMPTY, EEXIST, ENOENT': ({ fs, p, rec }) => {
    fs.mkdirSync(p('d'));
    fs.writeFileSync(p('d/f'), 'x');
    fs.writeFileSync(p('file'), 'x');
    rec('open dir w', () => fs.openSync(p('d'), 'w'));
    rec('open dir r+', () => fs.openSync(p('d'), 'r+'));
    rec('readFile dir', () => fs.readFileSync(p('d')));
    rec('writeFile dir', () => fs.writeFileSync(p('d'), 'x'));
    rec('read dir fd', () => {
      const fd = fs.openSync(p('d'), 'r');
      try {
        return fs.readSync(fd, Buffer.alloc(4), 0, 4, null);
      } finally {
        fs.closeSync(fd);
      }
    });
    rec('unlink dir', () => fs.unlinkSync(p('d')));
    rec('rmdir non-empty', () => fs.rmdirSync(p('d')));
    rec('rmdir file', () => fs.rmdirSync(p('file')));
    rec('rmdir missing', () => fs.rmdirSync(p('none')));
    rec('unlink missing', () => fs.unlinkSync(p('none')));
    rec('mkdir existing', () => fs.mkdirSync(p('d')));
    rec('mkdir over file', () => fs.mkdirSync(p('file')));
    rec('mkdir missing parent', () => fs.mkdirSync(p('x/y')));
    rec('mkdir under file', () => fs.mkdirSync(p('file/y')));
    rec('mkdir recursive existing', () => fs.mkdirSync(p('d'), { recursive: true }));
    rec('mkdir recursive over file', () => fs.mkdirSync(p('file'), { recursive: true }));
    rec('mkdir recursive under file', () => fs.mkdirSync(p('file/a/b'), { recursive: true }));
    rec('mkdir recursive returns first', () => fs.mkdirSync(p('d/n1/n2/n3'), { recursive: true }));
    rec('readdir file', () => fs.readdirSync(p('file')));
    rec('readdir missing', () => fs.readdirSync(p('none')));
    rec('stat through file', () => fs.statSync(p('file/x')));
    rec('open through file', () => fs.openSync(p('file/x'), 'w'));
    rec('open file with trailing slash', () => fs.openSync(p('file/'), 'r'));
    rec('create with trailing slash', () => fs.openSync(p('newf/'), 'w'));
    rec('stat file trailing slash', () => fs.statSync(p('file/')));
    rec('stat dir trailing slash', () => fs.statSync(p('d/')));
    rec('dot and dotdot', () => fs.readFileSync(p('d/./../d/f'), 'utf8'));
    rec('rmdir empty', () => fs.rmdirSync(p('d/n1/n2/n3')));
    rec('nlink counts subdirs', () => [fs.statSync(p('d')), fs.statSync(p('d/n1'))]);
  },
  'rename by POSIX rules': ({ fs, p, rec }) => {
    fs.writeFileSync(p('a'), 'A');
    fs.writeFileSync(p('b'), 'B');
    fs.mkdirSync(p('d1'));
    fs.writeFileSync(p('d1/in'), 'in');
    fs.mkdirSync(p('d2'));
    fs.mkdirSync(p('full'));
    fs.writeFileSync(p('full/x'), 'x');
    rec('file over file', () => fs.renameSync(p('a'), p('b')));
    rec('after file over file', () => [fs.existsSync(p('a')), fs.readFileSync(p('b'), 'utf8')]);
    rec('dir over empty dir', () => fs.renameSync(p('d1'), p('d2')));
    rec('after dir over empty dir', () => [fs.existsSync(p('d1')), fs.readFileSync(p('d2/in'), 'utf8')]);
    rec('dir over non-empty dir', () => fs.renameSync(p('d2'), p('full')));
    rec('file over dir', () => fs.renameSync(p('b'), p('full')));
    rec('dir over file', () => fs.renameSync(p('full'), p('b')));
    rec('dir into own subtree', () => fs.renameSync(p('d2'), p('d2/sub')));
    rec('dir onto itself', () => fs.renameSync(p('d2'), p('d2')));
    rec('file onto itself', () => fs.renameSync(p('b'), p('b')));
    rec('missing source', () => fs.renameSync(p('zz'), p('yy')));
    rec('missing target parent', () => fs.renameSync(p('b'), p('no/where')));
    rec('target parent is a file', () => fs.renameSync(p('b'), p('full/x/y')));
    rec('move file into dir', () => fs.renameSync(p('b'), p('full/b')));
    rec('move dir into dir', () => fs.renameSync(p('d2'), p('full/d2')));
    rec('listing after', () => [fs.readdirSync(p('')), fs.readdirSync(p('full'))]);
    rec('nlink after dir moves', () => [fs.statSync(p('')), fs.statSync(p('full'))]);
  },
  'unlink of an open file': ({ fs, p, rec }) => {
    fs.writeFileSync(p('f'), 'still here');
    const fd = fs.openSync(p('f'), 'r+');
    rec('unlink', () => fs.unlinkSync(p('f')));
    rec('gone by name', () => [fs.existsSync(p('f')), fs.readdirSync(p(''))]);
    rec('readable through fd', () => {
      const b = Buffer.alloc(10);
      return [fs.readSync(fd, b, 0, 10, 0), b.toString()];
    });
    rec('writable through fd', () => fs.writeSync(fd, 'S', 0));
    rec('fstat after unlink', () => fs.fstatSync(fd));
    rec('recreate same name is a new file', () => {
      fs.writeFileSync(p('f'), 'new');
      const b = Buffer.alloc(10);
      return [fs.readFileSync(p('f'), 'utf8'), fs.readSync(fd, b, 0, 10, 0), b.toString()];
    });
    rec('close', () => fs.closeSync(fd));
    rec('read after close', () => fs.readSync(fd, Buffer.alloc(1), 0, 1, 0));
  },
  'truncate and sparse files': ({ fs, p, rec }) => {
    const fd = fs.openSync(p('s'), 'w+');
    rec('write past end leaves a hole', () => fs.writeSync(fd, Buffer.from('tail'), 0, 4, 10_000));
    rec('size', () => fs.fstatSync(fd));
    rec('hole reads zeros', () => {
      const b = Buffer.alloc(16, 0xff);
      return [fs.readSync(fd, b, 0, 16, 9_992), b.toString('hex')];
    });
    rec('read past end', () => fs.readSync(fd, Buffer.alloc(8), 0, 8, 20_000));
    rec('truncate shrink', () => fs.truncateSync(p('s'), 10_002));
    rec('after shrink', () => (fs.readFileSync(p('s')) as Buffer).subarray(9_998).toString('hex'));
    rec('truncate grow', () => fs.ftruncateSync(fd, 10_010));
    rec('grown part reads zeros', () => (fs.readFileSync(p('s')) as Buffer).subarray(9_998).toString('hex'));
    rec('truncate to 0', () => [fs.truncateSync(p('s')), fs.statSync(p('s'))]);
    rec('truncate dir', () => fs.truncateSync(p(''), 0));
    rec('truncate missing', () => fs.truncateSync(p('none'), 0));
    rec('truncate negative', () => fs.truncateSync(p('s'), -1));
    rec('close', () => fs.closeSync(fd));
    rec('big write across pages', () => {
      const big = Buffer.alloc(3 * 4096 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      fs.writeFileSync(p('big'), big);
      const fd2 = fs.openSync(p('big'), 'r');
      const b = Buffer.alloc(5000);
      const n = fs.readSync(fd2, b, 0, 5000, 4000);
      fs.closeSync(fd2);
      return [n, b.equals(big.subarray(4000, 9000)), fs.statSync(p('big'))];
    });
  },
  'offsets: read and write move them, positional calls do not': ({ fs, p, rec }) => {
    fs.writeFileSync(p('f'), '0123456789');
    const fd = fs.openSync(p('f'), 'r+');
    const b = Buffer.alloc(3);
    rec('read 3', () => [fs.readSync(fd, b, 0, 3, null), b.toString()]);
    rec('read 3 more', () => [fs.readSync(fd, b, 0, 3, null), b.toString()]);
    rec('positional read', () => [fs.readSync(fd, b, 0, 3, 0), b.toString()]);
    rec('read continues', () => [fs.readSync(fd, b, { offset: 0, length: 3 }), b.toString()]);
    rec('write at offset', () => fs.writeSync(fd, 'X'));
    rec('positional write', () => fs.writeSync(fd, Buffer.from('Y'), 0, 1, 0));
    rec('read after writes', () => [fs.readSync(fd, b, 0, 3, null), b.toString()]);
    rec('content', () => fs.readFileSync(p('f'), 'utf8'));
    rec('close', () => fs.closeSync(fd));
  },
  'readdir (compared sorted; NrFS order checked separately)': ({ fs, p, rec }) => {
    for (const n of ['b', 'a', 'c', 'B', '10', '9', 'é', 'a.txt']) fs.writeFileSync(p(n), n);
    fs.mkdirSync(p('sub'));
    rec('names', () => (fs.readdirSync(p('')) as string[]).slice().sort());
    rec('with types', () =>
      (fs.readdirSync(p(''), { withFileTypes: true }) as unknown as realFs.Dirent[]).slice().sort((x, y) => (x.name < y.name ? -1 : 1)),
    );
    rec('empty dir', () => fs.readdirSync(p('sub')));
  },
};

interface Run {
  outcomes: [string, Outcome][];
}

function runScenario(fs: NodeFsSync, root: string, base: string, scenario: (c: Ctx) => void): Run {
  const outcomes: [string, Outcome][] = [];
  const p = (rel: string): string => (rel === '' ? root : `${root}/${rel}`);
  const rec = (label: string, fn: () => unknown): void => {
    try {
      const v = fn();
      outcomes.push([label, { ok: normalise(v, base) }]);
    } catch (e) {
      const err = e as { code?: unknown; syscall?: unknown; message: string };
      outcomes.push([label, { err: { code: err.code, syscall: err.syscall, message: err.message.split(base).join('') } }]);
    }
  };
  scenario({ fs, p, rec });
  return { outcomes };
}

describe('NrFS conformance with node:fs on tmpfs', () => {
  let base: string;
  let nr: NrFs;
  let fs: NodeFsSync;
  beforeAll(() => {
    base = mkdtempSync(path.join(shm, 'nrfs-conf-'));
    nr = attachFs(createFs({ umask: process.umask() }));
    fs = nodeFs(nr);
  });
  afterAll(() => {
    nr.detach();
    rmSync(base, { recursive: true, force: true });
  });

  let n = 0;
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, () => {
      const dir = `/s${n++}`;
      realFs.mkdirSync(base + dir);
      fs.mkdirSync(dir);
      const real = runScenario(realFs as unknown as NodeFsSync, base + dir, base, scenario);
      const ours = runScenario(fs, dir, base, scenario);
      if (process.env.NRFS_DUMP) console.log(JSON.stringify(real.outcomes));
      expect(ours.outcomes).toEqual(real.outcomes);
    });
  }

  it('readdir returns names sorted by their UTF-8 bytes (node\'s order), whatever the creation order', () => {
    fs.mkdirSync('/order');
    const names = ['zeta', 'Alpha', 'beta', '10', '9', '_x', 'ä', 'a b', '\u{1F600}', '\uFFFD'];
    for (const name of names) fs.writeFileSync(`/order/${name}`, '');
    fs.mkdirSync('/order/dir');
    const byBytes = (x: string, y: string): number => Buffer.compare(Buffer.from(x), Buffer.from(y));
    const expected = [...names, 'dir'].sort(byBytes);
    expect(expected.slice(-2)).toEqual(['\uFFFD', '\u{1F600}']); // UTF-16 order would put the emoji first
    expect(fs.readdirSync('/order')).toEqual(expected);
    fs.renameSync('/order/zeta', '/order/0zeta');
    expect(fs.readdirSync('/order')).toEqual([...expected.filter((x) => x !== 'zeta'), '0zeta'].sort(byBytes));
  });
});
