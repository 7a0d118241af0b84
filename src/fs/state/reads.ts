/** Read ops, run on the local replica. */
import { FsError } from '../errors.js';
import { FsArgumentError } from '../paths.js';
import { keyOf, sameKey } from '../opens.js';
import { copyOut, HOLE, placeWrite, refAt, tailToRewrite } from './data.js';
import { DIRENT_BYTES, type FsState, type Inode, O_TRUNC, PAGE_BYTES, S_IFDIR, S_IFLNK, S_IFREG, SHORT_SYMLINK_BYTES } from './inode.js';
import { prepareOpen } from './ops-files.js';
import { fileByIno, grants, locate, lookup, nameIn, withSearchAs } from './walk.js';

/**
 * open(2) as a read, for an open that changes nothing: the inode it opens,
 * or 0 when the open must be logged (it creates the file, or has O_TRUNC on
 * a file: Linux truncates even an empty one, which moves its mtime and ctime). Throws what the logged open would (ENOENT, EACCES...).
 */
export function openable(s: FsState, path: string, flags: number, uid: number, gid: number): number {
  const at = uid === 0 ? prepareOpen(s, path, flags, 'open', uid, gid) : withSearchAs({ uid, gid }, () => prepareOpen(s, path, flags, 'open', uid, gid));
  const node = at.node;
  if (node === undefined || ((flags & O_TRUNC) !== 0 && !node.dir)) return 0;
  return node.ino;
}

const removalOut: [ino: number, pinSeq: number] = [0, 0];

/**
 * What an op removing the last name of `path` (unlink, rmdir, rename onto
 * it) would remove, as this replica sees it: [its inode, or 0 if none;
 * this replica's open stamp]. The tuple is reused: read it at once.
 */
export function removal(s: FsState, path: string): [ino: number, pinSeq: number] {
  let ino = 0;
  try {
    ino = locate(s, path, 'unlink').node?.ino ?? 0;
  } catch {
    ino = 0;
  }
  removalOut[0] = ino;
  removalOut[1] = s.pinSeq;
  return removalOut;
}

/** Every slot's last logged open, [token, ino] at 2·slot (this replica's own array: read it at once). */
export function lastOpens(s: FsState): readonly number[] {
  return s.lastOpen;
}

const NONE: readonly number[] = [];

/** The orphans that share `ino`'s key in the open table, `ino` included if it is one (usually none). */
export function orphansKeyed(s: FsState, ino: number): readonly number[] {
  if (s.orphans.size === 0) return NONE;
  if (keyOf(ino) === ino && ino + 0x7fffffff >= s.nextIno) return s.orphans.has(ino) ? [ino] : NONE;
  return sameKey(ino, s.nextIno).filter((v) => s.orphans.has(v));
}

/** Every orphan (inodes with no name kept for fds that may be open). */
export function orphans(s: FsState): number[] {
  return [...s.orphans];
}


export function pread(s: FsState, ino: number, buf: Uint8Array, off: number, len: number, pos: number): number {
  const node = fileByIno(s, ino, 'read');
  if (node.dir) throw new FsError('EISDIR', 'read');
  return copyOut(s, node, buf, off, len, pos);
}

/**
 * The file a data write is about to change, as this replica sees it (by
 * number, or by `path` when `ino` is 0; undefined when there is none): its
 * issuer lays the data out and merges edge pages from it (see NrFs). The
 * inode is this replica's own: read it at once, never keep or change it.
 */
export function inode(s: FsState, ino: number, path: string): Inode | undefined {
  if (ino !== 0) return s.inodes.get(ino);
  try {
    return lookup(s, path, 'open');
  } catch {
    return undefined;
  }
}

// ---- reads for clients (client.ts): page refs instead of data, which a client copies itself ----

/**
 * A client's data write: `[at, first, last]`, where it lands (see
 * placeWrite; by fd when `ino` is not 0) and the refs of the file's pages
 * at its first and last page (HOLE: none), which a partial edge merges with.
 */
