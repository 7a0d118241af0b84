/**
 * fs.cp / cpSync, step for step as node 20's cpSync does it (its checks in
 * its order, with its errors): the filter first, then the source's lstat
 * (stat with `dereference`), "the same file" by inode, directory over
 * non-directory and the reverse, a directory into its own subtree (by path,
 * then by the inodes of the destination's ancestors), the destination's
 * parent made if missing, then per entry: files by copyFile (`mode`'s
 * COPYFILE_* bits) then the source's mode, directories made then filled
 * then given the source's mode, links re-pointed (made absolute unless
 * `verbatimSymlinks`). Several NrFS ops, not one atomic op, as in node.
 * Paths are kept in pairs: as the caller spelled them (messages, filter)
 * and absolute (the ops).
 */
import { posix } from 'node:path';
import { FsError, FsSystemError } from '../errors.js';
import type { NrFs } from '../nrfs.js';
import { FsArgumentError } from '../paths.js';
import type { Stats } from '../stats.js';
import { type FacadeContext, invalidType, spreadBool } from './args.js';
import { validateInteger } from './validate.js';

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

interface Opts {
  recursive: boolean;
  force: boolean;
  errorOnExist: boolean;
  dereference: boolean;
  preserveTimestamps: boolean;
  verbatimSymlinks: boolean;
  filter: ((src: string, dest: string) => unknown) | undefined;
  mode: number;
}

/** A path as the caller spelled it and as NrFS walks it. */
interface Where {
  shown: string;
  abs: string;
}

/** node's validateCpOptions. */
function cpOptions(options: unknown): Opts {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) throw invalidType('options', 'of type object', options);
  const o: Record<string, unknown> = { dereference: false, errorOnExist: false, force: true, preserveTimestamps: false, recursive: false, verbatimSymlinks: false, ...(options as Record<string, unknown> | undefined) };
  const flag = (k: string): boolean => spreadBool(o, k);
  const opts: Opts = {
    dereference: flag('dereference'),
    errorOnExist: flag('errorOnExist'),
    force: flag('force'),
    preserveTimestamps: flag('preserveTimestamps'),
    recursive: flag('recursive'),
    verbatimSymlinks: flag('verbatimSymlinks'),
    mode: o.mode === undefined || o.mode === null ? 0 : validateInteger(o.mode, 'mode', 0, 7),
    filter: undefined,
  };
  if (opts.dereference && opts.verbatimSymlinks) {
    throw new FsArgumentError('ERR_INCOMPATIBLE_OPTION_PAIR', 'Option "dereference" cannot be used in combination with option "verbatimSymlinks"');
  }
  if (o.filter !== undefined) {
    if (typeof o.filter !== 'function') throw invalidType('options.filter', 'of type function', o.filter);
    opts.filter = o.filter as Opts['filter'];
  }
  return opts;
}

const cpError = (code: string, prefix: string, sys: 'EINVAL' | 'EISDIR' | 'ENOTDIR' | 'EEXIST', detail: string, path: string): FsSystemError =>
  new FsSystemError(code, prefix, sys, 'cp', detail, path);

const isSubdir = (src: string, dest: string): boolean => {
  const d = posix.resolve(dest).split('/').filter(Boolean);
  return posix.resolve(src).split('/').filter(Boolean).every((part, i) => d[i] === part);
};

const identical = (a: Stats, b: Stats): boolean => a.ino === b.ino && a.dev === b.dev;

const join = (w: Where, name: string): Where => ({ shown: posix.join(w.shown, name), abs: w.abs === '/' ? `/${name}` : `${w.abs}/${name}` });

