/** Path walking at apply time: directories, '.', '..' and symbolic links. */
import { FsError } from '../errors.js';
import { NAME_MAX } from '../paths.js';
import { type FsState, type Inode, MAX_SYMLINKS } from './inode.js';


export interface Located {
  parent: Inode;
  /** The last name, or '' for the root. */
  name: string;
  /** The inode at the path, if any. */
  node: Inode | undefined;
  trailingSlash: boolean;
  /** The last name is '.' or '..' (0: neither, 1: '.', 2: '..'): no entry to create, remove or rename. */
  dots: number;
}

/** Symbolic links followed so far in the current resolution (apply is single-threaded per replica). */
let linksFollowed = 0;

/**
 * When set, every directory walked through must grant search (x) to this
 * user: only for the permission checks of threads that are not root
 * (`permit` in reads.ts); apply never sets it.
 */
let searchAs: { uid: number; gid: number } | null = null;

export function withSearchAs<T>(who: { uid: number; gid: number }, fn: () => T): T {
  searchAs = who;
  try {
    return fn();
  } finally {
    searchAs = null;
  }
}

/**
 * Run an op's walks as `uid`/`gid`: search permission on every directory
 * walked (root: no checks at all). The ids are op arguments, the same on
 * every replica, so every replica refuses or applies alike.
 */
export function asUser<T>(uid: number, gid: number, fn: () => T): T {
  return uid === 0 ? fn() : withSearchAs({ uid, gid }, fn);
}

/** EACCES unless `node` grants `want` to the user (root is let through by the caller's uid test). */
export function need(node: Inode, uid: number, gid: number, want: number, syscall: string, path: string, dest?: string): void {
  if (uid !== 0 && !grants(node, uid, gid, want)) throw new FsError('EACCES', syscall, path, dest);
}

/** Does `node` grant `want` (4 r, 2 w, 1 x) to this user? Root gets r and w always, x if any x bit is set or on directories. */
export function grants(node: Inode, uid: number, gid: number, want: number): boolean {
  if (uid === 0) return (want & 1) === 0 || node.dir || (node.mode & 0o111) !== 0;
  const bits = node.uid === uid ? (node.mode >> 6) & 7 : node.gid === gid ? (node.mode >> 3) & 7 : node.mode & 7;
  return (bits & want) === want;
}

/**
 * Walk to the parent of `path`; throws ENOENT/ENOTDIR for a missing or
 * non-directory component, ELOOP past 40 symbolic links. Symbolic links are
 * followed in every component but the last, and in the last one too with
 * `follow` (or a trailing '/'). Walks the string in place (no split, no
 * arrays): path ops are the hot part of create and rename workloads.
 */
export function locate(s: FsState, path: string, syscall: string, dest?: string, errPath = path, follow = false, slashFollows = false, create = false): Located {
  linksFollowed = 0;
  return walk(s, s.root, path, follow, syscall, dest, errPath, slashFollows, create);
}

/**
 * `create`: the walk of an open with O_CREAT, where a last name with a
 * trailing '/' (in the path, or in the body of a last link followed) stops
 * the walk there, unfollowed, so the open fails with EISDIR as on Linux.
 */
