/**
 * The data writes of one thread as DataWriter targets: one object each,
 * reused from call to call (a write on the hot path allocates no closure).
 * Set the fields, then hand the object to `DataWriter.write`/`truncate`.
 * They log through the replica's own bound writes and ring the watchers'
 * doorbell themselves: the generic `ringing` wrapper (changes.ts) costs a
 * rest-argument array and a spread call per write.
 *
 * A client's targets (`remote`) ask its node where the write lands and
 * which edge pages it merges with (the `layout` and `cutPage` reads), and
 * skip the question when the answer is known: a write of whole pages at a
 * given position merges with nothing.
 */
import { FailStopError } from '../nr/index.js';
import { ring } from './changes.js';
import type { FsReplica } from './handle.js';
import { type DataRun, HOLE, O_APPEND, O_TRUNC, PAGE_BYTES, placeWrite, type PwriteOp, tailToRewrite, type WriteFileOp } from './state.js';
import { edgesOf, type Layout, type TruncateTarget, type WriteTarget } from './writer.js';

type Ops = Pick<FsReplica, 'reads' | 'writes'>;

const NO_REFS: readonly number[] = [];

/** What every target holds: the replica's reads and writes, and the watchers' doorbell it rings after each logged op. */
abstract class LoggingTarget {
  constructor(
    protected readonly ops: Ops,
    /** The watchers' doorbell (none for a bare structure in tests). */
    private readonly bell: Int32Array | null = null,
    /** The reads go to a node (a client's targets): ask for page refs, not inodes. */
    protected readonly remote = false,
  ) {}

  /** A client's layout: asked of its node unless it is known (whole pages at `pos`: nothing to merge). */
  protected remoteLayout(out: Layout, ino: number, path: string, flags: number, pos: number, len: number, known: boolean): void {
    out.trunc = ino === 0 && (flags & O_TRUNC) !== 0;
    if (known) {
      out.at = pos;
      out.first = out.last = HOLE;
      return;
    }
    const r = this.ops.reads.layout(ino, path, flags, pos, len);
    // An answer from the client slot is data to validate.
    if (!Array.isArray(r) || r.length !== 3 || !r.every((v) => Number.isSafeInteger(v)) || r[0]! < 0 || r[1]! < HOLE || r[2]! < HOLE) {
      throw new FailStopError('NrFS client: the node\'s answer to a layout is malformed (tampered in the client slot)');
    }
    out.at = r[0]!;
    out.first = r[1]!;
    out.last = r[2]!;
  }

  /** After a logged op, applied or failed (it was logged either way), as `ringing` does. */
  protected rang(): void {
    if (this.bell !== null) ring(this.bell);
  }
}

/** pwrite/write through an fd: at `pos`, or at the end it sees for O_APPEND. */
export class PwriteTarget extends LoggingTarget implements WriteTarget {
  /** The logged op's one argument, reused (the apply never keeps it). */
  private readonly op: PwriteOp = { ino: 0, append: false, now: 0, at: 0, len: 0, expFirst: 0, expLast: 0, refs: NO_REFS };
  pos = 0;

  set(ino: number, pos: number, append: boolean, now: number, len: number): this {
    const op = this.op;
    op.ino = ino;
    op.append = append;
    op.now = now;
    op.len = len;
    this.pos = pos;
    return this;
  }

  layout(out: Layout): void {
    const op = this.op;
    const flags = op.append ? O_APPEND : 0;
    if (this.remote) return this.remoteLayout(out, op.ino, '', flags, this.pos, op.len, !op.append && wholePages(this.pos, op.len));
    const node = this.ops.reads.inode(op.ino, '');
    out.at = placeWrite(node, true, flags, this.pos);
    out.trunc = false;
    edgesOf(node, op.len, out);
  }

  log(at: number, expFirst: number, expLast: number, refs: readonly number[]): number {
    const op = placeRun(this.op, at, expFirst, expLast, refs);
    try {
      return this.ops.writes.pwrite(op);
    } finally {
      op.refs = NO_REFS;
      this.rang();
    }
  }
}

/** writeFile/appendFile: at 0, or at the end it sees for O_APPEND; O_TRUNC merges with nothing. */
export class WriteFileTarget extends LoggingTarget implements WriteTarget {
  /** The logged op's one argument, reused (the apply never keeps it). */
  private readonly op: WriteFileOp = { path: '', flags: 0, mode: 0, now: 0, uid: 0, gid: 0, at: 0, len: 0, expFirst: 0, expLast: 0, refs: NO_REFS };

  set(path: string, flags: number, mode: number, now: number, len: number, who: { uid: number; gid: number }): this {
    const op = this.op;
    op.path = path;
    op.flags = flags;
    op.mode = mode;
    op.now = now;
    op.len = len;
    op.uid = who.uid;
    op.gid = who.gid;
    return this;
  }

  layout(out: Layout): void {
    const { path, flags, len } = this.op;
    const trunc = (flags & O_TRUNC) !== 0;
    if (this.remote) return this.remoteLayout(out, 0, path, flags, 0, len, trunc || ((flags & O_APPEND) === 0 && wholePages(0, len)));
    const node = this.ops.reads.inode(0, path);
    out.trunc = trunc;
    out.at = placeWrite(node, false, flags, 0);
    edgesOf(node, len, out);
  }

  log(at: number, expFirst: number, expLast: number, refs: readonly number[]): number {
    const op = placeRun(this.op, at, expFirst, expLast, refs);
    try {
      return this.ops.writes.writeFile(op);
    } finally {
      op.refs = NO_REFS;
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

  tail(): number {
    // A cut on a page boundary rewrites no page (tailToRewrite): nothing to ask.
    if (this.remote) return this.len % PAGE_BYTES === 0 ? HOLE : checkedRef(this.ops.reads.cutPage(this.ino, this.path, this.len));
    const n = this.ops.reads.inode(this.ino, this.path);
    return n === undefined || n.dir ? HOLE : tailToRewrite(n, this.len);
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

/** The writer's layout of the data and its pages, into a data op's record (the refs are not kept past the op: reset them after). */
function placeRun<T extends DataRun>(op: T, at: number, expFirst: number, expLast: number, refs: readonly number[]): T {
  op.at = at;
  op.expFirst = expFirst;
  op.expLast = expLast;
  op.refs = refs;
  return op;
}

/** A write of whole pages: it merges with no page of the file. */
function wholePages(pos: number, len: number): boolean {
  return pos % PAGE_BYTES === 0 && len % PAGE_BYTES === 0;
}

function checkedRef(ref: unknown): number {
  if (typeof ref !== 'number' || !Number.isSafeInteger(ref) || ref < HOLE) throw new FailStopError('NrFS client: the node\'s answer to a truncate is malformed (tampered in the client slot)');
  return ref;
}
