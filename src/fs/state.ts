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
 * - Open counts are replicated (open/close are logged writes, as FileOpen /
 *   FileClose in NrOS): an unlinked inode stays alive, readable through the
 *   fds open on it on any thread, until its last close frees its pages.
 * - Large write payloads are not in the log but in the shared payload area
 *   (`payload`); the op carries their offset and length (see payload.ts).
 */
import { defineStructure, type OpReader, type OpWriter } from '../nr/index.js';
import { type ChangeObserver, emptyState, type FsLimits, type FsState } from './state/inode.js';
import { close, closeAllOf, ftruncate, open, pwrite, truncate, writeFile } from './state/ops-files.js';
import { setattr } from './state/ops-meta.js';
import { link, mkdir, rename, rmdir, symlink, unlink } from './state/ops-tree.js';
import { access, exists, fstat, lstat, permit, pread, readdir, readdirTypes, readFile, readlink, realpath, stat, usage } from './state/reads.js';
import { digestState, restore, snapshot } from './state/snapshot.js';
import { asUser } from './state/walk.js';

export * from './state/inode.js';
export { copyOut } from './state/data.js';
export { SET_MODE, SET_OWNER, SET_TIMES } from './state/ops-meta.js';
export { ON_CREATE, ON_PARENT, ON_TARGET, type DirEntry, type StatRecord } from './state/reads.js';
export { digestState } from './state/snapshot.js';

