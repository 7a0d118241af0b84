/** Write ops on names: mkdir, rmdir, unlink, rename, symlink, link. */
import { FsError } from '../errors.js';
import { allocInode, checkInodeRoom, touch, unlinked } from './data.js';
import { changed, type FsState, type Inode, SELF_ONLY } from './inode.js';
import { type Located, locate, lookup, need } from './walk.js';

export function mkdir(s: FsState, path: string, mode: number, recursive: boolean, now: number, uid: number, gid: number): string | undefined {
  if (!recursive) {
    const at = locate(s, path, 'mkdir');
    if (at.node !== undefined) throw new FsError('EEXIST', 'mkdir', path);
    need(at.parent, uid, gid, 3, 'mkdir', path);
    checkInodeRoom(s, 1, 'mkdir', path);
    allocInode(s, true, mode, now, at.parent, at.name, uid, gid);
    return undefined;
  }
  return mkdirp(s, path, mode, now, uid, gid);
}

/**
 * Recursive mkdir as node:fs does it: try the path; on ENOENT make its
 * dirname (cut at the last '/') first, then retry. So '..' and '.' are
 * walked, not resolved lexically, and the result is the first directory
 * created, spelled as in the argument. All or nothing: on an error the
 * directories made so far are taken out again, restoring the state exactly.
 */
