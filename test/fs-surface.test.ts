/**
 * The parts of NrFS's node:fs surface the three-form conformance table does
 * not cover: the per-thread working directory, FileHandle, streams,
 * permissions for a thread that is not root, import/export, and symbolic
 * links, hard links and attributes replicated identically (digests, snapshots).
 */
import * as disk from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, FileHandle, FsError, fsStructure, nodeFs } from '../src/fs/index.js';
import { writeFileOp, truncateOp } from './support/fs-pages.js';

const shm = disk.existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const base = disk.mkdtempSync(path.join(shm, 'nrfs-surface-'));
afterAll(() => disk.rmSync(base, { recursive: true, force: true }));

const fresh = () => nodeFs(attachFs(createFs({ capacityBytes: 16 << 20, maxReplicas: 2 })));

describe('working directory (per thread)', () => {
  it('relative paths resolve against chdir, errors quote them as given, and ".." is walked (not lexical)', () => {
    const fs = fresh();
    expect(fs.cwd()).toBe('/');
    fs.mkdirSync('/w/sub', { recursive: true });
    fs.writeFileSync('/w/file', 'x');
    fs.chdir('/w');
    expect(fs.cwd()).toBe('/w');
    fs.writeFileSync('rel.txt', 'rel');
    expect(fs.readFileSync('/w/rel.txt', 'utf8')).toBe('rel');
    expect(fs.readdirSync('.').sort()).toEqual(['file', 'rel.txt', 'sub']);
    expect(fs.readFileSync('sub/../rel.txt', 'utf8')).toBe('rel');
    // Walked through the file, as the kernel does (a lexical resolve would find /w/rel.txt).
    expect(() => fs.readFileSync('file/../rel.txt')).toThrow(expect.objectContaining({ code: 'ENOTDIR', path: 'file/../rel.txt' }));
    expect(() => fs.readFileSync('missing')).toThrow("ENOENT: no such file or directory, open 'missing'");
    expect(() => fs.renameSync('missing', 'other')).toThrow("ENOENT: no such file or directory, rename 'missing' -> 'other'");
    expect(fs.mkdirSync('a/b', { recursive: true })).toBe('a');
    expect(() => fs.chdir('file')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => fs.chdir('nope')).toThrow(expect.objectContaining({ code: 'ENOENT', path: 'nope' }));
    fs.symlinkSync('/w/sub', '/link');
    fs.chdir('/link');
    expect(fs.cwd()).toBe('/w/sub'); // the real path, as process.chdir + process.cwd()
    expect(fs.realpathSync('.')).toBe('/w/sub');
  });

  it('is private to each thread: two facades over one file system keep their own', () => {
    const h = createFs({ capacityBytes: 1 << 20 });
    const a = nodeFs(attachFs(h));
    const b = nodeFs(attachFs(h));
    a.mkdirSync('/x');
    a.mkdirSync('/y');
    a.chdir('/x');
    b.chdir('/y');
    a.writeFileSync('f', 'in x');
    b.writeFileSync('f', 'in y');
    expect(a.readFileSync('/y/f', 'utf8')).toBe('in y');
    expect(b.readFileSync('/x/f', 'utf8')).toBe('in x');
  });
});

