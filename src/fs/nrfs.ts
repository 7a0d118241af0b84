/**
 * NrFS per thread: the calls on paths, over one replica of the shared file
 * system (the fd table and the calls on fds are in fds.ts, `FdFs`).
 *
 * Reads (read, pread, stat, fstat, readdir, readFile, exists) run on the
 * local replica; every mutation is a logged write applied by every replica
 * (open and close are not mutations unless they create, truncate or free:
 * see open-protocol.ts). Arguments are checked here, before anything is
 * logged; an op that fails at apply time fails identically everywhere and
 * changes nothing.
 */
import type { ChangeListener } from './changes.js';
import { bytesOf, checkLength, checkMode, checkTimeMs, type FileData } from './checks.js';
import { FsError } from './errors.js';
import { checkOwnerIds, FdFs, STALE_READ_ATTEMPTS } from './fds.js';
import { type OpenFlags, parseFlags } from './flags.js';
import { checkLinkTarget, checkPath, FsArgumentError, type PathLike } from './paths.js';
import { type DirEntry, O_ACCMODE, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, ON_TARGET, PAGE_BYTES, SET_MODE, SET_OWNER, SET_TIMES } from './state.js';
import { Dirent, Stats } from './stats.js';

export type { FileData } from './checks.js';

/** The f_type statfs reports ('NrFS' in ASCII; any constant: one file system). */
const NRFS_MAGIC = 0x4e724653;




export interface MkdirOptions {
  recursive?: boolean;
  mode?: number;
}

export interface WriteFileOptions {
  /** Open flags; default 'w' (writeFile) or 'a' (appendFile). */
  flag?: OpenFlags;
  mode?: number;
  encoding?: BufferEncoding;
}


export class NrFs extends FdFs {
  // ---- paths -----------------------------------------------------------------------

  truncate(path: PathLike, len = 0): void {
    const p = checkPath(path, 'open');
    const n = checkLength(len, 'open');
    this.resize(0, p, n);
  }

  stat(path: PathLike): Stats {
    const p = checkPath(path, 'stat');
    if (this.uid !== 0) this.acl.permit(p, 'stat', 0, ON_TARGET, true);
    return new Stats(this.reads.stat(p));
  }

  /** Like stat, but a last symbolic link is reported itself. */
  lstat(path: PathLike): Stats {
    const p = checkPath(path, 'lstat');
    if (this.uid !== 0) this.acl.permit(p, 'lstat', 0, ON_TARGET, false);
    return new Stats(this.reads.lstat(p));
  }

  /** symlink(2): `path` becomes a link to `target` (kept as given, resolved when followed). */
  symlink(target: PathLike, path: PathLike): void {
    const t = checkLinkTarget(target, 'symlink');
    const p = checkPath(path, 'symlink');
    this.writes.symlink(t, p, Date.now(), this.uid, this.gid);
  }

  /** link(2): a new name for an existing file. */
  link(existing: PathLike, path: PathLike): void {
    const a = checkPath(existing, 'link', 'existingPath');
    const b = checkPath(path, 'link', 'newPath');
    this.writes.link(a, b, Date.now(), this.uid, this.gid);
  }

  readlink(path: PathLike): string {
    const p = checkPath(path, 'readlink');
    if (this.uid !== 0) this.acl.permit(p, 'readlink', 0, ON_TARGET, false);
    return this.reads.readlink(p);
  }

  /** The canonical absolute path: every symbolic link, '.' and '..' resolved (ELOOP past 40 links). */
  realpath(path: PathLike): string {
    const p = checkPath(path, 'realpath');
    if (this.uid !== 0) this.acl.permit(p, 'realpath', 0, ON_TARGET, true);
    return this.reads.realpath(p);
  }

