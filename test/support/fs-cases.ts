/**
 * Conformance scenarios, ported from memfs's volume tests
 * (packages/fs-node/src/__tests__/volume.test.ts and volume/*.test.ts,
 * streamich/memfs) and node's own (test/parallel/test-fs-*.js, nodejs/node):
 * the behaviour each checks, rewritten as calls that run unchanged in the
 * sync, callback and promises forms. `source` names where a scenario's cases
 * come from. Every `rec` is one case.
 */
import { constants } from 'node:fs';
import type { Form, Scenario } from './fs-forms.js';

export interface Case {
  source: string;
  /** Forms the scenario runs in (default all three); fd calls have no promises form. */
  forms?: Form[];
  run: Scenario;
}

const FD_FORMS: Form[] = ['sync', 'callback'];

export const cases: Record<string, Case> = {
  'open: create, missing, flags, modes': {
    source: 'memfs volume.test.ts ".openSync" / ".open"; node test-fs-open.js, test-fs-open-flags.js',
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      await rec('create w', async () => typeof (await call('open', p('f'), 'w')));
      await rec('missing r', () => call('open', p('nope'), 'r'));
      await rec('path number', () => call('open', 123 as unknown as string, 'r'));
      await rec('bad flags', () => call('open', p('f'), 'XXX'));
      await rec('bad mode', () => call('open', p('f'), 'r', 'abc'));
      await rec('wx existing', () => call('open', p('f'), 'wx'));
      await call('mkdir', p('d'));
      await rec('dir r', async () => typeof (await call('open', p('d'), 'r')));
      await rec('dir w', () => call('open', p('d'), 'w'));
      await rec('mode 0o600', async () => {
        await call('close', await call('open', p('m'), 'w', 0o600));
        return call('stat', p('m'));
      });
      await rec('O_CREAT|O_EXCL numeric', () => call('open', p('f'), constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY));
    },
  },
  'readFile: encodings, URLs, Buffers, flags, errors': {
    source: 'memfs volume.test.ts ".readFileSync" (URL path, encoding as string/object, invalid options, EISDIR, ENOENT), volume/readFileSync-enotdir.test.ts; node test-fs-readfile-flags.js, test-fs-readfile.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'hello');
      await rec('buffer', () => call('readFile', p('f')));
      await rec('encoding string', () => call('readFile', p('f'), 'utf8'));
      await rec('encoding object', () => call('readFile', p('f'), { encoding: 'utf8' }));
      await rec('hex', () => call('readFile', p('f'), 'hex'));
      await rec('URL', () => call('readFile', new URL(`file://${p('f')}`), 'utf8'));
      await rec('Buffer path', () => call('readFile', Buffer.from(p('f')), 'utf8'));
      await rec('options 123', () => call('readFile', p('f'), 123));
      await rec('bad encoding', () => call('readFile', p('f'), 'no-such-encoding'));
      await rec('dir EISDIR', () => call('readFile', p('')));
      await rec('missing', () => call('readFile', p('nope')));
      await rec('through a file ENOTDIR', () => call('readFile', p('f/x')));
      await rec('flag a+ creates', async () => [await call('readFile', p('new'), { flag: 'a+', encoding: 'utf8' }), await call('stat', p('new'))]);
      await rec('flag w+ truncates', async () => [await call('readFile', p('f'), { flag: 'w+', encoding: 'utf8' }), await call('stat', p('f'))]);
      await rec('http URL', () => call('readFile', new URL('http://example.com/f')));
      await rec('null byte', () => call('readFile', `${p('f')}\u0000x`));
      await rec('over 2 GiB (sparse)', async () => {
        await call('truncate', p('huge'), 2 ** 31);
        return call('readFile', p('huge'));
      });
      await rec('path undefined', () => call('readFile', undefined));
    },
  },
  'writeFile and appendFile': {
    source: 'memfs volume.test.ts ".writeFile" (create, exclude flag), volume/writeFileSync.test.ts, volume/appendFileSync.test.ts; node test-fs-write-file.js, test-fs-append-file.js',
    run: async ({ call, p, rec }) => {
      await rec('create', async () => {
        await call('writeFile', p('a'), 'one');
        return call('readFile', p('a'), 'utf8');
      });
      await rec('wx existing', () => call('writeFile', p('a'), 'x', { flag: 'wx' }));
      await rec('hex encoding', async () => {
        await call('writeFile', p('h'), '6869', 'hex');
        return call('readFile', p('h'), 'utf8');
      });
      await rec('mode', async () => {
        await call('writeFile', p('m'), 'x', { mode: 0o640 });
        return call('stat', p('m'));
      });
      await rec('into missing dir', () => call('writeFile', p('no/f'), 'x'));
      await rec('data number', () => call('writeFile', p('n'), 42));
      await rec('Uint8Array', async () => {
        await call('writeFile', p('u'), new Uint8Array([104, 105]));
        return call('readFile', p('u'), 'latin1');
      });
      await rec('append creates and appends', async () => {
        await call('appendFile', p('ap'), 'a');
        await call('appendFile', p('ap'), 'b');
        return call('readFile', p('ap'), 'utf8');
      });
      await rec('append to dir', () => call('appendFile', p(''), 'x'));
      await rec('writeFile over dir', () => call('writeFile', p(''), 'x'));
    },
  },
  'fds as paths (readFile, writeFile, appendFile, truncate)': {
    source: 'node test-fs-readfile-fd.js, test-fs-writefile-with-fd.js, test-fs-truncate-fd.js',
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'abcdef');
      const fd = (await call('open', p('f'), 'r+')) as number;
      await rec('readFile fd', () => call('readFile', fd, 'utf8'));
      await rec('readFile fd again (at end)', () => call('readFile', fd, 'utf8'));
      await rec('writeFile fd at offset', async () => {
        await call('writeFile', fd, 'XY');
        return call('readFile', p('f'), 'utf8');
      });
      await rec('truncate fd', async () => {
        await call('truncate', fd, 2);
        return call('readFile', p('f'), 'utf8');
      });
      await rec('appendFile fd', async () => {
        await call('appendFile', fd, 'Z');
        return call('readFile', p('f'), 'utf8');
      });
      await call('close', fd);
    },
  },
  'read, write, readv, writev through fds': {
    source: 'memfs volume.test.ts ".read", ".readv" (simple, from position, from current position), ".writeSync", ".write", ".writev"; node test-fs-readv.js, test-fs-writev.js, test-fs-read-offset-null.js',
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      const fd = (await call('open', p('f'), 'w+')) as number;
      await rec('write string', () => call('write', fd, 'hello world'));
      await rec('write buffer at position', () => call('write', fd, Buffer.from('HE'), 0, 2, 0));
      await rec('read at position', async () => {
        const b = Buffer.alloc(5);
        const r = await call('read', fd, b, 0, 5, 0);
        return [r, b];
      });
      await rec('writev', async () => {
        const n = await call('writev', fd, [Buffer.from('ab'), Buffer.from('cd')], 0);
        return [n, await call('readFile', p('f'), 'utf8')];
      });
      await rec('readv from position', async () => {
        const a = Buffer.alloc(3);
        const b = Buffer.alloc(3);
        const r = await call('readv', fd, [a, b], 1);
        return [r, a, b];
      });
      await rec('read length past buffer', () => call('read', fd, Buffer.alloc(4), 0, 10, 0));
      await rec('write bad fd type', () => call('write', '1', 'x'));
      await rec('write negative fd', () => call('write', -1, 'x'));
      await rec('fsync', () => call('fsync', fd));
      await rec('fdatasync', () => call('fdatasync', fd));
      await rec('fstat', () => call('fstat', fd));
      await rec('fstat bigint', () => call('fstat', fd, { bigint: true }));
      await call('close', fd);
      await rec('close again EBADF', () => call('close', fd));
      await rec('fsync closed', () => call('fsync', fd));
    },
  },
  'symlinks': {
    source: 'memfs volume.test.ts ".symlinkSync" (create, read from, to a folder, multiple hops, relative paths, nested relative), ".lstatSync" (symlink itself, intermediate dirs through symlinks), ".statSync" (resolves); node test-fs-symlink.js, test-fs-symlink-dir.js, test-fs-readlink-type-check.js',
    run: async ({ call, p, rec }) => {
      await call('mkdir', p('d/e'), { recursive: true });
      await call('writeFile', p('d/e/f'), 'data');
      await rec('symlink', () => call('symlink', p('d/e/f'), p('l')));
      await rec('read through', () => call('readFile', p('l'), 'utf8'));
      await rec('readlink', () => call('readlink', p('l')));
      await rec('lstat is link', () => call('lstat', p('l')));
      await rec('stat follows', () => call('stat', p('l')));
      await rec('dir link', () => call('symlink', p('d'), p('dl')));
      await rec('through dir link', () => call('readFile', p('dl/e/f'), 'utf8'));
      await rec('lstat through dir link', () => call('lstat', p('dl/e')));
      await rec('two hops', async () => {
        await call('symlink', p('dl'), p('dl2'));
        return call('readFile', p('dl2/e/f'), 'utf8');
      });
      await rec('relative target', async () => {
        await call('symlink', 'e/f', p('d/rel'));
        return [await call('readlink', p('d/rel')), await call('readFile', p('d/rel'), 'utf8')];
      });
      await rec('relative ..', async () => {
        await call('symlink', '../f', p('d/e/up'));
        await call('writeFile', p('d/f'), 'up');
        return call('readFile', p('d/e/up'), 'utf8');
      });
      await rec('existing EEXIST', () => call('symlink', p('d'), p('l')));
      await rec('readlink of file EINVAL', () => call('readlink', p('d/e/f')));
      await rec('readlink missing', () => call('readlink', p('nope')));
      await rec('dangling stat', async () => {
        await call('symlink', p('gone'), p('dang'));
        return call('stat', p('dang'));
      });
      await rec('dangling lstat', () => call('lstat', p('dang')));
      await rec('write through dangling creates target', async () => {
        await call('writeFile', p('dang'), 'made');
        return call('readFile', p('gone'), 'utf8');
      });
      await rec('loop ELOOP', async () => {
        await call('symlink', p('b'), p('a'));
        await call('symlink', p('a'), p('b'));
        return call('stat', p('a'));
      });
      await rec('loop readFile', () => call('readFile', p('a')));
      await rec('unlink link keeps target', async () => {
        await call('unlink', p('l'));
        return [await call('exists', p('d/e/f')).catch(() => 'n/a'), await call('readFile', p('d/e/f'), 'utf8')];
      });
      await rec('rename link', async () => {
        await call('rename', p('dl2'), p('dl3'));
        return call('readlink', p('dl3'));
      });
      await rec('readdir types', async () => {
        const d = (await call('readdir', p(''), { withFileTypes: true })) as { name: string }[];
        return d.sort((x, y) => (x.name < y.name ? -1 : 1));
      });
      await rec('mkdir over link EEXIST', () => call('mkdir', p('dl')));
      await rec('rmdir on dir link ENOTDIR', () => call('rmdir', p('dl')));
      await rec('bad type', () => call('symlink', p('d'), p('t'), 'weird'));
      await rec('type dir', async () => {
        await call('symlink', p('d'), p('td'), 'dir');
        return call('lstat', p('td'));
      });
      await rec('trailing slash follows', () => call('lstat', `${p('dl')}/`));
      await rec('open O_NOFOLLOW', () => call('open', p('dl3'), constants.O_RDONLY | constants.O_NOFOLLOW));
    },
  },
  'realpath': {
    source: 'memfs volume.test.ts ".realpathSync" (symlink works, one-jump, /./ and /../), volume/realpathSync.test.ts, volume/realpathNative.test.ts; node test-fs-realpath.js',
    run: async ({ call, p, rec }) => {
      await call('mkdir', p('d/e'), { recursive: true });
      await call('writeFile', p('d/e/f'), 'x');
      await call('symlink', p('d'), p('l'));
      await rec('plain', () => call('realpath', p('d/e/f')));
      await rec('one jump', () => call('realpath', p('l/e/f')));
      await rec('dots', () => call('realpath', `${p('l')}/./e/../e/f`));
      await rec('missing', () => call('realpath', p('l/nope')));
      await rec('root', () => call('realpath', '/'));
      await rec('loop', async () => {
        await call('symlink', p('y'), p('x'));
        await call('symlink', p('x'), p('y'));
        return call('realpath', p('x'));
      });
      await rec('relative link', async () => {
        await call('symlink', 'd/e', p('rel'));
        return call('realpath', p('rel/f'));
      });
      await rec('encoding buffer', () => call('realpath', p('l'), { encoding: 'buffer' }));
    },
  },
  'realpath.native': {
    source: 'memfs volume/realpathNative.test.ts; node test-fs-realpath-native.js',
    forms: ['sync', 'callback'],
    run: async ({ fs, form, p, rec }) => {
      const rp = (fs[form === 'sync' ? 'realpathSync' : 'realpath'] as { native: (...a: unknown[]) => unknown }).native;
      const call = (path: string): Promise<unknown> =>
        form === 'sync'
          ? Promise.resolve().then(() => rp(path))
          : new Promise((res, rej) => rp(path, (e: unknown, r: unknown) => (e ? rej(e) : res(r))));
      (fs.mkdirSync as (...a: unknown[]) => void)(p('d'));
      (fs.symlinkSync as (...a: unknown[]) => void)(p('d'), p('l'));
      await rec('native link', () => call(p('l')));
      await rec('native missing', () => call(p('nope')));
      await rec('native through file', async () => {
        (fs.writeFileSync as (...a: unknown[]) => void)(p('f'), '');
        return call(p('f/x'));
      });
    },
  },
  'stat options': {
    source: 'memfs volume.test.ts ".statSync(path, options)" and ".lstatSync(path, options)" (throwIfNoEntry false/true/unspecified/undefined; BigInt); node test-fs-stat-bigint.js, test-fs-stat.js',
    run: async ({ call, p, rec, form }) => {
      await call('writeFile', p('f'), 'abc');
      if (form === 'sync') {
        await rec('throwIfNoEntry false', () => call('stat', p('nope'), { throwIfNoEntry: false }));
        await rec('lstat throwIfNoEntry false', () => call('lstat', p('nope'), { throwIfNoEntry: false }));
        await rec('throwIfNoEntry false ENOTDIR', () => call('stat', p('f/x'), { throwIfNoEntry: false }));
        await rec('throwIfNoEntry undefined', () => call('stat', p('nope'), { throwIfNoEntry: undefined }));
      }
      await rec('throwIfNoEntry true', () => call('stat', p('nope'), { throwIfNoEntry: true }));
      await rec('bigint', () => call('stat', p('f'), { bigint: true }));
      await rec('bigint size', async () => ((await call('stat', p('f'), { bigint: true })) as { size: bigint }).size);
      await rec('lstat bigint', () => call('lstat', p('f'), { bigint: true }));
      await rec('stat number path', () => call('stat', 5));
      await rec('stat null path', () => call('stat', null));
      await rec('stat object path', () => call('stat', {}));
      await rec('stat dir', () => call('stat', p('')));
      await rec('stat trailing slash on file', () => call('stat', `${p('f')}/`));
    },
  },
  'hard links': {
    source: 'memfs volume.test.ts ".linkSync" (create a new link, nlink increases); node test-fs-link.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'shared');
      await call('mkdir', p('d'));
      await rec('link', () => call('link', p('f'), p('g')));
      await rec('nlink 2', () => call('stat', p('f')));
      await rec('same data', () => call('readFile', p('g'), 'utf8'));
      await rec('write one, read other', async () => {
        await call('appendFile', p('g'), '!');
        return call('readFile', p('f'), 'utf8');
      });
      await rec('dir EPERM', () => call('link', p('d'), p('dd')));
      await rec('existing EEXIST', () => call('link', p('f'), p('g')));
      await rec('missing ENOENT', () => call('link', p('nope'), p('h')));
      await rec('unlink one keeps other', async () => {
        await call('unlink', p('f'));
        return [await call('readFile', p('g'), 'utf8'), await call('stat', p('g'))];
      });
      await rec('bad existingPath', () => call('link', 1, p('x')));
    },
  },
  'chmod, chown, utimes': {
    source: 'memfs volume/chmodSync.test.ts, volume/utimesSync.test.ts, volume/lutimesSync.test.ts; node test-fs-chmod.js, test-fs-utimes.js, test-fs-chown-type-check.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'x');
      await rec('chmod number', async () => {
        await call('chmod', p('f'), 0o600);
        return call('stat', p('f'));
      });
      await rec('chmod octal string', async () => {
        await call('chmod', p('f'), '755');
        return call('stat', p('f'));
      });
      await rec('chmod bad mode', () => call('chmod', p('f'), 'abc'));
      await rec('chmod missing', () => call('chmod', p('nope'), 0o600));
      await rec('chmod dir', async () => {
        await call('mkdir', p('d'));
        await call('chmod', p('d'), 0o700);
        return call('stat', p('d'));
      });
      await rec('chown to same ids', async () => {
        await call('chown', p('f'), 0, 0);
        return ((await call('stat', p('f'))) as { uid: number }).uid;
      });
      await rec('chown uid -2', () => call('chown', p('f'), -2, 0));
      await rec('chown uid string', () => call('chown', p('f'), '0', 0));
      await rec('chown missing', () => call('chown', p('nope'), 0, 0));
      await rec('lchown link', async () => {
        await call('symlink', p('f'), p('l'));
        await call('lchown', p('l'), 0, 0);
        return call('lstat', p('l'));
      });
      await rec('utimes seconds', async () => {
        await call('utimes', p('f'), 1000.5, 2000.25);
        const s = (await call('stat', p('f'))) as { atimeMs: number; mtimeMs: number };
        return [s.atimeMs, s.mtimeMs];
      });
      await rec('utimes Dates', async () => {
        await call('utimes', p('f'), new Date(5000), new Date(6000));
        const s = (await call('stat', p('f'))) as { mtime: Date };
        return s.mtime.getTime();
      });
      await rec('utimes bad time', () => call('utimes', p('f'), 'x', 1));
      await rec('utimes missing', () => call('utimes', p('nope'), 1, 1));
      await rec('lutimes on link', async () => {
        await call('lutimes', p('l'), 7, 8);
        const s = (await call('lstat', p('l'))) as { mtimeMs: number };
        const t = (await call('stat', p('f'))) as { mtimeMs: number };
        return [s.mtimeMs, t.mtimeMs];
      });
    },
  },
  'fchmod, fchown, futimes': {
    source: 'node test-fs-fchmod.js, test-fs-fchown.js, test-fs-futimes.js',
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      const fd = (await call('open', p('f'), 'w')) as number;
      await rec('fchmod', async () => {
        await call('fchmod', fd, 0o640);
        return call('fstat', fd);
      });
      await rec('fchown', () => call('fchown', fd, 0, 0));
      await rec('futimes', async () => {
        await call('futimes', fd, 10, 20);
        return ((await call('fstat', fd)) as { mtimeMs: number }).mtimeMs;
      });
      await rec('fchmod bad mode', () => call('fchmod', fd, -1));
      await call('close', fd);
      await rec('fchmod closed', () => call('fchmod', fd, 0o600));
    },
  },
  'access': {
    source: 'memfs volume/access.test.ts, volume/accessSync.test.ts, volume/accessPromise.test.ts; node test-fs-access.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'x', { mode: 0o644 });
      await rec('F_OK', () => call('access', p('f')));
      await rec('R_OK|W_OK', () => call('access', p('f'), constants.R_OK | constants.W_OK));
      await rec('X_OK on 644 (root too)', () => call('access', p('f'), constants.X_OK));
      await rec('X_OK on 755', async () => {
        await call('chmod', p('f'), 0o755);
        return call('access', p('f'), constants.X_OK);
      });
      await rec('missing', () => call('access', p('nope')));
      await rec('mode 8', () => call('access', p('f'), 8));
      await rec('mode string', () => call('access', p('f'), 'r'));
      await rec('dir X_OK', () => call('access', p(''), constants.X_OK));
    },
  },
  'exists (legacy callback form)': {
    source: 'memfs volume/exists.test.ts, volume/existsSync.test.ts; node test-fs-exists.js',
    forms: ['sync'],
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'x');
      await rec('exists', () => call('exists', p('f')));
      await rec('missing', () => call('exists', p('nope')));
      await rec('bad path type', () => call('exists', 123));
      await rec('through file', () => call('exists', p('f/x')));
    },
  },
  'rm': {
    source: 'memfs volume/rmSync.test.ts, volume/rmPromise.test.ts; node test-fs-rm.js',
    run: async ({ call, p, rec }) => {
      await call('mkdir', p('d/e/f'), { recursive: true });
      await call('writeFile', p('d/e/x'), '1');
      await call('writeFile', p('file'), '1');
      await rec('file', async () => {
        await call('rm', p('file'));
        return call('exists', p('file')).catch(() => 'n/a');
      });
      await rec('dir without recursive', () => call('rm', p('d')));
      await rec('missing', () => call('rm', p('nope')));
      await rec('missing force', () => call('rm', p('nope'), { force: true }));
      await rec('force not boolean', () => call('rm', p('nope'), { force: 1 }));
      await rec('recursive not boolean', () => call('rm', p('d'), { recursive: 'yes' }));
      await rec('link to dir removes the link only', async () => {
        await call('symlink', p('d'), p('dl'));
        await call('rm', p('dl'));
        return call('readdir', p('d/e')).then((x) => (x as string[]).sort());
      });
      await rec('recursive tree', async () => {
        await call('rm', p('d'), { recursive: true });
        return call('readdir', p(''));
      });
      await rec('maxRetries bad', () => call('rm', p('nope'), { force: true, maxRetries: -1 }));
      // node spreads its defaults under the options: given as undefined, recursive and force are not booleans.
      await rec('force given as undefined', () => call('rm', p('nope'), { force: undefined }));
      await rec('recursive given as undefined', () => call('rm', p('nope'), { recursive: undefined }));
      await rec('recursive undefined before force 1', () => call('rm', p('nope'), { force: 1, recursive: undefined }));
      await rec('retryDelay given as undefined', () => call('rm', p('nope'), { force: true, retryDelay: undefined }));
    },
  },
  'rmdir': {
    source: 'node test-fs-rmdir-recursive.js, test-fs-rmdir-recursive-throws-not-found.js, test-fs-rmdir-recursive-throws-on-file.js',
    run: async ({ call, p, rec }) => {
      await call('mkdir', p('d/e'), { recursive: true });
      await call('writeFile', p('d/e/f'), '1');
      await call('writeFile', p('file'), '1');
      await rec('not empty', () => call('rmdir', p('d')));
      await rec('recursive given as undefined', () => call('rmdir', p('d'), { recursive: undefined }));
      await rec('recursive missing', () => call('rmdir', p('nope'), { recursive: true }));
      await rec('recursive on file', () => call('rmdir', p('file'), { recursive: true }));
      await rec('recursive tree', async () => {
        await call('rmdir', p('d'), { recursive: true });
        return call('readdir', p(''));
      });
      await rec('on file', () => call('rmdir', p('file')));
    },
  },
  'cp': {
    source: 'memfs volume/cpSync.test.ts, volume/cp.test.ts, volume/cp-edge-cases.test.ts, volume/promises-cp.test.ts; node test-fs-cp.mjs',
    run: async ({ call, p, rec }) => {
      await call('mkdir', p('d/e'), { recursive: true });
      await call('writeFile', p('d/e/f'), 'deep');
      await call('writeFile', p('d/top'), 'top');
      await call('writeFile', p('file'), 'one');
      await rec('file', async () => {
        await call('cp', p('file'), p('copy'));
        return call('readFile', p('copy'), 'utf8');
      });
      await rec('dir without recursive', () => call('cp', p('d'), p('d2')));
      await rec('recursive', async () => {
        await call('cp', p('d'), p('d2'), { recursive: true });
        return [await call('readFile', p('d2/e/f'), 'utf8'), ((await call('readdir', p('d2'))) as string[]).sort()];
      });
      await rec('existing, force false, errorOnExist', () => call('cp', p('file'), p('copy'), { force: false, errorOnExist: true }));
      await rec('existing, force false: skipped', async () => {
        await call('writeFile', p('other'), 'other');
        await call('cp', p('other'), p('copy'), { force: false });
        return call('readFile', p('copy'), 'utf8');
      });
      await rec('existing, force: replaced', async () => {
        await call('cp', p('other'), p('copy'));
        return call('readFile', p('copy'), 'utf8');
      });
      await rec('into itself', () => call('cp', p('d'), p('d/sub'), { recursive: true }));
      await rec('missing src', () => call('cp', p('nope'), p('x')));
      await rec('filter', async () => {
        await call('cp', p('d'), p('d3'), { recursive: true, filter: (src: string) => !src.endsWith('top') });
        return ((await call('readdir', p('d3'))) as string[]).sort();
      });
      // node spreads its defaults under the options: a boolean option given as undefined is not a boolean (found by a cp fuzz).
      for (const k of ['recursive', 'force', 'errorOnExist', 'dereference', 'verbatimSymlinks', 'preserveTimestamps']) {
        await rec(`${k} given as undefined`, () => call('cp', p('file'), p('u'), { [k]: undefined }));
      }
      await rec('recursive 1', () => call('cp', p('d'), p('u'), { recursive: 1 }));
      await rec('mode 99', () => call('cp', p('file'), p('u'), { mode: 99 }));
      await rec('dereference with verbatimSymlinks', () => call('cp', p('file'), p('u'), { dereference: true, verbatimSymlinks: true }));
      await rec('filter and mode given as undefined', async () => {
        await call('cp', p('file'), p('u2'), { filter: undefined, mode: undefined });
        return call('readFile', p('u2'), 'utf8');
      });
    },
  },
  'copyFile': {
    source: 'memfs volume/copyFile.test.ts, volume/copyFileSync.test.ts; node test-fs-copyfile.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('src'), 'content', { mode: 0o640 });
      await call('mkdir', p('d'));
      await rec('copy', async () => {
        await call('copyFile', p('src'), p('dst'));
        return [await call('readFile', p('dst'), 'utf8'), await call('stat', p('dst'))];
      });
      await rec('overwrite', async () => {
        await call('writeFile', p('src'), 'new');
        await call('copyFile', p('src'), p('dst'));
        return call('readFile', p('dst'), 'utf8');
      });
      await rec('EXCL existing', () => call('copyFile', p('src'), p('dst'), constants.COPYFILE_EXCL));
      await rec('FICLONE', async () => {
        await call('copyFile', p('src'), p('clone'), constants.COPYFILE_FICLONE);
        return call('readFile', p('clone'), 'utf8');
      });
      await rec('FICLONE_FORCE', () => call('copyFile', p('src'), p('forced'), constants.COPYFILE_FICLONE_FORCE));
      await rec('mode 8', () => call('copyFile', p('src'), p('x'), 8));
      await rec('src dir', () => call('copyFile', p('d'), p('x')));
      await rec('src missing', () => call('copyFile', p('nope'), p('x')));
      await rec('dest in missing dir', () => call('copyFile', p('src'), p('no/x')));
    },
  },
  'mkdtemp': {
    source: 'node test-fs-mkdtemp.js, test-fs-mkdtemp-prefix-check.js',
    run: async ({ call, p, rec }) => {
      await rec('creates', async () => {
        const d = (await call('mkdtemp', p('tmp-'))) as string;
        return [d, await call('stat', d)];
      });
      await rec('prefix type', () => call('mkdtemp', 5));
      await rec('missing parent', () => call('mkdtemp', p('no/tmp-')));
      await rec('buffer encoding', async () => Buffer.isBuffer(await call('mkdtemp', p('tmp-'), { encoding: 'buffer' })));
    },
  },
  'mkdir': {
    source: 'memfs volume/mkdirSync.test.ts; node test-fs-mkdir.js',
    run: async ({ call, p, rec }) => {
      await rec('recursive returns first made', () => call('mkdir', p('a/b/c'), { recursive: true }));
      await rec('recursive existing', () => call('mkdir', p('a/b'), { recursive: true }));
      await rec('existing', () => call('mkdir', p('a')));
      await rec('missing parent', () => call('mkdir', p('x/y')));
      await rec('recursive not boolean', () => call('mkdir', p('q'), { recursive: 'yes' }));
      await rec('mode', async () => {
        await call('mkdir', p('m'), 0o700);
        return call('stat', p('m'));
      });
      await rec('options bad type', () => call('mkdir', p('z'), true));
      await rec('through file', async () => {
        await call('writeFile', p('f'), '');
        return call('mkdir', p('f/x'), { recursive: true });
      });
    },
  },
  'readdir': {
    source: 'memfs volume/readdirSync.test.ts; node test-fs-readdir.js, test-fs-readdir-recursive.js, test-fs-readdir-types.js',
    run: async ({ call, p, rec }) => {
      await call('mkdir', p('d/e/f'), { recursive: true });
      await call('writeFile', p('d/e/x'), '1');
      await call('writeFile', p('d/top'), '1');
      const sorted = async (v: Promise<unknown>): Promise<unknown> => ((await v) as unknown[]).map((x) => x).sort((a, b) => (String(JSON.stringify(a)) < String(JSON.stringify(b)) ? -1 : 1));
      await rec('names', () => sorted(call('readdir', p('d'))));
      await rec('recursive', () => sorted(call('readdir', p('d'), { recursive: true })));
      await rec('recursive types', async () => {
        const ds = (await call('readdir', p('d'), { recursive: true, withFileTypes: true })) as { name: string; isDirectory(): boolean }[];
        return ds.map((x) => `${x.name}:${x.isDirectory()}`).sort();
      });
      await rec('types', async () => ((await call('readdir', p('d'), { withFileTypes: true })) as { name: string; isFile(): boolean }[]).map((x) => `${x.name}:${x.isFile()}`).sort());
      await rec('buffer names', () => sorted(call('readdir', p('d'), { encoding: 'buffer' })));
      await rec('bad options', () => call('readdir', p('d'), 5));
      await rec('on file', () => call('readdir', p('d/top')));
      await rec('missing', () => call('readdir', p('nope')));
    },
  },
  'opendir': {
    source: 'memfs volume/opendir.test.ts, fs-node Dir.test.ts; node test-fs-opendir.js',
    run: async ({ call, p, rec }) => {
      await call('mkdir', p('d'));
      await call('writeFile', p('d/a'), '1');
      await call('writeFile', p('d/b'), '1');
      await call('writeFile', p('f'), '1');
      await rec('readSync all', async () => {
        const dir = (await call('opendir', p('d'))) as { readSync(): { name: string } | null; closeSync(): void; path: string };
        const names: string[] = [];
        for (let e = dir.readSync(); e !== null; e = dir.readSync()) names.push(e.name);
        dir.closeSync();
        return [dir.path, names.sort()];
      });
      await rec('async iteration', async () => {
        const dir = (await call('opendir', p('d'))) as AsyncIterable<{ name: string }>;
        const names: string[] = [];
        for await (const e of dir) names.push(e.name);
        return names.sort();
      });
      await rec('read after close', async () => {
        const dir = (await call('opendir', p('d'))) as { readSync(): unknown; closeSync(): void };
        dir.closeSync();
        return dir.readSync();
      });
      await rec('on file', () => call('opendir', p('f')));
      await rec('missing', () => call('opendir', p('nope')));
    },
  },
  'rename, unlink, truncate': {
    source: 'memfs volume/rename.test.ts, volume/renameSync.test.ts; node test-fs-rename-type-check.js, test-fs-truncate.js, test-fs-unlink-type-check.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'abcdef');
      await call('mkdir', p('d'));
      await rec('rename', async () => {
        await call('rename', p('f'), p('g'));
        return call('readFile', p('g'), 'utf8');
      });
      await rec('rename onto dir', () => call('rename', p('g'), p('d')));
      await rec('rename missing', () => call('rename', p('nope'), p('x')));
      await rec('rename bad type', () => call('rename', p('g'), 5));
      await rec('truncate', async () => {
        await call('truncate', p('g'), 3);
        return call('readFile', p('g'), 'utf8');
      });
      await rec('truncate negative', async () => {
        await call('truncate', p('g'), -1);
        return call('readFile', p('g'), 'utf8');
      });
      await rec('truncate grow', async () => {
        await call('truncate', p('g'), 5);
        return call('readFile', p('g'));
      });
      await rec('truncate dir', () => call('truncate', p('d')));
      await rec('unlink dir', () => call('unlink', p('d')));
      await rec('unlink', async () => {
        await call('unlink', p('g'));
        return call('readdir', p(''));
      });
      await rec('unlink missing', () => call('unlink', p('g')));
    },
  },
  'relative paths against the working directory': {
    source: 'node test-fs-realpath.js (relative), test-fs-readfile.js, test-fs-mkdir.js (relative recursive); memfs volume.test.ts "Files and directories at root with relative paths"',
    run: async ({ call, p, rec, chdir }) => {
      await call('mkdir', p('w/sub'), { recursive: true });
      await call('writeFile', p('w/file'), 'x');
      chdir(p('w'));
      await rec('writeFile rel', async () => {
        await call('writeFile', 'rel.txt', 'rel');
        return call('readFile', p('w/rel.txt'), 'utf8');
      });
      await rec('readdir .', async () => ((await call('readdir', '.')) as string[]).sort());
      await rec('.. walked', () => call('readFile', 'sub/../rel.txt', 'utf8'));
      await rec('through a file', () => call('readFile', 'file/../rel.txt'));
      await rec('missing quotes relative', () => call('readFile', 'missing'));
      await rec('rename relative', () => call('rename', 'missing', 'other'));
      await rec('mkdir recursive relative', () => call('mkdir', 'a/b', { recursive: true }));
      await rec('realpath relative', () => call('realpath', 'sub/..'));
      await rec('stat relative', () => call('stat', 'sub'));
      await rec('symlink relative', async () => {
        await call('symlink', 'file', 'ln');
        return [await call('readlink', 'ln'), await call('readFile', 'ln', 'utf8')];
      });
    },
  },
  'argument order: the path, then the other arguments, then the file system': {
    source: 'a differential fuzz of the sync calls against node:fs 20 with random arguments (these are the cases it found); node lib/fs.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'hello');
      await rec('writeFile empty path, bad flag', () => call('writeFile', '', 'x', { flag: 'q' }));
      await rec('appendFile empty path, bad mode', () => call('appendFile', '', 'x', { mode: 'x' }));
      await rec('writeFile NaN path', () => call('writeFile', NaN as unknown as string, 'x'));
      await rec('writeFile 2^31 path', () => call('writeFile', 2 ** 31 as unknown as string, 'x'));
      await rec('readFile NaN path', () => call('readFile', NaN as unknown as string));
      await rec('readFile bad path, bad flag', () => call('readFile', {} as unknown as string, { flag: 'q' }));
      await rec('appendFile encoding empty string', async () => {
        await call('appendFile', p('f'), '!', '');
        return call('readFile', p('f'), 'utf8');
      });
      await rec('writeFile encoding false', async () => {
        await call('writeFile', p('g'), 'abc', { encoding: false });
        return call('readFile', p('g'), 'utf8');
      });
      await rec('utimes null-byte path, bad times', () => call('utimes', 'a\u0000b', 'x', 1));
      await rec('lutimes null-byte Buffer path, bad times', () => call('lutimes', Buffer.from([0]), {}, 1));
      await rec('rm null-byte path, bad options', () => call('rm', 'a\u0000b', 'x'));
      await rec('rmdir number path, bad options', () => call('rmdir', 5 as unknown as string, 'x'));
      await rec('access empty path, mode -1', () => call('access', '', -1));
      await rec('access NaN mode', () => call('access', p('f'), NaN));
      await rec('access mode -0.5 (F_OK)', () => call('access', p('f'), -0.5));
      await rec('access mode 8.5', () => call('access', p('f'), 8.5));
      await rec('copyFile empty src, mode 99', () => call('copyFile', '', p('b'), 99));
      await rec('copyFile mode 1.5 is COPYFILE_EXCL', async () => {
        await call('copyFile', p('f'), p('c'));
        return call('copyFile', p('f'), p('c'), 1.5);
      });
      await rec('copyFile mode null', async () => {
        await call('copyFile', p('f'), p('c2'), null);
        return call('readFile', p('c2'), 'utf8');
      });
      await rec('copyFile mode string', () => call('copyFile', p('f'), p('c3'), '1'));
      await rec('symlink bad target, bad type', () => call('symlink', 5 as unknown as string, p('l'), 'bogus'));
      await rec('symlink empty target, bad type', () => call('symlink', '', p('l'), 'bogus'));
      await rec('symlink type of another kind is ignored', async () => {
        await call('symlink', p('f'), p('l2'), {});
        return call('readlink', p('l2'));
      });
      await rec('chmod without a mode', () => call('chmod', p('f')));
      await rec('chmod missing path, mode null', () => call('chmod', p('nope'), null));
      // A descriptor in the sync and callback forms, a bad path in the promise forms (they take FileHandles).
      await rec('appendFile an unopened descriptor', () => call('appendFile', 99999 as unknown as string, 'x'));
      await rec('truncate an unopened descriptor', () => call('truncate', 99999 as unknown as string, 0));
      await rec('appendFile an unopened descriptor, bad encoding', () => call('appendFile', 99999 as unknown as string, 'x', 'bogus'));
      await rec('writeFile bad path, bad encoding', () => call('writeFile', {} as unknown as string, 'x', 'bogus'));
    },
  },
  'argument count: the callback by position, arguments too few or too many': {
    source: 'a differential fuzz of the callback forms against node:fs 20 (random arguments; these are the cases it found); node lib/fs.js',
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'hello');
      await rec('utimes without mtime', () => call('utimes', p('f'), 1));
      await rec('lutimes null-byte path only', () => call('lutimes', Buffer.from([0])));
      await rec('rename one path', () => call('rename', Buffer.from([0])));
      await rec('link one path', () => call('link', p('f')));
      await rec('stat with an extra argument', () => call('stat', p('f'), {}, 'extra'));
      await rec('fsync-like extra argument: readlink', () => call('readlink', p('f'), undefined, 'x'));
      await rec('truncate bad length, bad path', () => call('truncate', Buffer.from([0]), 'x'));
      await rec('truncate bad length, missing path', () => call('truncate', p('nope'), 'x'));
      await rec('mkdir undefined path, bad mode', () => call('mkdir', undefined as unknown as string, 'f'));
      await rec('mkdir empty path, bad mode', () => call('mkdir', '', 'a+'));
      await rec('access null-byte path, bad mode', () => call('access', Buffer.from([0]), 'a+'));
      await rec('access bad mode', () => call('access', p('f'), 9));
      await rec('rm null-byte path, bad options', () => call('rm', Buffer.from([0]), 2));
      await rec('rm bad options', () => call('rm', p('f'), 2));
      await rec('chmod bad mode, extra argument', () => call('chmod', p('f'), 'bogus', 'x'));
      await rec('chmod empty path, bad mode', () => call('chmod', '', 'f'));
    },
  },
  'argument order on descriptors': {
    source: 'the same fuzz; node lib/fs.js (fchmod and ftruncate check the mode or length first; writeFileSync\'s UTF-8 fast path)',
    forms: FD_FORMS,
    run: async ({ call, p, rec }) => {
      await call('writeFile', p('f'), 'hello');
      await rec('open empty path, bad flag', () => call('open', '', 'q'));
      await rec('open number path, bad flag', () => call('open', 5.5 as unknown as string, 'q'));
      await rec('open empty path, bad mode', () => call('open', '', 'r', 'x'));
      const fd = (await call('open', p('f'), 'r+')) as number;
      await rec('fchmod without a mode', () => call('fchmod', fd));
      await rec('fchmod bad mode, bad fd', () => call('fchmod', -1, 'x'));
      await rec('ftruncate bad length, bad fd', () => call('ftruncate', -1, {}));
      await rec('open bad mode before bad flags', () => call('open', p('f'), '', Buffer.from('x')));
      await rec('fchmod bad mode, extra argument', () => call('fchmod', fd, 'f/x', 'x'));
      await rec('readFile an unopened descriptor', async () => (await call('readFile', 99999 as unknown as string)) ?? null);
      await rec('writeFile unopened fd, nothing to write', () => call('writeFile', 99999 as unknown as string, ''));
      await rec('writeFile fd -1, string', () => call('writeFile', -1 as unknown as string, 'x'));
      await rec('writeFile fd -1, Buffer', () => call('writeFile', -1 as unknown as string, Buffer.from('x')));
      await rec('writeFile fd -1, nothing to write', () => call('writeFile', -1 as unknown as string, ''));
      await call('close', fd);
    },
  },
  'statfs': {
    source: 'memfs fs-node statfs.spec.ts; node test-fs-statfs.js',
    run: async ({ call, p, rec }) => {
      await rec('statfs', () => call('statfs', p('')));
      await rec('statfs bigint', async () => typeof ((await call('statfs', p(''), { bigint: true })) as { bsize: unknown }).bsize);
      await rec('statfs missing', () => call('statfs', p('nope')));
    },
  },
};
