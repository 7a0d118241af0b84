/**
 * The replicated state of NrFS and its ops: the sequential file system that
 * every replica holds privately and NR keeps identical.
 *
 * - An inode is a file or a directory. File data lives in fixed 4 KiB pages
 *   (`pages`: page number -> page); a missing page reads as zeros, so files
 *   may be sparse. A directory maps names to inodes, in insertion order.
 * - Every write op is deterministic: times come from the issuer (`now`
 *   argument), inode numbers from a replicated counter, and every map is
 *   iterated only in its insertion order, which is the same everywhere.
 * - Each write validates everything first and mutates only once nothing can
 *   fail any more, so a failing op throws the same error on every replica
 *   and changes nothing (no partial applies).
 * - Open counts are replicated (open/close are logged writes, as FileOpen /
 *   FileClose in NrOS): an unlinked inode stays alive, readable through the
 *   fds open on it on any thread, until its last close frees its pages.
 * - Large write payloads are not in the log but in the shared payload area
 *   (`payload`); the op carries their offset and length (see payload.ts).
 */
import { deserialize, serialize } from 'node:v8';
import { defineStructure, type OpReader, type OpWriter } from '../nr/index.js';
import { FsError } from './errors.js';

export const PAGE_SHIFT = 12;
export const PAGE_BYTES = 1 << PAGE_SHIFT;
/** Largest file size (1 TiB): beyond it writes and truncates fail with EFBIG. */
export const MAX_FILE_BYTES = 2 ** 40;
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;

/** Linux open(2) flags, as in node:fs `constants`. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECTORY = 0o200000;

export interface Inode {
  readonly ino: number;
  readonly dir: boolean;
  /** Permission bits (no file-type bits). */
  mode: number;
  nlink: number;
  /** Open file descriptions on this inode, over all threads. */
  opens: number;
  size: number;
  /** File pages by page number (files only). */
  pages: Map<number, Uint8Array> | null;
  /** Directory entries by name, in insertion order (directories only). */
  entries: Map<string, Inode> | null;
  /** Containing directory (directories only; the root is its own parent). */
  parent: Inode | null;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

export interface FsLimits {
  /** Most 4 KiB pages of file data, over all files. */
  maxPages: number;
  /** Most inodes (files and directories, the root included). */
  maxInodes: number;
}

/**
 * Where a replica's pages come from: views into large slabs, not one
 * ArrayBuffer per page. Separate 4 KiB buffers are scattered through memory
 * and each adds an object to chase; measured here, random 4 KiB copies out of
 * slab views ran ~4x faster than out of separate buffers. Freed pages go to
 * a free list for reuse (slabs are never returned). Private to a replica and
 * not part of the replicated state: which slab a page sits in never shows.
 */
export class PagePool {
  private slab: Uint8Array = new Uint8Array(0);
  private next = 0;
  private slabBytes = 16 * PAGE_BYTES;
  private readonly free: Uint8Array[] = [];

  /** A page; zero-filled unless `dirty` (the caller overwrites all of it). */
  take(dirty: boolean): Uint8Array {
    const f = this.free.pop();
    if (f !== undefined) {
      if (!dirty) f.fill(0);
      return f;
    }
    if (this.next + PAGE_BYTES > this.slab.length) {
      this.slab = new Uint8Array(this.slabBytes);
      this.next = 0;
      if (this.slabBytes < MAX_SLAB_BYTES) this.slabBytes *= 2;
    }
    const page = this.slab.subarray(this.next, this.next + PAGE_BYTES);
    this.next += PAGE_BYTES;
    return page;
  }

  give(page: Uint8Array): void {
    this.free.push(page);
  }
}

const MAX_SLAB_BYTES = 4 << 20;

const CHUNK = 4096;

/**
 * The inode table: inodes by number, in chunks of 4096 numbers. Inode
 * numbers come from a counter, so a create appends to the newest chunk (no
 * hash, no random bucket to touch: a Map of 10^5-10^6 inodes missed the
 * cache on every insert and lookup of a create) and a lookup is two indexed
 * loads. A chunk whose inodes are all gone is dropped (the newest one once
 * a newer one starts), so memory follows the live inodes, not every number
 * ever handed out. Iteration is by ascending number, which is creation
 * order, the same on every replica.
 */
export class InodeTable {
  private readonly chunks: ((Inode | undefined)[] | undefined)[] = [];
  private readonly live: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(ino: number): Inode | undefined {
    const k = Math.floor(ino / CHUNK);
    const c = this.chunks[k];
    return c === undefined ? undefined : c[ino - k * CHUNK];
  }

  set(ino: number, node: Inode): void {
    const k = Math.floor(ino / CHUNK);
    const at = ino - k * CHUNK;
    while (this.chunks.length <= k) {
      // The newest chunk is kept while empty (the next numbers go there); drop it once it is not the newest.
      const last = this.chunks.length - 1;
      if (last >= 0 && this.live[last] === 0) this.chunks[last] = undefined;
      this.chunks.push(undefined);
      this.live.push(0);
    }
    let c = this.chunks[k];
    if (c === undefined) this.chunks[k] = c = [];
    // Numbers come in order within a chunk, so this only pads after a restore or a reused number.
    while (c.length < at) c.push(undefined);
    if (c[at] === undefined) {
      this.live[k]!++;
      this.count++;
    }
    c[at] = node;
  }