  /** access(2): mode 0 (F_OK) or R_OK 4 | W_OK 2 | X_OK 1, checked for this thread's uid against the mode bits. */
  access(path: PathLike, mode = 0): void {
    const p = checkPath(path, 'access');
    if (!Number.isInteger(mode) || mode < 0 || mode > 7) throw new FsArgumentError('ERR_OUT_OF_RANGE', `mode is out of range: >= 0 && <= 7`);
    this.reads.access(p, mode, this.uid, this.gid);
  }

  /** chmod(2); `follow: false` is lchmod (changes a link itself). Only the owner (or root) may. */
  chmod(path: PathLike, mode: number | string, follow = true): void {
    const p = checkPath(path, follow ? 'chmod' : 'lchmod');
    const m = checkMode(mode, 0);
    this.writes.setattr(p, 0, follow, SET_MODE, m, -1, -1, 0, 0, Date.now(), this.uid, this.gid);
  }

  /** chown(2): -1 leaves an id unchanged. A thread that is not root may only set the group to its own, on its own files. */
  chown(path: PathLike, uid: number, gid: number, follow = true): void {
    const syscall = follow ? 'chown' : 'lchown';
    const p = checkPath(path, syscall);
    checkOwnerIds(uid, gid);
    this.writes.setattr(p, 0, follow, SET_OWNER, 0, uid, gid, 0, 0, Date.now(), this.uid, this.gid);
  }

  /** utimes(2) with times in milliseconds; `follow: false` is lutimes. Only the owner (or root) may. */
  utimes(path: PathLike, atimeMs: number, mtimeMs: number, follow = true): void {
    const p = checkPath(path, follow ? 'utime' : 'lutime');
    this.writes.setattr(p, 0, follow, SET_TIMES, 0, -1, -1, checkTimeMs(atimeMs, 'atime'), checkTimeMs(mtimeMs, 'mtime'), Date.now(), this.uid, this.gid);
  }

  /** statfs(2) numbers: 4 KiB blocks and inodes, from the configured capacity and what is in use. */
  statfs(path: PathLike): { type: number; bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number } {
    try {
      this.stat(path);
    } catch (e) {
      if (e instanceof FsError) throw new FsError(e.code, 'statfs', e.path);
      throw e;
    }
    const u = this.reads.usage();
    const { maxPages, maxInodes } = this.limits;
    return { type: NRFS_MAGIC, bsize: PAGE_BYTES, blocks: maxPages, bfree: maxPages - u.pages, bavail: maxPages - u.pages, files: maxInodes, ffree: maxInodes - u.inodes };
  }

  /** Returns the first directory created (recursive), like node:fs. */
  mkdir(path: PathLike, options: MkdirOptions | number = {}): string | undefined {
    const p = checkPath(path, 'mkdir');
    const o = typeof options === 'number' ? { mode: options } : options;
    const mode = checkMode(o.mode, 0o777) & ~this.umask & 0o7777;
    return this.writes.mkdir(p, mode, o.recursive === true, Date.now(), this.uid, this.gid);
  }

  rmdir(path: PathLike): void {
    const p = checkPath(path, 'rmdir');
    this.opens.remove(p, (freeIno, seenPin) => this.writes.rmdir(p, Date.now(), this.uid, this.gid, freeIno, seenPin));
  }

  /** Names sorted by UTF-16 code unit order (node:fs leaves the order to the file system). */
  readdir(path: PathLike): string[] {
    const p = checkPath(path, 'scandir');
    if (this.uid !== 0) this.acl.permit(p, 'scandir', 4, ON_TARGET, true);
    return this.reads.readdir(p);
  }

  /** Like `readdir(path, { withFileTypes: true })`. */
  readdirEntries(path: PathLike): Dirent[] {
    const p = checkPath(path, 'scandir');
    if (this.uid !== 0) this.acl.permit(p, 'scandir', 4, ON_TARGET, true);
    return this.reads.readdirTypes(p).map((e: DirEntry) => new Dirent(e.name, e.dir, p, e.link));
  }