export function layout(s: FsState, ino: number, path: string, flags: number, pos: number, len: number): number[] {
  const node = inode(s, ino, path);
  const at = placeWrite(node, ino !== 0, flags, pos);
  if (node === undefined || node.pages === null || len <= 0) return [at, HOLE, HOLE];
  return [at, refAt(node, Math.floor(at / PAGE_BYTES)), refAt(node, Math.floor((at + len - 1) / PAGE_BYTES))];
}

/** A client's truncate: the page a cut to `len` rewrites (its ref), or HOLE. */
export function cutPage(s: FsState, ino: number, path: string, len: number): number {
  const node = inode(s, ino, path);
  return node === undefined || node.dir ? HOLE : tailToRewrite(node, len);
}

/**
 * A client's pread: `[n, ref...]`, the bytes it reads (up to `len` from
 * `pos`, at most `maxPages` pages of them) and the ref of each page they
 * span (HOLE reads as zeros). The client copies them out of the pool.
 */
export function pageRefs(s: FsState, ino: number, pos: number, len: number, maxPages: number): number[] {
  // The arguments come out of a client's slot: a negative or fractional position would name pages
  // below 0 (refs that are not the file's), a zero page cap an answer that never advances a read.
  if (!Number.isSafeInteger(pos) || pos < 0 || !Number.isSafeInteger(len) || len < 0 || !Number.isSafeInteger(maxPages) || maxPages < 1) {
    throw new FsError('EINVAL', 'read');
  }
  const node = fileByIno(s, ino, 'read');
  if (node.dir) throw new FsError('EISDIR', 'read');
  let n = Math.max(0, Math.min(len, node.size - pos));
  if (n === 0) return [0];
  const first = Math.floor(pos / PAGE_BYTES);
  if (Math.floor((pos + n - 1) / PAGE_BYTES) - first + 1 > maxPages) n = (first + maxPages) * PAGE_BYTES - pos;
  const out = [n];
  for (let p = first; p * PAGE_BYTES < pos + n; p++) out.push(refAt(node, p));
  return out;
}

/** A directory listing entry: name and whether it is a directory or a symbolic link. */
export interface DirEntry {
  name: string;
  dir: boolean;
  link: boolean;
}

/** Names sorted by their UTF-8 bytes, as node's readdir lists them (libuv's scandir sorts with strcmp). */
export function readdir(s: FsState, path: string): string[] {
  const node = lookup(s, path, 'scandir');
  if (!node.dir) throw new FsError('ENOTDIR', 'scandir', path);
  return [...node.entries!.keys()].sort(byName);
}

export function readdirTypes(s: FsState, path: string): DirEntry[] {
  const node = lookup(s, path, 'scandir');
  if (!node.dir) throw new FsError('ENOTDIR', 'scandir', path);
  const out: DirEntry[] = [];
  for (const [name, child] of node.entries!) out.push({ name, dir: child.dir, link: child.link !== null });
  return out.sort((a, b) => byName(a.name, b.name));
}

/**
 * UTF-8 byte order, which is code point order: UTF-16 code unit order
 * (`<`) except that a surrogate (half of a code point above U+FFFF) sorts
 * after U+E000..U+FFFF, so at the first differing unit both are mapped to
 * keys in code point order.
 */
export function byName(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointKey(x) - codePointKey(y);
  }
  return a.length - b.length;
}

