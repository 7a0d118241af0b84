/**
 * Scenarios an adopter's own suite runs that the ported conformance cases
 * (fs-cases.ts) did not: name encodings other than utf8 and 'buffer', the
 * argument forms of read/write/readv/writev/ftruncate (positions as
 * bigint, -1, fractions; offsets and lengths past the buffer; typed
 * arrays and DataViews; option objects), flag and fd ranges, and every
 * own field of the errors thrown. Each `rec` is one case; every call runs
 * in the sync, callback and promises forms against node:fs on tmpfs and
 * NrFS's facade (test/fs-adopter-conformance.test.ts).
 */
import { constants } from 'node:fs';
import type { Form, Scenario } from './fs-forms.js';

export interface AdopterCase {
  forms?: Form[];
  run: Scenario;
}

const FD_FORMS: Form[] = ['sync', 'callback'];

/** An error's own enumerable fields (what deepStrictEqual and util.inspect see), name and message. */
export async function errorFields(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
    return 'no error';
  } catch (e) {
    const x = ((e as { inner?: unknown }).inner ?? e) as Record<string, unknown> & Error;
    const own: Record<string, unknown> = {};
    for (const k of Object.keys(x).sort()) own[k] = x[k];
    return { name: x.name, message: x.message, own, isError: x instanceof Error };
  }
}