  delete(ino: number): void {
    const k = Math.floor(ino / CHUNK);
    const c = this.chunks[k];
    const at = ino - k * CHUNK;
    if (c === undefined || c[at] === undefined) return;
    c[at] = undefined;
    this.count--;
    if (--this.live[k]! === 0 && k < this.chunks.length - 1) this.chunks[k] = undefined;
  }

  *values(): IterableIterator<Inode> {
    for (const c of this.chunks) {
      if (c === undefined) continue;
      for (const node of c) if (node !== undefined) yield node;
    }
  }
}

export interface FsState {
  root: Inode;
  /** Every live inode by number, unlinked-but-open ones included. */
  inodes: InodeTable;
  nextIno: number;
  usedPages: number;
  /**
   * Open counts by replica slot, then inode, in insertion order: whose opens
   * they are, so the opens of a thread that died can be closed for it
   * (`closeAllOf`) and a slot's next owner starts clean.
   */
  opensBySlot: Map<number, Map<number, number>>;
  readonly limits: FsLimits;
  /** View of the shared payload area (the same memory in every replica; not part of the state proper). */
  readonly payload: Uint8Array;
  /** This replica's page allocator. */
  readonly pool: PagePool;
}

/**
 * The page map of every file that has no page yet (never mutated): most
 * created files in create-heavy workloads stay empty, and a Map each costs
 * allocation and GC time. `copyIn` swaps in a real map on the first page.
 */
const NO_PAGES: Map<number, Uint8Array> = new Map();

function newInode(ino: number, dir: boolean, mode: number, now: number, parent: Inode | null): Inode {
  return {
    ino,
    dir,
    mode,
    nlink: dir ? 2 : 1,
    opens: 0,
    size: dir ? PAGE_BYTES : 0,
    pages: dir ? null : NO_PAGES,
    entries: dir ? new Map() : null,
    parent,
    atimeMs: now,
    mtimeMs: now,
    ctimeMs: now,
    birthtimeMs: now,
  };
}

const ROOT_INO = 1;

export function emptyState(limits: FsLimits, payload: Uint8Array): FsState {
  const root = newInode(ROOT_INO, true, 0o755, 0, null);
  root.parent = root;
  const inodes = new InodeTable();
  inodes.set(ROOT_INO, root);
  return { root, inodes, nextIno: ROOT_INO + 1, usedPages: 0, opensBySlot: new Map(), limits, payload, pool: new PagePool() };
}

// ---- path walking ------------------------------------------------------------

interface Located {
  parent: Inode;
  /** The last name, or '' for the root. */
  name: string;
  /** The inode at the path, if any. */
  node: Inode | undefined;
  trailingSlash: boolean;
  /** The last name is '.' or '..' (0: neither, 1: '.', 2: '..'): no entry to create, remove or rename. */
  dots: number;
}

/**
 * Walk to the parent of `path`; throws ENOENT/ENOTDIR for a missing or
 * non-directory component. Walks the string in place (no split, no arrays):
 * path ops are the hot part of create and rename workloads.
 */
function locate(s: FsState, path: string, syscall: string, dest?: string, errPath = path): Located {
  let dir = s.root;
  let name = '';
  let named = false;
  const n = path.length;
  let i = 1;
  for (;;) {
    // Skip slashes, then take one name.
    while (i < n && path.charCodeAt(i) === 47) i++;
    if (i >= n) break;
    let j = path.indexOf('/', i);
    if (j < 0) j = n;
    const part = path.slice(i, j);
    i = j;
    if (named) {
      // The previous name is a directory we walk through.
      let next: Inode | undefined;
      if (name === '..') next = dir.parent!;
      else if (name === '.') next = dir;
      else {
        next = dir.entries!.get(name);
        if (next === undefined) throw new FsError('ENOENT', syscall, errPath, dest);
        if (!next.dir) throw new FsError('ENOTDIR', syscall, errPath, dest);
      }
      dir = next;
    }
    name = part;
    named = true;
  }
  const last = path.charCodeAt(n - 1);
  const trailingSlash = n > 1 && last === 47;
  if (!named) return { parent: s.root, name: '', node: s.root, trailingSlash, dots: 0 };
  if (name === '.' || name === '..') {
    const node = name === '.' ? dir : dir.parent!;
    const dots = name === '.' ? 1 : 2;
    if (node === s.root) return { parent: s.root, name: '', node: s.root, trailingSlash: true, dots };
    return { parent: node.parent!, name: nameIn(node.parent!, node), node, trailingSlash: true, dots };
  }
  return { parent: dir, name, node: dir.entries!.get(name), trailingSlash, dots: 0 };
}

/** The name under which `parent` holds `child` (directories only; rare path). */
function nameIn(parent: Inode, child: Inode): string {
  for (const [k, v] of parent.entries!) if (v === child) return k;
  return '';
}