function codePointKey(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** node:fs's limit on one read into one buffer (kIoMaxLength): a larger readFile is ERR_FS_FILE_TOO_LARGE. */
const IO_MAX_BYTES = 2 ** 31 - 1;

export function readFile(s: FsState, path: string): Uint8Array {
  const node = lookup(s, path, 'open');
  if (node.dir) throw new FsError('EISDIR', 'read');
  if (node.size > IO_MAX_BYTES) throw new FsArgumentError('ERR_FS_FILE_TOO_LARGE', `File size (${node.size}) is greater than 2 GiB`);
  const out = new Uint8Array(node.size);
  copyOut(s, node, out, 0, node.size, 0);
  return out;
}

/** The numbers stat reports, copied out of the replica. */
export interface StatRecord {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

export function record(node: Inode): StatRecord {
  return {
    ino: node.ino,
    mode: (node.dir ? S_IFDIR : node.link !== null ? S_IFLNK : S_IFREG) | node.mode,
    nlink: node.nlink,
    uid: node.uid,
    gid: node.gid,
    // Sizes and blocks as tmpfs reports them (see DIRENT_BYTES, SHORT_SYMLINK_BYTES).
    size: node.dir ? DIRENT_BYTES * (node.entries!.size + 2) : node.size,
    blocks: node.dir ? 0 : node.link !== null ? (node.size < SHORT_SYMLINK_BYTES ? 0 : PAGE_BYTES / 512) : node.pages!.size * (PAGE_BYTES / 512),
    atimeMs: node.atimeMs,
    mtimeMs: node.mtimeMs,
    ctimeMs: node.ctimeMs,
    birthtimeMs: node.birthtimeMs,
  };
}

export function stat(s: FsState, path: string): StatRecord {
  return record(lookup(s, path, 'stat'));
}

/** lstat(2): a last symbolic link is reported itself. */
export function lstat(s: FsState, path: string): StatRecord {
  return record(lookup(s, path, 'lstat', false));
}

export function readlink(s: FsState, path: string): string {
  const node = lookup(s, path, 'readlink', false);
  if (node.link === null) throw new FsError('EINVAL', 'readlink', path);
  return node.link;
}

/** realpath(3): the absolute path with every symbolic link, '.' and '..' resolved. */
export function realpath(s: FsState, path: string): string {
  const at = locate(s, path, 'realpath', undefined, path, true);
  const node = at.node;
  if (node === undefined) throw new FsError('ENOENT', 'realpath', path);
  if (at.trailingSlash && !node.dir) throw new FsError('ENOTDIR', 'realpath', path);
  if (node === s.root) return '/';
  return `${dirPath(s, at.parent)}/${at.name}`.replace(/^\/\//, '/');
}

/** A directory's absolute path, climbing parent links (realpath only). */
function dirPath(s: FsState, dir: Inode): string {
  const names: string[] = [];
  for (let d = dir; d !== s.root; d = d.parent!) names.push(nameIn(d.parent!, d));
  return names.length === 0 ? '' : `/${names.reverse().join('/')}`;
}

/** access(2) for `uid`/`gid`: F_OK (0) or any of R_OK 4, W_OK 2, X_OK 1 against the mode bits. */
export function access(s: FsState, path: string, want: number, uid: number, gid: number): void {
  const node = withSearchAs({ uid, gid }, () => lookup(s, path, 'access'));
  if (want !== 0 && !grants(node, uid, gid, want)) throw new FsError('EACCES', 'access', path);
}

/** Where `permit` checks: the inode at the path, its directory, or the directory when the name is missing (a create). */
export const ON_TARGET = 0;
export const ON_PARENT = 1;
export const ON_CREATE = 2;

/**
 * The permission check of a thread that is not root, before it logs an op
 * (see NrFs): search on every directory walked, then `want` on the target,
 * or write+search on its directory. Throws EACCES; any other error is left
 * to the op itself, which reports it the same way.
 */
export function permit(s: FsState, path: string, syscall: string, uid: number, gid: number, want: number, where: number, follow: boolean): void {
  let at;
  try {
    at = withSearchAs({ uid, gid }, () => locate(s, path, syscall, undefined, path, follow));
  } catch (e) {
    if (e instanceof FsError && e.code === 'EACCES') throw e;
    return;
  }
  const onDir = where === ON_PARENT || (where === ON_CREATE && at.node === undefined);
  if (onDir ? !grants(at.parent, uid, gid, 3) : at.node !== undefined && !grants(at.node, uid, gid, want)) {
    throw new FsError('EACCES', syscall, path);
  }
}

export function fstat(s: FsState, ino: number): StatRecord {
  return record(fileByIno(s, ino, 'fstat'));
}

export function exists(s: FsState, path: string): boolean {
  try {
    lookup(s, path, 'access');
    return true;
  } catch {
    return false;
  }
}

/** Bytes and inodes in use. */
export function usage(s: FsState): { pages: number; inodes: number; dataBytes: number } {
  return { pages: s.usedPages, inodes: s.inodes.size, dataBytes: s.usedPages * PAGE_BYTES };
}