function walk(s: FsState, start: Inode, path: string, follow: boolean, syscall: string, dest: string | undefined, errPath: string, slashFollows = true, create = false): Located {
  const absolute = path.charCodeAt(0) === 47;
  let dir = absolute ? s.root : start;
  let name = '';
  let named = false;
  const n = path.length;
  let i = absolute ? 1 : 0;
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
      if (searchAs !== null && !grants(dir, searchAs.uid, searchAs.gid, 1)) throw new FsError('EACCES', syscall, errPath, dest);
      let next: Inode | undefined;
      if (name === '..') next = dir.parent!;
      else if (name === '.') next = dir;
      else {
        next = dir.entries!.get(name);
        if (next === undefined) throw new FsError(tooLong(name) ? 'ENAMETOOLONG' : 'ENOENT', syscall, errPath, dest);
        if (next.link !== null) next = throughLink(s, dir, next.link, syscall, dest, errPath);
        else if (!next.dir) throw new FsError('ENOTDIR', syscall, errPath, dest);
      }
      dir = next;
    }
    name = part;
    named = true;
  }
  const last = path.charCodeAt(n - 1);
  const trailingSlash = n > 1 && last === 47;
  if (!named) return { parent: dir === s.root ? s.root : dir.parent!, name: dir === s.root ? '' : nameIn(dir.parent!, dir), node: dir, trailingSlash, dots: 0 };
  if (searchAs !== null && !grants(dir, searchAs.uid, searchAs.gid, 1)) throw new FsError('EACCES', syscall, errPath, dest);
  if (name === '.' || name === '..') {
    const node = name === '.' ? dir : dir.parent!;
    const dots = name === '.' ? 1 : 2;
    if (node === s.root) return { parent: s.root, name: '', node: s.root, trailingSlash: true, dots };
    return { parent: node.parent!, name: nameIn(node.parent!, node), node, trailingSlash: true, dots };
  }
  const node = dir.entries!.get(name);
  if (node === undefined && tooLong(name)) throw new FsError('ENAMETOOLONG', syscall, errPath, dest);
  // A trailing '/' follows a last link in lookups (stat, open...), not in the ops that make or remove
  // the name itself (mkdir, symlink, link, rename, unlink, rmdir), as Linux's path walk does.
  if (node !== undefined && node.link !== null && (follow || (trailingSlash && slashFollows)) && !(create && trailingSlash)) {
    if (++linksFollowed > MAX_SYMLINKS) throw new FsError('ELOOP', syscall, errPath, dest);
    const target = walk(s, dir, node.link, true, syscall, dest, errPath, true, create);
    if (trailingSlash) target.trailingSlash = true;
    return target;
  }
  return { parent: dir, name, node, trailingSlash, dots: 0 };
}

/**
 * A name no directory can hold (over NAME_MAX bytes). The call site checks
 * the paths it is given; a symbolic link's target is checked only for its
 * length (as symlink(2)), so its names meet this when followed: a miss on
 * such a name is ENAMETOOLONG, as tmpfs's lookup gives.
 */
function tooLong(name: string): boolean {
  return name.length > NAME_MAX / 3 && Buffer.byteLength(name) > NAME_MAX;
}

/** The directory a symbolic link in the middle of a path leads to. */
function throughLink(s: FsState, dir: Inode, link: string, syscall: string, dest: string | undefined, errPath: string): Inode {
  if (++linksFollowed > MAX_SYMLINKS) throw new FsError('ELOOP', syscall, errPath, dest);
  const target = walk(s, dir, link, true, syscall, dest, errPath);
  if (target.node === undefined) throw new FsError('ENOENT', syscall, errPath, dest);
  if (!target.node.dir) throw new FsError('ENOTDIR', syscall, errPath, dest);
  return target.node;
}

/** The name under which `parent` holds `child` (directories only; rare path). */
export function nameIn(parent: Inode, child: Inode): string {
  for (const [k, v] of parent.entries!) if (v === child) return k;
  return '';
}

/** The inode at `path` (a symbolic link itself only without `follow`), or a thrown ENOENT/ENOTDIR/ELOOP. */
export function lookup(s: FsState, path: string, syscall: string, follow = true): Inode {
  const at = locate(s, path, syscall, undefined, path, follow, true);
  if (at.node === undefined) throw new FsError('ENOENT', syscall, path);
  if (at.trailingSlash && !at.node.dir) throw new FsError('ENOTDIR', syscall, path);
  return at.node;
}

export function fileByIno(s: FsState, ino: number, syscall: string): Inode {
  const node = s.inodes.get(ino);
  if (node === undefined) throw new FsError('EBADF', syscall);
  return node;
}
