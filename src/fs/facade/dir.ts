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

export class Dir {
  private at = 0;
  private closed = false;

  constructor(
    /** The path as given to opendir (a Buffer kept a Buffer, a file: URL as its path), as node's. */
    readonly path: string | Buffer,
    private readonly list: Dirent<string | Buffer>[],
  ) {}

  readSync(): Dirent<string | Buffer> | null {
    if (this.closed) throw new DirClosedError();
    return this.list[this.at++] ?? null;
  }

  read(): Promise<Dirent<string | Buffer> | null>;
  read(cb: (err: Error | null, d: Dirent<string | Buffer> | null) => void): void;
  read(cb?: (err: Error | null, d: Dirent<string | Buffer> | null) => void): Promise<Dirent<string | Buffer> | null> | void {
    if (cb === undefined) return new Promise((resolve, reject) => this.read((e, d) => (e ? reject(e) : resolve(d))));
    checkCallback(cb, 'callback');
    let d: Dirent<string | Buffer> | null;
    try {
      d = this.readSync();
    } catch (e) {
      process.nextTick(cb, e as Error, null);
      return;
    }
    process.nextTick(cb, null, d);
  }

  closeSync(): void {
    if (this.closed) throw new DirClosedError();
    this.closed = true;
  }

  close(): Promise<void>;
  close(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): Promise<void> | void {
    if (cb === undefined) return new Promise((resolve, reject) => this.close((e) => (e ? reject(e) : resolve())));
    checkCallback(cb, 'callback');
    try {
      this.closeSync();
    } catch (e) {
      process.nextTick(cb, e as Error);
      return;
    }
    process.nextTick(cb, null);
  }

  async *entries(): AsyncGenerator<Dirent<string | Buffer>> {
    try {
      for (let d = this.readSync(); d !== null; d = this.readSync()) yield d;
    } finally {
      if (!this.closed) this.closeSync();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Dirent<string | Buffer>> {
    return this.entries();
  }
}

/**
 * opendir; node's sync form reports failures without the path ("ENOTDIR:
 * not a directory, opendir"), its async forms with it. `bufferSize` is
 * checked as node's (a uint32 >= 1) and otherwise has no effect: the
 * entries are listed at once. `recursive` lists every subdirectory too,
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
      return new Dir(Buffer.isBuffer(path) ? path : given, list);
    } catch (e) {
      if (e instanceof FsError) throw async ? new FsError(e.code, 'opendir', abs) : new FsError(e.code, 'opendir');
      throw e;
    }
  });
}
