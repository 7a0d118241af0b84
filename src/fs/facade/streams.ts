/**
 * createReadStream / createWriteStream: node streams over this thread's fds,
 * built as node's are: the open runs in `_construct` (so any failure of it,
 * a bad flag or mode included, is the stream's 'error', then 'close'), an
 * fd or FileHandle given is used as is (no 'open' event), `pending` is
 * "no fd", `autoClose` is the stream's autoDestroy, and every other option
 * (signal, objectMode, emitClose...) goes to the stream. Own fields as
 * node's: path (a file: URL as its path), fd, flags, mode, start, end,
 * bytesRead / bytesWritten.
 */
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, FsArgumentError } from '../paths.js';
import { invalidType, optionsOf } from './args.js';
import type { FileCalls, PathArg } from './sync.js';
import { outOfRange, validateInteger, validFd } from './validate.js';

/** What a stream takes as `fd`: a number, or a FileHandle (anything with an fd, an 'close' event and close()). */
export interface HandleLike {
  readonly fd: number;
  close(): Promise<void>;
  once(event: 'close', fn: () => void): unknown;
}

export interface ReadStreamOptions {
  flags?: string | number;
  encoding?: BufferEncoding | null;
  fd?: number | HandleLike | null;
  mode?: number | string;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  end?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
}
export interface WriteStreamOptions extends Omit<ReadStreamOptions, 'end'> {
  flush?: boolean;
}

/** The FileHandle class, registered by promises.ts (streams.ts cannot import it: promises.ts imports this module). */
let fileHandleClass: (abstract new (...a: never[]) => HandleLike) | undefined;
export function registerFileHandle(cls: abstract new (...a: never[]) => HandleLike): void {
  fileHandleClass = cls;
}

