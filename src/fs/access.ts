/**
 * Permission checks of a thread that is not root (uid != 0), made on its own
 * replica just before it logs an op: an op another thread logs in between
 * (a chmod) is not seen by the check (see docs/fs.md, Permissions). Root
 * skips them (the callers test `uid !== 0` first, so root pays nothing).
 */
import { FsError } from './errors.js';
import type { FsReplica } from './handle.js';
import { FsArgumentError } from './paths.js';
import { ON_TARGET } from './state.js';

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

  owner(p: string, syscall: string, follow: boolean): void {
    if (this.uid === 0) return;
    this.permit(p, syscall, 0, ON_TARGET, follow);
    const owner = follow ? this.reads.stat(p).uid : this.reads.lstat(p).uid;
    if (owner !== this.uid) throw new FsError('EPERM', syscall, p);
  }

  fdOwner(ino: number, syscall: string): void {
    if (this.uid !== 0 && this.reads.fstat(ino).uid !== this.uid) throw new FsError('EPERM', syscall);
  }

  chown(uid: number, gid: number, syscall: string, p: string | undefined, ownerOf: () => number): void {
    for (const [v, name] of [[uid, 'uid'], [gid, 'gid']] as const) {
      if (!Number.isInteger(v) || v < -1 || v > 0xffffffff) {
        throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= -1 && <= 4294967295. Received ${String(v)}`);
      }
    }
    if (this.uid === 0) return;
    if (p !== undefined) this.permit(p, syscall, 0, ON_TARGET, syscall === 'chown');
    if (ownerOf() !== this.uid || (uid !== -1 && uid !== this.uid) || (gid !== -1 && gid !== this.gid)) throw new FsError('EPERM', syscall, p);
  }
}
