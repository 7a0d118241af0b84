/**
 * Permission checks of a thread that is not root (uid != 0) for its reads
 * (stat, readFile, readdir, readlink, realpath, exists), on its own replica:
 * writes are checked inside their apply, where the op's uid and gid are
 * arguments (see docs/fs.md, Permissions). Root skips them (the callers
 * test `uid !== 0` first, so root pays nothing).
 */
import { FsError } from './errors.js';
import type { FsReplica } from './handle.js';

export class AccessCheck {
  constructor(
    private readonly reads: FsReplica['reads'],
    readonly uid: number,
    readonly gid: number,
  ) {}

  /**
   * Permission check of a thread that is not root, on its own replica just
   * before it logs the op: an op another thread logs in between (a chmod)
   * is not seen by this check (see docs/fs.md, Permissions).
   */
  permit(p: string, syscall: string, want: number, where: number, follow: boolean, dest?: string, errPath?: string): void {
    try {
      this.reads.permit(p, syscall, this.uid, this.gid, want, where, follow);
    } catch (e) {
      if (e instanceof FsError && (dest !== undefined || errPath !== undefined)) throw new FsError(e.code, syscall, errPath ?? p, dest);
      throw e;
    }
  }
}