const openArgs: [string, number, number, number, number, number, number] = ['', 0, 0, 0, 0, 0, 0];
const inoSlotArgs: [number, number] = [0, 0];
const slotArgs: [number] = [0];
const pwriteArgs: [number, number, boolean, number, Uint8Array | null, number, number] = [0, 0, false, 0, null, 0, 0];
const pathNowOwnerArgs: [string, number, number, number] = ['', 0, 0, 0];
const pathLenNowArgs: [string, number, number, number, number] = ['', 0, 0, 0, 0];
const inoLenNowArgs: [number, number, number] = [0, 0, 0];
const mkdirArgs: [string, number, boolean, number, number, number] = ['', 0, false, 0, 0, 0];
const symlinkArgs: [string, string, number, number, number] = ['', '', 0, 0, 0];
const setattrArgs: [string, number, boolean, number, number, number, number, number, number, number, number, number] = ['', 0, false, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const renameArgs: [string, string, number, number, number] = ['', '', 0, 0, 0];
const writeFileArgs: [string, number, number, number, Uint8Array | null, number, number, number, number] = ['', 0, 0, 0, null, 0, 0, 0, 0];

/** Inline data travels after the fixed fields; out-of-line data as its payload offset (ref >= 0). */
function writeData(w: OpWriter, data: Uint8Array | null, ref: number, len: number): void {
  w.i32(ref);
  w.u32(len);
  if (ref < 0) w.copyFrom(data!, 0, len);
}
function readData(r: OpReader, out: [...unknown[]], at: number): void {
  const ref = r.i32();
  const len = r.u32();
  out[at + 1] = ref;
  out[at + 2] = len;
  if (ref < 0) {
    // A view of the log, valid until this apply returns: the apply copies it into pages.
    out[at] = r.bytes.subarray(r.pos, r.pos + len);
    r.pos += len;
  } else {
    out[at] = null;
  }
}

export interface FsConfig extends FsLimits {
  /** The shared payload area for large writes. */
  payload: SharedArrayBuffer;
  /** This replica's change hook for watchers (not replicated). */
  observer?: ChangeObserver;
}

/** The NrFS structure for one file system (its limits and payload area are bound into create/restore). */
export function fsStructure(config: FsConfig) {
  const limits: FsLimits = { maxPages: config.maxPages, maxInodes: config.maxInodes };
  const payload = new Uint8Array(config.payload);
  return defineStructure({
    name: 'nrfs',
    version: 3,
    create: (): FsState => emptyState(limits, payload, config.observer ?? null),
    reads: { pread, stat, lstat, fstat, readdir, readdirTypes, readFile, readlink, realpath, exists, access, permit, usage },
    // Ops that walk paths run as their issuer's uid/gid (op arguments): search permission on every directory walked.
    writes: {
      open: (s: FsState, path: string, flags: number, mode: number, now: number, slot: number, uid: number, gid: number) => (uid === 0 ? open(s, path, flags, mode, now, slot, uid, gid) : asUser(uid, gid, () => open(s, path, flags, mode, now, slot, uid, gid))),
      close,
      closeAllOf,
      pwrite,
      truncate: (s: FsState, path: string, len: number, now: number, uid: number, gid: number) => (uid === 0 ? truncate(s, path, len, now, uid, gid) : asUser(uid, gid, () => truncate(s, path, len, now, uid, gid))),
      ftruncate,
      writeFile: (s: FsState, path: string, flags: number, mode: number, now: number, data: Uint8Array | null, ref: number, len: number, uid: number, gid: number) => (uid === 0 ? writeFile(s, path, flags, mode, now, data, ref, len, uid, gid) : asUser(uid, gid, () => writeFile(s, path, flags, mode, now, data, ref, len, uid, gid))),
      mkdir: (s: FsState, path: string, mode: number, recursive: boolean, now: number, uid: number, gid: number) => (uid === 0 ? mkdir(s, path, mode, recursive, now, uid, gid) : asUser(uid, gid, () => mkdir(s, path, mode, recursive, now, uid, gid))),
      rmdir: (s: FsState, path: string, now: number, uid: number, gid: number) => (uid === 0 ? rmdir(s, path, now, uid, gid) : asUser(uid, gid, () => rmdir(s, path, now, uid, gid))),
      unlink: (s: FsState, path: string, now: number, uid: number, gid: number) => (uid === 0 ? unlink(s, path, now, uid, gid) : asUser(uid, gid, () => unlink(s, path, now, uid, gid))),
      rename: (s: FsState, from: string, to: string, now: number, uid: number, gid: number) => (uid === 0 ? rename(s, from, to, now, uid, gid) : asUser(uid, gid, () => rename(s, from, to, now, uid, gid))),
      symlink: (s: FsState, target: string, path: string, now: number, uid: number, gid: number) => (uid === 0 ? symlink(s, target, path, now, uid, gid) : asUser(uid, gid, () => symlink(s, target, path, now, uid, gid))),
      link: (s: FsState, existing: string, path: string, now: number, uid: number, gid: number) => (uid === 0 ? link(s, existing, path, now, uid, gid) : asUser(uid, gid, () => link(s, existing, path, now, uid, gid))),
      setattr: (s: FsState, path: string, ino: number, follow: boolean, what: number, mode: number, uid: number, gid: number, atimeMs: number, mtimeMs: number, now: number, byUid: number, byGid: number) => (byUid === 0 ? setattr(s, path, ino, follow, what, mode, uid, gid, atimeMs, mtimeMs, now, byUid, byGid) : asUser(byUid, byGid, () => setattr(s, path, ino, follow, what, mode, uid, gid, atimeMs, mtimeMs, now, byUid, byGid))),
    },
    codecs: {
      open: {
        encode(w, path, flags, mode, now, slot, uid, gid) {
          w.str(path);
          w.u32(flags);
          w.u32(mode);
          w.f64(now);
          w.u8(slot);
          w.u32(uid);
          w.u32(gid);
        },
        decode(r) {
          openArgs[0] = r.str();
          openArgs[1] = r.u32();
          openArgs[2] = r.u32();
          openArgs[3] = r.f64();
          openArgs[4] = r.u8();
          openArgs[5] = r.u32();
          openArgs[6] = r.u32();
          return openArgs;
        },
      },
      close: {
        encode(w, ino, slot) {
          w.f64(ino);
          w.u8(slot);
        },
        decode(r) {
          inoSlotArgs[0] = r.f64();
          inoSlotArgs[1] = r.u8();
          return inoSlotArgs;
        },
      },
      closeAllOf: {
        encode: (w, slot) => w.u8(slot),
        decode(r) {
          slotArgs[0] = r.u8();
          return slotArgs;
        },
      },
      pwrite: {
        encode(w, ino, pos, append, now, data, ref, len) {
          w.f64(ino);
          w.f64(pos);
          w.u8(append ? 1 : 0);
          w.f64(now);
          writeData(w, data, ref, len);
        },
        decode(r) {
          pwriteArgs[0] = r.f64();
          pwriteArgs[1] = r.f64();
          pwriteArgs[2] = r.u8() === 1;
          pwriteArgs[3] = r.f64();
          readData(r, pwriteArgs, 4);
          return pwriteArgs;
        },
      },
      truncate: {
        encode(w, path, len, now, uid, gid) {
          w.str(path);
          w.f64(len);
          w.f64(now);
          w.u32(uid);
          w.u32(gid);
        },
        decode(r) {
          pathLenNowArgs[0] = r.str();
          pathLenNowArgs[1] = r.f64();
          pathLenNowArgs[2] = r.f64();
          pathLenNowArgs[3] = r.u32();
          pathLenNowArgs[4] = r.u32();
          return pathLenNowArgs;
        },
      },
      ftruncate: {
        encode(w, ino, len, now) {
          w.f64(ino);
          w.f64(len);
          w.f64(now);
        },
        decode(r) {
          inoLenNowArgs[0] = r.f64();
          inoLenNowArgs[1] = r.f64();
          inoLenNowArgs[2] = r.f64();
          return inoLenNowArgs;
        },
      },
      writeFile: {
        encode(w, path, flags, mode, now, data, ref, len, uid, gid) {
          w.str(path);
          w.u32(flags);
          w.u32(mode);
          w.f64(now);
          w.u32(uid);
          w.u32(gid);
          writeData(w, data, ref, len);
        },
        decode(r) {
          writeFileArgs[0] = r.str();
          writeFileArgs[1] = r.u32();
          writeFileArgs[2] = r.u32();
          writeFileArgs[3] = r.f64();
          writeFileArgs[7] = r.u32();
          writeFileArgs[8] = r.u32();
          readData(r, writeFileArgs, 4);
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
          mkdirArgs[3] = r.f64();
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
          symlinkArgs[2] = r.f64();
          symlinkArgs[3] = r.u32();
          symlinkArgs[4] = r.u32();
          return symlinkArgs;
        },
      },
      link: twoPathsNowCodec(),
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
          setattrArgs[5] = r.f64();
          setattrArgs[6] = r.f64();
          setattrArgs[7] = r.f64();
          setattrArgs[8] = r.f64();
          setattrArgs[9] = r.f64();
          setattrArgs[10] = r.u32();
          setattrArgs[11] = r.u32();
          return setattrArgs;
        },
      },
      rmdir: pathNowOwnerCodec(),
      unlink: pathNowOwnerCodec(),
      rename: twoPathsNowCodec(),
    },
    digest: digestState,
    snapshot,
    restore: (bytes: Uint8Array) => restore(bytes, limits, payload, config.observer ?? null),
  });
}