describe('streams and callbacks whose call fails', () => {
  type Events = string[];
  const readEvents = (fs: typeof disk | ReturnType<typeof fresh>, p: string): Promise<Events> =>
    new Promise((res) => {
      const ev: Events = [];
      const s = (fs as typeof disk).createReadStream(p);
      s.on('open', () => ev.push('open'));
      s.on('error', (e: NodeJS.ErrnoException) => ev.push(`error ${e.code}`));
      s.on('close', () => res([...ev, 'close']));
      s.resume();
    });
  const writeEvents = (fs: typeof disk | ReturnType<typeof fresh>, p: string): Promise<Events> =>
    new Promise((res) => {
      const ev: Events = [];
      const s = (fs as typeof disk).createWriteStream(p);
      s.on('open', () => ev.push('open'));
      s.on('error', (e: NodeJS.ErrnoException) => ev.push(`error ${e.code}`));
      s.write("x", (e: Error | null | undefined) => ev.push(`write ${(e as NodeJS.ErrnoException | null | undefined)?.code}`));
      s.on('close', () => res([...ev, 'close']));
    });

  it('a stream whose open fails ends in error then close, as node:fs does (it threw at create)', async () => {
    const fs = fresh();
    const onDisk = [await readEvents(disk, path.join(base, 'missing')), await writeEvents(disk, path.join(base, 'no', 'dir'))];
    expect(onDisk).toEqual([['error ENOENT', 'close'], ['write ENOENT', 'error ENOENT', 'close']]);
    expect([await readEvents(fs, '/missing'), await writeEvents(fs, '/no/dir')]).toEqual(onDisk);
  });

  it('on a detached file system, callbacks and streams get the typed error; nothing throws out of the call', async () => {
    const h = createFs({ capacityBytes: 1 << 20 });
    const nr = attachFs(h);
    const fs = nodeFs(nr);
    fs.writeFileSync('/a', 'x');
    nr.detach();
    const viaCb = await new Promise<unknown>((res) => fs.readFile('/a', (e: unknown) => res(e)));
    expect(viaCb).toMatchObject({ code: 'ERR_NR_DETACHED' });
    expect(await readEvents(fs, '/a')).toEqual(['error ERR_NR_DETACHED', 'close']);
    expect(await writeEvents(fs, '/b')).toEqual(['write ERR_NR_DETACHED', 'error ERR_NR_DETACHED', 'close']);
    await expect(fs.promises.readFile('/a')).rejects.toMatchObject({ code: 'ERR_NR_DETACHED' });
    // A wrong argument still throws at the call, as node's does.
    expect(() => fs.readFile(5n as never, () => {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('paths with a lone surrogate', () => {
  it('name the same file on every replica, as node:fs does (its UTF-8 turns the surrogate into U+FFFD)', () => {
    const h = createFs({ capacityBytes: 1 << 20 });
    const a = nodeFs(attachFs(h));
    const b = nodeFs(attachFs(h));
    a.writeFileSync('/x\uD800', 'hi');
    a.mkdirSync('/d\uDC00');
    a.symlinkSync('/t\uD800', '/l');
    a.renameSync('/x\uD800', '/y\uDFFF');
    for (const fs of [a, b]) {
      expect(fs.readdirSync('/').sort()).toEqual(['d\uFFFD', 'l', 'y\uFFFD']);
      expect(fs.readFileSync('/y\uD800', 'utf8')).toBe('hi'); // any lone surrogate there is the same name
      expect(fs.existsSync('/y\uFFFD')).toBe(true);
      expect(fs.readlinkSync('/l')).toBe('/t\uFFFD');
    }
  });
});

describe('callback forms node:fs has no promise twin for', () => {
  it('exists(path, cb), read(fd, cb) and read(fd, { buffer }, cb), realpath.native, and a missing callback', async () => {
    const fs = fresh();
    fs.writeFileSync('/f', 'abcdef');
    const exists = (p: string) => new Promise((res) => fs.exists(p, res));
    expect(await exists('/f')).toBe(true);
    expect(await exists('/nope')).toBe(false);
    const fd = fs.openSync('/f', 'r');
    const viaCb = await new Promise<[unknown, number, Buffer]>((res) => fs.read(fd, (err: unknown, n: number, b: Buffer) => res([err, n, b])));
    expect([viaCb[0], viaCb[1], viaCb[2].subarray(0, viaCb[1]).toString(), viaCb[2].length]).toEqual([null, 6, 'abcdef', 16384]);
    const mine = Buffer.alloc(3);
    const viaOpts = await new Promise<[unknown, number, Buffer]>((res) => fs.read(fd, { buffer: mine, position: 2 }, (err: unknown, n: number, b: Buffer) => res([err, n, b])));
    expect([viaOpts[0], viaOpts[1], viaOpts[2] === mine, mine.toString()]).toEqual([null, 3, true, 'cde']);
    fs.symlinkSync('/f', '/l');
    expect(await new Promise((res, rej) => fs.realpath.native('/l', (e: unknown, r: unknown) => (e ? rej(e) : res(r))))).toBe('/f');
    expect(() => fs.stat('/f')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: 'The "cb" argument must be of type function. Received undefined' }));
    // The callback runs later, never inside the call, even for an error.
    let ran = false;
    fs.stat('/nope', () => (ran = true));
    expect(ran).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(true);
  });
});

describe('fs.promises.watch', () => {
  it('yields { eventType, filename } for changes, and ends with an AbortError when its signal aborts', async () => {
    const fs = fresh();
    fs.mkdirSync('/w');
    const ac = new AbortController();
    const it = fs.promises.watch('/w', { signal: ac.signal });
    fs.writeFileSync('/w/a', '1');
    fs.renameSync('/w/a', '/w/b');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { value } = await it.next();
      seen.push(`${value!.eventType}:${String(value!.filename)}`);
    }
    // node's on tmpfs, the same calls: the new file's write is a change (inotify's IN_MODIFY), as fs-watch-events checks.
    expect(seen).toEqual(['rename:a', 'change:a', 'rename:a', 'rename:b']);
    ac.abort();
    await expect(it.next()).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
  });
});

describe('fs.watch recursive', () => {
  it('reports names below the watched directory by their relative path, following new subdirectories', async () => {
    const fs = fresh();
    fs.mkdirSync('/r/old', { recursive: true });
    const events: string[] = [];
    const w = fs.watch('/r', { recursive: true }, (e, n) => events.push(`${e}:${String(n)}`));
    const tick = () => new Promise((r) => setImmediate(r));
    fs.writeFileSync('/r/old/f', '1');
    await tick();
    fs.mkdirSync('/r/new');
    await tick(); // the new directory is watched once its 'rename' is delivered
    fs.writeFileSync('/r/new/g', '1');
    await tick();
    fs.appendFileSync('/r/new/g', '2');
    await tick();
    fs.rmSync('/r/old', { recursive: true });
    await tick();
    w.close();
    fs.writeFileSync('/r/after', 'x');
    await tick();
    expect(events).toEqual(['rename:old/f', 'rename:new', 'rename:new/g', 'change:new/g', 'rename:old/f', 'rename:old']);
  });
});

describe('FileHandle (promises.open)', () => {
  it('reads, writes, stats, truncates, reads and writes whole files, closes, and disposes', async () => {
    const fs = fresh();
    const fh = await fs.promises.open('/f', 'w+');
    expect(fh).toBeInstanceOf(FileHandle);
    expect(await fh.write('hello world')).toEqual({ bytesWritten: 11, buffer: 'hello world' });
    const buf = Buffer.alloc(5);
    expect((await fh.read(buf, 0, 5, 6)).bytesRead).toBe(5);
    expect(buf.toString()).toBe('world');
    expect((await fh.stat()).size).toBe(11);
    await fh.truncate(5);
    expect(fs.readFileSync('/f', 'utf8')).toBe('hello');
    await fh.writeFile(' again');
    // As node's: writeFile on a handle writes from its offset (11, past the truncated end): a hole of zeros.
    expect(await fs.promises.readFile('/f', 'utf8')).toBe('hello\u0000\u0000\u0000\u0000\u0000\u0000 again');
    expect(await fs.promises.readFile(fh, 'utf8')).toBe(''); // at the end, as node reads from the fd's offset
    const { bytesRead } = await fh.readv([Buffer.alloc(3), Buffer.alloc(3)], 0);
    expect(bytesRead).toBe(6);
    await fh.close();
    expect(fh.fd).toBe(-1);
    await expect(fh.stat()).rejects.toMatchObject({ code: 'EBADF', message: 'file closed' });
    await fh.close(); // closing twice is a no-op, as node's
    const dispose = (fs.FileHandle.prototype as unknown as Record<symbol, unknown>)[(Symbol as { asyncDispose?: symbol }).asyncDispose ?? Symbol.for('nodejs.asyncDispose')];
    expect(typeof dispose).toBe('function');
    const h2 = await fs.promises.open('/f', 'r');
    const fd = h2.fd;
    await (dispose as (this: FileHandle) => Promise<void>).call(h2);
    expect(() => fs.fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    // writeFile takes an (async) iterable, as node's stream form.
    async function* parts() {
      yield 'a';
      yield Buffer.from('b');
    }
    await fs.promises.writeFile('/g', parts());
    expect(fs.readFileSync('/g', 'utf8')).toBe('ab');
  });
});

describe('streams', () => {
  it('createReadStream honours start, end (inclusive), highWaterMark and fd; createWriteStream start and fd', async () => {
    const fs = fresh();
    fs.writeFileSync('/src', Buffer.from('0123456789'.repeat(10)));
    const chunks: Buffer[] = [];
    const rs = fs.createReadStream('/src', { start: 5, end: 24, highWaterMark: 8 });
    let opened = -1;
    rs.on('open', (fd: number) => (opened = fd));
    for await (const c of rs) chunks.push(c as Buffer);
    expect(opened).toBeGreaterThanOrEqual(3);
    expect(chunks.map((c) => c.length)).toEqual([8, 8, 4]);
    expect(Buffer.concat(chunks).toString()).toBe('56789012345678901234');
    expect(() => fs.fstatSync(opened)).toThrow(expect.objectContaining({ code: 'EBADF' })); // autoClose
    expect(() => fs.createReadStream('/src', { start: 5, end: 2 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));

    await pipeline(fs.createReadStream('/src', { encoding: 'utf8' }), fs.createWriteStream('/copy'));
    expect(fs.readFileSync('/copy', 'utf8')).toBe(fs.readFileSync('/src', 'utf8'));

    fs.writeFileSync('/patch', 'aaaaaaaa');
    const ws = fs.createWriteStream('/patch', { flags: 'r+', start: 2 });
    ws.write('XY');
    ws.end('Z');
    await new Promise((r) => ws.on('close', r));
    expect(fs.readFileSync('/patch', 'utf8')).toBe('aaXYZaaa');
    expect(ws.bytesWritten).toBe(3);

    const fd = fs.openSync('/src', 'r');
    const viaFd: Buffer[] = [];
    for await (const c of fs.createReadStream(undefined, { fd, start: 95 })) viaFd.push(c as Buffer);
    expect(Buffer.concat(viaFd).toString()).toBe('56789');

    // A failed open is the stream's 'error' (as node's), not a throw at create.
    const missing = fs.createReadStream('/nope');
    await expect(new Promise((_, reject) => missing.on('error', reject))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('permissions for a thread that is not root (attachFs { uid, gid })', () => {
  it('checks the mode bits and owners: EACCES, EPERM, and files owned by their creator', () => {
    const h = createFs({ capacityBytes: 1 << 20 });
    const root = nodeFs(attachFs(h));
    const user = nodeFs(attachFs(h, { uid: 1000, gid: 1000 }));
    root.mkdirSync('/home/u', { recursive: true });
    root.chownSync('/home/u', 1000, 1000);
    root.writeFileSync('/secret', 'root only', { mode: 0o600 });
    root.writeFileSync('/public', 'all', { mode: 0o644 });
    root.mkdirSync('/locked', { mode: 0o700 });
    root.writeFileSync('/locked/inner', 'x');

    expect(() => user.readFileSync('/secret')).toThrow("EACCES: permission denied, open '/secret'");
    expect(user.readFileSync('/public', 'utf8')).toBe('all');
    expect(() => user.writeFileSync('/public', 'no')).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'open' }));
    expect(() => user.openSync('/public', 'r+')).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(() => user.writeFileSync('/new', 'x')).toThrow(expect.objectContaining({ code: 'EACCES' })); // / is 755, root's
    expect(() => user.statSync('/locked/inner')).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'stat' })); // no search on /locked
    expect(() => user.readdirSync('/locked')).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'scandir' }));
    expect(() => user.unlinkSync('/public')).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'unlink' }));
    expect(() => user.chmodSync('/public', 0o777)).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'chmod' }));
    expect(() => user.chownSync('/home/u', 0, 0)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(() => user.accessSync('/secret', user.R_OK)).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'access' }));
    expect(() => user.accessSync('/public', user.W_OK)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    user.accessSync('/public', user.R_OK);
    expect(user.existsSync('/locked/inner')).toBe(false);
    expect(root.existsSync('/locked/inner')).toBe(true);
    // Nothing was written by any refused call.
    expect(root.readFileSync('/public', 'utf8')).toBe('all');
    expect(root.existsSync('/new')).toBe(false);

    // In its own directory the user creates, owns, chmods and removes.
    user.writeFileSync('/home/u/mine', 'mine', { mode: 0o600 });
    const st = root.statSync('/home/u/mine');
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1000, 1000, 0o600]);
    user.chmodSync('/home/u/mine', 0o640);
    user.utimesSync('/home/u/mine', 10, 20);
    expect(root.statSync('/home/u/mine').mtimeMs).toBe(20_000);
    user.chownSync('/home/u/mine', -1, 1000);
    user.mkdirSync('/home/u/d');
    expect(root.statSync('/home/u/d').uid).toBe(1000);
    user.symlinkSync('mine', '/home/u/l');
    expect(root.lstatSync('/home/u/l').uid).toBe(1000);
    user.renameSync('/home/u/mine', '/home/u/d/moved');
    user.rmSync('/home/u/d', { recursive: true });
    expect(root.readdirSync('/home/u')).toEqual(['l']);
    // Root reads what the user cannot, and X_OK needs an x bit even for root.
    expect(root.readFileSync('/secret', 'utf8')).toBe('root only');
    expect(() => root.accessSync('/secret', root.X_OK)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(() => attachFs(h, { uid: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('are checked inside the apply, with the issuer ids the op carries: the refusal is the same on every replica', () => {
    const S = fsStructure({ maxPages: 100, maxInodes: 100 });
    const st = S.create();
    S.writes.mkdir(st, '/ro', 0o755, false, 1, 0, 0);
    writeFileOp(S, st, '/ro/f', 0o1101, 0o644, 2, Buffer.from('x'), 0, 0);
    const before = S.digest!(st);
    // Whatever the issuing thread checked (or did not), the logged op itself is refused for uid 1000.
    expect(() => writeFileOp(S, st, '/ro/g', 0o1101, 0o644, 3, Buffer.from('y'), 1000, 1000)).toThrow("EACCES: permission denied, open '/ro/g'");
    expect(() => S.writes.open(st, '/ro/f', 2, 0o644, 3, 0, 1000, 1000, 1)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(() => S.writes.unlink(st, '/ro/f', 3, 1000, 1000, 0, 0)).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'unlink' }));
    expect(() => S.writes.rename(st, '/ro/f', '/f2', 3, 1000, 1000, 0, 0)).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'rename' }));
    expect(() => S.writes.setattr(st, '/ro/f', 0, true, 1, 0o777, -1, -1, 0, 0, 3, 1000, 1000)).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'chmod' }));
    expect(() => truncateOp(S, st, '/ro/f', 0, 3, 1000, 1000)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(S.digest!(st)).toBe(before);
    // Through the log: a user thread's refused op leaves both replicas equal and unchanged.
    const h = createFs({ capacityBytes: 1 << 20, replicas: 2 });
    const root = attachFs(h);
    const user = attachFs(h, { uid: 1000, gid: 1000 });
    nodeFs(root).mkdirSync('/ro');
    nodeFs(root).chmodSync('/ro', 0o555);
    const d0 = root.replica.digest();
    expect(() => nodeFs(user).mkdirSync('/ro/sub')).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'mkdir' }));
    expect(root.replica.digest()).toBe(d0);
    expect(user.replica.digest()).toBe(d0);
  });
});

