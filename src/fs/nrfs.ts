/**
 * NrFS per thread: file descriptors and offsets (private to the thread),
 * over one replica of the shared file system.
 *
 * Reads (read, pread, stat, fstat, readdir, readFile, exists) run on the
 * local replica; every mutation, open and close included, is a logged write
 * applied by every replica. Arguments are checked here, before anything is
 * logged; an op that fails at apply time fails identically everywhere and
 * changes nothing.
 */
import { FsError } from './errors.js';
import { type OpenFlags, parseFlags } from './flags.js';
import { checkPath, FsArgumentError, type PathLike } from './paths.js';
import { AccessCheck } from './access.js';
import { ChangeHub, type ChangeListener, ringing } from './changes.js';
import type { FsReplica, NrFsHandle } from './handle.js';
import { PayloadRing } from './payload.js';
import {
  type DirEntry,
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_NOFOLLOW,
  O_RDONLY,
  ON_CREATE,
  ON_PARENT,
  ON_TARGET,
  SET_MODE,
  SET_OWNER,
  SET_TIMES,
  O_TRUNC,
  O_WRONLY,
  PAGE_BYTES,
  MAX_FILE_BYTES,
} from './state.js';
import { bytesOf, checkLength, checkMode, checkPosition, checkRange, type FileData } from './checks.js';
import { Dirent, Stats } from './stats.js';

export type { FileData } from './checks.js';

const FIRST_FD = 3;
/** The f_type statfs reports ('NrFS' in ASCII; any constant: one file system). */
const NRFS_MAGIC = 0x4e724653;
const MAX_FDS = 65536;



/** One open file description of this thread: private, never replicated. */
interface OpenFile {
  readonly ino: number;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly append: boolean;
  /** The current offset, moved only by this thread's read and write. */
  pos: number;
}

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

