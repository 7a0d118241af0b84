/**
 * A node:fs-compatible facade over one thread's NrFs: the sync, callback
 * and `promises` forms of node:fs's calls, with node's signatures, options
 * and argument errors, a per-thread working directory, `file:` URLs and
 * Buffers as paths, Dir, FileHandle and streams; so code that uses memfs or
 * node:fs switches by changing one import:
 *
 *   const fs = nodeFs(attachFs(handle));   // instead of: import fs from 'node:fs'
 *
 * The callback and promise forms run the same synchronous replica ops (a
 * write is applied before its callback runs or its promise settles).
 */
import { promisify } from 'node:util';
import type { NrFs } from './nrfs.js';
import { FsError } from './errors.js';
import { FsArgumentError } from './paths.js';
import { BigIntStats, Dirent, StatFs, Stats } from './stats.js';
import { FacadeContext, invalidType, toUnixTimestamp } from './facade/args.js';
import { validateOptionsObject } from './facade/validate.js';
import { callbackForm, existsForm, noThrowIfNoEntry, orBefore, throwIfAborted } from './facade/callback.js';
import { callbackChecks, readWithoutCallback, writeWithoutCallback } from './facade/callback-checks.js';
import { Dir, opendirSync } from './facade/dir.js';
import { FileHandle, promiseCalls } from './facade/promises.js';
import { ReadStream, streamCalls, WriteStream } from './facade/streams.js';
import { fileCalls, type PathArg } from './facade/sync.js';
import { treeCalls } from './facade/tree.js';
import { watchCalls } from './facade/watch.js';
import { jsonCalls } from './facade/json.js';

/** `fn` whose options argument (at `at`) may carry an aborted `signal`: then an AbortError, as node's async forms. */
function withSignal<A extends unknown[], R>(fn: (...a: A) => R, at = 2): (...a: A) => R {
  return (...a: A) => {
    throwIfAborted(a[at]);
    return fn(...a);
  };
}

/** node's defaultCloseCallback: fs.close(fd) without a callback throws its error later. */
function rethrowCloseError(err: unknown): void {
  if (err !== null && err !== undefined) throw err;
}

