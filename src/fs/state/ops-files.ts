/** Write ops on files: open (logged ones), reap, pwrite, truncate, writeFile. */
import { FsError } from '../errors.js';
import { FailStopError } from '../../nr/index.js';
import { allocInode, checkInodeRoom, checkRefs, CONFLICT, edgesMatch, freeInode, HOLE, installRun, newPagesFor, pagesSpanned, setSize, tailToRewrite, touch } from './data.js';
import { changed, type FsState, type Inode, MAX_FILE_BYTES, MAX_SLOTS, O_ACCMODE, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_TRUNC, O_WRONLY } from './inode.js';
import { fileByIno, type Located, locate, lookup, need } from './walk.js';

/**
 * Where a data op puts its pages: where the issuer laid the data out (`at`,
 * `len`), the refs of the edge pages it merged with (WHOLE where the write
 * covers the edge page whole), and one page ref per page spanned.
 */
export interface DataRun {
  at: number;
  len: number;
  expFirst: number;
  expLast: number;
  refs: readonly number[];
}

/**
 * pwrite's one argument. One record, not eight arguments: NR's bound
 * writes, encodes and applies pass up to 3 arguments as a plain call and
 * the rest through a spread (13.5k -> 13.1k instructions per 4 KiB pwrite, callgrind).
 * The issuer's record is applied as passed: the apply never keeps it.
 */
export interface PwriteOp extends DataRun {
  ino: number;
  append: boolean;
  now: number;
}

/** writeFile's one argument (a record, as PwriteOp). */
export interface WriteFileOp extends DataRun {
  path: string;
  flags: number;
  mode: number;
  now: number;
  uid: number;
  gid: number;
}

/**
 * Resolve `path` for open(2)-like `flags`: returns the existing inode, or the
 * parent to create it in. Throws, and changes nothing, on every error.
 */
export function prepareOpen(s: FsState, path: string, flags: number, syscall: string, uid: number, gid: number): Located {
  // Linux: O_CREAT|O_EXCL never follows a last symbolic link (EEXIST), O_NOFOLLOW refuses one (ELOOP).
  const excl = (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL);
  // A create through a trailing '/' fails (EISDIR, below) before a last link would be followed (see walk).
  const at = locate(s, path, syscall, undefined, path, !excl && (flags & O_NOFOLLOW) === 0, true, (flags & O_CREAT) !== 0);
  const node = at.node;
  // Linux: a create through a name ending in '/' is EISDIR before any lookup ('.' and '..' go on).
  if ((flags & O_CREAT) !== 0 && at.trailingSlash && at.dots === 0) throw new FsError('EISDIR', syscall, path);
  if (node !== undefined && node.link !== null && !excl) throw new FsError('ELOOP', syscall, path);
  if (node !== undefined) {
    if ((flags & O_CREAT) !== 0 && (flags & O_EXCL) !== 0) throw new FsError('EEXIST', syscall, path);
    if (node.dir) {
      if ((flags & O_ACCMODE) !== O_RDONLY || (flags & (O_CREAT | O_TRUNC)) !== 0) throw new FsError('EISDIR', syscall, path);
    } else if (at.trailingSlash || (flags & O_DIRECTORY) !== 0) {
      throw new FsError('ENOTDIR', syscall, path);
    }
    const acc = flags & O_ACCMODE;
    need(node, uid, gid, (acc !== O_WRONLY ? 4 : 0) | (acc !== O_RDONLY || (flags & O_TRUNC) !== 0 ? 2 : 0), syscall, path);
    return at;
  }
  if ((flags & O_CREAT) === 0) throw new FsError('ENOENT', syscall, path);
  if (at.trailingSlash) throw new FsError('EISDIR', syscall, path);
  need(at.parent, uid, gid, 3, syscall, path);
  checkInodeRoom(s, 1, syscall, path);
  return at;
}


/**
 * A logged open: one that creates the file or truncates it (an open that
 * changes nothing is a local read, see OpenProtocol). It stamps the inode
 * (`pinSeq`) and records `token` as `slot`'s last logged open, so an unlink
 * decided on an older look at the open table cannot free the inode under
 * the fd this open hands out. Returns the inode number.
 */
export function open(s: FsState, path: string, flags: number, mode: number, now: number, slot: number, uid: number, gid: number, token: number): number {
  if (!(slot >= 0 && slot < MAX_SLOTS)) throw new FailStopError(`NrFS open: slot ${slot} is not a replica slot (a forged entry)`);
  const at = prepareOpen(s, path, flags, 'open', uid, gid);
  let node = at.node;
  if (node === undefined) node = allocInode(s, false, mode, now, at.parent, at.name, uid, gid);
  else if ((flags & O_TRUNC) !== 0 && !node.dir) {
    // An empty file too: Linux's O_TRUNC is a truncate whatever the size (times move, inotify's IN_MODIFY).
    setSize(s, node, 0);
    touch(node, now);
    changed(s, node, 'change');
  }
  node.pinSeq = ++s.pinSeq;
  s.lastOpen[2 * slot] = token;
  s.lastOpen[2 * slot + 1] = node.ino;
  return node.ino;
}

/**
 * Free an orphan (no name left) that no thread holds open any more, as its
 * issuer found in the open table. Idempotent: an inode that is not an
 * orphan (gone already, or never unlinked) is left alone. Returns 1 if freed.
 */
