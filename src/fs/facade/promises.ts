/**
 * `fs.promises` and its FileHandle, over the synchronous calls. Each
 * promise call runs the same replica op (a write is applied before its
 * promise settles) and rejects, never throws, as node's do.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { ReadableStream } from 'node:stream/web';
import { FsError } from '../errors.js';
import { checkFd, dataBytes, type FacadeContext, optionsOf } from './args.js';
import { opendirSync } from './dir.js';
import { noThrowIfNoEntry, throwIfAborted } from './callback.js';
import type { FileCalls, Data, PathArg, ReadFileOptions, WriteFileOptions } from './sync.js';
import type { TreeCalls } from './tree.js';
import type { OpenFlags } from '../flags.js';
import type { BigIntStats, Stats } from '../stats.js';
import { ReadStream, type ReadStreamOptions, registerFileHandle, WriteStream, type WriteStreamOptions } from './streams.js';

let nextAsyncId = 1;

/** node's FileHandle answers (read, write, readv, writev) are null-prototype objects: so are these. */
function bare<T extends object>(record: T): T {
  return Object.setPrototypeOf(record, null) as T;
}

const asyncDispose: symbol = (Symbol as { asyncDispose?: symbol }).asyncDispose ?? Symbol.for('nodejs.asyncDispose');

/** What node's FileHandle methods reject with once it is closed. */
export class FileClosedError extends Error {
  readonly code = 'EBADF';
  readonly syscall: string;
  constructor(syscall: string) {
    super('file closed');
    this.syscall = syscall;
  }
}

/** node's FileHandle: an EventEmitter that emits 'close' once closed. */
export class FileHandle extends EventEmitter {
  private closed = false;
  readonly #asyncId = nextAsyncId++;

  constructor(
    private readonly calls: FileCalls,
    /** The fd (private to this thread); -1 once closed. */
    public fd: number,
  ) {
    super();
  }

  /** A number that names this handle (node's async resource id; here unique per handle in the thread). */
  getAsyncId(): number {
    return this.#asyncId;
  }

  /** A read stream over this handle (its autoClose closes the handle; the handle's close ends the stream). */
  createReadStream(options?: Omit<ReadStreamOptions, 'fd'>): ReadStream {
    return new ReadStream(this.calls, undefined, { ...options, fd: this });
  }

  createWriteStream(options?: Omit<WriteStreamOptions, 'fd'>): WriteStream {
    return new WriteStream(this.calls, undefined, { ...options, fd: this });
  }