/** node's importFd: a number, or a FileHandle whose 'close' closes the stream. */
function importFd(fd: unknown): { fd: number; handle?: HandleLike } {
  if (typeof fd === 'number') return { fd: validFd(fd) };
  if (fileHandleClass !== undefined && fd instanceof fileHandleClass) return { fd: validFd((fd as HandleLike).fd), handle: fd as HandleLike };
  throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "options.fd" property must be of type number or an instance of FileHandle. Received ${describe(fd)}`);
}

/** The path as node keeps it: a file: URL as its path, a string or Buffer as given. */
function pathOf(path: unknown): string | Buffer {
  const p = path instanceof URL ? fileURLToPath(path) : path;
  if (typeof p !== 'string' && !(p instanceof Uint8Array)) throw invalidType('path', 'of type string or an instance of Buffer or URL', p);
  return p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : (p as string | Buffer);
}

/** What the two stream classes share: the fd, its open in _construct, its close on destroy. */
interface FdStream {
  fd: number | null;
  readonly path: string | Buffer | undefined;
  readonly flags: string | number | undefined;
  readonly mode: number | string | undefined;
  readonly handle: HandleLike | undefined;
  emit(event: string, ...args: unknown[]): boolean;
}

function construct(stream: FdStream & { destroyed: boolean }, calls: FileCalls, cb: (e?: Error | null) => void): void {
  // Given an fd, or destroyed before it opened (an aborted signal): nothing to open.
  if (stream.fd !== null || stream.destroyed) return cb();
  try {
    stream.fd = calls.openSync(stream.path as PathArg, stream.flags, stream.mode);
  } catch (e) {
    return cb(e as Error);
  }
  cb();
  stream.emit('open', stream.fd);
  stream.emit('ready');
}

/** On destroy: close the fd (the stream's autoDestroy is its autoClose); a close error is reported unless one already is. */
function closeFd(stream: FdStream, calls: FileCalls, err: Error | null, cb: (e: Error | null) => void): void {
  const fd = stream.fd as number | null;
  if (fd === null) return cb(err);
  stream.fd = null;
  if (stream.handle !== undefined) {
    stream.handle.close().then(() => cb(err), (e: Error) => cb(err ?? e));
    return;
  }
  try {
    calls.closeSync(fd);
  } catch (e) {
    err ??= e as Error;
  }
  cb(err);
}

function startOf(v: unknown): number | undefined {
  return v === undefined ? undefined : validateInteger(v, 'start', 0);
}

/** The stream's fd or what to open, checked before the stream exists (node checks before calling Readable/Writable, which schedules the open). */
interface StreamTarget {
  fd: number | null;
  handle?: HandleLike;
  path?: string | Buffer;
  flags?: string | number;
  mode?: number | string;
}

function targetOf(path: unknown, options: ReadStreamOptions, defaultFlags: string): StreamTarget {
  const { fd, flags, mode } = options;
  if (fd !== undefined && fd !== null) return importFd(fd);
  return { fd: null, path: pathOf(path), flags: flags ?? defaultFlags, mode: mode ?? 0o666 };
}

/** The same for every stream: take the target's fields, and end the stream when a FileHandle it reads is closed. */
function adopt(stream: FdStream & { close(): void }, t: StreamTarget): void {
  const s = stream as { -readonly [K in keyof FdStream]: FdStream[K] };
  s.fd = t.fd;
  s.handle = t.handle;
  s.path = t.path;
  s.flags = t.flags;
  s.mode = t.mode;
  t.handle?.once('close', () => stream.close());
}

export class ReadStream extends Readable implements FdStream {
  bytesRead = 0;
  fd: number | null = null;
  readonly path: string | Buffer | undefined;
  readonly flags: string | number | undefined;
  readonly mode: number | string | undefined;
  readonly start: number | undefined;
  readonly end: number;
  readonly handle: HandleLike | undefined;
  private pos: number | undefined;

  constructor(private readonly calls: FileCalls, path: PathArg | undefined, options: ReadStreamOptions) {
    const { fd: _fd, flags: _flags, mode: _mode, start: s, end: e, autoClose, encoding, ...rest } = options;
    const target = targetOf(path, options, 'r');
    const start = startOf(s);
    const end = e === undefined || e === Infinity ? Infinity : validateInteger(e, 'end', 0);
    if (start !== undefined && start > end) throw outOfRange('start', `<= "end" (here: ${end})`, start);
    super({ ...rest, encoding: encoding ?? undefined, highWaterMark: rest.highWaterMark ?? 64 * 1024, autoDestroy: autoClose ?? true });
    adopt(this, target);
    this.start = start;
    this.pos = start;
    this.end = end;
  }

  get pending(): boolean {
    return this.fd === null;
  }
  get autoClose(): boolean {
    return this.readableState().autoDestroy;
  }
  set autoClose(v: boolean) {
    this.readableState().autoDestroy = v;
  }
  private readableState(): { autoDestroy: boolean; errored: Error | null } {
    return (this as unknown as { _readableState: { autoDestroy: boolean; errored: Error | null } })._readableState;
  }

  /**
   * A failed read, as node's streams report one (their errorOrDestroy): destroyed when the stream auto-destroys,
   * otherwise (`autoClose: false`) an 'error' with the stream and its fd left open, and no 'close'.
   */
  private readFailed(e: Error): void {
    if (this.autoClose) {
      this.destroy(e);
      return;
    }
    const state = this.readableState();
    state.errored ??= e;
    process.nextTick(() => this.emit('error', e));
  }

  override _construct(cb: (e?: Error | null) => void): void {
    construct(this, this.calls, cb);
  }

  override _read(n: number): void {
    const want = Math.min(n, this.end - (this.pos ?? this.bytesRead) + 1);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    let got: number;
    try {
      got = this.calls.readSync(this.fd!, buf, 0, want, this.pos ?? null);
    } catch (e) {
      this.readFailed(e as Error);
      return;
    }
    if (this.pos !== undefined) this.pos += got;
    this.bytesRead += got;
    // Delivered on a later turn of the event loop, as node's read completes: each read is its own chunk
    // (a consumer of read() or for-await sees highWaterMark-sized chunks, not what piled up in one tick).
    setImmediate(() => {
      if (!this.destroyed) this.push(got === 0 ? null : buf.subarray(0, got));
    });
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    closeFd(this, this.calls, err, cb);
  }

  close(cb?: (e?: Error | null) => void): void {
    if (typeof cb === 'function') this.once('close', () => cb(null));
    this.destroy();
  }

  /** Deprecated in node (DEP0135) and does nothing there either: the open runs on construction. */
  open(): void {
    process.emitWarning('ReadStream.prototype.open() is deprecated', 'DeprecationWarning', 'DEP0135');
  }
}

export class WriteStream extends Writable implements FdStream {
  bytesWritten = 0;
  fd: number | null = null;
  readonly path: string | Buffer | undefined;
  readonly flags: string | number | undefined;
  readonly mode: number | string | undefined;
  readonly start: number | undefined;
  readonly flush: boolean;
  readonly handle: HandleLike | undefined;
  private pos: number | undefined;

  constructor(private readonly calls: FileCalls, path: PathArg | undefined, options: WriteStreamOptions) {
    const { fd: _fd, flags: _flags, mode: _mode, start: s, autoClose, flush, encoding, ...rest } = options;
    const target = targetOf(path, options, 'w');
    if (flush !== undefined && flush !== null && typeof flush !== 'boolean') throw invalidType('options.flush', 'of type boolean', flush);
    const start = startOf(s);
    super({ ...rest, decodeStrings: true, autoDestroy: autoClose ?? true });
    adopt(this, target);
    this.flush = flush ?? false;
    this.start = start;
    this.pos = start;
    if (encoding) this.setDefaultEncoding(encoding);
  }

  get pending(): boolean {
    return this.fd === null;
  }
  get autoClose(): boolean {
    return this.writableState().autoDestroy;
  }
  set autoClose(v: boolean) {
    this.writableState().autoDestroy = v;
  }
  private writableState(): { autoDestroy: boolean } {
    return (this as unknown as { _writableState: { autoDestroy: boolean } })._writableState;
  }

  override _construct(cb: (e?: Error | null) => void): void {
    construct(this, this.calls, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writeChunk(chunk, cb);
  }

  /** Chunks that piled up while a write ran: one joined write (one log op), as node's writev. */
  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.writeChunk(Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  private writeChunk(chunk: Buffer, cb: (e?: Error | null) => void): void {
    try {
      let done = 0;
      while (done < chunk.length) {
        const n = this.calls.writeSync(this.fd!, chunk, done, chunk.length - done, this.pos ?? null);
        if (this.pos !== undefined) this.pos += n;
        done += n;
        this.bytesWritten += n;
      }
    } catch (e) {
      cb(e as Error);
      return;
    }
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    // `flush`: fsync before the close (in memory: only the fd's check).
    if (!this.flush || this.fd === null) return cb();
    try {
      this.calls.fsyncSync(this.fd);
    } catch (e) {
      return cb(e as Error);
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    closeFd(this, this.calls, err, cb);
  }

  close(cb?: (e?: Error | null) => void): void {
    if (cb) {
      if (this.closed) {
        process.nextTick(cb);
        return;
      }
      this.on('close', cb);
    }
    if (!this.autoClose) this.on('finish', () => this.destroy());
    this.end();
  }

  /** node's alias of end(). */
  destroySoon(): this {
    return this.end();
  }

  /** Deprecated in node (DEP0135) and does nothing there either. */
  open(): void {
    process.emitWarning('WriteStream.prototype.open() is deprecated', 'DeprecationWarning', 'DEP0135');
  }
}

export function streamCalls(calls: FileCalls) {
  const opts = <T extends object>(o: unknown): T => optionsOf(o, {}) as T;
  return {
    createReadStream: (path: PathArg | undefined, options?: ReadStreamOptions | BufferEncoding) => new ReadStream(calls, path, opts<ReadStreamOptions>(options)),
    createWriteStream: (path: PathArg | undefined, options?: WriteStreamOptions | BufferEncoding) => new WriteStream(calls, path, opts<WriteStreamOptions>(options)),
  };
}
