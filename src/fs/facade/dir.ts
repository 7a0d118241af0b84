/** `opendir`'s Dir: the entries of a directory, read one at a time (listed when opened). */
import { FsError } from '../errors.js';
import { Dirent } from '../stats.js';
import { checkCallback, type FacadeContext, optionsOf } from './args.js';
import type { PathArg } from './sync.js';

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
    /** The path as given to opendir. */
    readonly path: string,
    private readonly list: Dirent[],
  ) {}

  readSync(): Dirent | null {
    if (this.closed) throw new DirClosedError();
    return this.list[this.at++] ?? null;
  }

  read(): Promise<Dirent | null>;
  read(cb: (err: Error | null, d: Dirent | null) => void): void;
  read(cb?: (err: Error | null, d: Dirent | null) => void): Promise<Dirent | null> | void {
    if (cb === undefined) return new Promise((resolve, reject) => this.read((e, d) => (e ? reject(e) : resolve(d))));
    checkCallback(cb);
    let d: Dirent | null;
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
    checkCallback(cb);
    try {
      this.closeSync();
    } catch (e) {
      process.nextTick(cb, e as Error);
      return;
    }
    process.nextTick(cb, null);
  }

  async *entries(): AsyncGenerator<Dirent> {
    try {
      for (let d = this.readSync(); d !== null; d = this.readSync()) yield d;
    } finally {
      if (!this.closed) this.closeSync();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Dirent> {
    return this.entries();
  }
}

/** opendir; node's sync form reports failures without the path ("ENOTDIR: not a directory, opendir"), its async forms with it. */
export function opendirSync(c: FacadeContext, path: PathArg, options?: { encoding?: string | null; bufferSize?: number }, async = false): Dir {
  optionsOf(options, {});
  return c.at(path, 'opendir', (abs, given) => {
    try {
      return new Dir(given, c.core.readdirEntries(abs).map((d) => new Dirent(d.name, d.isDirectory(), given, d.isSymbolicLink())));
    } catch (e) {
      if (e instanceof FsError) throw async ? new FsError(e.code, 'opendir', abs) : new FsError(e.code, 'opendir');
      throw e;
    }
  });
}
