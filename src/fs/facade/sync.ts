/**
 * The node:fs synchronous calls on files, fds and attributes, over one
 * thread's NrFs: node's signatures, option handling and argument errors;
 * relative paths against the thread's working directory.
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import type { OpenFlags } from '../flags.js';
import { parseFlags } from '../flags.js';
import { checkMode } from '../checks.js';
import { BigIntStats, StatFs, type Stats } from '../stats.js';
import { checkFd, dataBytes, type FacadeContext, invalidType, optBool, optionsOf, timeMs } from './args.js';
import { handleReadRequest, type ReadRequest, readRequest, writeRequest, vectorAt } from './rw.js';
import { accessMode, checkBuffers, ownerArg, truncateLength, validateInt32, validateInteger, validFd } from './validate.js';

export type Encoding = BufferEncoding | 'buffer';
export type PathArg = string | Uint8Array | URL;
/** A path, or an fd where node:fs takes one (readFile, writeFile, appendFile, truncate). */
export type PathOrFd = PathArg | number;
export type Data = string | ArrayBufferView;
export interface StatOptions {
  bigint?: boolean;
  throwIfNoEntry?: boolean;
}
export interface ReadFileOptions {
  encoding?: Encoding | null;
  flag?: OpenFlags;
}
export interface WriteFileOptions {
  encoding?: BufferEncoding | null;
  flag?: OpenFlags;
  mode?: number | string;
}
export interface ReadOptions {
  buffer?: ArrayBufferView;
  offset?: number;
  length?: number;
  position?: number | bigint | null;
}

/** stat, lstat and fstat typed as node's overloads. */
export interface StatCall<P> {
  (path: P, options?: { bigint?: false; throwIfNoEntry?: true }): Stats;
  (path: P, options: { bigint: true; throwIfNoEntry?: true }): BigIntStats;
  (path: P, options?: StatOptions): Stats | BigIntStats | undefined;
}
export interface ReadFileCall {
  (path: PathOrFd, options?: { encoding?: null; flag?: OpenFlags } | null): Buffer;
  (path: PathOrFd, options: BufferEncoding | { encoding: BufferEncoding; flag?: OpenFlags }): string;
  (path: PathOrFd, options?: ReadFileOptions | Encoding | null): string | Buffer;
}


