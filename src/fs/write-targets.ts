/**
 * The data writes of one thread as DataWriter targets: one object each,
 * reused from call to call (a write on the hot path allocates no closure).
 * Set the fields, then hand the object to `DataWriter.write`/`truncate`.
 * They log through the replica's own bound writes and ring the watchers'
 * doorbell themselves: the generic `ringing` wrapper (changes.ts) costs a
 * rest-argument array and a spread call per write.
 */
import { ring } from './changes.js';
import type { FsReplica } from './handle.js';
import { type Inode, O_APPEND, O_TRUNC } from './state.js';
import type { Layout, TruncateTarget, WriteTarget } from './writer.js';

type Ops = Pick<FsReplica, 'reads' | 'writes'>;

/** What every target holds: the replica's reads and writes, and the watchers' doorbell it rings after each logged op. */
abstract class LoggingTarget {
  constructor(
    protected readonly ops: Ops,
    /** The watchers' doorbell (none for a bare structure in tests). */
    private readonly bell: Int32Array | null = null,
  ) {}

  /** After a logged op, applied or failed (it was logged either way), as `ringing` does. */
  protected rang(): void {
    if (this.bell !== null) ring(this.bell);
  }
}

/** pwrite/write through an fd: at `pos`, or at the end it sees for O_APPEND. */
export class PwriteTarget extends LoggingTarget implements WriteTarget {
  ino = 0;
  pos = 0;
  append = false;
  now = 0;
  len = 0;

  set(ino: number, pos: number, append: boolean, now: number, len: number): this {
    this.ino = ino;
    this.pos = pos;
    this.append = append;
    this.now = now;
    this.len = len;
    return this;
  }

  layout(out: Layout): void {
    const node = this.ops.reads.inode(this.ino, '');
    out.node = node;
    out.at = this.append && node !== undefined ? node.size : this.pos;
    out.trunc = false;
  }

  log(at: number, expFirst: number, expLast: number, refs: readonly number[]): number {
    try {
      return this.ops.writes.pwrite(this.ino, this.append, this.now, at, this.len, expFirst, expLast, refs);
    } finally {
      this.rang();
    }
  }
}

/** writeFile/appendFile: at 0, or at the end it sees for O_APPEND; O_TRUNC merges with nothing. */
export class WriteFileTarget extends LoggingTarget implements WriteTarget {
  path = '';
  flags = 0;
  mode = 0;
  now = 0;
  len = 0;
  uid = 0;
  gid = 0;

  set(path: string, flags: number, mode: number, now: number, len: number, who: { uid: number; gid: number }): this {
    Object.assign(this, { path, flags, mode, now, len, uid: who.uid, gid: who.gid });
    return this;
  }

  layout(out: Layout): void {
    const node = this.ops.reads.inode(0, this.path);
    const trunc = (this.flags & O_TRUNC) !== 0;
    out.node = node;
    out.trunc = trunc;
    out.at = node === undefined || node.dir || trunc || (this.flags & O_APPEND) === 0 ? 0 : node.size;
  }

  log(at: number, expFirst: number, expLast: number, refs: readonly number[]): number {
    try {
      return this.ops.writes.writeFile(this.path, this.flags, this.mode, this.now, at, this.len, expFirst, expLast, refs, this.uid, this.gid);
    } finally {
      this.rang();
    }
  }
}

/** truncate(path) (`ino` 0) or ftruncate(fd) (`ino` its inode). */
export class ResizeTarget extends LoggingTarget implements TruncateTarget {
  ino = 0;
  path = '';
  len = 0;
  now = 0;
  uid = 0;
  gid = 0;

  set(ino: number, path: string, len: number, now: number, who: { uid: number; gid: number }): this {
    Object.assign(this, { ino, path, len, now, uid: who.uid, gid: who.gid });
    return this;
  }

  node(): Inode | undefined {
    return this.ops.reads.inode(this.ino, this.path);
  }

  log(expTail: number, tailRef: number): number {
    try {
      if (this.ino !== 0) return this.ops.writes.ftruncate(this.ino, this.len, this.now, expTail, tailRef);
      return this.ops.writes.truncate(this.path, this.len, this.now, this.uid, this.gid, expTail, tailRef);
    } finally {
      this.rang();
    }
  }
}
