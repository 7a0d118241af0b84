/**
 * File data in shared pages: page tables, installs, reads, resizes and
 * freeing an inode.
 *
 * A file's page table maps page numbers to refs of pages in the shared pool
 * (pages/pool.ts). Pages are immutable once an entry installed them: a
 * write installs fresh pages its issuer filled (merging a partial page with
 * the page it replaces, read on the issuer's replica), and states which
 * pages it merged with (`expFirst`, `expLast`); an apply whose table no
 * longer names those pages is a conflict, changes nothing, and the issuer
 * redoes the merge (see NrFs). Invariant: the bytes of a page past the
 * file's size are zero, so a file that grows reads zeros there.
 */
import { FailStopError } from '../../nr/index.js';
import { FsError } from '../errors.js';
import { copyBytes, FREE, genOf, genOfRef, indexOfRef, LIVE, stOf, TAKEN, word } from '../pages/pool.js';
import { changed, type FsState, type Inode, NO_PAGES, O_APPEND, O_TRUNC, PAGE_BYTES, newInode } from './inode.js';
import { PageTable } from './page-table.js';

/** An edge page that was a hole when the issuer merged. */
export const HOLE = -1;
/** An edge that needs no merge (the write covers the whole page). */
export const WHOLE = -2;
/** The result of a write whose merge no longer matches the file (nothing changed): the issuer retries. */
export const CONFLICT = -1;

export function refAt(node: Inode, p: number): number {
  return node.pages!.get(p) ?? HOLE;
}

/** Pages that a write of `len` bytes at `at` spans. */
export function pagesSpanned(at: number, len: number): number {
  return len === 0 ? 0 : Math.floor((at + len - 1) / PAGE_BYTES) - Math.floor(at / PAGE_BYTES) + 1;
}

/** What the first and last page of a write at `at` merge with: WHOLE, HOLE or the page's ref. */
export function edgeRef(node: Inode | undefined, at: number, len: number, last: boolean): number {
  const p = Math.floor((last ? at + len - 1 : at) / PAGE_BYTES);
  if (at <= p * PAGE_BYTES && at + len >= (p + 1) * PAGE_BYTES) return WHOLE;
  return node === undefined || node.pages === null ? HOLE : refAt(node, p);
}

/**
 * Where a data write lands in `node` (undefined: no such file), as its
 * issuer lays it out: through an fd (`byFd`) at `pos`, or at the end with
 * O_APPEND; by path (writeFile) at 0, or at the end with O_APPEND and not
 * O_TRUNC. The apply checks the same (a different end is a CONFLICT).
 */
export function placeWrite(node: Inode | undefined, byFd: boolean, flags: number, pos: number): number {
  const append = (flags & O_APPEND) !== 0;
  if (byFd) return append && node !== undefined ? node.size : pos;
  return node === undefined || node.dir || (flags & O_TRUNC) !== 0 || !append ? 0 : node.size;
}

/** Does the file still hold the pages the issuer merged with? */
export function edgesMatch(node: Inode | undefined, at: number, len: number, expFirst: number, expLast: number): boolean {
  return edgeRef(node, at, len, false) === expFirst && edgeRef(node, at, len, true) === expLast;
}

/** Pages that a write of `len` bytes at `at` would add. */
export function newPagesFor(node: Inode, at: number, len: number): number {
  if (len === 0) return 0;
  const pages = node.pages!;
  const first = Math.floor(at / PAGE_BYTES);
  const last = Math.floor((at + len - 1) / PAGE_BYTES);
  let missing = 0;
  for (let p = first; p <= last; p++) if (!pages.has(p)) missing++;
  return missing;
}

/**
 * Refs read from a log entry name pages of the pool taken for this write.
 * Out of the pool, or naming a page that was never taken in that
 * generation, is a forged entry: fail-stop (a stale replica, which may see
 * a page reused under it, is let through: it recovers before it serves).
 */
export function checkRefs(s: FsState, refs: readonly number[], n: number, syscall: string): void {
  if (refs.length !== n) throw new FailStopError(`NrFS ${syscall}: the log entry names ${refs.length} pages for a ${n}-page write`);
  const pool = s.store.pool;
  const words = checked;
  for (let k = 0; k < n; k++) {
    const ref = refs[k]!;
    const i = indexOfRef(ref);
    if (!Number.isSafeInteger(ref) || ref < 0 || i >= pool.pages) throw new FailStopError(`NrFS ${syscall}: page ref ${ref} is outside the ${pool.pages}-page pool`);
    const w = pool.state(i);
    if (k < words.length) words[k] = w;
    else words.push(w);
    if ((genOf(w) !== genOfRef(ref) || stOf(w) === FREE) && s.store.current()) {
      throw new FailStopError(`NrFS ${syscall}: page ref ${ref} names page ${i} in generation ${genOfRef(ref)}, which no writer took (its word is ${w >>> 0})`);
    }
  }
}

/**
 * The STATE word checkRefs read for each ref it checked (reused): the
 * install that follows starts its CAS from it instead of loading the word
 * again (an `Atomics.load` per page per replica). A word that moved since
 * (another replica installed the page first) fails the CAS, as a fresh
 * load would have been followed by a failing one.
 */
const checked: number[] = [];

