/** `opendir`'s Dir: the entries of a directory, read one at a time (listed when opened). */
import { posix } from 'node:path';
import { FsError } from '../errors.js';
import { Dirent } from '../stats.js';
import { checkCallback, encodeName, type FacadeContext, optionsOf } from './args.js';
import type { PathArg } from './sync.js';
import { validateInteger } from './validate.js';

/** node's ERR_DIR_CLOSED. */
export class DirClosedError extends Error {
  readonly code = 'ERR_DIR_CLOSED';
  constructor() {
    super('Directory handle was closed');
  }
}

/** node's ERR_DIR_CONCURRENT_OPERATION: a sync call while an async read is in flight. */
export class DirConcurrentOperationError extends Error {
  readonly code = 'ERR_DIR_CONCURRENT_OPERATION';
  constructor() {
    super('Cannot do synchronous work on directory handle with concurrent asynchronous operations');
  }
}

/**
 * The entries are listed when the directory is opened, but read as node's
 * Dir reads them: `bufferSize` at a time into a buffer. An async read that
 * finds the buffer empty stands for node's handle read: until the tick
 * after its callback, sync calls throw ERR_DIR_CONCURRENT_OPERATION and
 * async ones queue behind it (run in order, then), as node's operation queue.
 */
export class Dir {
  private at = 0;
  private closed = false;
  /** Entries left from the last fill of the buffer. */
  private buffered = 0;
  /** node's operation queue: non-null while an async read that filled the buffer is in flight. */
  private queue: (() => void)[] | null = null;

  constructor(
    /** The path as given to opendir (a Buffer kept a Buffer, a file: URL as its path), as node's. */
    readonly path: string | Buffer,
    private readonly list: Dirent<string | Buffer>[],
    private readonly bufferSize = 32,
  ) {}

  readSync(): Dirent<string | Buffer> | null {
    if (this.closed) throw new DirClosedError();
    if (this.queue !== null) throw new DirConcurrentOperationError();
    if (this.buffered === 0) this.fill();
    return this.next();
  }

  read(): Promise<Dirent<string | Buffer> | null>;
  read(cb: (err: Error | null, d: Dirent<string | Buffer> | null) => void): void;
  read(cb?: (err: Error | null, d: Dirent<string | Buffer> | null) => void): Promise<Dirent<string | Buffer> | null> | void {
    // node throws this at the call, for the promise form too.
    if (this.closed) throw new DirClosedError();
    if (cb === undefined) return new Promise((resolve, reject) => this.read((e, d) => (e ? reject(e) : resolve(d))));
    checkCallback(cb, 'callback');
    if (this.queue !== null) {
      this.queue.push(() => this.read(cb));
      return;
    }
    if (this.buffered > 0) {
      process.nextTick(cb, null, this.next());
      return;
    }
    this.queue = [];
    this.fill();
    const d = this.next();
    process.nextTick(() => {
      process.nextTick(() => this.runQueue());
      cb(null, d);
    });
  }

  closeSync(): void {
    if (this.closed) throw new DirClosedError();
    if (this.queue !== null) throw new DirConcurrentOperationError();
    this.closed = true;
  }

  close(): Promise<void>;
  close(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): Promise<void> | void {
    if (cb === undefined) return new Promise((resolve, reject) => this.close((e) => (e ? reject(e) : resolve())));
    checkCallback(cb, 'callback');
    if (this.closed) {
      process.nextTick(cb, new DirClosedError());
      return;
    }
    if (this.queue !== null) {
      this.queue.push(() => this.close(cb));
      return;
    }
    this.closed = true;
    process.nextTick(cb, null);
  }

  /** node's: async reads until the end, then an async close (which rejects if the loop's body closed the Dir). */
  async *entries(): AsyncGenerator<Dirent<string | Buffer>> {
    try {
      for (let d = await this.read(); d !== null; d = await this.read()) yield d;
    } finally {
      await this.close();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Dirent<string | Buffer>> {
    return this.entries();
  }

  private fill(): void {
    this.buffered = Math.min(this.bufferSize, this.list.length - this.at);
  }

  private next(): Dirent<string | Buffer> | null {
    if (this.buffered === 0) return null;
    this.buffered--;
    return this.list[this.at++]!;
  }

  private runQueue(): void {
    const q = this.queue ?? [];
    this.queue = null;
    for (const op of q) op();
  }
}

/**
 * opendir; node's sync form reports failures without the path ("ENOTDIR:
 * not a directory, opendir"), its async forms with it. `bufferSize` is
 * checked as node's (a uint32 >= 1); the entries are listed at once and
 * handed out bufferSize at a time, as node's (see Dir). `recursive` lists every subdirectory too,
 * breadth first, each entry's parentPath its directory (links not
 * followed), as node 20's recursive Dir.
 */
export function opendirSync(c: FacadeContext, path: PathArg, options?: { encoding?: string | null; bufferSize?: number; recursive?: boolean }, async = false): Dir {
  const o = optionsOf(options, { bufferSize: 32, recursive: false }) as { encoding?: BufferEncoding | 'buffer' | null; bufferSize: unknown; recursive: unknown };
  validateInteger(o.bufferSize, 'options.bufferSize', 1, 4294967295);
  const recursive = Boolean(o.recursive);
  return c.at(path, 'opendir', (abs, given) => {
    try {
      const list: Dirent<string | Buffer>[] = [];
      const queue: [string, string][] = [[abs, given]];
      const top = Buffer.isBuffer(path) ? path : given;
      for (let q = 0; q < queue.length && (q === 0 || recursive); q++) {
        const [dirAbs, dirGiven] = queue[q]!;
        for (const d of c.core.readdirEntries(dirAbs)) {
          list.push(new Dirent(encodeName(d.name, o.encoding), d.isDirectory(), q === 0 ? top : dirGiven, d.isSymbolicLink()));
          if (recursive && d.isDirectory()) queue.push([`${dirAbs === '/' ? '' : dirAbs}/${d.name}`, posix.join(dirGiven, d.name)]);
        }
      }
      return new Dir(Buffer.isBuffer(path) ? path : given, list, o.bufferSize as number);
    } catch (e) {
      if (e instanceof FsError) throw async ? new FsError(e.code, 'opendir', abs) : new FsError(e.code, 'opendir');
      throw e;
    }
  });
}