/** rename and link: (from, to, now, uid, gid); the decoded tuple is shared (one op decodes at a time). */
function twoPathsNowCodec() {
  return {
    encode(w: OpWriter, from: string, to: string, now: number, uid: number, gid: number) {
      w.str(from);
      w.str(to);
      w.f64(now);
      w.u32(uid);
      w.u32(gid);
    },
    decode(r: OpReader): [string, string, number, number, number] {
      renameArgs[0] = r.str();
      renameArgs[1] = r.str();
      renameArgs[2] = r.f64();
      renameArgs[3] = r.u32();
      renameArgs[4] = r.u32();
      return renameArgs;
    },
  };
}

/** rmdir and unlink: (path, now, uid, gid). */
function pathNowOwnerCodec() {
  return {
    encode(w: OpWriter, path: string, now: number, uid: number, gid: number) {
      w.str(path);
      w.f64(now);
      w.u32(uid);
      w.u32(gid);
    },
    decode(r: OpReader): [string, number, number, number] {
      pathNowOwnerArgs[0] = r.str();
      pathNowOwnerArgs[1] = r.f64();
      pathNowOwnerArgs[2] = r.u32();
      pathNowOwnerArgs[3] = r.u32();
      return pathNowOwnerArgs;
    },
  };
}

export type FsStructure = ReturnType<typeof fsStructure>;

