/**
 * Node-shaped file-system errors. An `FsError` looks like what node:fs throws
 * on Linux: `code` ('ENOENT'), negative `errno` (-2), `syscall` ('open'),
 * `path` (and `dest` for rename), and a message such as
 * "ENOENT: no such file or directory, open '/a'". Code written against
 * node:fs that branches on `err.code` handles these unchanged.
 */
import { ReplicationError } from '../nr/index.js';

/** The error codes NrFS throws, with Linux errno values and libuv messages. */
export const ERRNO = {
  EPERM: [-1, 'operation not permitted'],
  ENOENT: [-2, 'no such file or directory'],
  EBADF: [-9, 'bad file descriptor'],
  EAGAIN: [-11, 'resource temporarily unavailable'],
  EACCES: [-13, 'permission denied'],
  EBUSY: [-16, 'resource busy or locked'],
  EEXIST: [-17, 'file already exists'],
  ENOTDIR: [-20, 'not a directory'],
  EISDIR: [-21, 'illegal operation on a directory'],
  EINVAL: [-22, 'invalid argument'],
  EMFILE: [-24, 'too many open files'],
  EFBIG: [-27, 'file too large'],
  ENOSPC: [-28, 'no space left on device'],
  ENAMETOOLONG: [-36, 'name too long'],
  ELOOP: [-40, 'too many symbolic links encountered'],
  ENOTSUP: [-95, 'operation not supported on socket'],
  ENOTEMPTY: [-39, 'directory not empty'],
} as const;

export type FsErrorCode = keyof typeof ERRNO;

/** The name node's errors read as: inherited from Error.prototype there, a non-enumerable own field here (ReplicationError sets its class name). */
function nameAs(e: Error, name: string): void {
  Object.defineProperty(e, 'name', { value: name, enumerable: false, writable: true, configurable: true });
}

/**
 * Own enumerable fields as node's uvException sets them: errno, code,
 * syscall, and path and dest only when there is one (so Object.keys,
 * spread and deepStrictEqual see what they see on node:fs's errors).
 */
export class FsError extends ReplicationError<FsErrorCode> {
  declare readonly errno: number;
  declare readonly syscall: string;
  declare readonly path?: string;
  declare readonly dest?: string;
  readonly #detail?: string;

  constructor(code: FsErrorCode, syscall: string, path?: string, dest?: string, detail?: string) {
    const [errno, text] = ERRNO[code];
    let where = syscall;
    if (path !== undefined) where += ` '${path}'`;
    if (dest !== undefined) where += ` -> '${dest}'`;
    super(code, `${code}: ${text}, ${where}${detail ? ` (${detail})` : ''}`);
    nameAs(this, 'Error');
    const self = this as { -readonly [K in 'errno' | 'syscall' | 'path' | 'dest']?: FsError[K] };
    self.errno = errno;
    self.syscall = syscall;
    if (path !== undefined) self.path = path;
    if (dest !== undefined) self.dest = dest;
    this.#detail = detail;
  }

  /** The same error quoting other paths (a relative path as the caller spelled it). */
  withPaths(path: string | undefined, dest: string | undefined): FsError {
    return new FsError(this.code, this.syscall, path, dest, this.#detail);
  }
}

/** Is `e` an NrFS (or node:fs) error with this code? */
export function hasCode(e: unknown, code: string): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === code;
}

/**
 * node's SystemError for the checks node:fs makes in JavaScript (rm, cp):
 * `code` 'ERR_FS_EISDIR', 'ERR_FS_CP_EEXIST'..., `info` with the system
 * code, and a message such as
 * "Path is a directory: rm returned EISDIR (is a directory) /d".
 */
export class FsSystemError extends ReplicationError<string> {
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;
  readonly info: { code: string; message: string; path: string; syscall: string; errno: number };

  constructor(code: string, prefix: string, sysCode: FsErrorCode, syscall: string, detail: string, path: string) {
    super(code, `${prefix}: ${syscall} returned ${sysCode} (${detail}) ${path}`);
    nameAs(this, 'SystemError');
    this.errno = -ERRNO[sysCode][0];
    this.syscall = syscall;
    this.path = path;
    this.info = { code: sysCode, message: detail, path, syscall, errno: this.errno };
  }
}

/** node's AbortError for a call whose `signal` was already aborted (readFile, writeFile, appendFile in their callback and promise forms). */
export class FsAbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(cause: unknown) {
    super('The operation was aborted', { cause });
    this.name = 'AbortError';
  }
}
