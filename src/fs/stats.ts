/** node:fs-shaped Stats and Dirent objects built from a replica's inode record. */
import { PAGE_BYTES, S_IFDIR, S_IFMT, S_IFREG, type StatRecord } from './state.js';

/** The device number NrFS reports (any constant: one file system). */
const DEV = 0x4e72;

/** The type predicates Stats and Dirent share: NrFS holds only regular files and directories. */
abstract class FileTypeTests {
  abstract isFile(): boolean;
  abstract isDirectory(): boolean;
  isSymbolicLink(): boolean {
    return false;
  }
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
  /** Not tracked: NrFS has no owners (always 0). */
  readonly uid = 0;
  readonly gid = 0;
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
}

export class Dirent extends FileTypeTests {
  constructor(
    readonly name: string,
    private readonly dir: boolean,
    /** The directory that was listed (as node:fs 20 reports it). */
    readonly path: string,
  ) {
    super();
  }
  /** Same as `path` (node:fs 20.12+ name). */
  get parentPath(): string {
    return this.path;
  }
  isFile(): boolean {
    return !this.dir;
  }
  isDirectory(): boolean {
    return this.dir;
  }
}
