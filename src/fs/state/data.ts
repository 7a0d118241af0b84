/** File data in pages: writes, reads, resizes and freeing an inode. */
import { FsError } from '../errors.js';
import { changed, type FsState, type Inode, NO_PAGES, PAGE_BYTES, newInode } from './inode.js';


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

/** Copy `src` into the file at `at`; capacity was checked by the caller. */
export function copyIn(s: FsState, node: Inode, at: number, src: Uint8Array): void {
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

export function setSize(s: FsState, node: Inode, len: number): void {
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
export function release(s: FsState, node: Inode): void {
  if (node.nlink > 0 || node.opens > 0) return;
  if (node.pages !== null && node.pages !== NO_PAGES) {
    s.usedPages -= node.pages.size;
    for (const page of node.pages.values()) s.pool.give(page);
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

export function payloadOf(s: FsState, data: Uint8Array | null, ref: number, len: number): Uint8Array {
  return data ?? s.payload.subarray(ref, ref + len);
}