  /** unlink(2): one logged op; the file is freed at once unless some thread holds it open (then at its last close). */
  unlink(path: PathLike): void {
    const p = checkPath(path, 'unlink');
    this.opens.remove(p, (freeIno, seenPin) => this.writes.unlink(p, Date.now(), this.uid, this.gid, freeIno, seenPin));
    this.holder.flush();
  }

  /** Atomic rename, replacing the target by POSIX rules (a replaced file open somewhere lives on as unlink leaves it). */
  rename(from: PathLike, to: PathLike): void {
    const a = checkPath(from, 'rename', 'oldPath');
    const b = checkPath(to, 'rename', 'newPath');
    this.opens.remove(b, (freeIno, seenPin) => this.writes.rename(a, b, Date.now(), this.uid, this.gid, freeIno, seenPin));
    this.holder.flush();
  }

  exists(path: PathLike): boolean {
    let p: string;
    try {
      p = checkPath(path, 'access');
    } catch {
      return false;
    }
    if (this.uid !== 0) {
      try {
        this.acl.permit(p, 'access', 0, ON_TARGET, true);
      } catch {
        return false;
      }
    }
    return this.reads.exists(p);
  }

  readFile(path: PathLike): Buffer;
  readFile(path: PathLike, encoding: BufferEncoding): string;
  readFile(path: PathLike, encoding?: BufferEncoding): Buffer | string {
    const p = checkPath(path, 'open');
    if (this.uid !== 0) this.acl.permit(p, 'open', 4, ON_TARGET, true);
    let bytes = this.reads.readFile(p);
    // As readAt: a copy made while this replica may have been fenced is made again.
    for (let attempt = 1; !this.node.holdsLog(); attempt++) {
      if (attempt >= STALE_READ_ATTEMPTS) throw new FsError('EAGAIN', 'read', p, undefined, 'this replica keeps being fenced during reads');
      bytes = this.reads.readFile(p);
    }
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return encoding === undefined ? buf : buf.toString(encoding);
  }

  /** Replace (or, with flag 'a', extend) a file's contents in one atomic op. */
  writeFile(path: PathLike, data: FileData, options: WriteFileOptions = {}): void {
    const p = checkPath(path, 'open');
    const flags = parseFlags(options.flag, O_TRUNC | O_CREAT | O_WRONLY);
    const mode = checkMode(options.mode, 0o666) & ~this.umask & 0o7777;
    const bytes = bytesOf(data, options.encoding);
    if ((flags & O_ACCMODE) === O_RDONLY) {
      // As node's writeFile: the open comes first (ENOENT, EISDIR...), then the write fails on the read-only fd
      // (nothing to write: no failure).
      this.close(this.open(p, flags, mode));
      if (bytes.length > 0) throw new FsError('EBADF', 'write');
      return;
    }
    this.checkWriteSize(bytes.length);
    this.writer.write(bytes, this.writeFileTarget.set(p, flags, mode, Date.now(), bytes.length, this));
  }

  appendFile(path: PathLike, data: FileData, options: WriteFileOptions = {}): void {
    this.writeFile(path, data, { ...options, flag: options.flag ?? 'a' });
  }

  /** File data held by this replica, in bytes (4 KiB pages), and inodes. */
  usage(): { pages: number; inodes: number; dataBytes: number } {
    return this.reads.usage();
  }

  /**
   * Watch the inode at `path` (following a last symbolic link): `listener`
   * gets ('change' | 'rename', name) for every op any thread applies to
   * it, once this thread's replica has applied the op. See changes.ts.
   * `name` is the entry concerned in a directory ('' for the inode itself;
   * on a directory's 'change', a file the same op created and wrote), or
   * '/' for an attribute change its directory's watchers do not see (the
   * link count an unlink drops, as inotify reports it).
   */
  watch(path: PathLike, listener: ChangeListener, persistent = true): { ino: number; stop: () => void; ref: (on: boolean) => void } {
    const p = checkPath(path, 'watch');
    const ino = this.stat(p).ino;
    return { ino, ...this.hub.listen(ino, listener, persistent) };
  }
}
