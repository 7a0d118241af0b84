/**
 * NrFS API behaviour inside one thread: bad input never reaches the log,
 * capacity limits fail whole ops, two replicas (two fd tables) see one
 * file system, large payloads go out of line and are reclaimed, snapshots
 * round-trip, and the promises facade.
 */
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, FsArgumentError, FsError, fsStructure, nodeFs, type NrFs } from '../src/fs/index.js';
import { writeFileOp } from './support/fs-pages.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe(code);
}

/** Run `fn`, which must throw `code`, and check the log did not move and the state did not change. */
function expectRejectedUnlogged(fs: NrFs, fn: () => unknown, code: string): void {
  const mark = fs.replica.logMark();
  const digest = fs.replica.digest();
  expectCode(fn, code);
  expect(fs.replica.logMark()).toBe(mark);
  expect(fs.replica.digest()).toBe(digest);
}

describe('NrFS bad input', () => {
  it('rejects bad paths, flags, fds and ranges before anything is logged', () => {
    const fs = attachFs(createFs());
    fs.writeFile('/f', 'x');
    const fd = fs.open('/f', 'r+');
    const cases: [() => unknown, string][] = [
      [() => fs.open('', 'w'), 'ENOENT'],
      [() => fs.open('rel/path', 'w'), 'EINVAL'],
      [() => fs.open('/a\u0000b', 'w'), 'ERR_INVALID_ARG_VALUE'],
      [() => fs.open(42 as unknown as string, 'w'), 'ERR_INVALID_ARG_TYPE'],
      [() => fs.open('/' + 'x'.repeat(256), 'w'), 'ENAMETOOLONG'],
      [() => fs.open('/' + 'abc/'.repeat(1100), 'w'), 'ENAMETOOLONG'],
      [() => fs.open('/g', 'rw'), 'ERR_INVALID_ARG_VALUE'],
      [() => fs.open('/g', -1), 'ERR_OUT_OF_RANGE'],
      // node:fs: a negative numeric mode is out of range (a non-octal string is an invalid value, below).
      [() => fs.open('/g', 'w', -5), 'ERR_OUT_OF_RANGE'],
      [() => fs.write(fd, Buffer.alloc(4), 2, 3), 'ERR_OUT_OF_RANGE'],
      [() => fs.write(fd, Buffer.alloc(4), 0, 1, -3), 'ERR_OUT_OF_RANGE'],
      [() => fs.write(fd, 123 as unknown as string), 'ERR_INVALID_ARG_TYPE'],
      [() => fs.write(77, 'x'), 'EBADF'],
      [() => fs.write(1.5, 'x'), 'ERR_INVALID_ARG_TYPE'],
      [() => fs.read(fd, Buffer.alloc(4), 5, 1), 'ERR_OUT_OF_RANGE'],
      [() => fs.ftruncate(fd, 2 ** 41), 'EFBIG'],
      [() => fs.truncate('/f', 1.5), 'ERR_INVALID_ARG_TYPE'],
      [() => fs.mkdir('/d', { mode: 'rwx' as unknown as number }), 'ERR_INVALID_ARG_VALUE'],
      [() => fs.rename('/f', ''), 'ENOENT'],
      [() => fs.rename('f', '/g'), 'EINVAL'],
      [() => fs.writeFile('/g', {} as unknown as string), 'ERR_INVALID_ARG_TYPE'],
      // A read-only flag: the open's error first (a missing file: ENOENT, as node's writeFile), then EBADF.
      [() => fs.writeFile('/g', 'x', { flag: 'r' }), 'ENOENT'],
      [() => fs.writeFile('/f', 'x', { flag: 'r' }), 'EBADF'],
    ];
    for (const [fn, code] of cases) expectRejectedUnlogged(fs, fn, code);
    expect(fs.exists('')).toBe(false);
    expect(fs.exists('/a\u0000')).toBe(false);
    expect(fs.exists('relative')).toBe(false);
    const e = (() => {
      try {
        fs.open('rel', 'r');
      } catch (err) {
        return err as FsError;
      }
    })()!;
    expect(e).toBeInstanceOf(FsError);
    expect([e.code, e.errno, e.syscall, e.path]).toEqual(['EINVAL', -22, 'open', 'rel']);
    expect(new FsArgumentError('ERR_INVALID_ARG_TYPE', 'm')).toBeInstanceOf(TypeError);
    // node:fs's class for each code, and every one still an FsArgumentError.
    const range = new FsArgumentError('ERR_OUT_OF_RANGE', 'm');
    expect([range instanceof RangeError, range instanceof TypeError, range instanceof FsArgumentError, range.name, range.code]).toEqual([true, false, true, 'RangeError', 'ERR_OUT_OF_RANGE']);
    const symlinkType = new FsArgumentError('ERR_FS_INVALID_SYMLINK_TYPE', 'm');
    expect([symlinkType instanceof TypeError, symlinkType instanceof FsArgumentError, symlinkType.name]).toEqual([false, true, 'Error']);
    expect(new Error('x') instanceof FsArgumentError).toBe(false);
    fs.close(fd);
    fs.detach();
  });

  it('createFs refuses options that are not an object, unknown ones, and a umask outside 0..0o777', () => {
    for (const bad of [null, 5, 'x']) expect(() => createFs(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => createFs({ foo: 1 } as never)).toThrow(/unknown option 'foo'/);
    for (const umask of [-1, 0o1000, 1.5, Number.NaN, '022' as unknown as number]) {
      expect(() => createFs({ umask })).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    }
    expect(createFs({ umask: 0o777 }).umask).toBe(0o777);
    // The log's options are errors of this module's family too, at create and at attach.
    expect(() => createFs({ logBytes: 5000 })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }));
    const h = createFs({ capacityBytes: 1 << 20, maxReplicas: 1 });
    expect(() => attachFs(h, { combine: 'eager' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => attachFs(h, { bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    attachFs(h).detach(); // the one slot was left free
  });

  it('apply-time errors change nothing and leave other fds usable', () => {
    const fs = attachFs(createFs());
    fs.mkdir('/d');
    fs.writeFile('/d/f', 'abc');
    const digest = fs.replica.digest();
    expectCode(() => fs.rename('/d', '/d/f/x'), 'ENOTDIR');
    expectCode(() => fs.rename('/d', '/d/sub'), 'EINVAL');
    expectCode(() => fs.mkdir('/d/f/x', { recursive: true }), 'ENOTDIR');
    expectCode(() => fs.open('/d/f', 'wx'), 'EEXIST');
    expect(fs.replica.digest()).toBe(digest);
    expect(fs.readFile('/d/f', 'utf8')).toBe('abc');
    fs.detach();
  });
});

describe('NrFS capacity', () => {
  it('fails with ENOSPC and writes nothing when pages or inodes run out', () => {
    const fs = attachFs(createFs({ capacityBytes: 4 * 4096, maxInodes: 4 }));
    expectCode(() => fs.writeFile('/big', Buffer.alloc(5 * 4096, 1)), 'ENOSPC');
    expect(fs.exists('/big')).toBe(false);
    expect(fs.usage()).toEqual({ pages: 0, inodes: 1, dataBytes: 0 });
    fs.writeFile('/a', Buffer.alloc(3 * 4096, 2));
    const fd = fs.open('/a', 'r+');
    const before = fs.replica.digest();
    expectCode(() => fs.pwrite(fd, Buffer.alloc(2 * 4096, 3), 0, 2 * 4096, 3 * 4096), 'ENOSPC');
    expect(fs.replica.digest()).toBe(before);
    expect(fs.fstat(fd).size).toBe(3 * 4096);
    // Overwriting allocated pages needs no new ones; holes cost nothing.
    fs.pwrite(fd, Buffer.alloc(4096, 4), 0, 4096, 0);
    fs.ftruncate(fd, 1 << 20);
    expect(fs.usage().pages).toBe(3);
    fs.pwrite(fd, Buffer.alloc(10, 5), 0, 10, 500_000);
    expect(fs.usage().pages).toBe(4);
    expectCode(() => fs.pwrite(fd, Buffer.alloc(10, 5), 0, 10, 900_000), 'ENOSPC');
    // Inodes: root + /a; two more allowed, a recursive mkdir of three fails whole.
    expectCode(() => fs.mkdir('/x/y/z', { recursive: true }), 'ENOSPC');
    expect(fs.exists('/x')).toBe(false);
    fs.mkdir('/x/y', { recursive: true });
    expectCode(() => fs.open('/n', 'w'), 'ENOSPC');
    // Truncating frees pages.
    fs.ftruncate(fd, 0);
    expect(fs.usage().pages).toBe(0);
    fs.close(fd);
    fs.detach();
  });
});

describe('NrFS replicas in one thread', () => {
  it('share the tree, keep fds and offsets private, and free unlinked data at the last close', () => {
    const h = createFs({ replicas: 2 });
    const a = attachFs(h);
    const b = attachFs(h);
    a.writeFile('/shared', 'abcdefgh');
    expect(b.readFile('/shared', 'utf8')).toBe('abcdefgh');
    const fa = a.open('/shared', 'r');
    const fb = b.open('/shared', 'r');
    expect(fa).toBe(fb); // both thread-local tables hand out their lowest free fd
    const buf = Buffer.alloc(3);
    a.read(fa, buf);
    a.read(fa, buf);
    expect(buf.toString()).toBe('def');
    b.read(fb, buf);
    expect(buf.toString()).toBe('abc'); // b's offset did not move with a's reads
    b.close(fb);
    expectCode(() => b.read(fb, buf), 'EBADF');
    expect(a.read(fa, buf)).toBe(2); // a's fd is unaffected by b's close
    b.unlink('/shared');
    expect(a.exists('/shared')).toBe(false);
    expect(a.pread(fa, buf, 0, 3, 0)).toBe(3);
    expect(buf.toString()).toBe('abc');
    expect(b.usage().pages).toBe(1); // still held open by a
    a.close(fa);
    expect(b.usage()).toEqual({ pages: 0, inodes: 1, dataBytes: 0 });
    expect(a.replica.digest()).toBe(b.replica.digest());
    a.detach();
    b.detach();
  });

  it('detach closes the thread\'s fds (one logged op) so unlinked files are freed', () => {
    const h = createFs({ replicas: 2 });
    const a = attachFs(h);
    const b = attachFs(h);
    a.writeFile('/f', Buffer.alloc(8192, 1));
    a.open('/f', 'r');
    a.open('/f', 'r');
    b.unlink('/f');
    expect(b.usage().pages).toBe(2);
    a.detach();
    expect(b.usage()).toEqual({ pages: 0, inodes: 1, dataBytes: 0 });
    b.detach();
  });
});

describe('NrFS opens of a thread that died', () => {
  it('releaseSlot closes them for it, freeing unlinked files it held', () => {
    const h = createFs({ replicas: 2 });
    const a = attachFs(h);
    const b = attachFs(h);
    a.writeFile('/held', Buffer.alloc(3 * 4096, 1));
    const fd = a.open('/held', 'r');
    a.open('/held', 'r');
    b.unlink('/held');
    expect(b.usage().pages).toBe(3);
    // Pretend a died: b closes its opens (a's own table still lists them, so a must not be used again).
    expect(b.releaseSlot(a.replica.id)).toBe(2);
    expect(b.usage()).toEqual({ pages: 0, inodes: 1, dataBytes: 0 });
    expect(b.releaseSlot(a.replica.id)).toBe(0);
    expectCode(() => b.releaseSlot(b.replica.id + 0.5), 'ERR_OUT_OF_RANGE');
    const own = b.open('/x', 'w');
    expectCode(() => b.releaseSlot(b.replica.id), 'ERR_INVALID_ARG_VALUE');
    b.close(own);
    expect(a.replica.digest()).toBe(b.replica.digest());
    void fd;
    b.detach();
  });
});

describe('NrFS large writes', () => {
  it('go into shared pages whatever their size, up to what one log entry can name pages for (EFBIG past it, nothing logged)', () => {
    const h = createFs({ replicas: 2, maxReplicas: 2, logBytes: 1 << 16, capacityBytes: 8 << 20 });
    const a = attachFs(h);
    const b = attachFs(h);
    // A 64 KiB log takes entries up to 16 KiB: refs of about 2000 pages (8 MiB).
    expect(h.maxWriteBytes).toBe((Math.floor((16384 - 256) / 8) - 1) * 4096);
    const chunk = (i: number): Buffer => Buffer.alloc(12_000, i + 1);
    const fd = a.open('/big', 'w+');
    for (let i = 0; i < 40; i++) {
      a.write(fd, chunk(i));
      expect(b.stat('/big').size).toBe((i + 1) * 12_000);
    }
    const all = b.readFile('/big');
    for (let i = 0; i < 40; i++) expect(all[i * 12_000 + 5]).toBe(i + 1);
    a.write(fd, Buffer.alloc(h.maxWriteBytes, 3), 0, h.maxWriteBytes, 0);
    expect(b.readFile('/big')[h.maxWriteBytes - 1]).toBe(3);
    const mark = a.replica.logMark();
    expectCode(() => a.write(fd, Buffer.alloc(h.maxWriteBytes + 1)), 'EFBIG');
    expect(a.replica.logMark()).toBe(mark);
    a.close(fd);
    expect(a.replica.digest()).toBe(b.replica.digest());
    a.detach();
    b.detach();
  });

  it('past the capacity a write is ENOSPC in the apply and changes nothing; its pages serve the next write', () => {
    const h = createFs({ replicas: 1, maxReplicas: 1, capacityBytes: 64 * 4096 });
    const a = attachFs(h);
    a.writeFile('/f', Buffer.alloc(60 * 4096, 1));
    const before = a.replica.digest();
    expectCode(() => a.writeFile('/g', Buffer.alloc(5 * 4096, 2)), 'ENOSPC');
    expect(a.replica.digest()).toBe(before);
    // The refused write's pages are this thread's again: the next write that fits uses them.
    a.writeFile('/g', Buffer.alloc(4 * 4096, 2));
    expect(a.usage().pages).toBe(64);
    a.detach();
  });

  it('a pool held by a replica that does not catch up is ENOSPC after a bounded wait, and serves writes again once it does', () => {
    const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 16 * 4096, fenceAfterMs: 60_000 });
    const a = attachFs(h);
    const b = attachFs(h);
    const fd = a.open('/f', 'w');
    b.replica.sync();
    // Every overwrite displaces a page that b may still read: the pool (capacity + 1024 pages) runs out.
    const pool = a.pageStats().poolPages;
    const t0 = Date.now();
    let written = 0;
    try {
      for (; written < pool + 10; written++) a.pwrite(fd, Buffer.alloc(4096, written & 0xff), 0, 4096, 0);
    } catch (e) {
      expect(e).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    }
    expect(written).toBe(pool);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4_000);
    b.replica.sync();
    a.pwrite(fd, Buffer.alloc(4096, 7), 0, 4096, 0);
    expect(b.readFile('/f')[0]).toBe(7);
    a.close(fd);
    a.detach();
    b.detach();
  }, 30_000);
});

describe('NrFS snapshots', () => {
  it('round-trip the whole tree, orphans, open stamps and pages', () => {
    const S = fsStructure({ maxPages: 1000, maxInodes: 1000 });
    const st = S.create();
    S.writes.mkdir(st, '/d/e', 0o755, true, 1, 0, 0);
    writeFileOp(S, st, '/d/e/f', 0o1101, 0o644, 2, Buffer.from('hello'), 0, 0);
    const ino = S.writes.open(st, '/d/e/f', 2, 0o644, 3, 0, 0, 0, 7);
    // Its issuer found it open (freeIno 0): an orphan, pages kept.
    expect(S.writes.unlink(st, '/d/e/f', 4, 0, 0, 0, st.pinSeq)).toBe(ino);
    writeFileOp(S, st, '/d/g', 0o1101, 0o644, 5, Buffer.alloc(9000, 7), 0, 0);
    const copy = S.restore!(S.snapshot!(st));
    expect(S.digest!(copy)).toBe(S.digest!(st));
    expect(S.reads.orphans(copy)).toEqual([ino]);
    expect(S.reads.lastOpens(copy).slice(0, 2)).toEqual([7, ino]);
    expect(S.reads.fstat(copy, ino).nlink).toBe(0);
    // Parent links survive: a rename cycle check still works, and the orphan is reaped cleanly, once.
    expect(() => S.writes.rename(copy, '/d', '/d/e/x', 6, 0, 0, 0, 0)).toThrow(/EINVAL/);
    for (const s of [copy, st]) {
      expect(S.writes.reap(s, ino)).toBe(1);
      expect(S.writes.reap(s, ino)).toBe(0);
      expect(S.reads.orphans(s)).toEqual([]);
    }
    expect(S.reads.usage(copy)).toEqual(S.reads.usage(st));
    expect(S.reads.usage(st).pages).toBe(3);
    expect(S.digest!(copy)).toBe(S.digest!(st));
  });

  it('a removal frees only the inode its issuer named, stamped no later than it saw; reap leaves named inodes alone', () => {
    const S = fsStructure({ maxPages: 1000, maxInodes: 1000 });
    const st = S.create();
    writeFileOp(S, st, '/a', 0o1101, 0o644, 1, Buffer.from('a'), 0, 0);
    writeFileOp(S, st, '/b', 0o1101, 0o644, 1, Buffer.from('b'), 0, 0);
    const a = S.reads.stat(st, '/a').ino;
    const b = S.reads.stat(st, '/b').ino;
    expect(S.writes.reap(st, a)).toBe(0); // named: not an orphan
    // The issuer resolved /a to another inode: /a's is kept as an orphan.
    expect(S.writes.unlink(st, '/a', 2, 0, 0, b, st.pinSeq)).toBe(a);
    // A logged open stamped /b after the issuer's look: kept too.
    const seen = st.pinSeq;
    S.writes.open(st, '/b', 0, 0, 3, 1, 0, 0, 5);
    expect(S.writes.unlink(st, '/b', 4, 0, 0, b, seen)).toBe(b);
    expect(S.reads.orphans(st)).toEqual([a, b]);
    expect(S.reads.usage(st).inodes).toBe(3);
    // A forged slot in a logged open fail-stops rather than writing outside the record.
    expect(() => S.writes.open(st, '/c', 0o101, 0o644, 5, 64, 0, 0, 1)).toThrow(/not a replica slot/);
  });
});

describe('NrFS node:fs facade', () => {
  it('promises API resolves and rejects like fs.promises', async () => {
    const fs = nodeFs(attachFs(createFs()));
    await fs.promises.mkdir('/p/q', { recursive: true });
    await fs.promises.writeFile('/p/q/f', 'one');
    await fs.promises.appendFile('/p/q/f', '-two');
    expect(await fs.promises.readFile('/p/q/f', 'utf8')).toBe('one-two');
    expect(await fs.promises.readFile('/p/q/f', { encoding: 'utf8' })).toBe('one-two');
    expect((await fs.promises.stat('/p/q/f')).size).toBe(7);
    await fs.promises.rename('/p/q/f', '/p/f');
    expect(await fs.promises.readdir('/p')).toEqual(['f', 'q']);
    await fs.promises.truncate('/p/f', 3);
    expect(fs.readFileSync('/p/f', 'utf8')).toBe('one');
    await fs.promises.unlink('/p/f');
    await fs.promises.rmdir('/p/q');
    await expect(fs.promises.rmdir('/p/q')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'rmdir', errno: -2, path: '/p/q' });
    await expect(fs.promises.readFile('/p')).rejects.toMatchObject({ code: 'EISDIR' });
    const d = fs.readdirSync('/', { withFileTypes: true });
    expect(d.map((x) => (typeof x === 'string' ? x : [x.name, x.isDirectory()]))).toEqual([['p', true]]);
  });
});
