/**
 * The shapes of node:fs answers, against node:fs itself on /dev/shm: the
 * FileHandle's read/write/readv/writev answers are null-prototype objects,
 * and Stats / BigIntStats / StatFs / Dirent have node's own keys in node's
 * order (what Object.keys, JSON.stringify and util.inspect show).
 */
import realFs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs } from '../src/fs/index.js';

const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 20, maxReplicas: 1 })));
const base = realFs.mkdtempSync('/dev/shm/nrfs-shapes-');
afterAll(() => realFs.rmSync(base, { recursive: true, force: true }));
nr.mkdirSync(base, { recursive: true });
for (const fs of [realFs, nr]) fs.writeFileSync(`${base}/f`, 'hello world');

const both = async <T>(f: (fs: typeof realFs) => Promise<T> | T): Promise<[T, T]> => [await f(realFs), await f(nr as unknown as typeof realFs)];
const protoOf = (o: unknown): string => {
  const p = Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null;
  return p === null ? 'null' : (p.constructor?.name ?? '?');
};

describe('node:fs answer shapes', () => {
  it('FileHandle read, write, readv and writev answer null-prototype objects with node’s keys', async () => {
    const calls: Array<[string, (h: realFs.promises.FileHandle) => Promise<object>]> = [
      ['read()', (h) => h.read()],
      ['read(buffer)', (h) => h.read(Buffer.alloc(4))],
      ['read(buffer, 0, 0)', (h) => h.read(Buffer.alloc(4), 0, 0)],
      ['read({ buffer })', (h) => h.read({ buffer: Buffer.alloc(3) })],
      ['write(string)', (h) => h.write('xy')],
      ['write(empty buffer)', (h) => h.write(Buffer.alloc(0))],
      ['write(buffer, 0, 2, 0)', (h) => h.write(Buffer.from('abc'), 0, 2, 0)],
      ['readv', (h) => h.readv([Buffer.alloc(2), Buffer.alloc(3)], 0)],
      ['writev', (h) => h.writev([Buffer.from('a'), Buffer.from('b')], 1)],
    ];
    for (const [name, call] of calls) {
      const [theirs, ours] = await both(async (fs) => {
        const h = await fs.promises.open(`${base}/f`, 'r+');
        try {
          const r = await call(h);
          return { proto: protoOf(r), keys: Object.keys(r) };
        } finally {
          await h.close();
        }
      });
      expect(ours, name).toEqual(theirs);
      expect(ours.proto, name).toBe('null');
    }
  });

  it('Stats, BigIntStats, StatFs and Dirent keys in node’s order', async () => {
    for (const o of [{}, { bigint: true }] as const) {
      const [theirs, ours] = await both((fs) => Object.keys(fs.statSync(`${base}/f`, o)!));
      expect(ours).toEqual(theirs);
      const [lt, lo] = await both(async (fs) => Object.keys(await fs.promises.lstat(`${base}/f`, o)));
      expect(lo).toEqual(lt);
    }
    const [sft, sfo] = await both((fs) => Object.keys(fs.statfsSync(base)));
    expect(sfo).toEqual(sft);
    const [dt, dd] = await both((fs) => Object.keys(fs.readdirSync(base, { withFileTypes: true })[0]!));
    expect(dd).toEqual(dt);
  });

  it('readdir lists names in node’s order: by their UTF-8 bytes (libuv sorts), not by UTF-16 code units', async () => {
    const names = ['z', 'é', '\uFFFD', '\u{1F600}', 'a\u{10000}', 'a\uE000', 'B', 'a', 'aa', '\u4E2D'];
    const [theirs, ours] = await both((fs) => {
      fs.mkdirSync(`${base}/order`);
      for (const n of names) fs.writeFileSync(`${base}/order/${n}`, '');
      return [fs.readdirSync(`${base}/order`), fs.readdirSync(`${base}/order`, { withFileTypes: true }).map((d) => d.name)];
    });
    expect(ours).toEqual(theirs);
    expect(theirs[0]).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
  });

  it('readdir recursive: node’s order in each form (sync and callback breadth first, promises last found first), links followed only without file types', async () => {
    const [theirs, ours] = await both(async (fs) => {
      const b = `${base}/rec`;
      fs.mkdirSync(`${b}/a/b/c`, { recursive: true });
      fs.mkdirSync(`${b}/z/y`, { recursive: true });
      for (const f of ['a/f1', 'a/b/f2', 'z/y/f3', 'm']) fs.writeFileSync(`${b}/${f}`, '');
      fs.symlinkSync('a', `${b}/la`);
      const where = (d: realFs.Dirent): string => `${(d.parentPath ?? d.path).slice(b.length)}/${d.name}`;
      const viaCallback = <T>(o: object) => new Promise<T>((resolve, reject) => fs.readdir(b, o as never, (e, l) => (e ? reject(e) : resolve(l as T))));
      return {
        sync: fs.readdirSync(b, { recursive: true }),
        syncTypes: fs.readdirSync(b, { recursive: true, withFileTypes: true }).map(where),
        callback: await viaCallback<string[]>({ recursive: true }),
        promises: await fs.promises.readdir(b, { recursive: true }),
        promisesTypes: (await fs.promises.readdir(b, { recursive: true, withFileTypes: true })).map(where),
      };
    });
    expect(ours).toEqual(theirs);
    expect(theirs.promises).not.toEqual(theirs.sync);
  });

  it('a Buffer path stays a Buffer in Dir.path and in the parentPath and path of Dirents, in every form', async () => {
    const [theirs, ours] = await both(async (fs) => {
      const b = `${base}/bufdir`;
      fs.mkdirSync(`${b}/s`, { recursive: true });
      fs.writeFileSync(`${b}/f`, '');
      const given = Buffer.from(b);
      const shown = (v: unknown): string => (Buffer.isBuffer(v) ? `Buffer ${v.toString()}` : `${typeof v} ${String(v)}`).replace(b, '<b>');
      const dirents = (l: realFs.Dirent[]): string[] => l.map((d) => `${d.name}: ${shown(d.parentPath)} ${shown(d.path)}`).sort();
      const dir = fs.opendirSync(given);
      const first = dir.readSync()!;
      dir.closeSync();
      const pdir = await fs.promises.opendir(given);
      const pfirst = (await pdir.read())!;
      await pdir.close();
      const urlDir = fs.opendirSync(new URL(`file://${b}`));
      urlDir.closeSync();
      return {
        sync: dirents(fs.readdirSync(given, { withFileTypes: true })),
        callback: dirents(await new Promise<realFs.Dirent[]>((resolve, reject) => fs.readdir(given, { withFileTypes: true }, (e, l) => (e ? reject(e) : resolve(l))))),
        promises: dirents(await fs.promises.readdir(given, { withFileTypes: true })),
        dir: [shown(dir.path), shown(first.parentPath), shown(pdir.path), shown(pfirst.parentPath), shown(urlDir.path)],
      };
    });
    expect(ours).toEqual(theirs);
    expect(theirs.dir[0]).toBe('Buffer <b>');
  });
});