/** chown's ids: -1 (unchanged) or a uint32 (who may set them is checked in the apply). */
function checkOwnerIds(uid: number, gid: number): void {
  for (const [v, name] of [[uid, 'uid'], [gid, 'gid']] as const) {
    if (!Number.isInteger(v) || v < -1 || v > 0xffffffff) {
      throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= -1 && <= 4294967295. Received ${String(v)}`);
    }
  }
}

export class NrFs {
  /** The replica this thread reads from and writes through. */
  readonly replica: FsReplica;
  /** This thread's replica slot: its opens are recorded under it. */
  private readonly slot: number;
  private readonly reads: FsReplica['reads'];
  private readonly writes: FsReplica['writes'];
  private readonly fds: (OpenFile | undefined)[] = [];
  private readonly ring: PayloadRing;
  private readonly inlineMax: number;
  private readonly logInlineLimit: number;
  private readonly umask: number;
  /** The user and group this thread acts as (see AttachFsOptions). */
  readonly uid: number;
  readonly gid: number;
  private readonly bell: Int32Array;
  private readonly acl: AccessCheck;
  private readonly hub: ChangeHub;
  /** The limits `statfs` reports. */
  readonly limits: { readonly maxPages: number; readonly maxInodes: number };

  /** @internal use `attachFs()` */
  constructor(handle: NrFsHandle, replica: FsReplica, who: { uid: number; gid: number } = { uid: 0, gid: 0 }, hub?: ChangeHub) {
    this.bell = new Int32Array(handle.changes);
    this.hub = hub ?? new ChangeHub(this.bell, () => replica.sync());
    this.uid = who.uid;
    this.gid = who.gid;
    this.acl = new AccessCheck(replica.reads, who.uid, who.gid);
    this.limits = { maxPages: handle.maxPages, maxInodes: handle.maxInodes };
    this.replica = replica;
    this.slot = replica.id;
    this.reads = replica.reads;
    this.writes = ringing(replica.writes, this.bell);
    this.ring = new PayloadRing(handle.payload, handle.regions, replica);
    this.inlineMax = handle.inlineMaxBytes;
    this.logInlineLimit = handle.logInlineLimit;
    this.umask = handle.umask;
  }

  // ---- descriptors ---------------------------------------------------------------

  /** open(2): flags as node:fs accepts them ('r', 'w+', fs.constants...). Returns an fd private to this thread. */
  open(path: PathLike, flags: OpenFlags = 'r', mode: number = 0o666): number {
    const p = checkPath(path, 'open');
    const f = parseFlags(flags, O_RDONLY);
    const m = checkMode(mode, 0o666);
    let fd = FIRST_FD;
    while (fd < this.fds.length && this.fds[fd] !== undefined) fd++;
    if (fd >= MAX_FDS) throw new FsError('EMFILE', 'open', p);
    const acc = f & O_ACCMODE;
    const ino = this.writes.open(p, f, m & ~this.umask & 0o7777, Date.now(), this.slot, this.uid, this.gid);
    this.fds[fd] = { ino, readable: acc !== O_WRONLY, writable: acc !== O_RDONLY, append: (f & O_APPEND) !== 0, pos: 0 };
    return fd;
  }

  close(fd: number): void {
    const file = this.file(fd, 'close');
    this.fds[fd] = undefined;
    this.writes.close(file.ino, this.slot);
  }

  /** Read at the fd's offset (moving it), or at `position` when given (not moving it). */
  read(fd: number, buffer: ArrayBufferView, offset = 0, length?: number, position: number | bigint | null = null): number {
    const file = this.file(fd, 'read');
    if (!file.readable) throw new FsError('EBADF', 'read');
    const buf = bytesOf(buffer, undefined, 'buffer');
    const len = length ?? buf.length - offset;
    checkRange(buf, offset, len);
    if (position !== null && position !== undefined && position !== -1) {
      return this.reads.pread(file.ino, buf, offset, len, checkPosition(position));
    }
    const n = this.reads.pread(file.ino, buf, offset, len, file.pos);
    file.pos += n;
    return n;
  }

  /** pread(2): read at `position`; the fd's offset does not move. */
  pread(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const file = this.fds[fd];
    if (file === undefined || !file.readable) throw new FsError('EBADF', 'read');
    checkRange(buffer, offset, length);
    return this.reads.pread(file.ino, buffer, offset, length, checkPosition(position));
  }

  /** Write at the fd's offset (at the end for O_APPEND), or at `position` when given. */
  write(fd: number, data: FileData, offset = 0, length?: number, position: number | bigint | null = null): number {
    const file = this.file(fd, 'write');
    if (!file.writable) throw new FsError('EBADF', 'write');
    const buf = bytesOf(data, undefined, 'buffer');
    const len = length ?? buf.length - offset;
    checkRange(buf, offset, len);
    const at = position !== null && position !== undefined ? checkPosition(position) : -1;
    // A zero-length write changes nothing, not even the offset of an O_APPEND fd (as on Linux): not logged.
    if (len === 0) return 0;
    const src = offset === 0 && len === buf.length ? buf : buf.subarray(offset, offset + len);
    if (at >= 0) {
      // pwrite(2): the offset does not move; with O_APPEND, Linux still writes at the end.
      this.logWrite(file.ino, at, file.append, src);
      return len;
    }
    file.pos = this.logWrite(file.ino, file.pos, file.append, src);
    return len;
  }

  /** pwrite(2): write at `position`; the fd's offset does not move. */
  pwrite(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const file = this.fds[fd];
    if (file === undefined || !file.writable) throw new FsError('EBADF', 'write');
    checkRange(buffer, offset, length);
    const pos = checkPosition(position);
    if (length === 0) return 0;
    const src = offset === 0 && length === buffer.length ? buffer : buffer.subarray(offset, offset + length);
    this.logWrite(file.ino, pos, file.append, src);
    return length;
  }

  ftruncate(fd: number, len = 0): void {
    const file = this.file(fd, 'ftruncate');
    const n = checkLength(len, 'ftruncate');
    // Linux: ftruncate through a descriptor not open for writing is EINVAL.
    if (!file.writable) throw new FsError('EINVAL', 'ftruncate');
    this.writes.ftruncate(file.ino, n, Date.now());
  }

  fstat(fd: number): Stats {
    return new Stats(this.reads.fstat(this.file(fd, 'fstat').ino));
  }

  // ---- paths -----------------------------------------------------------------------

  truncate(path: PathLike, len = 0): void {
    const p = checkPath(path, 'open');
    const n = checkLength(len, 'open');
    this.writes.truncate(p, n, Date.now(), this.uid, this.gid);
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
    const t = checkPath(target, 'symlink', 'target', true);
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

  fchmod(fd: number, mode: number | string): void {
    const file = this.file(fd, 'fchmod');
    const m = checkMode(mode, 0);
    this.writes.setattr('', file.ino, false, SET_MODE, m, -1, -1, 0, 0, Date.now(), this.uid, this.gid);
  }

  /** chown(2): -1 leaves an id unchanged. A thread that is not root may only set the group to its own, on its own files. */
  chown(path: PathLike, uid: number, gid: number, follow = true): void {
    const syscall = follow ? 'chown' : 'lchown';
    const p = checkPath(path, syscall);
    checkOwnerIds(uid, gid);
    this.writes.setattr(p, 0, follow, SET_OWNER, 0, uid, gid, 0, 0, Date.now(), this.uid, this.gid);
  }

  fchown(fd: number, uid: number, gid: number): void {
    const file = this.file(fd, 'fchown');
    checkOwnerIds(uid, gid);
    this.writes.setattr('', file.ino, false, SET_OWNER, 0, uid, gid, 0, 0, Date.now(), this.uid, this.gid);
  }

  /** utimes(2) with times in milliseconds; `follow: false` is lutimes. Only the owner (or root) may. */
  utimes(path: PathLike, atimeMs: number, mtimeMs: number, follow = true): void {
    const p = checkPath(path, follow ? 'utime' : 'lutime');
    this.writes.setattr(p, 0, follow, SET_TIMES, 0, -1, -1, atimeMs, mtimeMs, Date.now(), this.uid, this.gid);
  }

  futimes(fd: number, atimeMs: number, mtimeMs: number): void {
    const file = this.file(fd, 'futime');
    this.writes.setattr('', file.ino, false, SET_TIMES, 0, -1, -1, atimeMs, mtimeMs, Date.now(), this.uid, this.gid);
  }

  /** fsync(2)/fdatasync(2): nothing to flush in memory (every write is already applied); EBADF for a closed fd. */
  fsync(fd: number, syscall = 'fsync'): void {
    this.file(fd, syscall);
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
    this.writes.rmdir(p, Date.now(), this.uid, this.gid);
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

  unlink(path: PathLike): void {
    const p = checkPath(path, 'unlink');
    this.writes.unlink(p, Date.now(), this.uid, this.gid);
  }

  /** Atomic rename, replacing the target by POSIX rules. */
  rename(from: PathLike, to: PathLike): void {
    const a = checkPath(from, 'rename', 'oldPath');
    const b = checkPath(to, 'rename', 'newPath');
    this.writes.rename(a, b, Date.now(), this.uid, this.gid);
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
    const bytes = this.reads.readFile(p);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return encoding === undefined ? buf : buf.toString(encoding);
  }

  /** Replace (or, with flag 'a', extend) a file's contents in one atomic op. */
  writeFile(path: PathLike, data: FileData, options: WriteFileOptions = {}): void {
    const p = checkPath(path, 'open');
    const flags = parseFlags(options.flag, O_TRUNC | O_CREAT | O_WRONLY);
    const mode = checkMode(options.mode, 0o666) & ~this.umask & 0o7777;
    const bytes = bytesOf(data, options.encoding);
    if ((flags & O_ACCMODE) === O_RDONLY) throw new FsError('EBADF', 'write');
    const now = Date.now();
    this.withPayload(bytes, (ref) => this.writes.writeFile(p, flags, mode, now, bytes, ref, bytes.length, this.uid, this.gid));
  }

  appendFile(path: PathLike, data: FileData, options: WriteFileOptions = {}): void {
    this.writeFile(path, data, { ...options, flag: options.flag ?? 'a' });
  }

  /** File data held by this replica, in bytes (4 KiB pages), and inodes. */
  usage(): { pages: number; inodes: number; dataBytes: number } {
    return this.reads.usage();
  }

  /** Close every fd of this thread (one logged op) and leave the log. */
  detach(): void {
    const open = this.openFds > 0;
    this.fds.length = 0;
    if (open) this.writes.closeAllOf(this.slot);
    this.replica.detach();
  }

  /**
   * Close every file the thread in replica slot `slot` had open: for a
   * worker's manager (through any live thread) after that worker died with
   * fds open, so unlinked files it held are freed. Returns how many opens
   * were closed. The dead thread's slot must not be in use by a live NrFs.
   */
  releaseSlot(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot > 255) {
      throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "slot" is out of range. It must be >= 0 && <= 255. Received ${String(slot)}`);
    }
    if (slot === this.slot && this.openFds > 0) {
      throw new FsArgumentError('ERR_INVALID_ARG_VALUE', 'releaseSlot: this thread still has fds open in its own slot');
    }
    return this.writes.closeAllOf(slot);
  }

  /** Out-of-line payloads of this thread not yet reclaimed, and its region size. */
  payloadStats(): { held: number; regionBytes: number } {
    this.ring.reclaim();
    return { held: this.ring.held, regionBytes: this.ring.size };
  }

  /** Open fds of this thread. */
  get openFds(): number {
    let n = 0;
    for (const f of this.fds) if (f !== undefined) n++;
    return n;
  }

  /**
   * Watch the inode at `path` (following a last symbolic link): `listener`
   * gets ('change' | 'rename', name) for every op any thread applies to
   * it, once this thread's replica has applied the op. See changes.ts.
   */
  watch(path: PathLike, listener: ChangeListener, persistent = true): { ino: number; stop: () => void; ref: (on: boolean) => void } {
    const p = checkPath(path, 'watch');
    const ino = this.stat(p).ino;
    return { ino, ...this.hub.listen(ino, listener, persistent) };
  }

  /** The inode an fd of this thread is open on (for the facade's FileHandle and streams). */
  inoOf(fd: number): number {
    return this.file(fd, 'fstat').ino;
  }

  // ---- internals -----------------------------------------------------------------

  private file(fd: number, syscall: string): OpenFile {
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
      throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "fd" argument must be of type number. Received ${String(fd)}`);
    }
    const f = this.fds[fd];
    if (f === undefined) throw new FsError('EBADF', syscall);
    return f;
  }
  /** Log a data write; returns the offset past the written bytes. */
  private logWrite(ino: number, pos: number, append: boolean, src: Uint8Array): number {
    if (src.length <= this.inlineMax) return this.writes.pwrite(ino, pos, append, Date.now(), src, -1, src.length);
    const now = Date.now();
    return this.withPayload(src, (ref) => this.writes.pwrite(ino, pos, append, now, src, ref, src.length));
  }

  /** Run a write whose data is `src`: inline when small, else out of line (see PayloadRing.run). */
  private withPayload<T>(src: Uint8Array, run: (ref: number) => T): T {
    if (src.length <= this.inlineMax) return run(-1);
    return this.ring.run(src, this.logInlineLimit, () => this.replica.sync(), run);
  }

}
