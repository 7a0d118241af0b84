/**
 * The node:fs synchronous calls on names and trees: mkdir, readdir
 * (recursive too), rm, rmdir, rename, unlink, links, realpath, copyFile,
 * cp, mkdtemp. Calls node:fs makes out of several system calls (rm, cp,
 * recursive readdir) are several NrFS ops here too: not atomic, as in node.
 */
import { constants } from 'node:fs';
import { posix } from 'node:path';
import { FsError, FsSystemError } from '../errors.js';
import type { MkdirOptions } from '../nrfs.js';
import { checkMode } from '../checks.js';
import { checkLinkTarget, checkPath, FsArgumentError } from '../paths.js';
import { Dirent, type Stats } from '../stats.js';
import { type CpOptions, cpSync } from './cp.js';
import { encodeName, type FacadeContext, invalidType, optBool, optionsOf, spreadBool } from './args.js';
import { accessMode, validateInt32, validateUint32 } from './validate.js';
import type { Encoding, PathArg } from './sync.js';

export interface ReaddirOptions {
  encoding?: Encoding | null;
  withFileTypes?: boolean;
  recursive?: boolean;
}
export interface RmOptions {
  force?: boolean;
  recursive?: boolean;
  maxRetries?: number;
  retryDelay?: number;
}

/** node's validateRmdirOptions (rm and rmdir): an object, recursive a boolean, retryDelay an int32 >= 0, maxRetries a uint32. */
function rmOptions(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'of type object', options);
  const o = { recursive: false, retryDelay: 100, maxRetries: 0, ...(options as Record<string, unknown>) };
  spreadBool(o, 'recursive');
  validateInt32(o.retryDelay, 'options.retryDelay', 0);
  validateUint32(o.maxRetries, 'options.maxRetries');
  return o;
}

/** node's validateRmOptions: the rmdir options, then force (a boolean; rm's defaults add force: false). */
function rmOnlyOptions(options: unknown): { force: boolean; recursive: boolean } {
  const o = { force: false, recursive: false, ...rmOptions(options) };
  return { force: spreadBool(o, 'force'), recursive: o.recursive as boolean };
}