/** The inode at `path`, or a thrown ENOENT/ENOTDIR. */
function lookup(s: FsState, path: string, syscall: string): Inode {
  const at = locate(s, path, syscall);
  if (at.node === undefined) throw new FsError('ENOENT', syscall, path);
  if (at.trailingSlash && !at.node.dir) throw new FsError('ENOTDIR', syscall, path);
  return at.node;
}

function fileByIno(s: FsState, ino: number, syscall: string): Inode {
  const node = s.inodes.get(ino);
  if (node === undefined) throw new FsError('EBADF', syscall);
  return node;
}

// ---- data --------------------------------------------------------------------

/** Pages that a write of `len` bytes at `at` would add. */
function newPagesFor(node: Inode, at: number, len: number): number {
  if (len === 0) return 0;
  const pages = node.pages!;
  const first = Math.floor(at / PAGE_BYTES);
  const last = Math.floor((at + len - 1) / PAGE_BYTES);
  let missing = 0;
  for (let p = first; p <= last; p++) if (!pages.has(p)) missing++;
  return missing;
}

/** Copy `src` into the file at `at`; capacity was checked by the caller. */
function copyIn(s: FsState, node: Inode, at: number, src: Uint8Array): void {
  let pages = node.pages!;
  if (pages === NO_PAGES && src.length > 0) node.pages = pages = new Map();
  let done = 0;
  const len = src.length;
  while (done < len) {
    const pos = at + done;
    const pageNo = Math.floor(pos / PAGE_BYTES);
    const inPage = pos - pageNo * PAGE_BYTES;
    const n = Math.min(PAGE_BYTES - inPage, len - done);
    let page = pages.get(pageNo);
    if (page === undefined) {
      page = s.pool.take(n === PAGE_BYTES);
      pages.set(pageNo, page);
      s.usedPages++;
    }
    // Whole-source copies skip the subarray (a Buffer's subarray allocates a FastBuffer).
    if (n === len) page.set(src, inPage);
    else page.set(src.subarray(done, done + n), inPage);
    done += n;
  }
  if (at + len > node.size) node.size = at + len;
}

/** Copy up to `len` bytes from `pos` into `buf[off..]`; holes read as zeros. Returns bytes read. */
export function copyOut(node: Inode, buf: Uint8Array, off: number, len: number, pos: number): number {
  const avail = node.size - pos;
  if (avail <= 0 || len <= 0) return 0;
  const total = len < avail ? len : avail;
  const pages = node.pages!;
  let done = 0;
  while (done < total) {
    const at = pos + done;
    const pageNo = Math.floor(at / PAGE_BYTES);
    const inPage = at - pageNo * PAGE_BYTES;
    const n = Math.min(PAGE_BYTES - inPage, total - done);
    const page = pages.get(pageNo);
    if (page === undefined) buf.fill(0, off + done, off + done + n);
    else if (n === PAGE_BYTES) buf.set(page, off + done);
    else buf.set(page.subarray(inPage, inPage + n), off + done);
    done += n;
  }
  return total;
}

function setSize(s: FsState, node: Inode, len: number): void {
  if (len < node.size) {
    const pages = node.pages!;
    const keep = Math.ceil(len / PAGE_BYTES);
    for (const p of [...pages.keys()]) {
      if (p >= keep) {
        s.pool.give(pages.get(p)!);
        pages.delete(p);
        s.usedPages--;
      }
    }
    // The kept part of the last page must read zeros if the file grows again.
    const tail = len % PAGE_BYTES;
    if (tail !== 0) pages.get(keep - 1)?.fill(0, tail);
  }
  node.size = len;
}

/** Drop an inode that has no name and no open fd left. */
function release(s: FsState, node: Inode): void {
  if (node.nlink > 0 || node.opens > 0) return;
  if (node.pages !== null && node.pages !== NO_PAGES) {
    s.usedPages -= node.pages.size;
    for (const page of node.pages.values()) s.pool.give(page);
    node.pages.clear();
  }
  s.inodes.delete(node.ino);
}

function touch(node: Inode, now: number): void {
  node.mtimeMs = now;
  node.ctimeMs = now;
}

function checkInodeRoom(s: FsState, n: number, syscall: string, path: string): void {
  if (s.inodes.size + n > s.limits.maxInodes) throw new FsError('ENOSPC', syscall, path);
}

function allocInode(s: FsState, dir: boolean, mode: number, now: number, parent: Inode, name: string): Inode {
  const node = newInode(s.nextIno++, dir, mode, now, dir ? parent : null);
  s.inodes.set(node.ino, node);
  parent.entries!.set(name, node);
  if (dir) parent.nlink++;
  touch(parent, now);
  return node;
}

function payloadOf(s: FsState, data: Uint8Array | null, ref: number, len: number): Uint8Array {
  return data ?? s.payload.subarray(ref, ref + len);
}

/**
 * Resolve `path` for open(2)-like `flags`: returns the existing inode, or the
 * parent to create it in. Throws, and changes nothing, on every error.
 */
