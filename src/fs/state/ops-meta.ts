/** The write op on inode attributes: chmod, chown, utimes and their f/l forms, as one `setattr`. */
import { FsError } from '../errors.js';
import { changed, type FsState, type Inode } from './inode.js';
import { fileByIno, lookup } from './walk.js';

/** Which attributes a setattr changes. */
export const SET_MODE = 1;
export const SET_OWNER = 2;
export const SET_TIMES = 4;

const SYSCALL: Record<number, string> = { [SET_MODE]: 'chmod', [SET_OWNER]: 'chown', [SET_TIMES]: 'utime' };

/**
 * Change attributes of the inode at `path` (following a last symbolic link
 * with `follow`) or, with `path` '', of inode `ino`. A uid or gid of -1
 * leaves it unchanged (as chown(2)). Sets ctime to `now`.
 */
export function setattr(
  s: FsState, path: string, ino: number, follow: boolean, what: number,
  mode: number, uid: number, gid: number, atimeMs: number, mtimeMs: number, now: number,
  byUid: number, byGid: number,
): void {
  const syscall = (path === '' ? 'f' : follow ? '' : 'l') + (SYSCALL[what] ?? 'setattr');
  const node: Inode = path === '' ? fileByIno(s, ino, syscall) : lookup(s, path, syscall, follow);
  if (path === '' && ino < 0) throw new FsError('EBADF', syscall);
  // As Linux for a caller that is not root: only the owner changes modes and times, and an owner may
  // only give the file to its own group (EPERM otherwise).
  if (byUid !== 0) {
    const p = path === '' ? undefined : path;
    if (node.uid !== byUid) throw new FsError('EPERM', syscall, p);
    if ((what & SET_OWNER) !== 0 && ((uid !== -1 && uid !== byUid) || (gid !== -1 && gid !== byGid))) throw new FsError('EPERM', syscall, p);
  }
  if ((what & SET_MODE) !== 0) node.mode = mode & 0o7777;
  if ((what & SET_OWNER) !== 0) {
    if (uid !== -1) node.uid = uid;
    if (gid !== -1) node.gid = gid;
  }
  if ((what & SET_TIMES) !== 0) {
    node.atimeMs = atimeMs;
    node.mtimeMs = mtimeMs;
  }
  node.ctimeMs = now;
  changed(s, node, 'change');
}