export const adopterCases: Record<string, AdopterCase> = {
  'names in every encoding (readdir, readlink, realpath, mkdtemp, Dirent)': {
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'x');
      await call('writeFile', p('ñé'), 'x');
      await call('symlink', 'ñé', p('l'));
      await call('mkdir', `${p('')}-m`);
      await call('mkdir', p('sub'));
      await call('writeFile', p('sub/ü'), 'x');
      for (const enc of ['hex', 'base64', 'latin1', 'ucs2', 'ascii', 'utf8', 'buffer']) {
        await rec(`readdir ${enc}`, () => call('readdir', p(''), enc));
        // node 20 cannot recurse with an encoding that does not round-trip a name (hex, base64, ucs2, buffer): see docs/fs.md.
        if (enc === 'latin1' || enc === 'utf8') await rec(`readdir recursive ${enc}`, () => call('readdir', p(''), { encoding: enc, recursive: true }));
        await rec(`readdir { encoding: ${enc} }`, () => call('readdir', p(''), { encoding: enc }));
        await rec(`readdir types ${enc}`, async () => ((await call('readdir', p(''), { encoding: enc, withFileTypes: true })) as { name: unknown }[]).map((d) => d.name));
        await rec(`readlink ${enc}`, () => call('readlink', p('l'), enc));
        await rec(`realpath of the base ${enc}`, async () => {
          const real = await call('realpath', p('l'), { encoding: enc });
          return typeof real === 'string' ? real.length : Buffer.isBuffer(real) ? 'buffer' : real;
        });
        await rec(`mkdtemp ${enc}`, async () => {
          const made = await call('mkdtemp', `${p('')}-m/t-`, enc);
          return typeof made === 'string' ? made.length : Buffer.isBuffer(made) ? made.length : made;
        });
      }
      await rec('readdir bad encoding', () => call('readdir', p(''), 'nope'));
    },
  },
  'read arguments (positions, offsets, lengths, buffers)': {
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'hello world');
      const fd = (await call('open', p('f'), 'r')) as number;
      const read = (label: string, buf: () => ArrayBufferView | unknown, ...a: unknown[]) =>
        rec(label, async () => {
          const b = buf();
          const r = await call('read', fd, b, ...a);
          return [Array.isArray(r) ? r[0] : r, b];
        });
      const b8 = () => Buffer.alloc(8);
      await read('position bigint', b8, 0, 4, 2n);
      await read('position -1 (current)', b8, 0, 4, -1);
      await read('position null (current)', b8, 0, 3, null);
      await read('position -2', b8, 0, 4, -2);
      await read('position 1.5', b8, 0, 4, 1.5);
      await read('position 2**53', b8, 0, 4, 2 ** 53);
      await read('position 2n**63n', b8, 0, 4, 2n ** 63n);
      await read('position -5n (current)', b8, 0, 2, -5n);
      await read('position string', b8, 0, 4, '1');
      await read('position past the end', b8, 0, 4, 100);
      await read('offset past the buffer', b8, 9, 1, 0);
      await read('offset -1', b8, -1, 1, 0);
      await read('offset 1.5', b8, 1.5, 1, 0);
      await read('offset string', b8, '1', 1, 0);
      await read('offset null', b8, null, 2, 0);
      await read('length past the buffer', b8, 4, 5, 0);
      await read('length -1', b8, 0, -1, 0);
      await read('length 0', b8, 0, 0, 0);
      await read('length 1.5 (truncated)', b8, 0, 1.5, 0);
      await read('length 2**31', b8, 0, 2 ** 31, 0);
      await read('Float64Array', () => new Float64Array(2), 0, 16, 0);
      await read('Float64Array, offset in bytes', () => new Float64Array(2), 1, 4, 0);
      await read('DataView', () => new DataView(new ArrayBuffer(6), 1, 4), 0, 4, 0);
      await read('options object', b8, { offset: 2, length: 3, position: 1 });
      await read('options object, position bigint', b8, { position: 3n });
      await read('options object, length past', b8, { offset: 4, length: 6 });
      await read('options null', b8, null);
      await read('empty buffer, length 0', () => Buffer.alloc(0), 0, 0, 0);
      await read('empty buffer, length 1', () => Buffer.alloc(0), 0, 1, 0);
      await read('buffer a string', () => 'abc', 0, 1, 0);
      await read('buffer null', () => null, 0, 1, 0);
      await rec('fd closed', async () => {
        const fd2 = await call('open', p('f'), 'r');
        await call('close', fd2);
        return call('read', fd2, Buffer.alloc(1), 0, 1, 0);
      });
      await call('close', fd);
    },
  },
  'write arguments (positions, offsets, lengths, strings, encodings)': {
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), '0123456789');
      const fd = (await call('open', p('f'), 'r+')) as number;
      const write = (label: string, ...a: unknown[]) =>
        rec(label, async () => {
          const r = await call('write', fd, ...a);
          return [Array.isArray(r) ? r[0] : r, await call('readFile', p('f'), 'latin1')];
        });
      await write('buffer, position bigint (current)', Buffer.from('AB'), 0, 2, 1n);
      await write('buffer, position 1.5 (current)', Buffer.from('C'), 0, 1, 1.5);
      await write('buffer, position -5 (current)', Buffer.from('D'), 0, 1, -5);
      await write('buffer, position string (current)', Buffer.from('E'), 0, 1, '1');
      await write('buffer, position 2', Buffer.from('F'), 0, 1, 2);
      await write('buffer, offset past', Buffer.from('AB'), 3, 1, 0);
      await write('buffer, length past', Buffer.from('AB'), 1, 2, 0);
      await write('buffer, offset -1', Buffer.from('AB'), -1, 1, 0);
      await write('buffer, offset 1.5', Buffer.from('AB'), 1.5, 1, 0);
      await write('buffer, length -1', Buffer.from('AB'), 0, -1, 0);
      await write('buffer, length 1.5', Buffer.from('AB'), 0, 1.5, 0);
      await write('buffer, offset null', Buffer.from('GH'), null, 1, 0);
      await write('string at 3', 'xy', 3);
      await write('string at 5, hex', '7a7a', 5, 'hex');
      await write('string, odd hex', '7a7', 5, 'hex');
      await write('string, unknown encoding (utf8)', 'zz', 5, 'nope');
      await write('string, position -1 (current)', 'Q', -1);
      await write('string, position 1.5 (current)', 'R', 1.5);
      await write('string, position null, latin1', 'é', null, 'latin1');
      await write('Uint16Array', new Uint16Array([0x4241]), 0, 2, 0);
      await write('DataView', new DataView(new Uint8Array([0x30, 0x31, 0x32]).buffer, 1, 2), 0, 2, 4);
      await write('options object', Buffer.from('ABCD'), { offset: 1, length: 2, position: 0 });
      await write('empty buffer', Buffer.alloc(0), 0, 0, 0);
      await write('a number', 12, 0);
      await write('an object', {}, 0);
      await write('a String object', new String('S'), 0);
      await call('close', fd);
    },
  },
  'readv, writev, ftruncate, truncate arguments': {
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), '0123456789');
      const fd = (await call('open', p('f'), 'r+')) as number;
      const readv = (label: string, position: unknown) =>
        rec(label, async () => {
          const bs = [Buffer.alloc(2), Buffer.alloc(3)];
          const r = await call('readv', fd, bs, position);
          return [Array.isArray(r) ? r[0] : r, bs];
        });
      await readv('readv at 1', 1);
      await readv('readv bigint (current)', 1n);
      await readv('readv -1 (current)', -1);
      await readv('readv 1.5 (current)', 1.5);
      await readv('readv string (current)', '1');
      await rec('readv not an array', () => call('readv', fd, Buffer.alloc(2)));
      await rec('readv an array of strings', () => call('readv', fd, ['ab']));
      const writev = (label: string, position: unknown, bufs: unknown[] = [Buffer.from('a'), Buffer.from('bc')]) =>
        rec(label, async () => {
          const r = await call('writev', fd, bufs, position);
          return [Array.isArray(r) ? r[0] : r, await call('readFile', p('f'), 'latin1')];
        });
      await writev('writev at 2', 2);
      await writev('writev bigint (current)', 0n);
      await writev('writev -1 (current)', -1);
      await writev('writev DataView and Float32Array', 0, [new DataView(new ArrayBuffer(2)), new Float32Array([1])]);
      await writev('writev empty list', 0, []);
      await rec('writev strings', () => call('writev', fd, ['a']));
      for (const len of [-1, 1.5, '1', 1n, 2 ** 53, null, 3]) {
        await rec(`ftruncate ${String(len)}`, async () => {
          await call('ftruncate', fd, len);
          return call('readFile', p('f'), 'latin1');
        });
      }
      await rec('truncate -1', async () => {
        await call('truncate', p('f'), -1);
        return call('readFile', p('f'), 'latin1');
      });
      await rec('truncate 1.5', () => call('truncate', p('f'), 1.5));
      await call('close', fd);
    },
  },
  'fds, flags and modes out of range': {
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'x');
      for (const fd of [2 ** 40, -1, '3', 1.5, 2 ** 31, NaN, null]) await rec(`fstat fd ${String(fd)}`, () => call('fstat', fd));
      for (const flags of [1.5, {}, 2 ** 40, true, -(2 ** 31) - 1]) await rec(`open flags ${String(flags)}`, () => call('open', p('f'), flags));
      for (const mode of ['0o755', -1, 2 ** 32, 1.5, {}, '8']) await rec(`open mode ${String(mode)}`, () => call('open', p('m'), 'w', mode));
      await rec('open mode 0o7777 (umask applies)', async () => {
        await call('close', await call('open', p('m2'), 'w', '755'));
        return call('stat', p('m2'));
      });
      await rec('O_NOFOLLOW on a link', async () => {
        await call('symlink', 'f', p('l'));
        return call('open', p('l'), constants.O_RDONLY | constants.O_NOFOLLOW);
      });
      await rec('O_DIRECTORY on a file', () => call('open', p('f'), constants.O_RDONLY | constants.O_DIRECTORY));
    },
  },
  'error objects: own fields, name and message': {
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'x');
      await call('mkdir', p('d'));
      await call('writeFile', p('d/g'), 'x');
      await rec('rename ENOENT', () => errorFields(() => call('rename', p('nope'), p('x'))));
      await rec('rename EISDIR', () => errorFields(() => call('rename', p('f'), p('d'))));
      await rec('link EEXIST', () => errorFields(() => call('link', p('f'), p('d/g'))));
      await rec('symlink EEXIST', () => errorFields(() => call('symlink', p('f'), p('d/g'))));
      await rec('copyFile EXCL', () => errorFields(() => call('copyFile', p('f'), p('d/g'), constants.COPYFILE_EXCL)));
      await rec('rmdir ENOTEMPTY', () => errorFields(() => call('rmdir', p('d'))));
      await rec('rm EISDIR', () => errorFields(() => call('rm', p('d'))));
      await rec('opendir ENOTDIR', () => errorFields(() => call('opendir', p('f'))));
      await rec('mkdtemp ENOENT', () => errorFields(() => call('mkdtemp', p('nope/tmp-'))));
      await rec('readlink EINVAL', () => errorFields(() => call('readlink', p('f'))));
      await rec('readdir ENOTDIR', () => errorFields(() => call('readdir', p('f'))));
      await rec('truncate EISDIR', () => errorFields(() => call('truncate', p('d'))));
      await rec('rename with an empty path', () => errorFields(() => call('rename', '', p('x'))));
      await rec('a path of the wrong type', () => errorFields(() => call('stat', 1)));
      await rec('a Buffer path with a NUL byte', () => errorFields(() => call('stat', Buffer.from('/a\u0000b'))));
      await rec('a string path with a NUL byte', () => errorFields(() => call('stat', '/a\u0000b')));
    },
  },
  'directories, trees and the options node validates (opendir, readdir, mkdir, rm, cp, copyFile, utimes, chown, stat)': {
    run: async ({ call, p, rec, form }) => {
      type Entry = { name: unknown; parentPath: string; path: string; isDirectory(): boolean };
      await call('mkdir', p('a/b/c'), { recursive: true });
      await call('writeFile', p('a/f'), 'x');
      await call('writeFile', p('a/b/g'), 'x');
      const list = async (o: unknown) => {
        const d = (await call('opendir', p('a'), o)) as AsyncIterable<Entry>;
        const out: unknown[][] = [];
        for await (const e of d) out.push([e.name, e.parentPath.replace(p(''), ''), e.isDirectory()]);
        return out.sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      };
      await rec('opendir recursive', () => list({ recursive: true }));
      await rec('opendir encoding hex', () => list({ encoding: 'hex' }));
      await rec('opendir unknown encoding', () => call('opendir', p('a'), { encoding: 'nope' }));
      // node 20's async forms throw a bad bufferSize inside their callback (an uncaught exception): sync only.
      if (form === 'sync') for (const size of [0, 1.5, '2']) await rec(`opendir bufferSize ${String(size)}`, () => call('opendir', p('a'), { bufferSize: size }));
      await rec('readdir recursive with file types', async () =>
        ((await call('readdir', p('a'), { recursive: true, withFileTypes: true })) as Entry[]).map((e) => [e.name, e.parentPath.replace(p(''), ''), e.path.replace(p(''), '')]).sort());
      await rec('readdir recursive follows a link to a directory (names only)', async () => {
        await call('symlink', 'b', p('a/lb'));
        return [((await call('readdir', p('a'), { recursive: true })) as string[]).sort(), ((await call('readdir', p('a'), { recursive: true, withFileTypes: true })) as Entry[]).map((e) => e.name).sort()];
      });
      await rec('readdir recursive not a boolean', async () => ((await call('readdir', p('a'), { recursive: 1 })) as string[]).sort());
      await rec('readdir withFileTypes truthy', async () => ((await call('readdir', p('a/b'), { withFileTypes: 1 })) as Entry[]).map((e) => e.name));
      await rec('mkdir recursive through a file', () => call('mkdir', p('a/f/x'), { recursive: true }));
      await rec('mkdir recursive, exists', () => call('mkdir', p('a/b'), { recursive: true }));
      await rec('mkdir recursive, a file exists', () => call('mkdir', p('a/f'), { recursive: true }));
      await rec('mkdir recursive not a boolean', () => call('mkdir', p('a/q'), { recursive: 1 }));
      await rec('mkdir mode as a string', async () => {
        await call('mkdir', p('m1'), '700');
        return call('stat', p('m1'));
      });
      await rec('mkdir bad mode', () => call('mkdir', p('m3'), { mode: 'x' }));
      await rec('rm missing, recursive and force', async () => {
        await call('rm', p('nope'), { recursive: true, force: true });
        return 'ok';
      });
      await rec('rm maxRetries -1', () => call('rm', p('a'), { maxRetries: -1 }));
      await rec('rm retryDelay 1.5', () => call('rm', p('a'), { retryDelay: 1.5 }));
      await rec('rm force not a boolean', () => call('rm', p('a'), { force: 'yes' }));
      await rec('rm options a string', () => call('rm', p('a'), 'x'));
      await rec('rmdir options a string', () => call('rmdir', p('a'), 'x'));
      await rec('rm a directory with a trailing slash', async () => {
        await call('mkdir', p('t1'));
        await call('rm', p('t1/'), { recursive: true });
        return ((await call('readdir', p(''))) as string[]).includes('t1');
      });
      await call('writeFile', p('c1'), '1');
      await call('writeFile', p('c2'), '2');
      await rec('cp mode COPYFILE_EXCL', () => call('cp', p('c1'), p('c2'), { mode: constants.COPYFILE_EXCL }));
      await rec('cp mode 99', () => call('cp', p('c1'), p('c3'), { mode: 99 }));
      await rec('cp a directory without recursive', () => call('cp', p('a'), p('a2')));
      await rec('cp recursive (a link copied as a link)', async () => {
        await call('cp', p('a'), p('a3'), { recursive: true });
        return ((await call('readdir', p('a3'), { recursive: true, withFileTypes: true })) as Entry[]).map((e) => [e.name, e.isDirectory()]).sort();
      });
      await rec('cp filter not a function', () => call('cp', p('c1'), p('c4'), { filter: 1 }));
      await rec('cp onto itself', () => call('cp', p('c1'), p('c1')));
      await rec('cp a missing source', () => call('cp', p('nope'), p('c5')));
      await rec('cp a file onto a directory', () => call('cp', p('c1'), p('a')));
      await rec('copyFile mode 8', () => call('copyFile', p('c1'), p('c6'), 8));
      await rec('copyFile a directory', () => call('copyFile', p('a'), p('c7')));
      await rec('utimes negative (now)', async () => {
        await call('utimes', p('c1'), -1, -1);
        return Math.abs(((await call('stat', p('c1'))) as { mtimeMs: number }).mtimeMs - Date.now()) < 60_000;
      });
      for (const [label, t] of [['numeric strings', '100'], ['empty strings', ''], ['Dates', new Date(5000)]] as const) {
        await rec(`utimes ${label}`, async () => {
          await call('utimes', p('c1'), t, t);
          const st = (await call('stat', p('c1'))) as { atimeMs: number; mtimeMs: number };
          return [st.atimeMs, st.mtimeMs];
        });
      }
      await rec('utimes NaN', () => call('utimes', p('c1'), NaN, 1));
      await rec('utimes a bigint', () => call('utimes', p('c1'), 1n, 1));
      await rec('chmod a string mode', async () => {
        await call('chmod', p('c1'), '640');
        return ((await call('stat', p('c1'))) as { mode: number }).mode;
      });
      await rec('chmod a bad string', () => call('chmod', p('c1'), 'rw'));
      await rec('chown -1 -1', async () => {
        await call('chown', p('c1'), -1, -1);
        return 'ok';
      });
      await rec('chown uid 1.5', () => call('chown', p('c1'), 1.5, 0));
      await rec('chown gid 2**32', () => call('chown', p('c1'), 0, 2 ** 32));
      await rec('access mode 8', () => call('access', p('c1'), 8));
      await rec('access mode a string', () => call('access', p('c1'), 'r'));
      await rec('link a directory', () => call('link', p('a'), p('la')));
      await rec('stat throwIfNoEntry false (sync only)', () => call('stat', p('nope'), { throwIfNoEntry: false }));
      await rec('lstat throwIfNoEntry false, ENOTDIR', () => call('lstat', p('c1/x'), { throwIfNoEntry: false }));
      await rec('stat bigint not a boolean (false)', async () => typeof ((await call('stat', p('c1'), { bigint: 'yes' })) as { size: unknown }).size);
      await rec('readFile, aborted signal', () => call('readFile', p('c1'), { signal: AbortSignal.abort() }));
      await rec('writeFile, aborted signal', async () => {
        await call('writeFile', p('c1'), 'new', { signal: AbortSignal.abort() });
        return 'written';
      });
      await rec('after the aborted writeFile', () => call('readFile', p('c1'), 'utf8'));
      await rec('writeFile flush', async () => {
        await call('writeFile', p('c8'), 'x', { flush: true });
        return call('readFile', p('c8'), 'utf8');
      });
      await rec('writeFile flush not a boolean', () => call('writeFile', p('c8'), 'x', { flush: 1 }));
      await rec('rename into its own subtree', () => call('rename', p('a'), p('a/b/z')));
      await rec('rename a directory over a file', () => call('rename', p('a'), p('c1')));
    },
  },
  'more call forms (mkdtemp prefixes, symlink targets, trailing slashes, data and option shapes, flags)': {
    run: async ({ call, p, rec, form }) => {
      await call('writeFile', p('f'), 'x');
      await call('mkdir', p('d'));
      await rec('mkdtemp prefix Buffer', async () => typeof (await call('mkdtemp', Buffer.from(p('tmp-')))));
      await rec('mkdtemp prefix URL', () => call('mkdtemp', new URL(`file://${p('tmp-')}`)));
      await rec('mkdtemp prefix number', () => call('mkdtemp', 5));
      await rec('mkdtemp options bad', () => call('mkdtemp', p('tmp-'), 5));
      await rec('symlink Buffer target', async () => { await call('symlink', Buffer.from('f'), p('l1')); return call('readlink', p('l1')); });
      await rec('symlink URL target', async () => { await call('symlink', new URL(`file://${p('f')}`), p('l2')); return call('readlink', p('l2')); });
      await rec('symlink empty target', () => call('symlink', '', p('l3')));
      await rec('link trailing slash', () => call('link', p('f/'), p('h1')));
      await rec('link to trailing slash', () => call('link', p('f'), p('h2/')));
      await rec('rename onto itself', async () => { await call('rename', p('f'), p('f')); return call('readFile', p('f'), 'utf8'); });
      await rec('rename to trailing slash new', () => call('rename', p('f'), p('g/')));
      await rec('unlink dir', () => call('unlink', p('d')));
      await rec('rmdir f', () => call('rmdir', p('f')));
      await rec('rmdir d/.', () => call('rmdir', p('d/.')));
      await rec('mkdir d/..', () => call('mkdir', p('d/..')));
      await rec('readdir f/', () => call('readdir', p('f/')));
      await rec('access d W', async () => { await call('access', p('d'), 2); return 'ok'; });
      await rec('chmod d str', async () => { await call('chmod', p('d'), '711'); return ((await call('stat', p('d'))) as { mode: number }).mode; });
      await rec('readFile fd-like string', () => call('readFile', '3'));
      await rec('writeFile data null', () => call('writeFile', p('n'), null));
      await rec('writeFile data bool', () => call('writeFile', p('n'), true));
      await rec('writeFile data array', () => call('writeFile', p('n'), [1, 2]));
      await rec('appendFile number', () => call('appendFile', p('n'), 5));
      await rec('writeFile flag r', () => call('writeFile', p('n2'), 'x', { flag: 'r' }));
      await rec('writeFile flag a existing', async () => { await call('writeFile', p('f'), 'y', { flag: 'a' }); return call('readFile', p('f'), 'utf8'); });
      await rec('writeFile mode str', async () => { await call('writeFile', p('m'), 'x', { mode: '600' }); return ((await call('stat', p('m'))) as { mode: number }).mode; });
      await rec('writeFile encoding hex', async () => { await call('writeFile', p('h'), 'zz', { encoding: 'hex' }); return call('readFile', p('h')); });
      await rec('readFile encoding obj null', () => call('readFile', p('f'), { encoding: null }));
      await rec('readFile options array', () => call('readFile', p('f'), []));
      await rec('readdir options number', () => call('readdir', p('d'), 5));
      await rec('stat options string', () => call('stat', p('f'), 'x'));
      await rec('realpath cache option', () => call('realpath', p('f'), { cache: {} }));
      if (form === 'sync') await rec('exists URL', () => call('exists', new URL(`file://${p('f')}`)));
      await rec('truncate dir', () => call('truncate', p('d')));
      await rec('truncate missing', () => call('truncate', p('nope')));
      await rec('utimes dir', async () => { await call('utimes', p('d'), 1, 2); return ((await call('stat', p('d'))) as { mtimeMs: number }).mtimeMs; });
      await rec('lutimes link', async () => { await call('symlink', 'f', p('l4')); await call('lutimes', p('l4'), 3, 4); return [((await call('lstat', p('l4'))) as { mtimeMs: number }).mtimeMs, ((await call('stat', p('l4'))) as { mtimeMs: number }).mtimeMs === 4000]; });
    },
  },
};
