/**
 * The part of a thread's NrFs that owns its file descriptors: the fd table
 * and offsets (private to the thread), the calls that take an fd, and the
 * thread's life cycle (detach, releaseSlot). `NrFs` adds the calls on
 * paths. Everything an fd call logs goes through this thread's replica, or,
 * for a client (client.ts), through its node's.
 */
import { AccessCheck } from './access.js';
import { ChangeHub, ringing } from './changes.js';
import { bytesOf, checkLength, checkMode, checkPosition, checkRange, checkTimeMs, type FileData } from './checks.js';
import { FsError } from './errors.js';
import { type OpenFlags, parseFlags } from './flags.js';
import type { FsReplica, NrFsHandle } from './handle.js';
import { checkPath, FsArgumentError, type PathLike } from './paths.js';
import type { PageHolder } from './pages/holder.js';
import { OpenProtocol } from './open-protocol.js';
import { FIRST_FD, MAX_FDS, OpenTable } from './opens.js';
import { PwriteTarget, ResizeTarget, WriteFileTarget } from './write-targets.js';
import { DataWriter, type WriteHooks, type WriterPages } from './writer.js';
import { O_ACCMODE, O_APPEND, O_RDONLY, O_WRONLY, SET_MODE, SET_OWNER, SET_TIMES } from './state.js';
import { Stats } from './stats.js';
import { ClientOwners, OWNER_SWEEPING } from './client-owners.js';
import { clientRequestsPending } from '../nr/index.js';

/** Reads redone because this replica was fenced during the copy, before EAGAIN. */
export const STALE_READ_ATTEMPTS = 100;

/** One open file description of this thread: private, never replicated. */
export interface OpenFile {
  readonly ino: number;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly append: boolean;
  /** The current offset, moved only by this thread's read and write. */
  pos: number;
}