function prepareOpen(s: FsState, path: string, flags: number, syscall: string): Located {
  const at = locate(s, path, syscall);
  const node = at.node;
  // Linux: a create through a name ending in '/' is EISDIR before any lookup ('.' and '..' go on).
  if ((flags & O_CREAT) !== 0 && at.trailingSlash && at.dots === 0) throw new FsError('EISDIR', syscall, path);
  if (node !== undefined) {
    if ((flags & O_CREAT) !== 0 && (flags & O_EXCL) !== 0) throw new FsError('EEXIST', syscall, path);
    if (node.dir) {
      if ((flags & O_ACCMODE) !== O_RDONLY || (flags & (O_CREAT | O_TRUNC)) !== 0) throw new FsError('EISDIR', syscall, path);
    } else if (at.trailingSlash || (flags & O_DIRECTORY) !== 0) {
      throw new FsError('ENOTDIR', syscall, path);
    }
    return at;
  }
  if ((flags & O_CREAT) === 0) throw new FsError('ENOENT', syscall, path);
  if (at.trailingSlash) throw new FsError('EISDIR', syscall, path);
  checkInodeRoom(s, 1, syscall, path);
  return at;
}

// ---- write ops -----------------------------------------------------------------

function open(s: FsState, path: string, flags: number, mode: number, now: number, slot: number): number {
  const at = prepareOpen(s, path, flags, 'open');
  let node = at.node;
  if (node === undefined) node = allocInode(s, false, mode, now, at.parent, at.name);
  else if ((flags & O_TRUNC) !== 0 && !node.dir && node.size !== 0) {
    setSize(s, node, 0);
    touch(node, now);
  }
  node.opens++;
  let mine = s.opensBySlot.get(slot);
  if (mine === undefined) s.opensBySlot.set(slot, (mine = new Map()));
  mine.set(node.ino, (mine.get(node.ino) ?? 0) + 1);
  return node.ino;
}

function close(s: FsState, ino: number, slot: number): void {
  const node = fileByIno(s, ino, 'close');
  const mine = s.opensBySlot.get(slot);
  const held = mine?.get(ino) ?? 0;
  if (held === 0) throw new FsError('EBADF', 'close');
  if (held > 1) mine!.set(ino, held - 1);
  else if (mine!.size > 1) mine!.delete(ino);
  else s.opensBySlot.delete(slot); // no empty maps: the state (and its digest) does not depend on who opened what once closed
  node.opens--;
  release(s, node);
}

/**
 * Close every open of replica slot `slot`: a thread detaching, a thread that
 * died (called for it by a live one), or a new thread taking over a slot.
 * Deterministic: walks the slot's opens in insertion order.
 */
function closeAllOf(s: FsState, slot: number): number {
  const mine = s.opensBySlot.get(slot);
  if (mine === undefined) return 0;
  let closed = 0;
  for (const [ino, count] of mine) {
    const node = s.inodes.get(ino)!;
    node.opens -= count;
    closed += count;
    release(s, node);
  }
  s.opensBySlot.delete(slot);
  return closed;
}

/** Write at `pos` (or at the end with `append`); returns the offset just past the data. */
function pwrite(s: FsState, ino: number, pos: number, append: boolean, now: number, data: Uint8Array | null, ref: number, len: number): number {
  const node = fileByIno(s, ino, 'write');
  if (node.dir) throw new FsError('EISDIR', 'write');
  const at = append ? node.size : pos;
  if (len === 0) return at;
  if (at + len > MAX_FILE_BYTES) throw new FsError('EFBIG', 'write');
  const added = newPagesFor(node, at, len);
  if (s.usedPages + added > s.limits.maxPages) throw new FsError('ENOSPC', 'write');
  copyIn(s, node, at, payloadOf(s, data, ref, len));
  touch(node, now);
  return at + len;
}

function resize(s: FsState, node: Inode, len: number, now: number, syscall: string, path?: string): void {
  if (node.dir) throw new FsError('EISDIR', syscall, path);
  if (len > MAX_FILE_BYTES) throw new FsError('EFBIG', syscall, path);
  setSize(s, node, len);
  touch(node, now);
}

function truncate(s: FsState, path: string, len: number, now: number): void {
  resize(s, lookup(s, path, 'open'), len, now, 'open', path);
}

function ftruncate(s: FsState, ino: number, len: number, now: number): void {
  resize(s, fileByIno(s, ino, 'ftruncate'), len, now, 'ftruncate');
}

