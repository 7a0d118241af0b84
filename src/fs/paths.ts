/**
 * Path checks at the call site.
 *
 * NrFS paths are absolute POSIX paths. A path is checked before anything is
 * logged (so bad input never reaches the log), and kept as given: error
 * messages quote it as the caller wrote it, like node:fs. It is walked at
 * apply time (`locate` in state.ts).
 */
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { FsError } from './errors.js';

/** Longest path (bytes, as Linux PATH_MAX - 1) and longest name (NAME_MAX). */
export const PATH_MAX = 4095;
export const NAME_MAX = 255;

const ARGUMENT_ERROR = Symbol('nrfs.argumentError');

/**
 * Thrown for a bad argument, as node:fs throws it: with node's `code` and
 * node's class for that code, so `assert.throws(f, { name: 'RangeError',
 * code: 'ERR_OUT_OF_RANGE' })` holds on both: ERR_INVALID_ARG_TYPE and
 * ERR_INVALID_ARG_VALUE are TypeErrors, ERR_OUT_OF_RANGE and
 * ERR_FS_FILE_TOO_LARGE RangeErrors, ERR_FS_INVALID_SYMLINK_TYPE a plain
 * Error. Every one of them is also `instanceof FsArgumentError`.
 */
export class FsArgumentError extends TypeError {
  readonly code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE' | 'ERR_FS_INVALID_SYMLINK_TYPE' | 'ERR_FS_FILE_TOO_LARGE' | 'ERR_INCOMPATIBLE_OPTION_PAIR' | 'ERR_INVALID_RETURN_VALUE';
  declare readonly [ARGUMENT_ERROR]: true;
  constructor(code: FsArgumentError['code'], message: string) {
    super(message);
    this.code = code;
    const proto = code === 'ERR_OUT_OF_RANGE' || code === 'ERR_FS_FILE_TOO_LARGE' ? FsRangeError.prototype : code === 'ERR_FS_INVALID_SYMLINK_TYPE' ? FsPlainError.prototype : null;
    if (proto !== null) Object.setPrototypeOf(this, proto);
    Object.defineProperty(this, ARGUMENT_ERROR, { value: true });
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as { [ARGUMENT_ERROR]?: unknown })[ARGUMENT_ERROR] === true;
  }
}
/** The prototypes FsArgumentError takes for node's RangeError and plain Error codes (never constructed directly). */
class FsRangeError extends RangeError {}
class FsPlainError extends Error {}

export type PathLike = string | Uint8Array | URL;

/**
 * node's getValidatedPath: a string, Uint8Array or file: URL without null
 * bytes, as a string (it may be empty or relative). Node checks this before a
 * call's other arguments, and those before the path is looked up.
 */
export function pathArg(path: unknown, name = 'path'): string {
  let p: string;
  if (typeof path === 'string') p = path;
  else if (path instanceof Uint8Array) p = Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString('utf8');
  else if (path instanceof URL) p = fileURLToPath(path);
  else throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string or an instance of Buffer or URL. Received ${describe(path)}`);
  if (p.includes('\u0000')) {
    // node quotes the argument as given: a Buffer as <Buffer ...>, a URL's path as the decoded string.
    const shown = path instanceof Uint8Array ? path : p;
    throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `The argument '${name}' must be a string, Uint8Array, or URL without null bytes. Received ${inspect(shown)}`);
  }
  return p;
}

/**
 * Validate a path argument (a string, Buffer or `file:` URL); returns it as
 * a string. Throws before anything is written. `relative` allows a path not
 * starting with '/' (a symbolic link's target).
 */
export function checkPath(path: unknown, syscall: string, name = 'path', relative = false): string {
  let p = pathArg(path, name);
  if (p.length === 0) throw new FsError('ENOENT', syscall, p);
  if (!relative && p.charCodeAt(0) !== 47 /* / */) throw new FsError('EINVAL', syscall, p, undefined, 'NrFS paths must be absolute (the node:fs facade resolves relative ones)');
  // One pass over the UTF-16 units; exact UTF-8 byte counts only for non-ASCII paths.
  let ascii = true;
  let nameStart = 0;
  const n = p.length;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 47 : p.charCodeAt(i);
    if (c === 47) {
      if (i - nameStart > NAME_MAX / 3 && Buffer.byteLength(p.slice(nameStart, i)) > NAME_MAX) throw new FsError('ENAMETOOLONG', syscall, p);
      nameStart = i + 1;
    } else if (c > 0x7f) ascii = false;
  }
  if ((ascii ? n : Buffer.byteLength(p)) > PATH_MAX) throw new FsError('ENAMETOOLONG', syscall, p);
  // node:fs passes a path to the kernel as UTF-8, where a lone surrogate becomes U+FFFD: the same name here, on every replica.
  if (!ascii && !p.isWellFormed()) p = p.toWellFormed();
  return p;
}

/**
 * Validate a symbolic link's target: as symlink(2), only its length counts
 * (at most PATH_MAX bytes, none for empty); its names are not looked up now,
 * so NAME_MAX applies when the link is followed, not here. Returns it as a string.
 */
export function checkLinkTarget(target: unknown, syscall: string): string {
  let t = pathArg(target, 'target');
  if (t.length === 0) throw new FsError('ENOENT', syscall, t);
  if (Buffer.byteLength(t) > PATH_MAX) throw new FsError('ENAMETOOLONG', syscall, t);
  if (!t.isWellFormed()) t = t.toWellFormed();
  return t;
}

/** node's `Received ...` suffix for a wrong value (its determineSpecificType). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  switch (typeof v) {
    case 'function':
      return `function ${v.name}`;
    case 'object': {
      const ctor = (v as { constructor?: { name?: unknown } }).constructor;
      return ctor !== undefined && ctor !== null && 'name' in ctor ? `an instance of ${String(ctor.name)}` : inspect(v, { depth: -1 });
    }
    case 'string': {
      const shown = v.length > 28 ? `${v.slice(0, 25)}...` : v;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`;
    }
    case 'bigint':
      return `type bigint (${v}n)`;
    case 'number':
      return `type number (${Object.is(v, -0) ? '-0' : String(v)})`;
    case 'symbol':
      return `type symbol (${String(v)})`;
    default:
      return `type ${typeof v} (${String(v)})`;
  }
}
