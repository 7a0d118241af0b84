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
import { attach, createHandle, type NrHandle, type Replica, type ReplicaOptions } from '../nr/index.js';
import { FsError } from './errors.js';
import { type OpenFlags, parseFlags } from './flags.js';
import { checkPath, FsArgumentError, type PathLike } from './paths.js';
import { PayloadRing } from './payload.js';
import {
  type DirEntry,
  fsStructure,
  type FsStructure,
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  PAGE_BYTES,
  MAX_FILE_BYTES,
} from './state.js';
import { Dirent, Stats } from './stats.js';

export interface NrFsOptions {
  /** Replica slots reserved from the start (threads that attach first). Default 1. */
  replicas?: number;
  /** All replica slots. Default max(replicas, 8). */
  maxReplicas?: number;
  /** Log size in bytes (a power of two). Default 16 MiB. */
  logBytes?: number;
  /** How long writers wait for a lagging replica before fencing it. Default 1000 ms. */
  fenceAfterMs?: number;
  /** Most file data, in bytes (rounded down to 4 KiB pages). Default 1 GiB. */
  capacityBytes?: number;
  /** Most inodes (files and directories, the root included). Default 1 048 576. */
  maxInodes?: number;
  /** Shared area for large write payloads, split evenly between replica slots. Default 64 MiB. */
  payloadBytes?: number;
  /** Writes up to this many bytes travel inline in the log; larger ones out of line. Default 1 KiB. */
  inlineMaxBytes?: number;
  /** Applied to the mode of files and directories created. Default 0o022. */
  umask?: number;
}

/** Structured-cloneable: pass it to workers in `workerData`. */
export interface NrFsHandle {
  readonly kind: 'nrfs';
  readonly nr: NrHandle;
  readonly payload: SharedArrayBuffer;
  readonly regions: number;
  readonly maxPages: number;
  readonly maxInodes: number;
  readonly inlineMaxBytes: number;
  /** Largest write a log entry can carry inline (1/4 of the log, at most 1 MiB, minus headers). */
  readonly logInlineLimit: number;
  readonly umask: number;
}

const DEFAULT_LOG_BYTES = 16 << 20;
const MAX_ENTRY_BYTES = 1 << 20;
const ENTRY_OVERHEAD = 256;
const FIRST_FD = 3;
const MAX_FDS = 65536;
/** How long a large write waits for payload space before failing with EAGAIN. */
const PAYLOAD_WAIT_MS = 10_000;

function positiveInt(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new FsArgumentError('ERR_OUT_OF_RANGE', `${name} must be a positive integer, got ${v}`);
  return v;
}

/** Create a file system: its shared log and payload area. Call once, on any thread. */
export function createFs(options: NrFsOptions = {}): NrFsHandle {
  const replicas = positiveInt(options.replicas, 1, 'replicas');
  const maxReplicas = positiveInt(options.maxReplicas, Math.max(replicas, 8), 'maxReplicas');
  const logBytes = positiveInt(options.logBytes, DEFAULT_LOG_BYTES, 'logBytes');
  const capacityBytes = positiveInt(options.capacityBytes, 1 << 30, 'capacityBytes');
  const maxInodes = positiveInt(options.maxInodes, 1 << 20, 'maxInodes');
  const payloadBytes = positiveInt(options.payloadBytes, 64 << 20, 'payloadBytes');
  const logInlineLimit = Math.min(logBytes / 4, MAX_ENTRY_BYTES) - ENTRY_OVERHEAD;
  const inlineMaxBytes = Math.min(positiveInt(options.inlineMaxBytes, 1 << 10, 'inlineMaxBytes'), logInlineLimit);
  const umask = options.umask ?? 0o022;
  const payload = new SharedArrayBuffer(payloadBytes);
  const maxPages = Math.floor(capacityBytes / PAGE_BYTES);
  const structure = fsStructure({ payload, maxPages, maxInodes });
  const nr = createHandle(structure, { replicas, maxReplicas, logBytes, fenceAfterMs: options.fenceAfterMs });
  return { kind: 'nrfs', nr, payload, regions: maxReplicas, maxPages, maxInodes, inlineMaxBytes, logInlineLimit, umask };
}

/** Attach this thread to a file system: it gets its own replica and fd table. */
export function attachFs(handle: NrFsHandle, options: ReplicaOptions & { slot?: number } = {}): NrFs {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'nrfs') {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', 'attachFs needs a handle made by createFs()');
  }
  const structure = fsStructure({ payload: handle.payload, maxPages: handle.maxPages, maxInodes: handle.maxInodes });
  const fs = new NrFs(handle, attach(handle.nr, structure, options));
  // Opens left in this slot by an earlier owner that died belong to no fd: drop them.
  fs.releaseSlot(fs.replica.id);
  return fs;
}

type FsReplica = Replica<
  ReturnType<FsStructure['create']>,
  FsStructure['reads'],
  FsStructure['writes']
>;

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

export type FileData = string | ArrayBufferView;

