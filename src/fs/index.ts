/**
 * NrFS: a replicated in-memory file system for worker threads, on NR.
 * Each thread attaches its own replica; reads are local, mutations go
 * through the shared log; fds and offsets are private to each thread.
 */
export { createFs, attachFs, type NrFsHandle, type NrFsOptions, type AttachFsOptions } from './handle.js';
export { connectFs, declareFsClientDead, NrFsClient, type ConnectFsOptions } from './client.js';
export { NrFs, type MkdirOptions, type WriteFileOptions, type FileData } from './nrfs.js';
export { nodeFs, type NodeFs, type NodeFsSync, type NodeFsPromises } from './compat.js';
export { Dir } from './facade/dir.js';
export { FileHandle } from './facade/promises.js';
export { ReadStream, WriteStream } from './facade/streams.js';
export { FSWatcher } from './facade/watch.js';
export { FsError, FsSystemError, ERRNO, hasCode, type FsErrorCode } from './errors.js';
export { FsArgumentError, PATH_MAX, NAME_MAX, type PathLike } from './paths.js';
export { parseFlags, type OpenFlags } from './flags.js';
export { Stats, BigIntStats, StatFs, Dirent } from './stats.js';
export { PAGE_BYTES, MAX_FILE_BYTES, fsStructure, digestState, type FsState, type Inode, type StatRecord } from './state.js';