/** Put `ref` at page `p` (the `k`-th ref checkRefs just checked): the page it replaces is retired, a new one counted. */
function install(s: FsState, pages: PageTable, p: number, ref: number, k: number): void {
  const old = pages.swap(p, ref);
  const pool = s.store.pool;
  const i = indexOfRef(ref);
  const gen = genOfRef(ref);
  const w = checked[k]!;
  // The first replica to apply the entry marks the page LIVE (from then on no sweep takes it).
  if (stOf(w) === TAKEN && genOf(w) === gen) pool.cas(i, w, word(gen, 0, LIVE));
  if (old === undefined) s.usedPages++;
  else s.store.holder.retire(old);
}

/** Install the pages `refs` (checked by the last checkRefs) for a write of `len` bytes at `at`. */
export function installRun(s: FsState, node: Inode, at: number, len: number, refs: readonly number[]): void {
  if (len === 0) return;
  let pages = node.pages!;
  if (pages === NO_PAGES) node.pages = pages = new PageTable();
  const first = Math.floor(at / PAGE_BYTES);
  const n = pagesSpanned(at, len);
  for (let k = 0; k < n; k++) install(s, pages, first + k, refs[k]!, k);
  if (at + len > node.size) node.size = at + len;
}

/** Copy up to `len` bytes from `pos` into `buf[off..]`; holes read as zeros. Returns bytes read. */
export function copyOut(s: FsState, node: Inode, buf: Uint8Array, off: number, len: number, pos: number): number {
  const avail = node.size - pos;
  if (avail <= 0 || len <= 0) return 0;
  const total = len < avail ? len : avail;
  const pages = node.pages!;
  const pool = s.store.pool;
  let done = 0;
  while (done < total) {
    const at = pos + done;
    const pageNo = Math.floor(at / PAGE_BYTES);
    const inPage = at - pageNo * PAGE_BYTES;
    const n = Math.min(PAGE_BYTES - inPage, total - done);
    const ref = pages.get(pageNo);
    if (ref === undefined) buf.fill(0, off + done, off + done + n);
    else if (n === PAGE_BYTES) copyBytes(buf, pool.page(indexOfRef(ref)), off + done);
    else {
      const from = indexOfRef(ref) * PAGE_BYTES + inPage;
      copyBytes(buf, pool.bytes.subarray(from, from + n), off + done);
    }
    done += n;
  }
  return total;
}

/**
 * Set the size; a shrink retires the pages past the end and, when the new
 * end is inside a page, installs `tailRef`: that page with its bytes past
 * the end zeroed (the issuer made it; `needsTail` says when one is needed).
 */
export function setSize(s: FsState, node: Inode, len: number, tailRef = HOLE): void {
  if (len < node.size) {
    const pages = node.pages!;
    const keep = Math.ceil(len / PAGE_BYTES);
    for (const [p, ref] of pages.entries()) {
      if (p >= keep) {
        s.store.holder.retire(ref);
        pages.delete(p);
        s.usedPages--;
      }
    }
    // tailRef is the one ref the resize checked.
    if (tailRef !== HOLE) install(s, pages, keep - 1, tailRef, 0);
  }
  node.size = len;
}

/** The page a shrink to `len` must rewrite (its ref), or HOLE when none: the new end is on a page boundary, past the end, or in a hole. */
export function tailToRewrite(node: Inode, len: number): number {
  if (len >= node.size || len % PAGE_BYTES === 0 || node.pages === null) return HOLE;
  return refAt(node, Math.floor(len / PAGE_BYTES));
}

/**
 * A name of `node` went (unlink, rmdir, rename over it). If that was its
 * last, it is freed when its issuer found it open nowhere (`freeIno` is
 * this inode, and no logged open handed out an fd on it after the issuer's
 * replica stamp `seenPin`), else kept as an orphan until a `reap`. The
 * decision is in the op's arguments, so every replica takes the same one.
 * Returns the inode number when it became an orphan, else 0.
 */
export function unlinked(s: FsState, node: Inode, freeIno: number, seenPin: number): number {
  if (node.nlink > 0) return 0;
  if (node.ino === freeIno && node.pinSeq <= seenPin) {
    freeInode(s, node);
    return 0;
  }
  s.orphans.add(node.ino);
  return node.ino;
}

/** Free an inode that has no name left: its pages are retired, its number is gone. */
export function freeInode(s: FsState, node: Inode): void {
  if (node.pages !== null && node.pages !== NO_PAGES) {
    s.usedPages -= node.pages.size;
    for (const [, ref] of node.pages.entries()) s.store.holder.retire(ref);
    node.pages.clear();
  }
  s.inodes.delete(node.ino);
}

export function touch(node: Inode, now: number): void {
  node.mtimeMs = now;
  node.ctimeMs = now;
}

export function checkInodeRoom(s: FsState, n: number, syscall: string, path: string): void {
  if (s.inodes.size + n > s.limits.maxInodes) throw new FsError('ENOSPC', syscall, path);
}

export function allocInode(s: FsState, dir: boolean, mode: number, now: number, parent: Inode, name: string, uid = 0, gid = 0, link: string | null = null): Inode {
  const node = newInode(s.nextIno++, dir, mode, now, dir ? parent : null, uid, gid, link);
  s.inodes.set(node.ino, node);
  parent.entries!.set(name, node);
  if (dir) parent.nlink++;
  touch(parent, now);
  changed(s, parent, 'rename', name);
  return node;
}