/** readdir typed as node's overloads. */
export interface ReaddirCall {
  (path: PathArg, options?: { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null): string[];
  (path: PathArg, options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer'): Buffer[];
  (path: PathArg, options: { encoding: 'buffer'; withFileTypes: true; recursive?: boolean }): Dirent<Buffer>[];
  (path: PathArg, options: { encoding?: BufferEncoding | null; withFileTypes: true; recursive?: boolean }): Dirent[];
  (path: PathArg, options?: ReaddirOptions | Encoding | null): (string | Buffer)[] | Dirent<string | Buffer>[];
}

const TEMP_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function treeCalls(c: FacadeContext) {
  const core = c.core;

  function readdirSync(path: PathArg, options?: ReaddirOptions | Encoding | null): (string | Buffer)[] | Dirent<string | Buffer>[] {
    return readdirIn(path, options, 'breadth first');
  }

  /**
   * `walk`, for `recursive`: node's sync and callback forms go breadth first (a queue of directories);
   * its promise form takes the directory found last first (a stack), so its listing comes in another order.
   */
  function readdirIn(path: PathArg, options: ReaddirOptions | Encoding | null | undefined, walk: 'breadth first' | 'last found first'): (string | Buffer)[] | Dirent<string | Buffer>[] {
    const o = optionsOf(options, {} as ReaddirOptions) as ReaddirOptions & Record<string, unknown>;
    const types = Boolean(o.withFileTypes);
    const recursive = o.recursive !== undefined && o.recursive !== null && optBool(o, 'recursive', false);
    return c.at(path, 'scandir', (abs, given) => {
      if (!recursive) {
        if (!types) return core.readdir(abs).map((n) => encodeName(n, o.encoding));
        const parent = Buffer.isBuffer(path) ? path : given; // node keeps a Buffer path a Buffer in parentPath
        return core.readdirEntries(abs).map((d) => new Dirent(encodeName(d.name, o.encoding), d.isDirectory(), parent, d.isSymbolicLink()));
      }
      // As node:fs 20: names relative to `path`; with file types a link is listed, not followed; without,
      // node stats each name and descends into a link to a directory too (a cycle ends at ENAMETOOLONG, as there).
      const names: string[] = [];
      const dirents: Dirent<string | Buffer>[] = [];
      const queue: [string, string, string][] = [[abs, '', given]];
      for (let q = 0; walk === 'breadth first' ? q < queue.length : queue.length > 0; q++) {
        const [dirAbs, rel, dirGiven] = walk === 'breadth first' ? queue[q]! : queue.pop()!;
        for (const d of core.readdirEntries(dirAbs)) {
          const relName = rel === '' ? (d.name) : `${rel}/${d.name}`;
          names.push(relName);
          dirents.push(new Dirent(encodeName(d.name, o.encoding), d.isDirectory(), dirGiven, d.isSymbolicLink()));
          if (d.isDirectory() || (!types && d.isSymbolicLink() && isDirectory(join(dirAbs, d.name)))) queue.push([join(dirAbs, d.name), relName, posix.join(dirGiven, d.name)]);
        }
      }
      return types ? dirents : names.map((n) => encodeName(n, o.encoding));
    });
  }

  /** Does `abs` (links followed) name a directory? Any error is "no", as node's internalModuleStat. */
  function isDirectory(abs: string): boolean {
    try {
      return core.stat(abs).isDirectory();
    } catch (e) {
      if (e instanceof FsError) return false;
      throw e;
    }
  }

  /** As node's mkdir: a number or string is the mode; any other value is read as an options object. */
  function mkdirOptions(options: unknown): MkdirOptions {
    if (typeof options === 'number' || typeof options === 'string') return { mode: options as number };
    if (options === undefined || options === null || typeof options !== 'object') return {};
    return { recursive: (options as MkdirOptions).recursive, mode: (options as MkdirOptions).mode };
  }

  function mkdirSync(path: PathArg, options?: MkdirOptions | number | string | null): string | undefined {
    const o = mkdirOptions(options);
    // node checks the path, then the mode, then recursive, then makes the directory ('' with a bad mode is the mode's error).
    c.checkPathArg(path);
    checkMode(o.mode, 0o777);
    const recursive = optBool(o as Record<string, unknown>, 'recursive', false);
    return c.at(path, 'mkdir', (abs, given) => {
      const first = core.mkdir(abs, { recursive, mode: o.mode });
      // The first directory made, spelled as the caller spelled the path.
      return first === undefined ? undefined : given.charCodeAt(0) === 47 ? first : given.slice(0, given.length - (abs.length - first.length));
    });
  }

  /**
   * Remove what is at `abs`, as node's rimraf does: a directory is rmdir'ed
   * first and emptied (children first) only on ENOTEMPTY, so `rm('link/')`
   * fails with rmdir's ENOTDIR and removes nothing; a name already gone
   * (ENOENT) is not an error: `rm('d/..')` empties the directory, then finds
   * 'd/..' gone with 'd'.
   */
  function removeTree(abs: string): void {
    try {
      if (!core.lstat(abs).isDirectory()) return core.unlink(abs);
      try {
        return core.rmdir(abs);
      } catch (e) {
        if (!(e instanceof FsError && e.code === 'ENOTEMPTY')) throw e;
      }
      for (const name of core.readdir(abs)) removeTree(join(abs, name));
      core.rmdir(abs);
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') return;
      throw e;
    }
  }

  /**
   * rm. node's sync form with both `recursive` and `force` goes straight to
   * its rimraf, which drops an lstat error other than ENOENT and unlinks the
   * path (so ENOTDIR, ELOOP... come from `unlink`); its other forms, and the
   * sync form with either option alone, report the lstat's error.
   */
  function rmIn(path: PathArg, options: RmOptions | undefined, form: 'sync' | 'async'): void {
    c.checkPathArg(path); // node checks the path before the options
    const { force, recursive } = rmOnlyOptions(options);
    c.at(path, 'rm', (abs, given) => {
      let st;
      try {
        st = core.lstat(abs);
      } catch (e) {
        if (force && e instanceof FsError && e.code === 'ENOENT') return;
        if (!(form === 'sync' && force && recursive && e instanceof FsError)) throw e;
        try {
          core.unlink(abs);
        } catch (u) {
          if (!(u instanceof FsError && u.code === 'ENOENT')) throw u;
        }
        return;
      }
      if (st.isDirectory() && !recursive) throw new FsSystemError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', 'rm', 'is a directory', given);
      removeTree(abs);
    });
  }
  const rmSync = (path: PathArg, options?: RmOptions): void => rmIn(path, options, 'sync');

  function rmdirSync(path: PathArg, options?: { recursive?: boolean; maxRetries?: number; retryDelay?: number }): void {
    c.checkPathArg(path); // node checks the path before the options
    const recursive = rmOptions(options).recursive === true;
    c.at(path, 'rmdir', (abs) => {
      if (!recursive) return core.rmdir(abs);
      // Deprecated in node:fs but still there: like rm -r, but ENOENT on a missing path and ENOTDIR on a file.
      if (!core.lstat(abs).isDirectory()) throw new FsError('ENOTDIR', 'rmdir', abs);
      removeTree(abs);
    });
  }

  function symlinkSync(target: PathArg, path: PathArg, type?: string | null): void {
    // node checks the target, the path, then a type given as a string (one of another kind is ignored), then links.
    c.checkPathArg(target, 'target');
    c.checkPathArg(path);
    if (typeof type === 'string' && type !== 'dir' && type !== 'file' && type !== 'junction') {
      throw new FsArgumentError('ERR_FS_INVALID_SYMLINK_TYPE', `Symlink type must be one of "dir", "file", or "junction". Received ${JSON.stringify(type)}`);
    }
    // The target is stored as given (relative to the link's directory when followed), never resolved now.
    let t: string;
    try {
      t = checkLinkTarget(target, 'symlink');
    } catch (e) {
      // An empty or too long target: its error quotes both, as node's (the path is checked first).
      if (e instanceof FsError) throw new FsError(e.code, 'symlink', e.path ?? '', c.cwd.resolve(path, 'symlink')[0]);
      throw e;
    }
    c.at(path, 'symlink', (abs, given) => {
      try {
        core.symlink(t, abs);
      } catch (e) {
        // node quotes the target and the path as given: "symlink 'target' -> 'path'".
        if (e instanceof FsError) throw new FsError(e.code, 'symlink', t, given);
        throw e;
      }
    });
  }

  function readlinkSync(path: PathArg, options?: { encoding?: Encoding | null } | Encoding | null): string | Buffer {
    const o = optionsOf(options, {});
    return c.at(path, 'readlink', (abs) => encodeName(core.readlink(abs), o.encoding));
  }

  /**
   * node's JavaScript realpath: the path resolved lexically against the
   * working directory first, then every link followed; a missing part fails
   * as node's lstat of it does ("lstat '/abs/part'").
   */
  function realpathSync(path: PathArg, options?: { encoding?: Encoding | null } | Encoding | null): string | Buffer {
    const o = optionsOf(options, {});
    // node's JavaScript realpath makes any path a string first (\`p += ''\`: a Buffer its text, 5 the name '5').
    const given = typeof path === 'string' || path instanceof URL ? path : `${path as unknown as string}`;
    const [, raw] = c.cwd.resolve(given === '' ? '.' : given, 'lstat'); // '' is the working directory, as path.resolve('')
    const abs = posix.resolve('/', raw);
    try {
      return encodeName(core.realpath(abs), o.encoding);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      // Find the part that fails, as node's walk of lstat calls would.
      let base = '/';
      for (const part of abs.split('/').filter((x) => x !== '')) {
        const next = join(base, part);
        try {
          core.lstat(next);
        } catch (inner) {
          if (inner instanceof FsError) throw new FsError(inner.code, 'lstat', next);
          throw inner;
        }
        try {
          base = core.realpath(next);
        } catch (inner) {
          // A link that leads nowhere: node stats a link before it reads it, so its error is the stat's.
          if (inner instanceof FsError) throw new FsError(inner.code, 'stat', next);
          throw inner;
        }
      }
      throw e;
    }
  }
  realpathSync.native = (path: PathArg, options?: { encoding?: Encoding | null } | Encoding | null): string | Buffer => {
    const o = optionsOf(options, {});
    return c.at(path, 'realpath', (abs) => encodeName(core.realpath(abs), o.encoding));
  };

  /**
   * Where libuv's copyfile fails on the destination, before any data moves:
   * it opens it O_WRONLY|O_CREAT (|O_EXCL): EEXIST, EISDIR on a directory,
   * ENOENT/ENOTDIR for its parent. Returns whether it exists (and is not
   * the source itself: copying a file onto itself does nothing).
   */
  function destCheck(b: string, excl: boolean, src: Stats): 'absent' | 'exists' | 'same' {
    if (b.length > 1 && b.endsWith('/')) {
      // libuv's O_CREAT open through a trailing '/': EISDIR once the parent resolves, whatever is there (Linux).
      if (!core.stat(posix.dirname(b)).isDirectory()) throw new FsError('ENOTDIR', 'copyfile');
      throw new FsError('EISDIR', 'copyfile');
    }
    let st: Stats;
    try {
      st = core.stat(b);
    } catch (e) {
      if (!(e instanceof FsError) || e.code !== 'ENOENT') throw e;
      const parent = core.stat(posix.dirname(b));
      if (!parent.isDirectory()) throw new FsError('ENOTDIR', 'copyfile');
      return 'absent';
    }
    if (excl) throw new FsError('EEXIST', 'copyfile');
    if (st.isDirectory() || b.endsWith('/')) throw new FsError('EISDIR', 'copyfile');
    return st.ino === src.ino ? 'same' : 'exists';
  }

  /**
   * copyFile in libuv's order: the source opened (its errors), the
   * destination opened (its errors), a copy onto itself a no-op; then a
   * directory source is EISDIR and COPYFILE_FICLONE_FORCE ENOTSUP (tmpfs),
   * and, as libuv, the destination is removed when the copy fails after
   * it was opened. The copy itself is one writeFile op (it appears whole);
   * the new file gets the source's mode, as Linux's copyfile.
   */
  function copyFileSync(src: PathArg, dest: PathArg, mode?: number): void {
    c.checkPathArg(src, 'src'); // node checks both paths, then the mode, then copies
    c.checkPathArg(dest, 'dest');
    const m = accessMode(mode);
    c.at2(src, dest, 'copyfile', (a, b, ga, gb) => {
      try {
        const st = core.stat(a);
        const there = destCheck(b, (m & constants.COPYFILE_EXCL) !== 0, st);
        if (there === 'same') return;
        const failure = st.isDirectory() ? 'EISDIR' : (m & constants.COPYFILE_FICLONE_FORCE) !== 0 ? 'ENOTSUP' : null;
        if (failure !== null) {
          // libuv opened (created) the destination before the copy failed, then removes it: its directory's times move.
          if (there === 'absent') core.writeFile(b, Buffer.alloc(0), { flag: 'wx', mode: st.mode & 0o7777 });
          core.unlink(b);
          throw new FsError(failure, 'copyfile', ga, gb);
        }
        core.writeFile(b, core.readFile(a), { flag: 'w', mode: st.mode & 0o7777 });
        // libuv then fchmods the destination to the source's mode: no umask, and a file that was there gets it too.
        if ((core.stat(b).mode & 0o7777) !== (st.mode & 0o7777)) core.chmod(b, st.mode & 0o7777);
      } catch (e) {
        if (e instanceof FsError && (e.syscall !== 'copyfile' || e.path === undefined)) throw new FsError(e.code, 'copyfile', ga, gb);
        throw e;
      }
    }, 'src', 'dest');
  }

  function mkdtempSync(prefix: PathArg, options?: { encoding?: Encoding | null } | Encoding | null): string | Buffer {
    const o = optionsOf(options, {});
    const p = checkPath(prefix, 'mkdtemp', 'prefix', true);
    for (let attempt = 0; ; attempt++) {
      let suffix = '';
      // Names are picked here, on the calling thread (not in an apply): the op logged is a plain mkdir.
      for (let i = 0; i < 6; i++) suffix += TEMP_CHARS[Math.floor(Math.random() * TEMP_CHARS.length)];
      try {
        c.at(p + suffix, 'mkdtemp', (abs) => core.mkdir(abs, { mode: 0o700 }), 'prefix');
        return encodeName(p + suffix, o.encoding);
      } catch (e) {
        if (e instanceof FsError && e.code === 'EEXIST' && attempt < 100) continue;
        // As node 20.20: the error names the directory it tried to make.
        if (e instanceof FsError) throw new FsError(e.code, 'mkdtemp', p + suffix);
        throw e;
      }
    }
  }

  return {
    readdirSync: readdirSync as ReaddirCall,
    mkdirSync,
    /** Not a node:fs name: what node's fs.rm checks before it takes the callback, the path and then the options. */
    treeForms: {
      /** fs.promises.readdir: with `recursive`, node's promise form walks last found first. */
      readdirPromise: (path: PathArg, options?: ReaddirOptions | Encoding | null) => readdirIn(path, options, 'last found first'),
      /** fs.rm and fs.promises.rm: an lstat error is theirs, whatever the options. */
      rm: (path: PathArg, options?: RmOptions): void => rmIn(path, options, 'async'),
      rmChecks: (path: unknown, options: unknown): void => {
        c.checkPathArg(path);
        rmOnlyOptions(options);
      },
    },
    rmSync,
    rmdirSync,
    renameSync: (from: PathArg, to: PathArg) => c.at2(from, to, 'rename', (a, b) => core.rename(a, b), 'oldPath', 'newPath'),
    unlinkSync: (path: PathArg) => c.at(path, 'unlink', (abs) => core.unlink(abs)),
    linkSync: (existing: PathArg, path: PathArg) => c.at2(existing, path, 'link', (a, b) => core.link(a, b), 'existingPath', 'newPath'),
    symlinkSync,
    readlinkSync,
    realpathSync,
    copyFileSync,
    cpSync: (src: PathArg, dest: PathArg, options?: CpOptions): void => cpSync(c, src, dest, options),
    mkdtempSync,
  };
}

export type TreeCalls = ReturnType<typeof treeCalls>;