/** writeFile/appendFile in one op: open (maybe create), truncate or append, write, close. */
function writeFile(s: FsState, path: string, flags: number, mode: number, now: number, data: Uint8Array | null, ref: number, len: number): void {
  const at = prepareOpen(s, path, flags, 'open');
  const node = at.node;
  if (node !== undefined && node.dir) throw new FsError('EISDIR', 'open', path);
  const append = (flags & O_APPEND) !== 0;
  const trunc = (flags & O_TRUNC) !== 0;
  const start = node === undefined || trunc ? 0 : append ? node.size : 0;
  if (start + len > MAX_FILE_BYTES) throw new FsError('EFBIG', 'write');
  let added: number;
  if (node === undefined) added = Math.ceil(len / PAGE_BYTES);
  else if (trunc) added = Math.ceil(len / PAGE_BYTES) - node.pages!.size;
  else added = newPagesFor(node, start, len);
  if (s.usedPages + added > s.limits.maxPages) throw new FsError('ENOSPC', 'write', undefined);
  const target = node ?? allocInode(s, false, mode, now, at.parent, at.name);
  if (trunc) setSize(s, target, 0);
  copyIn(s, target, start, payloadOf(s, data, ref, len));
  touch(target, now);
}

function mkdir(s: FsState, path: string, mode: number, recursive: boolean, now: number): string | undefined {
  if (!recursive) {
    const at = locate(s, path, 'mkdir');
    if (at.node !== undefined) throw new FsError('EEXIST', 'mkdir', path);
    checkInodeRoom(s, 1, 'mkdir', path);
    allocInode(s, true, mode, now, at.parent, at.name);
    return undefined;
  }
  return mkdirp(s, path, mode, now);
}

/**
 * Recursive mkdir as node:fs does it: try the path; on ENOENT make its
 * dirname (cut at the last '/') first, then retry. So '..' and '.' are
 * walked, not resolved lexically, and the result is the first directory
 * created, spelled as in the argument. All or nothing: on an error the
 * directories made so far are taken out again, restoring the state exactly.
 */
