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
 * - Opens are not replicated: an open that changes nothing is a local read,
 *   a close is never logged; threads publish their open fds in the shared
 *   open table (opens.ts). An op that removes a last name carries its
 *   issuer's decision (free the inode, or keep it as an orphan while some
 *   fd may be open on it); a logged `reap` frees an orphan once its last
 *   opener closed. The table is never read by an apply.
 * - File data is not in the log nor in any replica's heap: it lives in the
 *   shared page pool (pages/pool.ts), written once by the issuing thread; a
 *   data op carries page refs, and its apply updates the page table.
 */
import { defineStructure, FailStopError, type OpReader, type OpWriter } from '../nr/index.js';
import { PageHolder } from './pages/holder.js';
import { createPool, type PoolBuffers, poolPagesFor, SharedPages } from './pages/pool.js';
import { pagesSpanned, WHOLE } from './state/data.js';
import { type ChangeObserver, emptyState, type FsLimits, type FsState, type PageStore } from './state/inode.js';
import { type DataRun, ftruncate, open, pwrite, type PwriteOp, reap, truncate, writeFile, type WriteFileOp } from './state/ops-files.js';
import { setattr } from './state/ops-meta.js';
import { link, mkdir, rename, rmdir, symlink, unlink } from './state/ops-tree.js';
import { access, cutPage, exists, fstat, inode, lastOpens, layout, pageRefs, lstat, openable, orphans, orphansKeyed, permit, pread, readdir, readdirTypes, readFile, readlink, realpath, removal, stat, usage } from './state/reads.js';
import { digestState, restore, snapshot } from './state/snapshot.js';
import { asUser } from './state/walk.js';
import { idWord, sizeWord, timeWord } from './state/entry-words.js';

export * from './state/inode.js';
export { copyOut, CONFLICT, edgeRef, HOLE, pagesSpanned, placeWrite, refAt, tailToRewrite, WHOLE } from './state/data.js';
export type { DataRun, PwriteOp, WriteFileOp } from './state/ops-files.js';
export { SET_MODE, SET_OWNER, SET_TIMES } from './state/ops-meta.js';
export { ON_CREATE, ON_PARENT, ON_TARGET, type DirEntry, type StatRecord } from './state/reads.js';
export { digestState } from './state/snapshot.js';