export function mkdirp(s: FsState, path: string, mode: number, now: number, uid: number, gid: number): string | undefined {
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
      if (at.node !== undefined && at.node.link !== null) {
        // An existing name that is a symbolic link: node:fs stats it (following it).
        // node's mkdir gets EEXIST, then stats the name: its stat's error (ENOENT for a dangling
        // link, ENOTDIR for a link to 'file/') is what it reports.
        let target: Inode;
        try {
          target = lookup(s, p, 'mkdir');
        } catch (e) {
          if (e instanceof FsError) throw new FsError(e.code, 'mkdir', path);
          throw e;
        }
        if (target.dir) continue;
        throw new FsError(p === path ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
      }
      if (at.node !== undefined) {
        // node:fs stats an existing name: a file is EEXIST, unless the path goes through it ('file/').
        if (!at.node.dir) throw new FsError(p === path && !at.trailingSlash ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
        continue;
      }
      need(at.parent, uid, gid, 3, 'mkdir', path);
      checkInodeRoom(s, 1, 'mkdir', path);
      made.push({ parent: at.parent, name: at.name, node: at.parent, mtimeMs: at.parent.mtimeMs, ctimeMs: at.parent.ctimeMs });
      made[made.length - 1]!.node = allocInode(s, true, mode, now, at.parent, at.name, uid, gid);
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

/**
 * The ops that remove a name (rmdir, unlink, rename over a target) take
 * their issuer's decision for the inode that may lose its last name:
 * `freeIno` (free it if it is this inode; 0: keep it as an orphan) and
 * `seenPin` (see `unlinked`); they return the orphan's number, or 0.
 */
export function rmdir(s: FsState, path: string, now: number, uid: number, gid: number, freeIno: number, seenPin: number): number {
  const at = locate(s, path, 'rmdir');
  const node = at.node;
  if (at.dots === 1) throw new FsError('EINVAL', 'rmdir', path);
  if (at.dots === 2) throw new FsError('ENOTEMPTY', 'rmdir', path);
  if (node === undefined) throw new FsError('ENOENT', 'rmdir', path);
  if (!node.dir) throw new FsError('ENOTDIR', 'rmdir', path);
  if (node === s.root) throw new FsError('EBUSY', 'rmdir', path);
  if (node.entries!.size > 0) throw new FsError('ENOTEMPTY', 'rmdir', path);
  need(at.parent, uid, gid, 3, 'rmdir', path);
  at.parent.entries!.delete(at.name);
  at.parent.nlink--;
  touch(at.parent, now);
  node.nlink = 0;
  changed(s, at.parent, 'rename', at.name);
  gone(s, node);
  return unlinked(s, node, freeIno, seenPin);
}

/**
 * An inode's last name went: its own watchers get what node reports from inotify, a 'rename' for
 * IN_DELETE_SELF and another for the IN_IGNORED that ends the watch (libuv maps both to rename).
 */
function gone(s: FsState, node: Inode): void {
  changed(s, node, 'rename');
  changed(s, node, 'rename');
}

export function unlink(s: FsState, path: string, now: number, uid: number, gid: number, freeIno: number, seenPin: number): number {
  const at = locate(s, path, 'unlink');
  const node = at.node;
  if (at.dots !== 0) throw new FsError('EISDIR', 'unlink', path);
  if (node === undefined) throw new FsError('ENOENT', 'unlink', path);
  if (node.dir) throw new FsError('EISDIR', 'unlink', path);
  if (at.trailingSlash) throw new FsError('ENOTDIR', 'unlink', path);
  need(at.parent, uid, gid, 3, 'unlink', path);
  at.parent.entries!.delete(at.name);
  touch(at.parent, now);
  node.nlink--;
  node.ctimeMs = now;
  // As inotify, in its order: the link count is an attribute change of the file (IN_ATTRIB) that only the
  // file's own watchers see (SELF_ONLY: not its directory's); with no name left the file goes; then the
  // directory's entry.
  changed(s, node, 'change', SELF_ONLY);
  if (node.nlink === 0) gone(s, node);
  changed(s, at.parent, 'rename', at.name);
  return unlinked(s, node, freeIno, seenPin);
}

export function rename(s: FsState, from: string, to: string, now: number, uid: number, gid: number, freeIno: number, seenPin: number): number {
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
  if (old === node) return 0;
  need(src.parent, uid, gid, 3, 'rename', from, to);
  need(dst.parent, uid, gid, 3, 'rename', from, to);
  if (node.dir) {
    if (old !== undefined && !old.dir) throw new FsError('ENOTDIR', 'rename', from, to);
    if (old !== undefined && old.entries!.size > 0) throw new FsError('ENOTEMPTY', 'rename', from, to);
  } else if (old !== undefined && old.dir) {
    throw new FsError('EISDIR', 'rename', from, to);
  }
  // Validated: from here on nothing throws.
  let orphan = 0;
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
    orphan = unlinked(s, old, freeIno, seenPin);
  }
  dst.parent.entries!.set(dst.name, node);
  touch(dst.parent, now);
  node.ctimeMs = now;
  changed(s, src.parent, 'rename', src.name);
  changed(s, dst.parent, 'rename', dst.name);
  changed(s, node, 'rename');
  // The replaced file, after the names (inotify's order): its link count (IN_ATTRIB), then gone with its last name.
  if (old !== undefined) {
    if (!old.dir) changed(s, old, 'change', SELF_ONLY);
    if (old.nlink === 0) gone(s, old);
  }
  if (node.dir) {
    src.parent.nlink--;
    dst.parent.nlink++;
    node.parent = dst.parent;
  }
  return orphan;
}

/** symlink(2): a new name holding `target` (any string, not resolved now). */
export function symlink(s: FsState, target: string, path: string, now: number, uid: number, gid: number): void {
  const at = locate(s, path, 'symlink', path, target);
  if (at.node !== undefined || at.dots !== 0) throw new FsError('EEXIST', 'symlink', target, path);
  if (at.trailingSlash) throw new FsError('ENOENT', 'symlink', target, path);
  need(at.parent, uid, gid, 3, 'symlink', target, path);
  checkInodeRoom(s, 1, 'symlink', path);
  allocInode(s, false, 0o777, now, at.parent, at.name, uid, gid, target);
}

/** link(2): a second name for a file (or a symbolic link, not followed); directories are EPERM. */
export function link(s: FsState, existing: string, path: string, now: number, uid: number, gid: number): void {
  // The existing name is looked up (a trailing '/' follows a link), the new one is made.
  const src = locate(s, existing, 'link', path, existing, false, true);
  const node = src.node;
  if (node === undefined) throw new FsError('ENOENT', 'link', existing, path);
  if (src.trailingSlash && !node.dir) throw new FsError('ENOTDIR', 'link', existing, path);
  const dst = locate(s, path, 'link', path, existing);
  // Linux's order: the new name is made ready (EEXIST, or ENOENT through a trailing '/') before the source is refused.
  if (dst.node !== undefined || dst.dots !== 0) throw new FsError('EEXIST', 'link', existing, path);
  if (dst.trailingSlash) throw new FsError('ENOENT', 'link', existing, path);
  if (node.dir) throw new FsError('EPERM', 'link', existing, path);
  need(dst.parent, uid, gid, 3, 'link', existing, path);
  dst.parent.entries!.set(dst.name, node);
  touch(dst.parent, now);
  node.nlink++;
  node.ctimeMs = now;
  changed(s, dst.parent, 'rename', dst.name);
  changed(s, node, 'change');
}