export function reap(s: FsState, ino: number): number {
  const node = s.inodes.get(ino);
  if (node === undefined || node.nlink > 0 || !s.orphans.has(ino)) return 0;
  s.orphans.delete(ino);
  freeInode(s, node);
  return 1;
}

/**
 * Write `len` bytes at `at` from the pages `refs` the issuer filled (see
 * data.ts); with `append`, `at` is the end the issuer saw. Returns the
 * offset just past the data, or CONFLICT (nothing changed) when the file
 * moved on since the issuer merged: its end, or the edge pages it merged with.
 */
export function pwrite(s: FsState, op: PwriteOp): number {
  const { ino, append, now, at, len, expFirst, expLast, refs } = op;
  const node = fileByIno(s, ino, 'write');
  if (node.dir) throw new FsError('EISDIR', 'write');
  if (len === 0) return append ? node.size : at;
  if (append && node.size !== at) return CONFLICT;
  if (at + len > MAX_FILE_BYTES) throw new FsError('EFBIG', 'write');
  if (!edgesMatch(node, at, len, expFirst, expLast)) return CONFLICT;
  const added = newPagesFor(node, at, len);
  if (s.usedPages + added > s.limits.maxPages) throw new FsError('ENOSPC', 'write');
  checkRefs(s, refs, pagesSpanned(at, len), 'write');
  installRun(s, node, at, len, refs);
  touch(node, now);
  changed(s, node, 'change');
  return at + len;
}

/**
 * Set the size to `len`. A shrink into the middle of a page installs
 * `tailRef`, the issuer's copy of that page (`expTail`) with the bytes past
 * the end zeroed. Returns 0, 1 when `tailRef` was not needed (the issuer
 * keeps the page), or CONFLICT when the page to rewrite is not `expTail`.
 */
export function resize(s: FsState, node: Inode, len: number, now: number, syscall: string, path: string | undefined, expTail: number, tailRef: number): number {
  if (node.dir) throw new FsError('EISDIR', syscall, path);
  if (len > MAX_FILE_BYTES) throw new FsError('EFBIG', syscall, path);
  const need = tailToRewrite(node, len);
  if (need !== expTail) return CONFLICT;
  if (need !== HOLE) checkRefs(s, [tailRef], 1, syscall);
  setSize(s, node, len, need === HOLE ? HOLE : tailRef);
  touch(node, now);
  changed(s, node, 'change');
  return need === HOLE && tailRef !== HOLE ? 1 : 0;
}

export function truncate(s: FsState, path: string, len: number, now: number, uid: number, gid: number, expTail: number, tailRef: number): number {
  const node = lookup(s, path, 'open');
  need(node, uid, gid, 2, 'open', path);
  return resize(s, node, len, now, 'open', path, expTail, tailRef);
}

export function ftruncate(s: FsState, ino: number, len: number, now: number, expTail: number, tailRef: number): number {
  return resize(s, fileByIno(s, ino, 'ftruncate'), len, now, 'ftruncate', undefined, expTail, tailRef);
}

/**
 * writeFile/appendFile in one op: open (maybe create), truncate or append,
 * write, close. `at` is where the issuer laid the data out (0, or the end
 * it saw for O_APPEND); returns 0, or CONFLICT as pwrite.
 */
export function writeFile(s: FsState, op: WriteFileOp): number {
  const { path, flags, mode, now, at, len, expFirst, expLast, refs, uid, gid } = op;
  const found = prepareOpen(s, path, flags, 'open', uid, gid);
  const node = found.node;
  if (node !== undefined && node.dir) throw new FsError('EISDIR', 'open', path);
  const append = (flags & O_APPEND) !== 0;
  const trunc = (flags & O_TRUNC) !== 0;
  const start = node === undefined || trunc ? 0 : append ? node.size : 0;
  if (start !== at) return CONFLICT;
  if (start + len > MAX_FILE_BYTES) throw new FsError('EFBIG', 'write');
  if (!trunc && len > 0 && !edgesMatch(node, start, len, expFirst, expLast)) return CONFLICT;
  let added: number;
  if (node === undefined) added = pagesSpanned(0, len);
  else if (trunc) added = pagesSpanned(0, len) - node.pages!.size;
  else added = newPagesFor(node, start, len);
  if (s.usedPages + added > s.limits.maxPages) throw new FsError('ENOSPC', 'write', undefined);
  checkRefs(s, refs, pagesSpanned(start, len), 'write');
  const target = node ?? allocInode(s, false, mode, now, found.parent, found.name, uid, gid);
  // Watchers see what inotify reports for node's open, write, close: an O_TRUNC open of an existing file is a
  // change, and the write another (none for no bytes). A file this op creates has no watcher of its own yet:
  // its directory's watchers hear of the write through the directory, under its name.
  if (trunc && node !== undefined) changed(s, node, 'change');
  if (trunc) setSize(s, target, 0);
  installRun(s, target, start, len, refs);
  // node's writeFile writes nothing for no bytes: an existing file opened without O_TRUNC keeps its times.
  if (trunc || len > 0) touch(target, now);
  if (len > 0) {
    if (node === undefined) changed(s, found.parent, 'change', found.name);
    else changed(s, target, 'change');
  }
  return 0;
}
