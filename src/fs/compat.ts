/**
 * A node:fs-compatible facade over one thread's NrFs: the sync calls and
 * `promises` subset listed below, with node:fs's signatures, so code that
 * uses memfs or node:fs for these calls switches by changing one import:
 *
 *   const fs = nodeFs(attachFs(handle));   // instead of: import fs from 'node:fs'
 *
 * The promise forms run the same synchronous replica ops (a write is
 * applied before its promise settles) and reject instead of throwing.
 */
import { constants } from 'node:fs';
import type { FileData, MkdirOptions, NrFs, WriteFileOptions } from './nrfs.js';
import type { OpenFlags } from './flags.js';
import type { PathLike } from './paths.js';
import type { Dirent, Stats } from './stats.js';

type Encoding = BufferEncoding;
type ReadFileOptions = Encoding | { encoding?: Encoding | null; flag?: OpenFlags } | null;
type WriteOptions = Encoding | (WriteFileOptions & { encoding?: Encoding | null }) | null;
interface ReaddirOptions {
  withFileTypes?: boolean;
  encoding?: Encoding | null;
}
interface ReadOptions {
  offset?: number;
  length?: number;
  position?: number | bigint | null;
}

function encodingOf(o: ReadFileOptions | WriteOptions | undefined): Encoding | undefined {
  if (typeof o === 'string') return o;
  return o?.encoding ?? undefined;
}

function writeOptions(o: WriteOptions | undefined): WriteFileOptions {
  if (o === null || o === undefined) return {};
  if (typeof o === 'string') return { encoding: o };
  return { flag: o.flag, mode: o.mode, encoding: o.encoding ?? undefined };
}

export interface NodeFsSync {
  constants: typeof constants;
  openSync(path: PathLike, flags?: OpenFlags, mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: ArrayBufferView, offsetOrOptions?: number | ReadOptions, length?: number, position?: number | bigint | null): number;
  writeSync(fd: number, data: FileData, offsetOrPosition?: number | null, lengthOrEncoding?: number | Encoding, position?: number | null): number;
  statSync(path: PathLike): Stats;
  lstatSync(path: PathLike): Stats;
  fstatSync(fd: number): Stats;
  mkdirSync(path: PathLike, options?: MkdirOptions | number): string | undefined;
  rmdirSync(path: PathLike): void;
  readdirSync(path: PathLike, options?: ReaddirOptions | Encoding): string[] | Dirent[];
  renameSync(from: PathLike, to: PathLike): void;
  unlinkSync(path: PathLike): void;
  readFileSync(path: PathLike, options?: ReadFileOptions): string | Buffer;
  writeFileSync(path: PathLike, data: FileData, options?: WriteOptions): void;
  appendFileSync(path: PathLike, data: FileData, options?: WriteOptions): void;
  existsSync(path: PathLike): boolean;
  truncateSync(path: PathLike, len?: number): void;
  ftruncateSync(fd: number, len?: number): void;
  promises: NodeFsPromises;
}

export interface NodeFsPromises {
  readFile(path: PathLike, options?: ReadFileOptions): Promise<string | Buffer>;
  writeFile(path: PathLike, data: FileData, options?: WriteOptions): Promise<void>;
  appendFile(path: PathLike, data: FileData, options?: WriteOptions): Promise<void>;
  mkdir(path: PathLike, options?: MkdirOptions | number): Promise<string | undefined>;
  readdir(path: PathLike, options?: ReaddirOptions | Encoding): Promise<string[] | Dirent[]>;
  stat(path: PathLike): Promise<Stats>;
  lstat(path: PathLike): Promise<Stats>;
  rename(from: PathLike, to: PathLike): Promise<void>;
  unlink(path: PathLike): Promise<void>;
  rmdir(path: PathLike): Promise<void>;
  truncate(path: PathLike, len?: number): Promise<void>;
}

/** node:fs-shaped functions bound to `fs` (one thread's file system). */
export function nodeFs(fs: NrFs): NodeFsSync {
  const readFileSync = (path: PathLike, options?: ReadFileOptions): string | Buffer => {
    const enc = encodingOf(options);
    return enc === undefined ? fs.readFile(path) : fs.readFile(path, enc);
  };
  const readdirSync = (path: PathLike, options?: ReaddirOptions | Encoding): string[] | Dirent[] =>
    typeof options === 'object' && options?.withFileTypes === true ? fs.readdirEntries(path) : fs.readdir(path);
  const writeFileSync = (path: PathLike, data: FileData, options?: WriteOptions): void => fs.writeFile(path, data, writeOptions(options));
  const appendFileSync = (path: PathLike, data: FileData, options?: WriteOptions): void => fs.appendFile(path, data, writeOptions(options));
  const sync: Omit<NodeFsSync, 'promises'> = {
    constants,
    openSync: (path, flags, mode) => fs.open(path, flags ?? 'r', mode ?? 0o666),
    closeSync: (fd) => fs.close(fd),
    readSync(fd, buffer, offsetOrOptions, length, position) {
      if (typeof offsetOrOptions === 'object' && offsetOrOptions !== null) {
        const o = offsetOrOptions;
        return fs.read(fd, buffer, o.offset ?? 0, o.length, o.position ?? null);
      }
      return fs.read(fd, buffer, offsetOrOptions ?? 0, length, position ?? null);
    },
    writeSync(fd, data, offsetOrPosition, lengthOrEncoding, position) {
      if (typeof data === 'string') {
        // writeSync(fd, string, position?, encoding?)
        const enc = typeof lengthOrEncoding === 'string' ? lengthOrEncoding : 'utf8';
        return fs.write(fd, Buffer.from(data, enc), 0, undefined, offsetOrPosition ?? null);
      }
      const len = typeof lengthOrEncoding === 'number' ? lengthOrEncoding : undefined;
      return fs.write(fd, data, offsetOrPosition ?? 0, len, position ?? null);
    },
    statSync: (path) => fs.stat(path),
    lstatSync: (path) => fs.stat(path),
    fstatSync: (fd) => fs.fstat(fd),
    mkdirSync: (path, options) => fs.mkdir(path, options),
    rmdirSync: (path) => fs.rmdir(path),
    readdirSync,
    renameSync: (from, to) => fs.rename(from, to),
    unlinkSync: (path) => fs.unlink(path),
    readFileSync,
    writeFileSync,
    appendFileSync,
    existsSync: (path) => fs.exists(path),
    truncateSync: (path, len) => fs.truncate(path, len ?? 0),
    ftruncateSync: (fd, len) => fs.ftruncate(fd, len ?? 0),
  };
  const promises: NodeFsPromises = {
    readFile: async (path, options) => readFileSync(path, options),
    writeFile: async (path, data, options) => writeFileSync(path, data, options),
    appendFile: async (path, data, options) => appendFileSync(path, data, options),
    mkdir: async (path, options) => fs.mkdir(path, options),
    readdir: async (path, options) => readdirSync(path, options),
    stat: async (path) => fs.stat(path),
    lstat: async (path) => fs.stat(path),
    rename: async (from, to) => fs.rename(from, to),
    unlink: async (path) => fs.unlink(path),
    rmdir: async (path) => fs.rmdir(path),
    truncate: async (path, len) => fs.truncate(path, len ?? 0),
  };
  return { ...sync, promises };
}