const openArgs: [string, number, number, number, number, number, number, number] = ['', 0, 0, 0, 0, 0, 0, 0];
const inoArgs: [number] = [0];
/** The decoded data ops (reused: one op decodes and applies at a time). */
const pwriteOp: PwriteOp & { refs: number[] } = { ino: 0, append: false, now: 0, at: 0, len: 0, expFirst: WHOLE, expLast: WHOLE, refs: [] };
const pwriteArgs: [PwriteOp] = [pwriteOp];
const removeArgs: [string, number, number, number, number, number] = ['', 0, 0, 0, 0, 0];
const pathLenNowArgs: [string, number, number, number, number, number, number] = ['', 0, 0, 0, 0, 0, 0];
const inoLenNowArgs: [number, number, number, number, number] = [0, 0, 0, 0, 0];
const mkdirArgs: [string, number, boolean, number, number, number] = ['', 0, false, 0, 0, 0];
const symlinkArgs: [string, string, number, number, number] = ['', '', 0, 0, 0];
const setattrArgs: [string, number, boolean, number, number, number, number, number, number, number, number, number] = ['', 0, false, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const linkArgs: [string, string, number, number, number] = ['', '', 0, 0, 0];
const renameArgs: [string, string, number, number, number, number, number] = ['', '', 0, 0, 0, 0, 0];
const writeFileOp: WriteFileOp & { refs: number[] } = { path: '', flags: 0, mode: 0, now: 0, uid: 0, gid: 0, at: 0, len: 0, expFirst: WHOLE, expLast: WHOLE, refs: [] };
const writeFileArgs: [WriteFileOp] = [writeFileOp];

/** Flags in the top bits of a data op's length word (a write is far below 2^30 bytes: see maxWriteBytes). */
const HAS_FIRST = 0x80000000;
const HAS_LAST = 0x40000000;
const LEN_MASK = 0x3fffffff;

/**
 * A data op's pages: where the issuer laid the data (at, len), the edge
 * pages it merged with (only when partial: WHOLE otherwise), and one page
 * ref per page spanned. Kept small: a 4 KiB pwrite is 37 bytes, two cells.
 */
function writeData(w: OpWriter, op: DataRun): void {
  const { len, expFirst, expLast, refs } = op;
  w.f64(op.at);
  w.u32((len | (expFirst !== WHOLE ? HAS_FIRST : 0) | (expLast !== WHOLE ? HAS_LAST : 0)) >>> 0);
  if (expFirst !== WHOLE) w.f64(expFirst);
  if (expLast !== WHOLE) w.f64(expLast);
  for (let k = 0; k < refs.length; k++) w.f64(refs[k]!);
}
function readData(r: OpReader, out: DataRun & { refs: number[] }): void {
  const pos = r.f64();
  const word = r.u32();
  const len = word & LEN_MASK;
  out.at = pos;
  out.len = len;
  out.expFirst = (word & HAS_FIRST) !== 0 ? r.f64() : WHOLE;
  out.expLast = (word & HAS_LAST) !== 0 ? r.f64() : WHOLE;
  // Shared memory is data to validate: a position or a page count the entry cannot hold is a forged entry.
  const n = Number.isSafeInteger(pos) && pos >= 0 ? pagesSpanned(pos, len) : -1;
  if (!(n >= 0 && n <= (r.bytes.length - r.pos) / 8)) throw new FailStopError(`NrFS: a data op at ${pos} of ${len} bytes does not fit its entry`);
  // Resized by push/pop (a steady run of n-page writes changes nothing): a length store is a runtime call.
  const refs = out.refs;
  while (refs.length > n) refs.pop();
  for (let k = 0; k < n; k++) {
    if (k < refs.length) refs[k] = r.f64();
    else refs.push(r.f64());
  }
}

export interface FsConfig extends FsLimits {
  /** The shared page pool (default: a private one, for a structure used without threads). */
  pool?: PoolBuffers;
  /** This thread's share of the pool (default: one of its own). */
  holder?: PageHolder;
  /** Whether this replica still holds the log (see PageStore.current); default always. */
  current?: () => boolean;
  /** This replica's change hook for watchers (not replicated). */
  observer?: ChangeObserver;
  /** A client's read `n` begins to be served here (pages/read-grace.ts): its fence's SERVED. */
  readServed?: (owner: unknown, n: unknown) => void;
}

/** The NrFS structure for one file system (its limits and page pool are bound into create/restore). */
export function fsStructure(config: FsConfig) {
  const limits: FsLimits = { maxPages: config.maxPages, maxInodes: config.maxInodes };
  const pool = new SharedPages(config.pool ?? createPool(poolPagesFor(config.maxPages)));
  const store: PageStore = { pool, holder: config.holder ?? new PageHolder(pool), current: config.current ?? (() => true) };
  const readServed = config.readServed ?? null;
  return defineStructure({
    name: 'nrfs',
    // 4: opens and closes are not logged (the open table); removals carry the issuer's free-or-orphan decision; reap.
    // 5: the clients' reads (layout, cutPage, pageRefs).
    // 6: pageRefs carries the client's owner id and read number (the read grace).
    // (pwrite and writeFile taking one record argument changed no byte of an entry: still 6.)
    version: 6,
    create: (): FsState => emptyState(limits, store, config.observer ?? null),
    reads: {
      pread,
      inode,
      layout,
      cutPage,
      // A client's read carries its owner id and read number: recorded before any page is looked at (the read grace).
      pageRefs: (s: FsState, ino: number, pos: number, len: number, maxPages: number, owner?: number, readNo?: number): number[] => {
        readServed?.(owner, readNo);
        return pageRefs(s, ino, pos, len, maxPages);
      },
      stat, lstat, fstat, readdir, readdirTypes, readFile, readlink, realpath, exists, access, permit, usage, openable, removal, lastOpens, orphansKeyed, orphans },
    // Ops that walk paths run as their issuer's uid/gid (op arguments): search permission on every directory walked.
    writes: {
      open: (s: FsState, path: string, flags: number, mode: number, now: number, slot: number, uid: number, gid: number, token: number) => (uid === 0 ? open(s, path, flags, mode, now, slot, uid, gid, token) : asUser(uid, gid, () => open(s, path, flags, mode, now, slot, uid, gid, token))),
      reap,
      pwrite,
      truncate: (s: FsState, path: string, len: number, now: number, uid: number, gid: number, expTail: number, tailRef: number) => (uid === 0 ? truncate(s, path, len, now, uid, gid, expTail, tailRef) : asUser(uid, gid, () => truncate(s, path, len, now, uid, gid, expTail, tailRef))),
      ftruncate,
      writeFile: (s: FsState, op: WriteFileOp) => (op.uid === 0 ? writeFile(s, op) : asUser(op.uid, op.gid, () => writeFile(s, op))),
      mkdir: (s: FsState, path: string, mode: number, recursive: boolean, now: number, uid: number, gid: number) => (uid === 0 ? mkdir(s, path, mode, recursive, now, uid, gid) : asUser(uid, gid, () => mkdir(s, path, mode, recursive, now, uid, gid))),
      rmdir: (s: FsState, path: string, now: number, uid: number, gid: number, freeIno: number, seenPin: number) => (uid === 0 ? rmdir(s, path, now, uid, gid, freeIno, seenPin) : asUser(uid, gid, () => rmdir(s, path, now, uid, gid, freeIno, seenPin))),
      unlink: (s: FsState, path: string, now: number, uid: number, gid: number, freeIno: number, seenPin: number) => (uid === 0 ? unlink(s, path, now, uid, gid, freeIno, seenPin) : asUser(uid, gid, () => unlink(s, path, now, uid, gid, freeIno, seenPin))),
      rename: (s: FsState, from: string, to: string, now: number, uid: number, gid: number, freeIno: number, seenPin: number) => (uid === 0 ? rename(s, from, to, now, uid, gid, freeIno, seenPin) : asUser(uid, gid, () => rename(s, from, to, now, uid, gid, freeIno, seenPin))),
      symlink: (s: FsState, target: string, path: string, now: number, uid: number, gid: number) => (uid === 0 ? symlink(s, target, path, now, uid, gid) : asUser(uid, gid, () => symlink(s, target, path, now, uid, gid))),
      link: (s: FsState, existing: string, path: string, now: number, uid: number, gid: number) => (uid === 0 ? link(s, existing, path, now, uid, gid) : asUser(uid, gid, () => link(s, existing, path, now, uid, gid))),
      setattr: (s: FsState, path: string, ino: number, follow: boolean, what: number, mode: number, uid: number, gid: number, atimeMs: number, mtimeMs: number, now: number, byUid: number, byGid: number) => (byUid === 0 ? setattr(s, path, ino, follow, what, mode, uid, gid, atimeMs, mtimeMs, now, byUid, byGid) : asUser(byUid, byGid, () => setattr(s, path, ino, follow, what, mode, uid, gid, atimeMs, mtimeMs, now, byUid, byGid))),
    },
    codecs: {
      open: {
        encode(w, path, flags, mode, now, slot, uid, gid, token) {
          w.str(path);
          w.u32(flags);
          w.u32(mode);
          w.f64(now);
          w.u8(slot);
          w.u32(uid);
          w.u32(gid);
          w.u32(token);
        },
        decode(r) {
          openArgs[0] = r.str();
          openArgs[1] = r.u32();
          openArgs[2] = r.u32();
          openArgs[3] = timeWord(r, 'open');
          openArgs[4] = r.u8();
          openArgs[5] = r.u32();
          openArgs[6] = r.u32();
          openArgs[7] = r.u32();
          return openArgs;
        },
      },
      reap: {
        encode: (w, ino) => w.f64(ino),
        decode(r) {
          inoArgs[0] = r.f64();
          return inoArgs;
        },
      },
      pwrite: {
        arity: 1,
        encode(w, op) {
          w.f64(op.ino);
          w.u8(op.append ? 1 : 0);
          w.f64(op.now);
          writeData(w, op);
        },
        decode(r) {
          const op = pwriteOp;
          op.ino = r.f64();
          op.append = r.u8() === 1;
          op.now = timeWord(r, 'write');
          readData(r, op);
          return pwriteArgs;
        },
      },
      truncate: {
        encode(w, path, len, now, uid, gid, expTail, tailRef) {
          w.str(path);
          w.f64(len);
          w.f64(now);
          w.u32(uid);
          w.u32(gid);
          w.f64(expTail);
          w.f64(tailRef);
        },
        decode(r) {
          pathLenNowArgs[0] = r.str();
          pathLenNowArgs[1] = sizeWord(r, 'truncate');
          pathLenNowArgs[2] = timeWord(r, 'truncate');
          pathLenNowArgs[3] = r.u32();
          pathLenNowArgs[4] = r.u32();
          pathLenNowArgs[5] = r.f64();
          pathLenNowArgs[6] = r.f64();
          return pathLenNowArgs;
        },
      },
      ftruncate: {
        encode(w, ino, len, now, expTail, tailRef) {
          w.f64(ino);
          w.f64(len);
          w.f64(now);
          w.f64(expTail);
          w.f64(tailRef);
        },
        decode(r) {
          inoLenNowArgs[0] = r.f64();
          inoLenNowArgs[1] = sizeWord(r, 'ftruncate');
          inoLenNowArgs[2] = timeWord(r, 'ftruncate');
          inoLenNowArgs[3] = r.f64();
          inoLenNowArgs[4] = r.f64();
          return inoLenNowArgs;
        },
      },
      writeFile: {
        arity: 1,
        encode(w, op) {
          w.str(op.path);
          w.u32(op.flags);
          w.u32(op.mode);
          w.f64(op.now);
          w.u32(op.uid);
          w.u32(op.gid);
          writeData(w, op);
        },
        decode(r) {
          const op = writeFileOp;
          op.path = r.str();
          op.flags = r.u32();
          op.mode = r.u32();
          op.now = timeWord(r, 'writeFile');
          op.uid = r.u32();
          op.gid = r.u32();
          readData(r, op);
          return writeFileArgs;
        },
      },
      mkdir: {
        encode(w, path, mode, recursive, now, uid, gid) {
          w.str(path);
          w.u32(mode);
          w.u8(recursive ? 1 : 0);
          w.f64(now);
          w.u32(uid);
          w.u32(gid);
        },
        decode(r) {
          mkdirArgs[0] = r.str();
          mkdirArgs[1] = r.u32();
          mkdirArgs[2] = r.u8() === 1;
          mkdirArgs[3] = timeWord(r, 'mkdir');
          mkdirArgs[4] = r.u32();
          mkdirArgs[5] = r.u32();
          return mkdirArgs;
        },
      },
      symlink: {
        encode(w, target, path, now, uid, gid) {
          w.str(target);
          w.str(path);
          w.f64(now);
          w.u32(uid);
          w.u32(gid);
        },
        decode(r) {
          symlinkArgs[0] = r.str();
          symlinkArgs[1] = r.str();
          symlinkArgs[2] = timeWord(r, 'symlink');
          symlinkArgs[3] = r.u32();
          symlinkArgs[4] = r.u32();
          return symlinkArgs;
        },
      },
      link: {
        encode(w, from, to, now, uid, gid) {
          w.str(from);
          w.str(to);
          w.f64(now);
          w.u32(uid);
          w.u32(gid);
        },
        decode(r) {
          linkArgs[0] = r.str();
          linkArgs[1] = r.str();
          linkArgs[2] = timeWord(r, 'link');
          linkArgs[3] = r.u32();
          linkArgs[4] = r.u32();
          return linkArgs;
        },
      },
      setattr: {
        encode(w, path, ino, follow, what, mode, uid, gid, atimeMs, mtimeMs, now, byUid, byGid) {
          w.str(path);
          w.f64(ino);
          w.u8(follow ? 1 : 0);
          w.u8(what);
          w.u32(mode);
          w.f64(uid);
          w.f64(gid);
          w.f64(atimeMs);
          w.f64(mtimeMs);
          w.f64(now);
          w.u32(byUid);
          w.u32(byGid);
        },
        decode(r) {
          setattrArgs[0] = r.str();
          setattrArgs[1] = r.f64();
          setattrArgs[2] = r.u8() === 1;
          setattrArgs[3] = r.u8();
          setattrArgs[4] = r.u32();
          setattrArgs[5] = idWord(r, 'setattr');
          setattrArgs[6] = idWord(r, 'setattr');
          setattrArgs[7] = timeWord(r, 'setattr');
          setattrArgs[8] = timeWord(r, 'setattr');
          setattrArgs[9] = timeWord(r, 'setattr');
          setattrArgs[10] = r.u32();
          setattrArgs[11] = r.u32();
          return setattrArgs;
        },
      },
      rmdir: removeCodec(),
      unlink: removeCodec(),
      rename: {
        encode(w, from, to, now, uid, gid, freeIno, seenPin) {
          w.str(from);
          w.str(to);
          w.f64(now);
          w.u32(uid);
          w.u32(gid);
          w.f64(freeIno);
          w.f64(seenPin);
        },
        decode(r) {
          renameArgs[0] = r.str();
          renameArgs[1] = r.str();
          renameArgs[2] = timeWord(r, 'rename');
          renameArgs[3] = r.u32();
          renameArgs[4] = r.u32();
          renameArgs[5] = r.f64();
          renameArgs[6] = r.f64();
          return renameArgs;
        },
      },
    },
    // The clients' hot reads and the data write's answer in binary (V8 serialization cost more than the op on both sides).
    readCodecs: {
      pageRefs: {
        encode(w, ino, pos, len, maxPages, owner, readNo) {
          w.f64(ino);
          w.f64(pos);
          w.f64(len);
          w.u32(maxPages);
          w.u32(owner ?? 0);
          w.u32((readNo ?? 0) >>> 0);
        },
        decode: (r): [number, number, number, number, number, number] => [r.f64(), r.f64(), r.f64(), r.u32(), r.u32(), r.u32() | 0],
      },
    },
    resultCodecs: {
      pageRefs: numbersCodec,
      pwrite: numberCodec,
    },
    digest: digestState,
    snapshot,
    restore: (bytes: Uint8Array) => restore(bytes, limits, store, config.observer ?? null),
  });
}

/** A list of numbers (a count, then f64 each); fresh arrays: an answer may be kept until earlier ones settle. */
const numbersCodec = {
  encode(w: OpWriter, v: readonly number[]): void {
    w.u32(v.length);
    for (const x of v) w.f64(x);
  },
  decode(r: OpReader): number[] {
    const n = r.u32();
    // Shared memory is data to validate: a count past the answer's bytes was not written by the node.
    if (n * 8 > r.remaining) throw new FailStopError(`NrFS: an answer of ${n} numbers does not fit its ${r.remaining} bytes (tampered in the client slot)`);
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) out[k] = r.f64();
    return out;
  },
};

const numberCodec = {
  encode: (w: OpWriter, v: number): void => w.f64(v),
  decode(r: OpReader): number {
    if (r.remaining < 8) throw new FailStopError('NrFS: a numeric answer is cut short (tampered in the client slot)');
    return r.f64();
  },
};

/** rmdir and unlink: (path, now, uid, gid, freeIno, seenPin); the decoded tuple is shared (one op decodes at a time). */
function removeCodec() {
  return {
    encode(w: OpWriter, path: string, now: number, uid: number, gid: number, freeIno: number, seenPin: number) {
      w.str(path);
      w.f64(now);
      w.u32(uid);
      w.u32(gid);
      w.f64(freeIno);
      w.f64(seenPin);
    },
    decode(r: OpReader): [string, number, number, number, number, number] {
      removeArgs[0] = r.str();
      removeArgs[1] = timeWord(r, 'remove');
      removeArgs[2] = r.u32();
      removeArgs[3] = r.u32();
      removeArgs[4] = r.f64();
      removeArgs[5] = r.f64();
      return removeArgs;
    },
  };
}

export type FsStructure = ReturnType<typeof fsStructure>;