function mkdirp(s: FsState, path: string, mode: number, now: number): string | undefined {
  const made: { parent: Inode; name: string; node: Inode; mtimeMs: number; ctimeMs: number }[] = [];
  const nextIno = s.nextIno;
  let first: string | undefined;
  const stack = [path];
  try {
    while (stack.length > 0) {
      const p = stack.pop()!;
      let at: Located;
      try {
        at = locate(s, p, 'mkdir', undefined, path);
      } catch (e) {
        const cut = p.lastIndexOf('/');
        if (e instanceof FsError && e.code === 'ENOENT' && cut > 0) {
          stack.push(p, p.slice(0, cut));
          continue;
        }
        throw e;
      }
      if (at.node !== undefined) {
        // node:fs stats an existing name: a file is EEXIST, unless the path goes through it ('file/').
        if (!at.node.dir) throw new FsError(p === path && !at.trailingSlash ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
        continue;
      }
      checkInodeRoom(s, 1, 'mkdir', path);
      made.push({ parent: at.parent, name: at.name, node: at.parent, mtimeMs: at.parent.mtimeMs, ctimeMs: at.parent.ctimeMs });
      made[made.length - 1]!.node = allocInode(s, true, mode, now, at.parent, at.name);
      first ??= p;
    }
  } catch (e) {
    for (let i = made.length - 1; i >= 0; i--) {
      const m = made[i]!;
      m.parent.entries!.delete(m.name);
      m.parent.nlink--;
      m.parent.mtimeMs = m.mtimeMs;
      m.parent.ctimeMs = m.ctimeMs;
      s.inodes.delete(m.node.ino);
    }
    s.nextIno = nextIno;
    throw e;
  }
  return first;
}

function rmdir(s: FsState, path: string, now: number): void {
  const at = locate(s, path, 'rmdir');
  const node = at.node;
  if (at.dots === 1) throw new FsError('EINVAL', 'rmdir', path);
  if (at.dots === 2) throw new FsError('ENOTEMPTY', 'rmdir', path);
  if (node === undefined) throw new FsError('ENOENT', 'rmdir', path);
  if (!node.dir) throw new FsError('ENOTDIR', 'rmdir', path);
  if (node === s.root) throw new FsError('EBUSY', 'rmdir', path);
  if (node.entries!.size > 0) throw new FsError('ENOTEMPTY', 'rmdir', path);
  at.parent.entries!.delete(at.name);
  at.parent.nlink--;
  touch(at.parent, now);
  node.nlink = 0;
  release(s, node);
}

function unlink(s: FsState, path: string, now: number): void {
  const at = locate(s, path, 'unlink');
  const node = at.node;
  if (at.dots !== 0) throw new FsError('EISDIR', 'unlink', path);
  if (node === undefined) throw new FsError('ENOENT', 'unlink', path);
  if (node.dir) throw new FsError('EISDIR', 'unlink', path);
  if (at.trailingSlash) throw new FsError('ENOTDIR', 'unlink', path);
  at.parent.entries!.delete(at.name);
  touch(at.parent, now);
  node.nlink--;
  node.ctimeMs = now;
  release(s, node);
}

function rename(s: FsState, from: string, to: string, now: number): void {
  // Both parents are walked before either name is looked up (as Linux does):
  // a bad target path wins over a missing source.
  const src = locate(s, from, 'rename', to, from);
  const dst = locate(s, to, 'rename', to, from);
  if (src.dots !== 0 || dst.dots !== 0) throw new FsError('EBUSY', 'rename', from, to);
  const node = src.node;
  if (node === undefined) throw new FsError('ENOENT', 'rename', from, to);
  if (src.trailingSlash && !node.dir) throw new FsError('ENOTDIR', 'rename', from, to);
  if (node === s.root || dst.name === '') throw new FsError('EBUSY', 'rename', from, to);
  const old = dst.node;
  // Linux's order: a trailing '/' on a file's new name, then the subtree check, then 'same file'
  // (a no-op), then the target's type.
  if (!node.dir && dst.trailingSlash) throw new FsError('ENOTDIR', 'rename', from, to);
  if (node.dir) {
    // Moving a directory under itself would detach a cycle from the tree.
    for (let d = dst.parent; ; d = d.parent!) {
      if (d === node) throw new FsError('EINVAL', 'rename', from, to);
      if (d === s.root) break;
    }
  }
  if (old === node) return;
  if (node.dir) {
    if (old !== undefined && !old.dir) throw new FsError('ENOTDIR', 'rename', from, to);
    if (old !== undefined && old.entries!.size > 0) throw new FsError('ENOTEMPTY', 'rename', from, to);
  } else if (old !== undefined && old.dir) {
    throw new FsError('EISDIR', 'rename', from, to);
  }
  // Validated: from here on nothing throws.
  src.parent.entries!.delete(src.name);
  touch(src.parent, now);
  if (old !== undefined) {
    dst.parent.entries!.delete(dst.name);
    if (old.dir) {
      dst.parent.nlink--;
      old.nlink = 0;
    } else {
      old.nlink--;
    }
    old.ctimeMs = now;
    release(s, old);
  }
  dst.parent.entries!.set(dst.name, node);
  touch(dst.parent, now);
  node.ctimeMs = now;
  if (node.dir) {
    src.parent.nlink--;
    dst.parent.nlink++;
    node.parent = dst.parent;
  }
}

// ---- read ops ------------------------------------------------------------------

function pread(s: FsState, ino: number, buf: Uint8Array, off: number, len: number, pos: number): number {
  const node = fileByIno(s, ino, 'read');
  if (node.dir) throw new FsError('EISDIR', 'read');
  return copyOut(node, buf, off, len, pos);
}

/** A directory listing entry: name and whether it is a directory. */
export interface DirEntry {
  name: string;
  dir: boolean;
}

/** Names sorted by UTF-16 code units (the documented readdir order). */
function readdir(s: FsState, path: string): string[] {
  const node = lookup(s, path, 'scandir');
  if (!node.dir) throw new FsError('ENOTDIR', 'scandir', path);
  return [...node.entries!.keys()].sort(byName);
}

function readdirTypes(s: FsState, path: string): DirEntry[] {
  const node = lookup(s, path, 'scandir');
  if (!node.dir) throw new FsError('ENOTDIR', 'scandir', path);
  const out: DirEntry[] = [];
  for (const [name, child] of node.entries!) out.push({ name, dir: child.dir });
  return out.sort((a, b) => byName(a.name, b.name));
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function readFile(s: FsState, path: string): Uint8Array {
  const node = lookup(s, path, 'open');
  if (node.dir) throw new FsError('EISDIR', 'read');
  const out = new Uint8Array(node.size);
  copyOut(node, out, 0, node.size, 0);
  return out;
}

/** The numbers stat reports, copied out of the replica. */
export interface StatRecord {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

function record(node: Inode): StatRecord {
  return {
    ino: node.ino,
    mode: (node.dir ? S_IFDIR : S_IFREG) | node.mode,
    nlink: node.nlink,
    size: node.size,
    blocks: node.dir ? 8 : node.pages!.size * (PAGE_BYTES / 512),
    atimeMs: node.atimeMs,
    mtimeMs: node.mtimeMs,
    ctimeMs: node.ctimeMs,
    birthtimeMs: node.birthtimeMs,
  };
}

function stat(s: FsState, path: string): StatRecord {
  return record(lookup(s, path, 'stat'));
}

function fstat(s: FsState, ino: number): StatRecord {
  return record(fileByIno(s, ino, 'fstat'));
}

function exists(s: FsState, path: string): boolean {
  try {
    lookup(s, path, 'access');
    return true;
  } catch {
    return false;
  }
}

/** Bytes and inodes in use. */
function usage(s: FsState): { pages: number; inodes: number; dataBytes: number } {
  return { pages: s.usedPages, inodes: s.inodes.size, dataBytes: s.usedPages * PAGE_BYTES };
}

// ---- digest and snapshots ---------------------------------------------------------

/** A digest of names, kinds, modes, sizes, link and open counts and contents (not times). */
export function digestState(s: FsState): string {
  let h = 0x811c9dc5;
  const mix = (x: number): void => {
    h ^= x & 0xffff;
    h = Math.imul(h, 0x01000193);
    h ^= x >>> 16;
    h = Math.imul(h, 0x01000193);
  };
  const mixStr = (t: string): void => {
    for (let i = 0; i < t.length; i++) mix(t.charCodeAt(i));
    mix(0xffff);
  };
  const walk = (node: Inode, path: string): void => {
    mixStr(path);
    mix(node.dir ? 1 : 0);
    mix(node.mode);
    mix(node.nlink);
    mix(node.opens);
    mix(node.size);
    mix(Math.floor(node.size / 2 ** 32));
    if (node.dir) {
      for (const name of [...node.entries!.keys()].sort(byName)) walk(node.entries!.get(name)!, `${path}/${name}`);
      return;
    }
    const buf = new Uint8Array(PAGE_BYTES);
    for (let pos = 0; pos < node.size; pos += PAGE_BYTES) {
      const n = copyOut(node, buf, 0, PAGE_BYTES, pos);
      for (let i = 0; i < n; i++) mix(buf[i]!);
    }
  };
  walk(s.root, '');
  for (const slot of [...s.opensBySlot.keys()].sort((a, b) => a - b)) {
    mix(slot);
    const mine = s.opensBySlot.get(slot)!;
    for (const ino of [...mine.keys()].sort((a, b) => a - b)) mix(mine.get(ino)!);
  }
  mix(s.usedPages);
  mix(s.inodes.size);
  return `${s.inodes.size}:${s.usedPages}:${(h >>> 0).toString(16).padStart(8, '0')}`;
}

type InodeRecord = [
  ino: number,
  dir: boolean,
  mode: number,
  nlink: number,
  opens: number,
  size: number,
  times: [number, number, number, number],
  parent: number,
  entries: [string, number][] | null,
  pages: [number, Uint8Array][] | null,
];

function snapshot(s: FsState): Uint8Array {
  const nodes: InodeRecord[] = [];
  for (const n of s.inodes.values()) {
    nodes.push([
      n.ino,
      n.dir,
      n.mode,
      n.nlink,
      n.opens,
      n.size,
      [n.atimeMs, n.mtimeMs, n.ctimeMs, n.birthtimeMs],
      n.parent?.ino ?? 0,
      n.entries === null ? null : [...n.entries].map(([k, v]) => [k, v.ino]),
      n.pages === null ? null : [...n.pages],
    ]);
  }
  const opens = [...s.opensBySlot].map(([slot, m]) => [slot, [...m]] as const);
  return serialize({ nodes, nextIno: s.nextIno, usedPages: s.usedPages, opens });
}

function restore(bytes: Uint8Array, limits: FsLimits, payload: Uint8Array): FsState {
  const snap = deserialize(bytes) as { nodes: InodeRecord[]; nextIno: number; usedPages: number; opens: [number, [number, number][]][] };
  const inodes = new InodeTable();
  const pool = new PagePool();
  const intoPool = (pages: [number, Uint8Array][]): Map<number, Uint8Array> =>
    new Map(pages.map(([no, bytes]) => {
      const page = pool.take(true);
      page.set(bytes);
      return [no, page];
    }));
  for (const [ino, dir, mode, nlink, opens, size, [a, m, c, b], , , pages] of snap.nodes) {
    inodes.set(ino, {
      ino, dir, mode, nlink, opens, size,
      pages: pages === null ? null : pages.length === 0 ? NO_PAGES : intoPool(pages),
      entries: dir ? new Map() : null,
      parent: null,
      atimeMs: a, mtimeMs: m, ctimeMs: c, birthtimeMs: b,
    });
  }
  for (const [ino, , , , , , , parent, entries] of snap.nodes) {
    const node = inodes.get(ino)!;
    if (node.dir) node.parent = inodes.get(parent) ?? null;
    if (entries !== null) for (const [name, child] of entries) node.entries!.set(name, inodes.get(child)!);
  }
  const opensBySlot = new Map(snap.opens.map(([slot, m]) => [slot, new Map(m)]));
  return { root: inodes.get(ROOT_INO)!, inodes, nextIno: snap.nextIno, usedPages: snap.usedPages, opensBySlot, limits, payload, pool };
}

// ---- codecs ----------------------------------------------------------------------

const openArgs: [string, number, number, number, number] = ['', 0, 0, 0, 0];
const inoSlotArgs: [number, number] = [0, 0];
const slotArgs: [number] = [0];
const pwriteArgs: [number, number, boolean, number, Uint8Array | null, number, number] = [0, 0, false, 0, null, 0, 0];
const pathNowArgs: [string, number] = ['', 0];
const pathLenNowArgs: [string, number, number] = ['', 0, 0];
const inoLenNowArgs: [number, number, number] = [0, 0, 0];
const mkdirArgs: [string, number, boolean, number] = ['', 0, false, 0];
const renameArgs: [string, string, number] = ['', '', 0];
const writeFileArgs: [string, number, number, number, Uint8Array | null, number, number] = ['', 0, 0, 0, null, 0, 0];

/** Inline data travels after the fixed fields; out-of-line data as its payload offset (ref >= 0). */
function writeData(w: OpWriter, data: Uint8Array | null, ref: number, len: number): void {
  w.i32(ref);
  w.u32(len);
  if (ref < 0) w.copyFrom(data!, 0, len);
}
function readData(r: OpReader, out: [...unknown[]], at: number): void {
  const ref = r.i32();
  const len = r.u32();
  out[at + 1] = ref;
  out[at + 2] = len;
  if (ref < 0) {
    // A view of the log, valid until this apply returns: the apply copies it into pages.
    out[at] = r.bytes.subarray(r.pos, r.pos + len);
    r.pos += len;
  } else {
    out[at] = null;
  }
}

export interface FsConfig extends FsLimits {
  /** The shared payload area for large writes. */
  payload: SharedArrayBuffer;
}

/** The NrFS structure for one file system (its limits and payload area are bound into create/restore). */
export function fsStructure(config: FsConfig) {
  const limits: FsLimits = { maxPages: config.maxPages, maxInodes: config.maxInodes };
  const payload = new Uint8Array(config.payload);
  return defineStructure({
    name: 'nrfs',
    version: 1,
    create: (): FsState => emptyState(limits, payload),
    reads: { pread, stat, fstat, readdir, readdirTypes, readFile, exists, usage },
    writes: { open, close, closeAllOf, pwrite, truncate, ftruncate, writeFile, mkdir, rmdir, unlink, rename },
    codecs: {
      open: {
        encode(w, path, flags, mode, now, slot) {
          w.str(path);
          w.u32(flags);
          w.u32(mode);
          w.f64(now);
          w.u8(slot);
        },
        decode(r) {
          openArgs[0] = r.str();
          openArgs[1] = r.u32();
          openArgs[2] = r.u32();
          openArgs[3] = r.f64();
          openArgs[4] = r.u8();
          return openArgs;
        },
      },
      close: {
        encode(w, ino, slot) {
          w.f64(ino);
          w.u8(slot);
        },
        decode(r) {
          inoSlotArgs[0] = r.f64();
          inoSlotArgs[1] = r.u8();
          return inoSlotArgs;
        },
      },
      closeAllOf: {
        encode: (w, slot) => w.u8(slot),
        decode(r) {
          slotArgs[0] = r.u8();
          return slotArgs;
        },
      },
      pwrite: {
        encode(w, ino, pos, append, now, data, ref, len) {
          w.f64(ino);
          w.f64(pos);
          w.u8(append ? 1 : 0);
          w.f64(now);
          writeData(w, data, ref, len);
        },
        decode(r) {
          pwriteArgs[0] = r.f64();
          pwriteArgs[1] = r.f64();
          pwriteArgs[2] = r.u8() === 1;
          pwriteArgs[3] = r.f64();
          readData(r, pwriteArgs, 4);
          return pwriteArgs;
        },
      },
      truncate: {
        encode(w, path, len, now) {
          w.str(path);
          w.f64(len);
          w.f64(now);
        },
        decode(r) {
          pathLenNowArgs[0] = r.str();
          pathLenNowArgs[1] = r.f64();
          pathLenNowArgs[2] = r.f64();
          return pathLenNowArgs;
        },
      },
      ftruncate: {
        encode(w, ino, len, now) {
          w.f64(ino);
          w.f64(len);
          w.f64(now);
        },
        decode(r) {
          inoLenNowArgs[0] = r.f64();
          inoLenNowArgs[1] = r.f64();
          inoLenNowArgs[2] = r.f64();
          return inoLenNowArgs;
        },
      },
      writeFile: {
        encode(w, path, flags, mode, now, data, ref, len) {
          w.str(path);
          w.u32(flags);
          w.u32(mode);
          w.f64(now);
          writeData(w, data, ref, len);
        },
        decode(r) {
          writeFileArgs[0] = r.str();
          writeFileArgs[1] = r.u32();
          writeFileArgs[2] = r.u32();
          writeFileArgs[3] = r.f64();
          readData(r, writeFileArgs, 4);
          return writeFileArgs;
        },
      },
      mkdir: {
        encode(w, path, mode, recursive, now) {
          w.str(path);
          w.u32(mode);
          w.u8(recursive ? 1 : 0);
          w.f64(now);
        },
        decode(r) {
          mkdirArgs[0] = r.str();
          mkdirArgs[1] = r.u32();
          mkdirArgs[2] = r.u8() === 1;
          mkdirArgs[3] = r.f64();
          return mkdirArgs;
        },
      },
      rmdir: pathNowCodec(),
      unlink: pathNowCodec(),
      rename: {
        encode(w, from, to, now) {
          w.str(from);
          w.str(to);
          w.f64(now);
        },
        decode(r) {
          renameArgs[0] = r.str();
          renameArgs[1] = r.str();
          renameArgs[2] = r.f64();
          return renameArgs;
        },
      },
    },
    digest: digestState,
    snapshot,
    restore: (bytes: Uint8Array) => restore(bytes, limits, payload),
  });
}

function pathNowCodec() {
  return {
    encode(w: OpWriter, path: string, now: number) {
      w.str(path);
      w.f64(now);
    },
    decode(r: OpReader): [string, number] {
      pathNowArgs[0] = r.str();
      pathNowArgs[1] = r.f64();
      return pathNowArgs;
    },
  };
}

export type FsStructure = ReturnType<typeof fsStructure>;