/** node:fs-shaped functions bound to `core` (one thread's file system and working directory). */
export function nodeFs(core: NrFs) {
  const c = new FacadeContext(core);
  const sync = { ...fileCalls(c), ...treeCalls(c), opendirSync: (path: PathArg, options?: { encoding?: string | null; bufferSize?: number }) => opendirSync(c, path, options) };
  const s = sync;
  const closeForm = callbackForm(s.closeSync, 1, () => []);
  const { watchAsync, ...watchers } = watchCalls(c);

  /** fs.read(fd, buffer, offset, length, position, cb), (fd, buffer, options, cb), (fd, options, cb), (fd, cb): cb(err, bytesRead, buffer). */
  // node's read takes its callback by its argument count; write's from the first truthy of its last four (buffers) or its fourth (strings).
  // Both check the descriptor and the buffer (read: by its argument count) before the callback.
  const read = callbackForm(s.readCallbackForm, 5, (r) => [r.bytesRead, r.buffer], { taken: (a) => (a.length >= 5 ? a[5] : a[Math.max(1, a.length - 1)]), noCallback: readWithoutCallback });
  const write = callbackForm(s.writeSync, 5, (n, a) => [n, a[1]], { taken: (a) => (ArrayBuffer.isView(a[1]) ? a[5] || a[4] || a[3] || a[2] : a[3]), noCallback: writeWithoutCallback });

  const callbacks = {
    access: callbackForm(s.accessSync, 2, undefined, { precheck: s.fileForms.pathChecks }),
    appendFile: callbackForm(withSignal(s.fileForms.appendFile), 3, () => [], { taken: orBefore(3) }),
    chmod: callbackForm(s.chmodSync, 2, () => [], { required: 2, precheck: s.fileForms.chmodChecks }),
    chown: callbackForm(s.chownSync, 3, () => []),
    // node's close has a default callback, which throws the error (an uncaught exception).
    close: (fd: unknown, cb: unknown = rethrowCloseError, ...rest: unknown[]) => closeForm(fd, cb, ...rest),
    copyFile: callbackForm(s.copyFileSync, 3, () => [], { required: 2, precheck: callbackChecks.copyFile }),
    cp: callbackForm(s.cpSync, 3, () => []),
    exists: existsForm(s.existsSync),
    fchmod: callbackForm(s.fchmodSync, 2, () => [], { required: 2, precheck: s.fileForms.fchmodChecks }),
    fchown: callbackForm(s.fchownSync, 3, () => [], { required: 3, precheck: callbackChecks.fchown }),
    fdatasync: callbackForm(s.fdatasyncSync, 1, () => []),
    fstat: callbackForm(noThrowIfNoEntry(s.fstatSync), 2),
    fsync: callbackForm(s.fsyncSync, 1, () => []),
    ftruncate: callbackForm(s.ftruncateSync, 2, () => [], { required: 1, precheck: callbackChecks.ftruncate }),
    futimes: callbackForm(s.futimesSync, 3, () => [], { required: 3, precheck: callbackChecks.futimes }),
    lchmod: callbackForm(s.lchmodSync, 2, () => [], { required: 2, precheck: s.fileForms.chmodChecks }),
    lchown: callbackForm(s.lchownSync, 3, () => []),
    link: callbackForm(s.linkSync, 2, () => [], { required: 2 }),
    lstat: callbackForm(noThrowIfNoEntry(s.lstatSync), 2),
    lutimes: callbackForm(s.lutimesSync, 3, () => [], { required: 3 }),
    mkdir: callbackForm(s.mkdirSync, 2),
    mkdtemp: callbackForm(s.mkdtempSync, 2),
    open: callbackForm(s.openSync, 3, undefined, { required: 1, precheck: s.fileForms.openChecks, taken: (a) => (a.length < 3 ? a[1] : a[3]) }),
    opendir: callbackForm((path: PathArg, options?: { encoding?: string | null; bufferSize?: number }) => opendirSync(c, path, options, true), 2, undefined, { name: 'callback' }),
    read,
    readdir: callbackForm(s.readdirSync, 2),
    readFile: callbackForm(withSignal(s.fileForms.readFile, 1), 2, undefined, { taken: orBefore(2) }),
    readlink: callbackForm(s.readlinkSync, 2),
    readv: callbackForm(s.readvSync, 3, (n, a) => [n, a[1]], { required: 2, precheck: callbackChecks.vector, taken: orBefore(3) }),
    realpath: Object.assign(callbackForm(s.realpathSync, 2), { native: callbackForm(s.realpathSync.native, 2) }),
    rename: callbackForm(s.renameSync, 2, () => [], { required: 2 }),
    rm: callbackForm(s.treeForms.rm, 2, () => [], { precheck: s.treeForms.rmChecks }),
    rmdir: callbackForm(s.rmdirSync, 2, () => []),
    stat: callbackForm(noThrowIfNoEntry(s.statSync), 2),
    statfs: callbackForm(s.statfsSync, 2),
    symlink: callbackForm(s.symlinkSync, 3, () => [], { taken: (a) => a[a.length - 1] }),
    truncate: callbackForm(s.truncateSync, 2, () => [], { precheck: s.fileForms.truncateChecks }),
    unlink: callbackForm(s.unlinkSync, 1, () => []),
    utimes: callbackForm(s.utimesSync, 3, () => [], { required: 3 }),
    write,
    writev: callbackForm(s.writevSync, 3, (n, a) => [n, a[1]], { required: 2, precheck: callbackChecks.vector, taken: orBefore(3) }),
    writeFile: callbackForm(withSignal(s.fileForms.writeFile), 3, () => [], { taken: orBefore(3) }),
  };

  // util.promisify(fs.read) resolves { bytesRead, buffer } in node (and write, readv, writev alike), exists a boolean.
  const resolvesPair = (f: (...a: unknown[]) => void, names: [string, string]) =>
    Object.defineProperty(f, promisify.custom, {
      value: (...a: unknown[]) => new Promise((resolve, reject) => f(...a, (e: Error | null, n: unknown, b: unknown) => (e ? reject(e) : resolve({ [names[0]]: n, [names[1]]: b })))),
    });
  resolvesPair(callbacks.read, ['bytesRead', 'buffer']);
  resolvesPair(callbacks.write, ['bytesWritten', 'buffer']);
  resolvesPair(callbacks.readv, ['bytesRead', 'buffers']);
  resolvesPair(callbacks.writev, ['bytesWritten', 'buffer']); // sic: node 20 names writev's second value 'buffer'
  Object.defineProperty(callbacks.exists, promisify.custom, { value: (p: unknown) => new Promise((resolve) => callbacks.exists(p, resolve)) });

  /**
   * openAsBlob(path, { type }): a Blob of the file's bytes. node's Blob reads
   * the file lazily (and fails if it changed since); this one holds the
   * bytes read when it was made.
   */
  const openAsBlob = (path: PathArg, options: { type?: string } = {}): Promise<Blob> => {
    if (validateOptionsObject(options) === null) throw invalidType('options', 'of type object', null);
    const type = options.type || '';
    if (typeof type !== 'string') throw invalidType('options.type', 'of type string', type);
    const abs = c.cwd.resolve(path, 'open')[1];
    let bytes: Buffer;
    try {
      bytes = core.readFile(abs);
    } catch (e) {
      // node 20 throws this at the call for a file it cannot open.
      if (e instanceof FsError) throw new FsArgumentError('ERR_INVALID_ARG_VALUE', 'Unable to open file as blob');
      throw e;
    }
    return Promise.resolve(new Blob([bytes], { type }));
  };

  // The decoders the callback form and FileHandle share are not node:fs names.
  const { readCallbackForm: _read, readHandleForm: _readHandle, writeHandleForm: _writeHandle, fileForms: _fileForms, treeForms: _treeForms, ...publicSync } = sync;

  return {
    ...publicSync,
    ...callbacks,
    openAsBlob,
    _toUnixTimestamp: toUnixTimestamp,
    ...streamCalls(s),
    ...watchers,
    ...jsonCalls(c),
    promises: { ...promiseCalls(c, sync), watch: watchAsync },
    /** This thread's working directory (relative paths resolve against it); starts at '/'. */
    cwd: (): string => c.cwd.dir,
    /** Change this thread's working directory (to the directory's real path, as process.chdir). */
    chdir: (path: PathArg): void => {
      c.at(path, 'chdir', (abs, given) => {
        const real = core.realpath(abs);
        if (!core.stat(real).isDirectory()) throw new FsError('ENOTDIR', 'chdir', c.cwd.dir, given);
        c.cwd.dir = real;
      });
    },
    F_OK: sync.constants.F_OK,
    R_OK: sync.constants.R_OK,
    W_OK: sync.constants.W_OK,
    X_OK: sync.constants.X_OK,
    Stats,
    BigIntStats,
    StatFs,
    Dirent,
    Dir,
    FileHandle,
    ReadStream,
    WriteStream,
    /** node's names of the same classes. */
    FileReadStream: ReadStream,
    FileWriteStream: WriteStream,
  };
}

export type NodeFs = ReturnType<typeof nodeFs>;
/** Kept for code written against the first facade: the whole facade (sync calls included). */
export type NodeFsSync = NodeFs;
export type NodeFsPromises = NodeFs['promises'];