describe('import and export', () => {
  it('fromJSON/toJSON in memfs shape, and a real directory tree copied in and back out unchanged', () => {
    const fs = fresh();
    fs.fromJSON({ '/proj/a.txt': 'A', 'proj/src/b.js': Buffer.from('B'), '/proj/empty': null }, '/');
    expect(fs.toJSON('/proj')).toEqual({ '/proj/a.txt': 'A', '/proj/src/b.js': 'B', '/proj/empty': null });
    expect(fs.toJSON('/proj', {}, true)).toEqual({ 'a.txt': 'A', 'src/b.js': 'B', empty: null });
    expect(fs.toJSON(['/proj/src'], { keep: 'me' }, false, true)).toEqual({ keep: 'me', '/proj/src/b.js': Buffer.from('B') });
    expect(fs.toJSON('/nothing')).toEqual({});
    expect(() => fs.fromJSON({ '/x': 5 as unknown as string })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));

    const src = path.join(base, 'tree-in');
    disk.mkdirSync(path.join(src, 'lib/deep'), { recursive: true });
    disk.writeFileSync(path.join(src, 'index.js'), 'module.exports = 1;');
    disk.writeFileSync(path.join(src, 'lib/deep/data.bin'), Buffer.from([0, 1, 2, 255]));
    disk.writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh', { mode: 0o755 });
    disk.symlinkSync('lib/deep', path.join(src, 'shortcut'));
    expect(fs.importTree(src, '/seed')).toBe(3);
    expect(fs.readFileSync('/seed/shortcut/data.bin')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(fs.statSync('/seed/run.sh').mode & 0o777).toBe(0o755);
    const out = path.join(base, 'tree-out');
    expect(fs.exportTree('/seed', out)).toBe(3);
    const list = (d: string): string[] => (disk.readdirSync(d, { recursive: true }) as string[]).sort();
    expect(list(out)).toEqual(list(src));
    expect(disk.readFileSync(path.join(out, 'lib/deep/data.bin'))).toEqual(disk.readFileSync(path.join(src, 'lib/deep/data.bin')));
    expect(disk.readlinkSync(path.join(out, 'shortcut'))).toBe('lib/deep');
    expect(disk.statSync(path.join(out, 'run.sh')).mode & 0o777).toBe(0o755);
  });
});