function bytesOf(data: FileData, encoding: BufferEncoding | undefined, name = 'data'): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  if (ArrayBuffer.isView(data)) {
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${typeof data}`);
}

function checkMode(mode: unknown, fallback: number): number {
  if (mode === undefined || mode === null) return fallback;
  if (typeof mode === 'string' && /^[0-7]+$/.test(mode)) return parseInt(mode, 8);
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0xffffffff) {
    throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `The argument 'mode' must be a 32-bit unsigned integer or an octal string. Received ${String(mode)}`);
  }
  return mode;
}

function checkLength(len: unknown, syscall: string, name = 'len'): number {
  if (typeof len !== 'number' || !Number.isInteger(len)) {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be an integer. Received ${String(len)}`);
  }
  // node:fs clamps a negative length to 0.
  if (len < 0) return 0;
  if (len > MAX_FILE_BYTES) throw new FsError('EFBIG', syscall);
  return len;
}

function checkPosition(pos: unknown): number {
  if (typeof pos === 'bigint') pos = Number(pos);
  if (typeof pos !== 'number' || !Number.isInteger(pos) || pos < 0 || pos > MAX_FILE_BYTES) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "position" is out of range. It must be >= 0 && <= ${MAX_FILE_BYTES}. Received ${String(pos)}`);
  }
  return pos;
}

function checkRange(buf: Uint8Array, offset: unknown, length: unknown): void {
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "offset" is out of range. It must be >= 0 && <= ${buf.length}. Received ${String(offset)}`);
  }
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || offset + length > buf.length) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be >= 0 && <= ${buf.length - offset}. Received ${String(length)}`);
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
  private readonly sleepCell = new Int32Array(new SharedArrayBuffer(4));

  /** @internal use `attachFs()` */
  constructor(handle: NrFsHandle, replica: FsReplica) {
    this.replica = replica;
    this.slot = replica.id;
    this.reads = replica.reads;
    this.writes = replica.writes;
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
    const ino = this.writes.open(p, f, m & ~this.umask & 0o7777, Date.now(), this.slot);
    const acc = f & O_ACCMODE;
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
    this.writes.truncate(p, checkLength(len, 'open'), Date.now());
  }

  stat(path: PathLike): Stats {
    return new Stats(this.reads.stat(checkPath(path, 'stat')));
  }

  /** Returns the first directory created (recursive), like node:fs. */
  mkdir(path: PathLike, options: MkdirOptions | number = {}): string | undefined {
    const p = checkPath(path, 'mkdir');
    const o = typeof options === 'number' ? { mode: options } : options;
    const mode = checkMode(o.mode, 0o777) & ~this.umask & 0o7777;
    return this.writes.mkdir(p, mode, o.recursive === true, Date.now());
  }

  rmdir(path: PathLike): void {
    this.writes.rmdir(checkPath(path, 'rmdir'), Date.now());
  }

  /** Names sorted by UTF-16 code unit order (node:fs leaves the order to the file system). */
  readdir(path: PathLike): string[] {
    return this.reads.readdir(checkPath(path, 'scandir'));
  }

  /** Like `readdir(path, { withFileTypes: true })`. */
  readdirEntries(path: PathLike): Dirent[] {
    const p = checkPath(path, 'scandir');
    return this.reads.readdirTypes(p).map((e: DirEntry) => new Dirent(e.name, e.dir, p));
  }

  unlink(path: PathLike): void {
    this.writes.unlink(checkPath(path, 'unlink'), Date.now());
  }

  /** Atomic rename, replacing the target by POSIX rules. */
  rename(from: PathLike, to: PathLike): void {
    const a = checkPath(from, 'rename', 'oldPath');
    const b = checkPath(to, 'rename', 'newPath');
    this.writes.rename(a, b, Date.now());
  }

  exists(path: PathLike): boolean {
    let p: string;
    try {
      p = checkPath(path, 'access');
    } catch {
      return false;
    }
    return this.reads.exists(p);
  }

  readFile(path: PathLike): Buffer;
  readFile(path: PathLike, encoding: BufferEncoding): string;
  readFile(path: PathLike, encoding?: BufferEncoding): Buffer | string {
    const bytes = this.reads.readFile(checkPath(path, 'open'));
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
    this.withPayload(bytes, (ref) => this.writes.writeFile(p, flags, mode, now, bytes, ref, bytes.length));
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

  /**
   * Run a write whose data is `src`: inline when small, else out of line in
   * this thread's payload region. When the region is full and the data fits
   * a log entry, it goes inline instead (log pressure also makes lagging
   * replicas catch up, which frees the region).
   */
  private withPayload<T>(src: Uint8Array, run: (ref: number) => T): T {
    if (src.length <= this.inlineMax) return run(-1);
    let ref = this.ring.tryPut(src);
    if (ref < 0 && src.length <= this.logInlineLimit) return run(-1);
    if (ref < 0) {
      if (src.length > this.ring.size) throw new FsError('EFBIG', 'write', undefined, undefined, `larger than the ${this.ring.size}-byte payload region and the inline limit`);
      const deadline = Date.now() + PAYLOAD_WAIT_MS;
      while (ref < 0) {
        if (Date.now() > deadline) throw new FsError('EAGAIN', 'write', undefined, undefined, 'payload region still held by replicas that have not caught up');
        this.replica.sync();
        Atomics.wait(this.sleepCell, 0, 0, 1);
        ref = this.ring.tryPut(src);
      }
    }
    try {
      return run(ref);
    } finally {
      this.ring.committed();
    }
  }
}