  /** The file's lines from the handle's offset on (readline over createReadStream, as node's). */
  readLines(options?: Omit<ReadStreamOptions, 'fd'>): Interface {
    return createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  /** The file from the handle's offset on as a web ReadableStream of Uint8Array chunks. */
  readableWebStream(): ReadableStream<Uint8Array> {
    if (this.closed) throw Object.assign(new Error('The FileHandle is closed'), { code: 'ERR_INVALID_STATE' });
    return new ReadableStream<Uint8Array>({
      pull: (controller) => {
        const chunk = Buffer.allocUnsafe(16384);
        const n = this.calls.readSync(this.live('read'), chunk, 0, chunk.length, null);
        if (n === 0) controller.close();
        else controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, n));
      },
    });
  }

  /** The fd, or node's 'file closed' EBADF naming the call (its syscall is node's internal function's name). */
  private live(syscall: string): number {
    if (this.closed) throw new FileClosedError(syscall);
    return checkFd(this.fd);
  }

  async read(buffer?: ArrayBufferView | { buffer?: ArrayBufferView; offset?: number; length?: number; position?: number | bigint | null } | null, offset?: number | null | { offset?: number; length?: number; position?: number | bigint | null }, length?: number | null, position?: number | bigint | null): Promise<{ bytesRead: number; buffer: ArrayBufferView }> {
    return bare(this.calls.readHandleForm(this.live('read'), buffer, offset, length, position));
  }

  async write(data: Data, offsetOrPosition?: number | null | { offset?: number; length?: number; position?: number | null }, lengthOrEncoding?: number | BufferEncoding | null, position?: number | null): Promise<{ bytesWritten: number; buffer: Data }> {
    if (ArrayBuffer.isView(data) && data.byteLength === 0) return bare({ bytesWritten: 0, buffer: data });
    return bare({ bytesWritten: this.calls.writeHandleForm(this.live('write'), data, offsetOrPosition, lengthOrEncoding, position), buffer: data });
  }

  async readv(buffers: ArrayBufferView[], position?: number | null): Promise<{ bytesRead: number; buffers: ArrayBufferView[] }> {
    return bare({ bytesRead: this.calls.readvSync(this.live('readv'), buffers, position), buffers });
  }

  async writev(buffers: ArrayBufferView[], position?: number | null): Promise<{ bytesWritten: number; buffers: ArrayBufferView[] }> {
    return bare({ bytesWritten: this.calls.writevSync(this.live('writev'), buffers, position), buffers });
  }

  async readFile(options?: ReadFileOptions | BufferEncoding | null): Promise<string | Buffer> {
    return this.calls.readFileSync(this.live('readFile'), options);
  }

  async writeFile(data: Data | Iterable<Data> | AsyncIterable<Data>, options?: WriteFileOptions | BufferEncoding | null): Promise<void> {
    this.calls.writeFileSync(this.live('writeFile'), await collect(data, options), options);
  }

  async appendFile(data: Data, options?: WriteFileOptions | BufferEncoding | null): Promise<void> {
    this.calls.appendFileSync(this.live('writeFile'), data, options);
  }

  async stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    return this.calls.fstatSync(this.live('fstat'), options) as Stats | BigIntStats;
  }

  async truncate(len?: number): Promise<void> {
    this.calls.ftruncateSync(this.live('ftruncate'), len ?? 0);
  }

  async chmod(mode: number | string): Promise<void> {
    this.calls.fchmodSync(this.live('fchmod'), mode);
  }

  async chown(uid: number, gid: number): Promise<void> {
    this.calls.fchownSync(this.live('fchown'), uid, gid);
  }

  async utimes(atime: unknown, mtime: unknown): Promise<void> {
    this.calls.futimesSync(this.live('futimes'), atime, mtime);
  }

  async sync(): Promise<void> {
    this.calls.fsyncSync(this.live('fsync'));
  }

  async datasync(): Promise<void> {
    this.calls.fdatasyncSync(this.live('fdatasync'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const fd = this.fd;
    this.fd = -1;
    this.calls.closeSync(fd);
    this.emit('close');
  }

  [asyncDispose](): Promise<void> {
    return this.close();
  }
}

registerFileHandle(FileHandle);

/** writeFile data: a string or bytes, or an (async) iterable of them (node's stream form), joined into one write. */
async function collect(data: unknown, options: unknown): Promise<Data> {
  if (typeof data === 'string' || ArrayBuffer.isView(data)) return data;
  const enc = optionsOf(options, {}).encoding;
  const encoding = enc === null || enc === undefined || enc === 'buffer' ? undefined : enc;
  if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    const parts: Uint8Array[] = [];
    // Each chunk as node's writeFile takes it: a view as is, anything else through Buffer.from (its errors).
    for await (const chunk of data as AsyncIterable<unknown>) parts.push(ArrayBuffer.isView(chunk) ? dataBytes(chunk, encoding) : Buffer.from(chunk as string, encoding ?? 'utf8'));
    return Buffer.concat(parts);
  }
  return dataBytes(data, encoding);
}

type Sync = FileCalls & TreeCalls;

