/** node:fs-shaped Stats and Dirent objects built from a replica's inode record. */
import { PAGE_BYTES, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type StatRecord } from './state.js';

/** The device number NrFS reports (any constant: one file system). */
const DEV = 0x4e72;

/** The type predicates Stats and Dirent share: NrFS holds regular files, directories and symbolic links. */
abstract class FileTypeTests {
  abstract isFile(): boolean;
  abstract isDirectory(): boolean;
  abstract isSymbolicLink(): boolean;
  isBlockDevice(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
  isFIFO(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
}

export class Stats extends FileTypeTests {
  // Declared in node's order, which is the order of the own keys (Object.keys, JSON, util.inspect).
  readonly dev = DEV;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev = 0;
  readonly blksize = PAGE_BYTES;
  readonly ino: number;
  readonly size: number;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;

  constructor(r: StatRecord) {
    super();
    this.ino = r.ino;
    this.mode = r.mode;
    this.nlink = r.nlink;
    this.uid = r.uid;
    this.gid = r.gid;
    this.size = r.size;
    this.blocks = r.blocks;
    this.atimeMs = r.atimeMs;
    this.mtimeMs = r.mtimeMs;
    this.ctimeMs = r.ctimeMs;
    this.birthtimeMs = r.birthtimeMs;
  }

  get atime(): Date {
    return new Date(this.atimeMs);
  }
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  get ctime(): Date {
    return new Date(this.ctimeMs);
  }
  get birthtime(): Date {
    return new Date(this.birthtimeMs);
  }
  /** The node:fs facade's form: the four Dates as own fields, as node's Stats has them (JSON.stringify, spread, Object.keys see them). */
  withOwnDates(): this {
    withDates(this, this.atimeMs, this.mtimeMs, this.ctimeMs, this.birthtimeMs);
    return this;
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
}

/**
 * A directory entry, with node's own fields (`name`, `parentPath`, `path`,
 * in that order: what Object.keys, spread and deepStrictEqual see); the
 * type is in private fields, as node keeps it behind a symbol.
 */
export class Dirent<Name extends string | Buffer = string> extends FileTypeTests {
  readonly name: Name;
  /** The directory that was listed (as node:fs 20.12+ reports it): the Buffer itself when it was given as one, as node's. */
  readonly parentPath: string | Buffer;
  /** Same as `parentPath` (node:fs 20's older name). */
  readonly path: string | Buffer;
  readonly #dir: boolean;
  readonly #link: boolean;

  constructor(name: Name, dir: boolean, path: string | Buffer, link = false) {
    super();
    this.name = name;
    this.parentPath = path;
    this.path = path;
    this.#dir = dir;
    this.#link = link;
  }
  isFile(): boolean {
    return !this.#dir && !this.#link;
  }
  isDirectory(): boolean {
    return this.#dir;
  }
  isSymbolicLink(): boolean {
    return this.#link;
  }
}

/** Own, enumerable, writable Date fields atime, mtime, ctime, birthtime (they shadow the prototype's getters). */
function withDates(o: object, a: number, m: number, c: number, b: number): void {
  const field = (ms: number): PropertyDescriptor => ({ value: new Date(ms), enumerable: true, writable: true, configurable: true });
  Object.defineProperties(o, { atime: field(a), mtime: field(m), ctime: field(c), birthtime: field(b) });
}

const NS_PER_MS = 1_000_000n;

/** `stat(path, { bigint: true })`: every number a bigint, plus nanosecond times (from NrFS's millisecond times). */
export class BigIntStats extends FileTypeTests {
  // In node's key order, as in Stats.
  readonly dev: bigint;
  readonly mode: bigint;
  readonly nlink: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly rdev: bigint;
  readonly blksize: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly blocks: bigint;
  readonly atimeMs: bigint;
  readonly mtimeMs: bigint;
  readonly ctimeMs: bigint;
  readonly birthtimeMs: bigint;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly birthtimeNs: bigint;

  readonly #s: Stats;

  constructor(s: Stats) {
    super();
    this.#s = s;
    this.dev = BigInt(s.dev);
    this.ino = BigInt(s.ino);
    this.mode = BigInt(s.mode);
    this.nlink = BigInt(s.nlink);
    this.uid = BigInt(s.uid);
    this.gid = BigInt(s.gid);
    this.rdev = BigInt(s.rdev);
    this.size = BigInt(s.size);
    this.blksize = BigInt(s.blksize);
    this.blocks = BigInt(s.blocks);
    const ns = (ms: number): bigint => BigInt(Math.trunc(ms)) * NS_PER_MS + BigInt(Math.round((ms % 1) * 1e6));
    this.atimeNs = ns(s.atimeMs);
    this.mtimeNs = ns(s.mtimeMs);
    this.ctimeNs = ns(s.ctimeMs);
    this.birthtimeNs = ns(s.birthtimeMs);
    this.atimeMs = this.atimeNs / NS_PER_MS;
    this.mtimeMs = this.mtimeNs / NS_PER_MS;
    this.ctimeMs = this.ctimeNs / NS_PER_MS;
    this.birthtimeMs = this.birthtimeNs / NS_PER_MS;
  }

  get atime(): Date {
    return this.#s.atime;
  }
  get mtime(): Date {
    return this.#s.mtime;
  }
  get ctime(): Date {
    return this.#s.ctime;
  }
  get birthtime(): Date {
    return this.#s.birthtime;
  }
  withOwnDates(): this {
    withDates(this, this.#s.atimeMs, this.#s.mtimeMs, this.#s.ctimeMs, this.#s.birthtimeMs);
    return this;
  }
  isFile(): boolean {
    return this.#s.isFile();
  }
  isDirectory(): boolean {
    return this.#s.isDirectory();
  }
  isSymbolicLink(): boolean {
    return this.#s.isSymbolicLink();
  }
}

/** What statfs reports (node's StatFs fields). */
export class StatFs {
  constructor(
    readonly type: number,
    readonly bsize: number,
    readonly blocks: number,
    readonly bfree: number,
    readonly bavail: number,
    readonly files: number,
    readonly ffree: number,
  ) {}
}
