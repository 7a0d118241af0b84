/**
 * createReadStream / createWriteStream: node streams over this thread's fds.
 * Options as node:fs takes them: path or `fd`, `flags`, `mode`, `start`,
 * `end` (inclusive), `highWaterMark`, `encoding`, `autoClose`, `emitClose`.
 */
import { Readable, Writable } from 'node:stream';
import { FsError } from '../errors.js';
import { FsArgumentError } from '../paths.js';
import { checkFd, invalidType, optionsOf } from './args.js';
import { isSystemError } from './callback.js';
import type { FileCalls, PathArg } from './sync.js';

export interface ReadStreamOptions {
  flags?: string;
  encoding?: BufferEncoding | null;
  fd?: number | { fd: number };
  mode?: number;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  end?: number;
  highWaterMark?: number;
}
export type WriteStreamOptions = Omit<ReadStreamOptions, 'end'>;

function checkRangeOpt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw invalidType(name, 'of type number', v);
  if (!Number.isInteger(v) || v < 0) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= 0 && <= ${Number.MAX_SAFE_INTEGER}. Received ${v}`);
  }
  return v;
}

function fdOption(fd: unknown): number | undefined {
  if (fd === undefined || fd === null) return undefined;
  if (typeof fd === 'object' && 'fd' in fd) return checkFd((fd as { fd: unknown }).fd);
  return checkFd(fd);
}

interface StreamFd {
  fd: number | null;
  pending: boolean;
  readonly autoClose: boolean;
  /** Why the open failed: the stream is destroyed with it on the next tick, and a write made before fails with it. */
  openError: Error | null;
  emit(event: string, ...args: unknown[]): boolean;
  destroy(e: Error): unknown;
}

function pathOf(path: PathArg | undefined): string | undefined {
  return path === undefined ? undefined : String(path instanceof Uint8Array ? Buffer.from(path) : path);
}

/**
 * The stream's fd: the one given, or `path` opened now (NrFS opens
 * synchronously); 'open' and 'ready' on the next tick. A wrong argument
 * throws at create; a failed open (ENOENT, a replica that cannot serve)
 * becomes the stream's 'error', as in node.
 */
function openFor(stream: StreamFd, calls: FileCalls, path: PathArg | undefined, options: ReadStreamOptions, flags: string): number | null {
  let fd: number;
  try {
    fd = fdOption(options.fd) ?? calls.openSync(path as PathArg, options.flags ?? flags, options.mode ?? 0o666);
  } catch (e) {
    if (!isSystemError(e)) throw e;
    stream.openError = e as Error;
    process.nextTick(() => stream.destroy(e as Error));
    return null;
  }
  process.nextTick(() => {
    stream.pending = false;
    stream.emit('open', fd);
    stream.emit('ready');
  });
  return fd;
}

/** On destroy: close the fd if the stream owns it (autoClose); a close error is reported unless one already is. */
function closeIfOwned(stream: StreamFd, calls: FileCalls, err: Error | null): Error | null {
  if (stream.autoClose && stream.fd !== null) {
    try {
      calls.closeSync(stream.fd);
    } catch (e) {
      err ??= e as Error;
    }
    stream.fd = null;
  }
  return err;
}

export class ReadStream extends Readable {
  bytesRead = 0;
  pending = true;
  fd: number | null;
  openError: Error | null = null;
  readonly path: string | undefined;
  private pos: number | undefined;
  private readonly end: number;
  readonly autoClose: boolean;

  constructor(private readonly calls: FileCalls, path: PathArg | undefined, options: ReadStreamOptions) {
    super({ highWaterMark: options.highWaterMark ?? 64 * 1024, encoding: options.encoding ?? undefined, emitClose: options.emitClose ?? true });
    const start = checkRangeOpt(options.start, 'start');
    const end = checkRangeOpt(options.end, 'end');
    if (start !== undefined && end !== undefined && start > end) {
      throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "start" is out of range. It must be <= "end" (here: ${end}). Received ${start}`);
    }
    this.pos = start;
    this.end = end ?? Infinity;
    this.autoClose = options.autoClose ?? true;
    this.path = pathOf(path);
    this.fd = openFor(this, calls, path, options, 'r');
  }

  override _read(n: number): void {
    if (this.fd === null) return; // the open failed: the stream is being destroyed with its error
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
      this.destroy(e as Error);
      return;
    }
    if (this.pos !== undefined) this.pos += got;
    this.bytesRead += got;
    this.push(got === 0 ? null : buf.subarray(0, got));
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    cb(closeIfOwned(this, this.calls, err));
  }

  close(cb?: (e?: Error | null) => void): void {
    if (cb) this.once('close', () => cb(null));
    this.destroy();
  }
}

export class WriteStream extends Writable {
  bytesWritten = 0;
  pending = true;
  fd: number | null;
  openError: Error | null = null;
  readonly path: string | undefined;
  private pos: number | undefined;
  readonly autoClose: boolean;

  constructor(private readonly calls: FileCalls, path: PathArg | undefined, options: WriteStreamOptions) {
    super({ highWaterMark: options.highWaterMark, emitClose: options.emitClose ?? true, decodeStrings: true, defaultEncoding: options.encoding ?? 'utf8' });
    this.pos = checkRangeOpt(options.start, 'start');
    this.autoClose = options.autoClose ?? true;
    this.path = pathOf(path);
    this.fd = openFor(this, calls, path, options, 'w');
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.fd === null) {
      cb(this.openError ?? new FsError('EBADF', 'write'));
      return;
    }
    try {
      let done = 0;
      while (done < chunk.length) {
        const n = this.calls.writeSync(this.fd!, chunk, done, chunk.length - done, this.pos ?? null);
        if (this.pos !== undefined) this.pos += n;
        done += n;
      }
      this.bytesWritten += chunk.length;
    } catch (e) {
      cb(e as Error);
      return;
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    cb(closeIfOwned(this, this.calls, err));
  }

  close(cb?: (e?: Error | null) => void): void {
    if (cb) this.once('close', () => cb(null));
    this.end();
  }
}

export function streamCalls(calls: FileCalls) {
  const opts = <T extends object>(o: unknown): T => optionsOf(o, {}) as T;
  return {
    createReadStream: (path: PathArg | undefined, options?: ReadStreamOptions | BufferEncoding) => {
      const o = opts<ReadStreamOptions>(options);
      return new ReadStream(calls, o.fd !== undefined ? undefined : path, o);
    },
    createWriteStream: (path: PathArg | undefined, options?: WriteStreamOptions | BufferEncoding) => {
      const o = opts<WriteStreamOptions>(options);
      return new WriteStream(calls, o.fd !== undefined ? undefined : path, o);
    },
  };
}