/** The cp of `src` onto `dest`, node's cpSyncFn over one thread's NrFs. */
function cpTree(core: NrFs, src: Where, dest: Where, o: Opts): void {
  const statOf = (p: string): Stats => (o.dereference ? core.stat(p) : core.lstat(p));
  const statOrNone = (p: string): Stats | undefined => {
    try {
      return statOf(p);
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') return undefined;
      throw e;
    }
  };

  /** node's checkPathsSync: undefined when the filter skips the pair, else the destination's stat (or none). */
  const checkPaths = (s: Where, d: Where): { destStat: Stats | undefined } | undefined => {
    if (o.filter !== undefined) {
      const keep = o.filter(s.shown, d.shown);
      if (keep instanceof Promise) throw new FsArgumentError('ERR_INVALID_RETURN_VALUE', 'Expected boolean to be returned from the "filter" function, but got an instance of Promise.');
      if (!keep) return undefined;
    }
    const srcStat = statOf(s.abs);
    const destStat = statOrNone(d.abs);
    if (destStat !== undefined) {
      if (identical(srcStat, destStat)) throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', 'src and dest cannot be the same', d.shown);
      if (srcStat.isDirectory() && !destStat.isDirectory()) {
        throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', 'Cannot overwrite non-directory with directory', 'EISDIR', `cannot overwrite non-directory ${d.shown} with directory ${s.shown}`, d.shown);
      }
      if (!srcStat.isDirectory() && destStat.isDirectory()) {
        throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', 'Cannot overwrite directory with non-directory', 'ENOTDIR', `cannot overwrite directory ${d.shown} with non-directory ${s.shown}`, d.shown);
      }
    }
    if (srcStat.isDirectory() && isSubdir(s.abs, d.abs)) {
      throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', `cannot copy ${s.shown} to a subdirectory of self ${d.shown}`, d.shown);
    }
    return { destStat };
  };

  /** node's checkParentPathsSync: no ancestor of dest (followed) is src itself. */
  const checkParents = (srcStat: Stats, destAbs: string): void => {
    const srcParent = posix.dirname(src.abs);
    const destParent = posix.dirname(destAbs);
    if (destParent === srcParent || destParent === '/') return;
    let st: Stats;
    try {
      st = core.stat(destParent);
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') return;
      throw e;
    }
    if (identical(srcStat, st)) throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', `cannot copy ${src.shown} to a subdirectory of self ${dest.shown}`, dest.shown);
    checkParents(srcStat, destParent);
  };

  const copyFile = (srcStat: Stats, s: Where, d: Where): void => {
    // node's copyFileSync(src, dest, mode), as one writeFile op (the copy appears whole): COPYFILE_EXCL
    // fails on an existing dest, COPYFILE_FICLONE copies, COPYFILE_FICLONE_FORCE is ENOTSUP (as tmpfs).
    try {
      if ((o.mode & 4) !== 0) throw new FsError('ENOTSUP', 'copyfile');
      core.writeFile(d.abs, core.readFile(s.abs), { flag: (o.mode & 1) !== 0 ? 'wx' : 'w', mode: srcStat.mode & 0o7777 });
    } catch (e) {
      if (e instanceof FsError) throw new FsError(e.code, 'copyfile', s.shown, d.shown);
      throw e;
    }
    if (o.preserveTimestamps) {
      if ((srcStat.mode & 0o200) === 0) core.chmod(d.abs, (srcStat.mode | 0o200) & 0o7777);
      const now = core.stat(s.abs);
      core.utimes(d.abs, now.atimeMs, now.mtimeMs);
    }
    core.chmod(d.abs, srcStat.mode & 0o7777);
  };

  const onLink = (destStat: Stats | undefined, s: Where, d: Where): void => {
    let target = core.readlink(s.abs);
    if (!o.verbatimSymlinks && !target.startsWith('/')) target = posix.resolve(posix.dirname(s.abs), target);
    if (destStat === undefined) return core.symlink(target, d.abs);
    let destTarget: string;
    try {
      destTarget = core.readlink(d.abs);
    } catch (e) {
      if (e instanceof FsError && e.code === 'EINVAL') return core.symlink(target, d.abs);
      throw e;
    }
    if (!destTarget.startsWith('/')) destTarget = posix.resolve(posix.dirname(d.abs), destTarget);
    if (isSubdir(target, destTarget)) throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', `cannot copy ${target} to a subdirectory of self ${destTarget}`, d.shown);
    if (core.stat(d.abs).isDirectory() && isSubdir(destTarget, target)) {
      throw cpError('ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY', 'Cannot overwrite symlink in subdirectory of self', 'EINVAL', `cannot overwrite ${destTarget} with ${target}`, d.shown);
    }
    core.unlink(d.abs);
    core.symlink(target, d.abs);
  };

  /** node's getStats: copy one entry by its type. */
  const copyEntry = (destStat: Stats | undefined, s: Where, d: Where): void => {
    const srcStat = statOf(s.abs);
    if (srcStat.isDirectory()) {
      if (!o.recursive) throw cpError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', `${s.shown} is a directory (not copied)`, s.shown);
      if (destStat === undefined) core.mkdir(d.abs);
      for (const name of core.readdir(s.abs)) {
        const [si, di] = [join(s, name), join(d, name)];
        const checked = checkPaths(si, di);
        if (checked !== undefined) copyEntry(checked.destStat, si, di);
      }
      if (destStat === undefined) core.chmod(d.abs, srcStat.mode & 0o7777);
      return;
    }
    if (srcStat.isSymbolicLink()) return onLink(destStat, s, d);
    if (destStat === undefined) return copyFile(srcStat, s, d);
    if (o.force) {
      core.unlink(d.abs);
      return copyFile(srcStat, s, d);
    }
    if (o.errorOnExist) throw cpError('ERR_FS_CP_EEXIST', 'Target already exists', 'EEXIST', `${d.shown} already exists`, d.shown);
  };

  const top = checkPaths(src, dest);
  if (top === undefined) return;
  checkParents(statOf(src.abs), dest.abs);
  const parent = posix.dirname(dest.abs);
  if (!core.exists(parent)) core.mkdir(parent, { recursive: true });
  copyEntry(top.destStat, src, dest);
}

/** cpSync(src, dest, options) over the facade's paths (relative ones against its working directory). */
export function cpSync(c: FacadeContext, src: unknown, dest: unknown, options?: CpOptions): void {
  const o = cpOptions(options);
  c.at2(src, dest, 'cp', (a, b, ga, gb) => cpTree(c.core, { shown: ga, abs: a }, { shown: gb, abs: b }, o), 'src', 'dest');
}