/** promises.stat and lstat typed as node's overloads. */
export interface PromiseStat {
  (path: PathArg, options?: { bigint?: false }): Promise<Stats>;
  (path: PathArg, options: { bigint: true }): Promise<BigIntStats>;
  (path: PathArg, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
}

export function promiseCalls(c: FacadeContext, s: Sync) {
  // The promise forms take a FileHandle where the others take a descriptor: a number is a bad path, as node's.
  const handleOrPath = (p: unknown): PathArg | number => {
    if (p instanceof FileHandle) return p.fd;
    if (typeof p === 'number') c.checkPathArg(p);
    return p as PathArg;
  };
  const pathOnly = (p: unknown): PathArg => {
    if (typeof p === 'number') c.checkPathArg(p);
    return p as PathArg;
  };
  return {
    constants,
    access: async (path: PathArg, mode?: number) => s.accessSync(path, mode),
    appendFile: async (path: PathArg | FileHandle, data: Data, options?: WriteFileOptions | BufferEncoding | null) => {
      throwIfAborted(options, true);
      s.fileForms.writeOptionsChecks(options);
      const bytes = await collect(data, options);
      s.appendFileSync(handleOrPath(path), bytes, options);
    },
    chmod: async (path: PathArg, mode: number | string) => s.chmodSync(path, mode),
    lchmod: async (path: PathArg, mode: number | string) => s.lchmodSync(path, mode),
    chown: async (path: PathArg, uid: number, gid: number) => s.chownSync(path, uid, gid),
    lchown: async (path: PathArg, uid: number, gid: number) => s.lchownSync(path, uid, gid),
    copyFile: async (src: PathArg, dest: PathArg, mode?: number) => s.copyFileSync(src, dest, mode),
    cp: async (src: PathArg, dest: PathArg, options?: Parameters<Sync['cpSync']>[2]) => s.cpSync(src, dest, options),
    link: async (existing: PathArg, path: PathArg) => s.linkSync(existing, path),
    lstat: (async (path: PathArg, options?: { bigint?: boolean }) => noThrowIfNoEntry(s.lstatSync)(path, options)) as PromiseStat,
    lutimes: async (path: PathArg, atime: unknown, mtime: unknown) => s.lutimesSync(path, atime, mtime),
    mkdir: async (path: PathArg, options?: Parameters<Sync['mkdirSync']>[1]) => s.mkdirSync(path, options),
    mkdtemp: async (prefix: PathArg, options?: Parameters<Sync['mkdtempSync']>[1]) => s.mkdtempSync(prefix, options),
    open: async (path: PathArg, flags?: OpenFlags, mode?: number | string) => new FileHandle(s, s.openSync(path, flags, mode)),
    opendir: async (path: PathArg, options?: { encoding?: string | null; bufferSize?: number }) => opendirSync(c, path, options, true),
    readdir: async (path: PathArg, options?: Parameters<Sync['readdirSync']>[1]) => {
      // node's promise form reads `recursive` as truthy (the sync and callback forms check it is a boolean).
      const o = options !== null && typeof options === 'object' && options.recursive !== undefined ? { ...options, recursive: Boolean(options.recursive) } : options;
      return s.treeForms.readdirPromise(path, o);
    },
    readFile: async (path: PathArg | FileHandle, options?: ReadFileOptions | BufferEncoding | null) => {
      throwIfAborted(options);
      return s.readFileSync(handleOrPath(path), options);
    },
    readlink: async (path: PathArg, options?: Parameters<Sync['readlinkSync']>[1]) => s.readlinkSync(path, options),
    realpath: async (path: PathArg, options?: Parameters<Sync['readlinkSync']>[1]) => s.realpathSync.native(path, options),
    rename: async (from: PathArg, to: PathArg) => s.renameSync(from, to),
    rm: async (path: PathArg, options?: Parameters<Sync['rmSync']>[1]) => s.treeForms.rm(path, options),
    rmdir: async (path: PathArg, options?: Parameters<Sync['rmdirSync']>[1]) => {
      try {
        s.rmdirSync(path, options);
      } catch (e) {
        // node's promise form of the recursive rmdir stats where the sync form lstats.
        if (e instanceof FsError && e.syscall === 'lstat') throw new FsError(e.code, 'stat', e.path);
        throw e;
      }
    },
    stat: (async (path: PathArg, options?: { bigint?: boolean }) => noThrowIfNoEntry(s.statSync)(path, options)) as PromiseStat,
    statfs: async (path: PathArg, options?: { bigint?: boolean }) => s.statfsSync(path, options),
    symlink: async (target: PathArg, path: PathArg, type?: string | null) => s.symlinkSync(target, path, type),
    truncate: async (path: PathArg, len?: number) => s.truncateSync(pathOnly(path), len),
    unlink: async (path: PathArg) => s.unlinkSync(path),
    utimes: async (path: PathArg, atime: unknown, mtime: unknown) => s.utimesSync(path, atime, mtime),
    writeFile: async (path: PathArg | FileHandle, data: Data | Iterable<Data> | AsyncIterable<Data>, options?: WriteFileOptions | BufferEncoding | null) => {
      throwIfAborted(options, true);
      s.fileForms.writeOptionsChecks(options);
      const bytes = await collect(data, options);
      throwIfAborted(options);
      s.writeFileSync(handleOrPath(path), bytes, options);
    },
  };
}

export type PromiseCalls = ReturnType<typeof promiseCalls>;
