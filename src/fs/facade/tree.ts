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
import { checkPath, FsArgumentError } from '../paths.js';
import { Dirent } from '../stats.js';
import { encodeName, type FacadeContext, invalidType, optBool, optionsOf } from './args.js';
import { validateInt32, validateInteger, validateUint32 } from './validate.js';
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
export interface CpOptions {
  recursive?: boolean;
  force?: boolean;
  errorOnExist?: boolean;
  dereference?: boolean;
  preserveTimestamps?: boolean;
  verbatimSymlinks?: boolean;
  filter?: (src: string, dest: string) => boolean;
  mode?: number;
}

/** node's validateRmdirOptions (rm and rmdir): an object, recursive a boolean, retryDelay an int32 >= 0, maxRetries a uint32. */
function rmOptions(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'of type object', options);
  const o = { recursive: false, retryDelay: 100, maxRetries: 0, ...(options as Record<string, unknown>) };
  optBool(o, 'recursive', false);
  validateInt32(o.retryDelay, 'options.retryDelay', 0);
  validateUint32(o.maxRetries, 'options.maxRetries');
  return o;
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
    const o = optionsOf(options, {} as ReaddirOptions) as ReaddirOptions & Record<string, unknown>;
    const types = Boolean(o.withFileTypes);
    const recursive = o.recursive !== undefined && o.recursive !== null && optBool(o, 'recursive', false);
    return c.at(path, 'scandir', (abs, given) => {
      if (!recursive) {
        if (!types) return core.readdir(abs).map((n) => encodeName(n, o.encoding));
        return core.readdirEntries(abs).map((d) => new Dirent(encodeName(d.name, o.encoding), d.isDirectory(), given, d.isSymbolicLink()));
      }
      // As node:fs 20: breadth first, names relative to `path`; with file types a link is listed, not followed; without,
      // node stats each name and descends into a link to a directory too (a cycle ends at ENAMETOOLONG, as there).
      const names: string[] = [];
      const dirents: Dirent<string | Buffer>[] = [];
      const queue: [string, string, string][] = [[abs, '', given]];
      for (let q = 0; q < queue.length; q++) {
        const [dirAbs, rel, dirGiven] = queue[q]!;
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

  function mkdirSync(path: PathArg, options?: MkdirOptions | number | string | null): string | undefined {
    let o: MkdirOptions;
    // As node's mkdir: a number or string is the mode; any other value is read as an options object.
    if (typeof options === 'number' || typeof options === 'string') o = { mode: options as number };
    else if (options === undefined || options === null) o = {};
    else o = { recursive: (options as MkdirOptions).recursive, mode: (options as MkdirOptions).mode };
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

  function rmSync(path: PathArg, options?: RmOptions): void {
    const o = rmOptions(options);
    const force = optBool(o, 'force', false);
    const recursive = optBool(o, 'recursive', false);
    c.at(path, 'rm', (abs, given) => {
      let st;
      try {
        st = core.lstat(abs);
      } catch (e) {
        if (force && e instanceof FsError && e.code === 'ENOENT') return;
        throw e;
      }
      if (st.isDirectory() && !recursive) throw new FsSystemError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', 'rm', 'is a directory', given);
      removeTree(abs);
    });
  }

  function rmdirSync(path: PathArg, options?: { recursive?: boolean; maxRetries?: number; retryDelay?: number }): void {
    const o = rmOptions(options);
    const recursive = optBool(o, 'recursive', false);
    c.at(path, 'rmdir', (abs) => {
      if (!recursive) return core.rmdir(abs);
      // Deprecated in node:fs but still there: like rm -r, but ENOENT on a missing path and ENOTDIR on a file.
      if (!core.lstat(abs).isDirectory()) throw new FsError('ENOTDIR', 'rmdir', abs);
      removeTree(abs);
    });
  }

  function symlinkSync(target: PathArg, path: PathArg, type?: string | null): void {
    if (type !== undefined && type !== null && type !== 'dir' && type !== 'file' && type !== 'junction') {
      throw new FsArgumentError('ERR_FS_INVALID_SYMLINK_TYPE', `Symlink type must be one of "dir", "file", or "junction". Received ${JSON.stringify(type)}`);
    }
    // The target is stored as given (relative to the link's directory when followed), never resolved now.
    const t = checkPath(target, 'symlink', 'target', true);
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
    const [, raw] = c.cwd.resolve(path, 'lstat');
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
          base = core.realpath(next);
        } catch (inner) {
          if (inner instanceof FsError) throw new FsError(inner.code, inner.code === 'ELOOP' ? 'stat' : 'lstat', next);
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

  function copyFileSync(src: PathArg, dest: PathArg, mode?: number): void {
    const m = mode === undefined ? 0 : mode;
    if (typeof m !== 'number' || !Number.isInteger(m)) throw new FsArgumentError('ERR_INVALID_ARG_TYPE', 'mode must be int32 or null/undefined');
    if (m < 0 || m > 7) throw new FsArgumentError('ERR_OUT_OF_RANGE', 'mode is out of range: >= 0 && <= 7');
    c.at2(src, dest, 'copyfile', (a, b, ga, gb) => {
      try {
        if ((m & constants.COPYFILE_FICLONE_FORCE) !== 0) {
          core.stat(a);
          throw new FsError('ENOTSUP', 'copyfile', ga, gb);
        }
        const st = core.stat(a);
        if (st.isDirectory()) throw new FsError('EISDIR', 'copyfile', ga, gb);
        const data = core.readFile(a);
        // One op: the copy appears whole or not at all. Linux's copyfile gives the new file the source's mode.
        core.writeFile(b, data, { flag: (m & constants.COPYFILE_EXCL) !== 0 ? 'wx' : 'w', mode: st.mode & 0o7777 });
      } catch (e) {
        if (e instanceof FsError && e.syscall !== 'copyfile') throw new FsError(e.code, 'copyfile', ga, gb);
        throw e;
      }
    }, 'src', 'dest');
  }

  function cpSync(src: PathArg, dest: PathArg, options?: CpOptions): void {
    const o = optionsOf(options, {} as CpOptions) as CpOptions & Record<string, unknown>;
    const recursive = optBool(o, 'recursive', false);
    const force = optBool(o, 'force', true);
    const errorOnExist = optBool(o, 'errorOnExist', false);
    const dereference = optBool(o, 'dereference', false);
    const preserveTimestamps = optBool(o, 'preserveTimestamps', false);
    const verbatimSymlinks = optBool(o, 'verbatimSymlinks', false);
    if (o.filter !== undefined && typeof o.filter !== 'function') throw invalidType('options.filter', 'of type function', o.filter);
    // node's getValidMode for copyFile: the COPYFILE_* bits, 0 to 7 (each file copied is one whole write here).
    if (o.mode !== undefined && o.mode !== null) validateInteger(o.mode, 'mode', 0, 7);
    c.at2(src, dest, 'cp', (a, b, ga, gb) => {
      if (posix.resolve(a) === posix.resolve(b)) {
        throw new FsSystemError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', 'cp', 'src and dest cannot be the same', gb);
      }
      const st = dereference ? core.stat(a) : core.lstat(a);
      if (st.isDirectory() && !recursive) {
        throw new FsSystemError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', 'cp', `${ga} is a directory (not copied)`, ga);
      }
      if (st.isDirectory() && `${posix.resolve(b)}/`.startsWith(`${posix.resolve(a)}/`)) {
        throw new FsSystemError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', 'cp', `cannot copy ${ga} to a subdirectory of self ${gb}`, gb);
      }
      const copy = (from: string, to: string, shownTo: string): void => {
        if (o.filter !== undefined && !o.filter(from, to)) return;
        const s = dereference ? core.stat(from) : core.lstat(from);
        let existing;
        try {
          existing = core.lstat(to);
        } catch {
          existing = undefined;
        }
        if (s.isDirectory()) {
          if (existing !== undefined && !existing.isDirectory()) {
            throw new FsSystemError('ERR_FS_CP_DIR_TO_NON_DIR', 'Cannot overwrite non-directory with directory', 'EISDIR', 'cp', `cannot overwrite non-directory ${shownTo} with directory ${from}`, shownTo);
          }
          if (existing === undefined) core.mkdir(to, { mode: s.mode & 0o7777 });
          for (const name of core.readdir(from)) copy(join(from, name), join(to, name), join(shownTo, name));
        } else {
          if (existing !== undefined && existing.isDirectory()) {
            throw new FsSystemError('ERR_FS_CP_NON_DIR_TO_DIR', 'Cannot overwrite directory with non-directory', 'ENOTDIR', 'cp', `cannot overwrite directory ${shownTo} with non-directory ${from}`, shownTo);
          }
          if (existing !== undefined) {
            if (!force) {
              if (errorOnExist) throw new FsSystemError('ERR_FS_CP_EEXIST', 'Target already exists', 'EEXIST', 'cp', `${shownTo} already exists`, shownTo);
              return;
            }
            core.unlink(to);
          }
          if (s.isSymbolicLink()) {
            const target = core.readlink(from);
            core.symlink(verbatimSymlinks || target.startsWith('/') ? target : posix.resolve(posix.dirname(from), target), to);
            return;
          }
          core.writeFile(to, core.readFile(from), { mode: s.mode & 0o7777 });
        }
        if (preserveTimestamps) core.utimes(to, s.atimeMs, s.mtimeMs);
      };
      copy(a, b, gb);
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
    rmSync,
    rmdirSync,
    renameSync: (from: PathArg, to: PathArg) => c.at2(from, to, 'rename', (a, b) => core.rename(a, b), 'oldPath', 'newPath'),
    unlinkSync: (path: PathArg) => c.at(path, 'unlink', (abs) => core.unlink(abs)),
    linkSync: (existing: PathArg, path: PathArg) => c.at2(existing, path, 'link', (a, b) => core.link(a, b), 'existingPath', 'newPath'),
    symlinkSync,
    readlinkSync,
    realpathSync,
    copyFileSync,
    cpSync,
    mkdtempSync,
  };
}

export type TreeCalls = ReturnType<typeof treeCalls>;
