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
  readonly dev = DEV;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev = 0;
  readonly size: number;
  readonly blksize = PAGE_BYTES;
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

export class Dirent extends FileTypeTests {
  constructor(
    readonly name: string,
    private readonly dir: boolean,
    /** The directory that was listed (as node:fs 20 reports it). */
    readonly path: string,
    private readonly link = false,
  ) {
    super();
  }
  /** Same as `path` (node:fs 20.12+ name). */
  get parentPath(): string {
    return this.path;
  }
  isFile(): boolean {
    return !this.dir && !this.link;
  }
  isDirectory(): boolean {
    return this.dir;
  }
  isSymbolicLink(): boolean {
    return this.link;
  }
}