/** The file and fd calls of node:fs, synchronous. */
export function fileCalls(c: FacadeContext) {
  const core = c.core;

  const statWith = (s: () => Stats, options: unknown): Stats | BigIntStats | undefined => {
    // node's stat calls take no getOptions: anything but an object is no options (a string is not an encoding).
    const o = (options !== null && typeof options === 'object' ? options : {}) as StatOptions & Record<string, unknown>;
    // As node's binding reads them: bigint only when exactly true, throwIfNoEntry off only when exactly false.
    const big = o.bigint === true;
    const throwIfNoEntry = o.throwIfNoEntry !== false;
    let st: Stats;
    try {
      st = s();
    } catch (e) {
      if (!throwIfNoEntry && e instanceof FsError && e.code === 'ENOENT') return undefined;
      throw e;
    }
    return (big ? new BigIntStats(st) : st).withOwnDates();
  };

  /** Read all of an fd from its offset on (node's readFileSync(fd)). */
  const readFd = (fd: number): Buffer => {
    core.fstat(fd); // node's readFileSync stats the descriptor first: a closed one is "EBADF ... fstat"
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = core.read(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks);
  };

  const decode = (buf: Buffer, enc: Encoding | null | undefined): string | Buffer =>
    enc === undefined || enc === null || enc === 'buffer' ? buf : buf.toString(enc);

  /** node's isInt32 (readFile's and writeFile's test for a descriptor). */
  const isInt32 = (v: unknown): v is number => typeof v === 'number' && (v | 0) === v;

  /** `form` 'callback': node's fs.readFile checks the flag before the path, readFileSync the path first. */
  function readFileSync(path: PathOrFd, options?: ReadFileOptions | Encoding | null, form: 'sync' | 'callback' = 'sync'): string | Buffer {
    const o = optionsOf(options, { flag: 'r' } as ReadFileOptions);
    // As node's: an int32 is a descriptor (NaN or 2^31 is a bad path).
    if (isInt32(path)) return decode(readFd(validFd(path)), o.encoding);
    if (form === 'sync') c.checkPathArg(path);
    const flags = parseFlags(o.flag, constants.O_RDONLY);
    return c.at(path, 'open', (abs) => {
      if (flags === constants.O_RDONLY) return decode(core.readFile(abs), o.encoding);
      // Another flag ('a+', 'w+'...) opens (maybe creating or truncating) first, as node:fs does.
      const fd = core.open(abs, flags, 0o666);
      try {
        return decode(readFd(fd), o.encoding);
      } finally {
        core.close(fd);
      }
    });
  }

  function writeOptions(options: unknown, flag: string): { encoding: BufferEncoding | undefined; flag: OpenFlags; mode: number | string | undefined } {
    const o = optionsOf(options, { flag } as WriteFileOptions) as WriteFileOptions & Record<string, unknown>;
    // `flush` (fsync before close) checks as node's; in memory there is nothing more to do.
    if (o.flush !== undefined && o.flush !== null) optBool(o, 'flush', false);
    const enc = o.encoding === null || o.encoding === undefined || (o.encoding as string) === 'buffer' ? undefined : o.encoding;
    return { encoding: enc, flag: o.flag ?? flag, mode: o.mode };
  }

  function writeAll(fd: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += core.write(fd, bytes, done, bytes.length - done, null);
  }

  /** `form` 'callback': node's fs.writeFile has no UTF-8 fast path, so a negative descriptor is writeSync's range error. */
  function writeFileSync(path: PathOrFd, data: Data, options?: WriteFileOptions | BufferEncoding | null, defaultFlag = 'w', form: 'sync' | 'callback' = 'sync'): void {
    const o = writeOptions(options, defaultFlag);
    const bytes = dataBytes(data, o.encoding);
    // As node's: an int32 is a descriptor (NaN or 1.5 is a bad path); a UTF-8 string reaches the write with the
    // descriptor unchecked (EBADF), other data through writeSync's range check; nothing to write, no write at all.
    if (isInt32(path)) {
      if (form === 'callback') validFd(path); // its write is issued even with nothing to write (EBADF)
      if (bytes.length === 0) return void (form === 'callback' && core.write(path, bytes, 0, 0, null));
      // node's UTF-8 fast path: the default encoding (no options object) or 'utf8' named.
      const named = options === null || options === undefined || typeof options === 'function' ? 'utf8' : typeof options === 'string' ? options : (options as { encoding?: unknown }).encoding;
      const utf8 = form === 'sync' && typeof data === 'string' && (named === 'utf8' || named === 'utf-8');
      if (utf8 && path < 0) throw new FsError('EBADF', 'write');
      return writeAll(utf8 ? path : validFd(path), bytes);
    }
    // node checks the path, then the flag and the mode, then opens (so '' with a bad flag is the flag's error).
    c.checkPathArg(path);
    parseFlags(o.flag, constants.O_WRONLY);
    checkMode(o.mode, 0o666);
    c.at(path, 'open', (abs) => core.writeFile(abs, bytes, { flag: o.flag, mode: o.mode as number | undefined }));
  }

  /** Run a decoded read: the bytes read. */
  const runRead = (fd: number, r: ReadRequest): number =>
    r.length === 0 ? 0 : r.at === 'past' ? core.read(fd, r.bytes, r.offset, 0, null) : core.read(fd, r.bytes, r.offset, r.length, r.at);

  /** readSync(fd, buffer, offset, length, position) and (fd, buffer, options); `form` 'callback' for fs.read's forms. */
  function readWith(fd: unknown, args: unknown[], form: 'sync' | 'callback'): { bytesRead: number; buffer: ArrayBufferView } {
    const f = validFd(fd);
    const r = readRequest(args, form);
    return { bytesRead: runRead(f, r), buffer: r.buffer };
  }

  function readSync(fd: number, buffer: ArrayBufferView, offset?: number | null, length?: number, position?: number | bigint | null): number;
  function readSync(fd: number, buffer: ArrayBufferView, options?: ReadOptions | null): number;
  function readSync(fd: number, ...args: unknown[]): number {
    return readWith(fd, args, 'sync').bytesRead;
  }

  function writeSync(fd: number, buffer: ArrayBufferView, offset?: number | null, length?: number | null, position?: number | null): number;
  function writeSync(fd: number, buffer: ArrayBufferView, options?: { offset?: number; length?: number; position?: number | null } | null): number;
  function writeSync(fd: number, data: string, position?: number | null, encoding?: BufferEncoding | null): number;
  function writeSync(fd: number, ...args: unknown[]): number {
    const f = validFd(fd);
    const w = writeRequest(args);
    return core.write(f, w.bytes, w.offset, w.length, w.at);
  }

  /** readv: one read of the total (one consistent view of the file), scattered into the buffers. */
  function readvSync(fd: number, buffers: readonly ArrayBufferView[], position?: number | null): number {
    const f = validFd(fd);
    const bufs = checkBuffers(buffers);
    const total = bufs.reduce((n, b) => n + b.length, 0);
    const tmp = Buffer.allocUnsafe(total);
    const at = vectorAt(position, total, false);
    const n = core.read(f, tmp, 0, at === 'past' ? 0 : total, at === 'past' ? null : at);
    let done = 0;
    for (const b of bufs) {
      if (done >= n) break;
      const k = Math.min(b.length, n - done);
      b.set(tmp.subarray(done, done + k));
      done += k;
    }
    return n;
  }

  /** writev: the buffers joined into one write, so it applies atomically. */
  function writevSync(fd: number, buffers: readonly ArrayBufferView[], position?: number | null): number {
    const f = validFd(fd);
    const bufs = checkBuffers(buffers);
    if (bufs.length === 0) return 0;
    const joined = Buffer.concat(bufs);
    return core.write(f, joined, 0, joined.length, vectorAt(position, joined.length, true) as number | null);
  }

  const times = (atime: unknown, mtime: unknown): [number, number] => [timeMs(atime), timeMs(mtime)];
  /**
   * Times node passes on that the kernel refuses: an Invalid Date (NaN) or
   * seconds past an int64 (libuv's timespec then has a negative tv_nsec) are
   * utimensat's EINVAL, after the path or fd is resolved (its ENOENT or EBADF
   * first, as there), with nothing changed.
   */
  const kernelTimes = (a: number, m: number, syscall: string, resolve: () => unknown, path?: string): void => {
    if (Math.abs(a) < 2 ** 63 * 1000 && Math.abs(m) < 2 ** 63 * 1000) return;
    try {
      resolve();
    } catch (e) {
      if (e instanceof FsError) throw new FsError(e.code, syscall, path);
      throw e;
    }
    throw new FsError('EINVAL', syscall, path);
  };

  return {
    constants,
    accessSync: (path: PathArg, mode?: number) => {
      c.checkPathArg(path);
      const m = accessMode(mode);
      c.at(path, 'access', (abs) => core.access(abs, m));
    },
    existsSync: (path: PathArg): boolean => {
      try {
        return c.at(path, 'access', (abs) => core.exists(abs));
      } catch {
        return false;
      }
    },
    openSync: (path: PathArg, flags?: OpenFlags, mode?: number | string) => {
      // node checks the path, the flags and the mode before it opens ('' with a bad flag is the flag's error).
      c.checkPathArg(path);
      // node's stringToFlags: a number is any int32 (open(2) judges it), anything else a known flag string.
      if (typeof flags === 'number') validateInt32(flags, 'flags');
      else parseFlags(flags ?? 'r', constants.O_RDONLY);
      checkMode(mode, 0o666);
      return c.at(path, 'open', (abs) => core.open(abs, flags ?? 'r', (mode ?? 0o666) as number));
    },
    closeSync: (fd: number) => core.close(checkFd(fd)),
    readSync,
    /** FileHandle.read's forms: the bytes read and the buffer read into. */
    readHandleForm: (fd: number, ...args: unknown[]): { bytesRead: number; buffer: ArrayBufferView } => {
      const r = handleReadRequest(args[0], args[1], args[2], args[3]);
      return { bytesRead: runRead(fd, r), buffer: r.buffer };
    },
    /** FileHandle.write's forms (an empty buffer writes nothing, before any other check). */
    writeHandleForm: (fd: number, ...args: unknown[]): number => {
      if (ArrayBuffer.isView(args[0]) && args[0].byteLength === 0) return 0;
      const w = writeRequest(args);
      return core.write(fd, w.bytes, w.offset, w.length, w.at);
    },
    /** fs.read's argument forms (the callback taken off), for the callback facade. */
    readCallbackForm: (fd: number, ...args: unknown[]): { bytesRead: number; buffer: ArrayBufferView } => readWith(fd, args, 'callback'),
    writeSync,
    readvSync,
    writevSync,
    fsyncSync: (fd: number) => core.fsync(checkFd(fd), 'fsync'),
    fdatasyncSync: (fd: number) => core.fsync(checkFd(fd), 'fdatasync'),
    statSync: ((path: PathArg, options?: StatOptions) => {
      statOptionsNotNull(c, path, options);
      return c.at(path, 'stat', (abs) => statWith(() => core.stat(abs), options));
    }) as StatCall<PathArg>,
    lstatSync: ((path: PathArg, options?: StatOptions) => {
      statOptionsNotNull(c, path, options);
      return c.at(path, 'lstat', (abs) => statWith(() => core.lstat(abs), options));
    }) as StatCall<PathArg>,
    fstatSync: ((fd: number, options?: StatOptions) => {
      if (options === null) throw nullStatOptions();
      return statWith(() => core.fstat(checkFd(fd)), options);
    }) as StatCall<number>,
    statfsSync: (path: PathArg, options?: { bigint?: boolean }) => {
      const big = (optionsOf(options, {}) as Record<string, unknown>).bigint === true;
      const s = c.at(path, 'statfs', (abs) => core.statfs(abs));
      const n = (x: number): number => x;
      const f = big ? (BigInt as unknown as typeof n) : n;
      return new StatFs(f(s.type), f(s.bsize), f(s.blocks), f(s.bfree), f(s.bavail), f(s.files), f(s.ffree));
    },
    readFileSync: readFileSync as ReadFileCall,
    writeFileSync: (path: PathOrFd, data: Data, options?: WriteFileOptions | BufferEncoding | null) => writeFileSync(path, data, options, 'w'),
    appendFileSync: (path: PathOrFd, data: Data, options?: WriteFileOptions | BufferEncoding | null) => writeFileSync(path, data, options, 'a'),
    /** Not node:fs names: what the callback and promise forms check or run where their order differs from the sync form's. */
    fileForms: {
      readFile: (path: PathOrFd, options?: ReadFileOptions | Encoding | null) => readFileSync(path, options, 'callback'),
      writeFile: (path: PathOrFd, data: Data, options?: WriteFileOptions | BufferEncoding | null) => writeFileSync(path, data, options, 'w', 'callback'),
      appendFile: (path: PathOrFd, data: Data, options?: WriteFileOptions | BufferEncoding | null) => writeFileSync(path, data, options, 'a', 'callback'),
      // What node's callback forms check before they take the callback (see callbackForm's precheck).
      chmodChecks: (path: unknown, mode: unknown): void => {
        c.checkPathArg(path);
        requiredMode(mode);
      },
      fchmodChecks: (_fd: unknown, mode: unknown): void => void requiredMode(mode),
      pathChecks: (path: unknown): void => c.checkPathArg(path),
      truncateChecks: (_path: unknown, len: unknown): void => void (len === undefined ? 0 : validateInteger(len, 'len')),
      // open(path, flags, mode, cb): with three arguments or more before the callback's place, node parses
      // the mode, then the flags; with two, the second is the callback.
      openChecks: (...a: unknown[]): void => {
        c.checkPathArg(a[0]);
        if (a.length < 3) return;
        checkMode(a[2], 0o666);
        parseFlags(a[1], constants.O_RDONLY);
      },
      /** fs.promises.writeFile and appendFile check the options, then the data, then the path. */
      writeOptionsChecks: (options: unknown): void => void writeOptions(options, 'w'),
    },
    truncateSync: (path: PathOrFd, len?: number | null) => {
      if (typeof path === 'number') {
        const n = truncateLength(len); // as ftruncateSync: the length before the descriptor
        return core.ftruncate(validFd(path), n);
      }
      // As node's truncateSync: open 'r+' (its errors first), then ftruncate (the length checked), close.
      const fd = c.at(path, 'open', (abs) => core.open(abs, 'r+'));
      try {
        core.ftruncate(fd, truncateLength(len));
      } finally {
        core.close(fd);
      }
    },
    ftruncateSync: (fd: number, len?: number | null) => {
      const n = truncateLength(len); // node checks the length before the descriptor
      core.ftruncate(validFd(fd), n);
    },
    chmodSync: (path: PathArg, mode: number | string) => {
      c.checkPathArg(path);
      const m = requiredMode(mode);
      c.at(path, 'chmod', (abs) => core.chmod(abs, m));
    },
    lchmodSync: (path: PathArg, mode: number | string) => {
      c.checkPathArg(path);
      const m = requiredMode(mode);
      c.at(path, 'lchmod', (abs) => core.chmod(abs, m, false));
    },
    fchmodSync: (fd: number, mode: number | string) => {
      const m = requiredMode(mode); // node checks the mode before the descriptor
      core.fchmod(checkFd(fd), m);
    },
    chownSync: (path: PathArg, uid: number, gid: number) => c.at(path, 'chown', (abs) => core.chown(abs, ownerArg(uid, 'uid'), ownerArg(gid, 'gid'))),
    lchownSync: (path: PathArg, uid: number, gid: number) => c.at(path, 'lchown', (abs) => core.chown(abs, ownerArg(uid, 'uid'), ownerArg(gid, 'gid'), false)),
    fchownSync: (fd: number, uid: number, gid: number) => core.fchown(checkFd(fd), ownerArg(uid, 'uid'), ownerArg(gid, 'gid')),
    utimesSync: (path: PathArg, atime: unknown, mtime: unknown) => {
      c.checkPathArg(path);
      const [a, m] = times(atime, mtime);
      c.at(path, 'utime', (abs) => {
        kernelTimes(a, m, 'utime', () => core.stat(abs), abs);
        core.utimes(abs, a, m);
      });
    },
    lutimesSync: (path: PathArg, atime: unknown, mtime: unknown) => {
      c.checkPathArg(path);
      const [a, m] = times(atime, mtime);
      c.at(path, 'lutime', (abs) => {
        kernelTimes(a, m, 'lutime', () => core.lstat(abs), abs);
        core.utimes(abs, a, m, false);
      });
    },
    futimesSync: (fd: number, atime: unknown, mtime: unknown) => {
      const [a, m] = [timeMs(atime, 'atime'), timeMs(mtime, 'mtime')];
      const f = checkFd(fd);
      kernelTimes(a, m, 'futime', () => core.fstat(f));
      core.futimes(f, a, m);
    },
  };
}

/** node's stat calls read `options.bigint` of null (their default is for undefined only): a plain TypeError, thrown at once. */
function nullStatOptions(): TypeError {
  return new TypeError("Cannot read properties of null (reading 'bigint')");
}

/** stat and lstat check the path, then read the options (null is nullStatOptions), then look the path up. */
function statOptionsNotNull(c: FacadeContext, path: unknown, options: unknown): void {
  if (options !== null) return;
  c.checkPathArg(path);
  throw nullStatOptions();
}

/** node's parseFileMode with no default (chmod's): undefined or null is a type error, not "keep the mode". */
function requiredMode(mode: unknown): number {
  if (mode === undefined || mode === null) throw invalidType('mode', 'of type number', undefined); // node's `mode ??= undefined default`
  return checkMode(mode, 0);
}

export type FileCalls = ReturnType<typeof fileCalls>;