describe('links and attributes are replicated state', () => {
  it('two replicas agree (digest) after symlink, link, chmod, chown, utimes; a snapshot round-trips them', () => {
    const h = createFs({ capacityBytes: 1 << 20, replicas: 2 });
    const a = attachFs(h);
    const b = attachFs(h, { uid: 7, gid: 8 });
    const fa = nodeFs(a);
    fa.mkdirSync('/d');
    fa.chmodSync('/d', 0o777);
    fa.writeFileSync('/d/f', 'data');
    fa.symlinkSync('f', '/d/l');
    fa.linkSync('/d/f', '/d/hard');
    fa.chownSync('/d/f', 5, 6);
    fa.utimesSync('/d/f', 1, 2);
    nodeFs(b).writeFileSync('/d/by-b', 'b');
    expect(b.replica.digest()).toBe(a.replica.digest());
    expect(b.lstat('/d/l').isSymbolicLink()).toBe(true);
    expect(b.stat('/d/hard').nlink).toBe(2);
    expect(a.stat('/d/by-b').uid).toBe(7);

    const S = fsStructure({ maxPages: 100, maxInodes: 100 });
    const st = S.create();
    // Root makes /x and gives it to uid 3, who then creates in it (the issuer's ids are op arguments).
    S.writes.mkdir(st, '/x', 0o755, false, 1, 0, 0);
    S.writes.setattr(st, '/x', 0, true, 2, 0, 3, 4, 0, 0, 1, 0, 0);
    writeFileOp(S, st, '/x/f', 0o1101, 0o644, 2, Buffer.from('hi'), 3, 4);
    S.writes.symlink(st, '/x/f', '/x/l', 3, 3, 4);
    S.writes.link(st, '/x/f', '/x/h', 4, 0, 0);
    S.writes.setattr(st, '/x/f', 0, true, 1, 0o600, -1, -1, 0, 0, 5, 0, 0);
    const copy = S.restore!(S.snapshot!(st));
    expect(S.digest!(copy)).toBe(S.digest!(st));
    expect(S.reads.readlink(copy, '/x/l')).toBe('/x/f');
    expect(S.reads.stat(copy, '/x/l').nlink).toBe(2);
    expect(S.reads.lstat(copy, '/x/l').uid).toBe(3);
    // A failed op changes nothing: ELOOP and EEXIST leave the digest as it was.
    const before = S.digest!(st);
    S.writes.symlink(st, '/x/loop2', '/x/loop1', 6, 0, 0);
    S.writes.symlink(st, '/x/loop1', '/x/loop2', 6, 0, 0);
    const mid = S.digest!(st);
    expect(() => writeFileOp(S, st, '/x/loop1', 0o1101, 0o644, 7, Buffer.from('z'), 0, 0)).toThrow(FsError);
    expect(() => S.writes.link(st, '/x/f', '/x/h', 8, 0, 0)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(S.digest!(st)).toBe(mid);
    expect(mid).not.toBe(before);
  });
});