/** chown's ids: -1 (unchanged) or a uint32 (who may set them is checked in the apply). */
export function checkOwnerIds(uid: number, gid: number): void {
  for (const [v, name] of [[uid, 'uid'], [gid, 'gid']] as const) {
    if (!Number.isInteger(v) || v < -1 || v > 0xffffffff) {
      throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= -1 && <= 4294967295. Received ${String(v)}`);
    }
  }
}

/** What an fd table needs of the replica it works through: its own, or (a client) its node's. */
export interface FsNode {
  readonly reads: FsReplica['reads'];
  readonly writes: FsReplica['writes'];
  /** Catch up (a client's reads are served caught up: nothing to do). */
  sync(): void;
  /** Whether a copy out of pages this replica named is exact (see readAt). */
  holdsLog(): boolean;
  logMark(): number;
}

/** How a thread's NrFs is bound: to its own replica (attachFs), or to a node as a client (connectFs). */
export interface FsBinding {
  /** The thread's own replica; null for a client. */
  readonly replica: FsReplica | null;
  readonly node: FsNode;
  /** The replica slot, or the client owner id: its opens and pages are recorded under it. */
  readonly slot: number;
  /** The replica's share of the pool; null for a client. */
  readonly holder: PageHolder | null;
  /** Where its writes take pages: the holder, or a client's ClientPages. */
  readonly pages: WriterPages;
}

export abstract class FdFs {
  private readonly ownReplica: FsReplica | null;
  private readonly fsHandle: NrFsHandle;
  /** The replica this thread, or (a client) its node, reads from and writes through. */
  protected readonly node: FsNode;
  /** This thread's replica slot (or client owner id): its opens are recorded under it. */
  protected readonly slot: number;
  protected readonly reads: FsReplica['reads'];
  protected readonly writes: FsReplica['writes'];
  protected readonly fds: (OpenFile | undefined)[] = [];
  /** This thread's share of the page pool (a replica's holder; a client's pages), and the issuing side of data writes. */
  protected readonly holder: WriterPages & Pick<PageHolder, 'flush'>;
  private readonly replicaHolder: PageHolder | null;
  protected readonly writer: DataWriter;
  protected readonly pwriteTarget: PwriteTarget;
  protected readonly writeFileTarget: WriteFileTarget;
  protected readonly resizeTarget: ResizeTarget;
  protected readonly maxWriteBytes: number;
  protected readonly umask: number;
  /** The user and group this thread acts as (see AttachFsOptions). */
  readonly uid: number;
  readonly gid: number;
  protected readonly bell: Int32Array;
  protected readonly acl: AccessCheck;
  protected readonly hub: ChangeHub;
  /** Opens without log entries: this thread's side of the shared open table. */
  protected readonly opens: OpenProtocol;
  /** The limits `statfs` reports. */
  readonly limits: { readonly maxPages: number; readonly maxInodes: number };

  /** @internal use `attachFs()` */
  constructor(handle: NrFsHandle, bound: FsBinding, who: { uid: number; gid: number } = { uid: 0, gid: 0 }, hub?: ChangeHub, hooks?: WriteHooks, maxWriteBytes = handle.maxWriteBytes) {
    const node = bound.node;
    const remote = bound.replica === null;
    this.fsHandle = handle;
    this.bell = new Int32Array(handle.changes);
    this.hub = hub ?? new ChangeHub(this.bell, () => node.sync());
    this.uid = who.uid;
    this.gid = who.gid;
    this.acl = new AccessCheck(node.reads, who.uid, who.gid);
    this.limits = { maxPages: handle.maxPages, maxInodes: handle.maxInodes };
    this.ownReplica = bound.replica;
    this.node = node;
    this.slot = bound.slot;
    this.reads = node.reads;
    this.writes = ringing(node.writes, this.bell);
    this.replicaHolder = bound.holder;
    this.holder = bound.pages;
    this.writer = new DataWriter(node, bound.pages, hooks);
    // The data writes ring the doorbell themselves (see write-targets.ts).
    const ops = { reads: this.reads, writes: node.writes };
    this.pwriteTarget = new PwriteTarget(ops, this.bell, remote);
    this.writeFileTarget = new WriteFileTarget(ops, this.bell, remote);
    this.resizeTarget = new ResizeTarget(ops, this.bell, remote);
    this.maxWriteBytes = maxWriteBytes;
    this.umask = handle.umask;
    // A client's opens are always logged: the local open's check that the log did not move needs a replica of its own.
    this.opens = new OpenProtocol(new OpenTable(handle.opens), this.slot, node, this.reads, this.writes, who.uid, who.gid, !remote);
  }

  /** The replica this thread attached (TypeError for a client, which holds none: see connectFs). */
  get replica(): FsReplica {
    if (this.ownReplica === null) throw new TypeError('an NrFS client holds no replica (it works through its node\'s)');
    return this.ownReplica;
  }

  /** This thread's replica's share of the pool (only replicas hold one). */
  protected get pageHolder(): PageHolder {
    if (this.replicaHolder === null) throw new TypeError('an NrFS client holds no replica');
    return this.replicaHolder;
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
    // Logged only when it creates or truncates (see open-protocol.ts).
    const ino = this.opens.open(p, f, m & ~this.umask & 0o7777, Date.now(), fd);
    this.fds[fd] = { ino, readable: acc !== O_WRONLY, writable: acc !== O_RDONLY, append: (f & O_APPEND) !== 0, pos: 0 };
    return fd;
  }

  /** close(2): never logged, unless it was the last fd anywhere on an unlinked file (then one `reap`). */
  close(fd: number): void {
    const file = this.file(fd, 'close');
    this.fds[fd] = undefined;
    this.opens.closed(fd, file.ino);
    // A reap retires the orphan's pages: stamp them now, not at the next data write.
    this.holder.flush();
  }

  /** Read at the fd's offset (moving it), or at `position` when given (not moving it). */
  read(fd: number, buffer: ArrayBufferView, offset = 0, length?: number, position: number | bigint | null = null): number {
    const file = this.file(fd, 'read');
    if (!file.readable) throw new FsError('EBADF', 'read');
    const buf = bytesOf(buffer, undefined, 'buffer');
    const len = length ?? buf.length - offset;
    checkRange(buf, offset, len);
    if (position !== null && position !== undefined && position !== -1) {
      return this.readAt(file.ino, buf, offset, len, checkPosition(position));
    }
    const n = this.readAt(file.ino, buf, offset, len, file.pos);
    file.pos += n;
    return n;
  }

  /** pread(2): read at `position`; the fd's offset does not move. */
  pread(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const file = this.fds[fd];
    if (file === undefined || !file.readable) throw new FsError('EBADF', 'read');
    checkRange(buffer, offset, length);
    return this.readAt(file.ino, buffer, offset, length, checkPosition(position));
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
    this.resize(file.ino, '', n);
  }

  fstat(fd: number): Stats {
    return new Stats(this.reads.fstat(this.file(fd, 'fstat').ino));
  }

  fchmod(fd: number, mode: number | string): void {
    const file = this.file(fd, 'fchmod');
    const m = checkMode(mode, 0);
    this.writes.setattr('', file.ino, false, SET_MODE, m, -1, -1, 0, 0, Date.now(), this.uid, this.gid);
  }

  fchown(fd: number, uid: number, gid: number): void {
    const file = this.file(fd, 'fchown');
    checkOwnerIds(uid, gid);
    this.writes.setattr('', file.ino, false, SET_OWNER, 0, uid, gid, 0, 0, Date.now(), this.uid, this.gid);
  }

  futimes(fd: number, atimeMs: number, mtimeMs: number): void {
    const file = this.file(fd, 'futime');
    this.writes.setattr('', file.ino, false, SET_TIMES, 0, -1, -1, checkTimeMs(atimeMs, 'atime'), checkTimeMs(mtimeMs, 'mtime'), Date.now(), this.uid, this.gid);
  }

  /** fsync(2)/fdatasync(2): nothing to flush in memory (every write is already applied); EBADF for a closed fd. */
  fsync(fd: number, syscall = 'fsync'): void {
    this.file(fd, syscall);
  }

  /** Close every fd of this thread (reaping the unlinked files nobody else holds) and leave the log. */
  detach(): void {
    this.fds.length = 0;
    if (this.replica.status() !== 'detached') {
      this.opens.leave();
      this.pageHolder.leave();
    }
    this.replica.detach();
  }

  /**
   * Drop every fd the thread in replica slot `slot` had open: for a
   * worker's manager (through any live thread) after that worker died with
   * fds open, so unlinked files it held are reaped (the slot's next owner
   * does the same when it attaches). Returns how many fds it had open. The
   * dead thread's slot must not be in use by a live NrFs.
   */
  releaseSlot(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot > 255) {
      throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "slot" is out of range. It must be >= 0 && <= 255. Received ${String(slot)}`);
    }
    if (slot === this.slot && this.openFds > 0) {
      throw new FsArgumentError('ERR_INVALID_ARG_VALUE', 'releaseSlot: this thread still has fds open in its own slot');
    }
    const closed = slot < this.opens.slots ? this.opens.discard(slot) : 0;
    // Our own slot (at attach: what an earlier owner left): the region is ours from now on.
    if (slot === this.slot) this.opens.claim();
    if (slot !== this.slot) {
      // The pages that thread was filling, cached or had to free: ours to free (see PageHolder.sweep).
      this.replica.sync();
      this.pageHolder.sweep(slot);
    }
    return closed;
  }

  /**
   * Sweep the client owner ids left DEAD (a client thread that died, was
   * declared dead with declareFsClientDead, or closed with writes in
   * doubt): once no op the client sent can still reach the log
   * (clientRequestsPending is 0), this replica catches up, so every page
   * its ops installed is LIVE, and takes over what is still TAKEN under the
   * id (never installed) to free it, and drops its fds as releaseSlot does.
   * Ids whose requests are still pending are left for a later call.
   * Returns the ids released. On a replica only (attachFs); attachFs runs it.
   */
  releaseClients(): number {
    const sab = this.fsHandle.clientOwners;
    if (sab === null) return 0;
    void this.replica; // a replica's call (TypeError for a client)
    const owners = new ClientOwners(sab);
    let n = 0;
    for (const d of owners.dead()) {
      if (clientRequestsPending(this.fsHandle.nr, d.threadId) > 0) continue;
      const sweeping = (d.word & ~3) | OWNER_SWEEPING;
      if (!owners.cas(d.owner, d.word, sweeping)) continue;
      this.releaseSlot(d.owner);
      owners.cas(d.owner, sweeping, 0);
      n++;
    }
    return n;
  }

  /**
   * This thread's share of the shared page pool: pages it retired that wait
   * for every replica to pass them, pages it caches for its next writes,
   * pages it freed, its writes' attempts lost to writes of the same pages,
   * its writes that waited for a lagging replica and the sleeps they took;
   * and the pool's size, pages ever touched, pages on its shared stack.
   */
  pageStats(): { retiring: number; cached: number; freed: number; conflicts: number; lagWaits: number; lagSleeps: number; poolPages: number; touchedPages: number; stackedPages: number } {
    this.holder.reclaim(true);
    const pool = this.holder.pool;
    const w = this.writer;
    return { ...this.holder.held(), freed: this.replicaHolder?.freed ?? 0, conflicts: w.conflicts, lagWaits: w.lagWaits, lagSleeps: w.lagSleeps, poolPages: pool.pages, touchedPages: pool.touched(), stackedPages: pool.stacked() };
  }

  /**
   * Catch up, stamp the pages this replica's applies retired, and free
   * those every replica has passed (what a write, close, unlink or rename
   * does on the way). A replica that only serves clients retires the pages
   * their writes displace, and has no writes of its own to free them: call
   * this now and then (every few ms). Returns the pages freed.
   */
  reclaimPages(): number {
    this.replica.sync();
    return this.pageHolder.reclaim(true);
  }

  /** Open fds of this thread. */
  get openFds(): number {
    let n = 0;
    for (const f of this.fds) if (f !== undefined) n++;
    return n;
  }

  /** The inode an fd of this thread is open on (for the facade's FileHandle and streams). */
  inoOf(fd: number): number {
    return this.file(fd, 'fstat').ino;
  }

  // ---- internals -----------------------------------------------------------------

  protected file(fd: number, syscall: string): OpenFile {
    if (typeof fd !== 'number' || !Number.isInteger(fd)) {
      throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "fd" argument must be of type number. Received ${String(fd)}`);
    }
    if (fd < 0 || fd > 0x7fffffff) throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received ${fd}`);
    const f = this.fds[fd];
    if (f === undefined) throw new FsError('EBADF', syscall);
    return f;
  }
  /**
   * pread on this replica. The copy reads shared pages this replica's
   * tables name; they cannot be reused while it holds the log, so a copy
   * made while it did is exact. If it was fenced meanwhile the copy may
   * have read a reused page: read again (the read recovers first).
   */
  protected readAt(ino: number, buf: Uint8Array, off: number, len: number, pos: number): number {
    for (let attempt = 1; ; attempt++) {
      const n = this.reads.pread(ino, buf, off, len, pos);
      if (this.node.holdsLog()) return n;
      if (attempt >= STALE_READ_ATTEMPTS) throw new FsError('EAGAIN', 'read', undefined, undefined, 'this replica keeps being fenced during reads');
    }
  }

  /** Log a data write; returns the offset past the written bytes. */
  protected logWrite(ino: number, pos: number, append: boolean, src: Uint8Array): number {
    this.checkWriteSize(src.length);
    return this.writer.write(src, this.pwriteTarget.set(ino, pos, append, Date.now(), src.length));
  }

  /** truncate (`ino` 0: by `path`) or ftruncate to `len`. */
  protected resize(ino: number, path: string, len: number): void {
    this.writer.truncate(this.resizeTarget.set(ino, path, len, Date.now(), this));
  }

  /** EFBIG before anything is logged for a write whose page refs cannot fit one log entry. */
  protected checkWriteSize(len: number): void {
    if (len > this.maxWriteBytes) throw new FsError('EFBIG', 'write', undefined, undefined, `larger than the ${this.maxWriteBytes} bytes one log entry can name pages for (raise logBytes)`);
  }
}
