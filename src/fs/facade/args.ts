/**
 * node:fs argument handling for the facade: path-likes (string, Buffer,
 * `file:` URL) resolved against the thread's working directory, options
 * objects, encodings, fds and callbacks, each failing with node's error code
 * and message (checked against node 20 in test/fs-surface*.test.ts).
 */
import { FsError } from '../errors.js';
import type { NrFs } from '../nrfs.js';
import { checkPath, describe, FsArgumentError, pathArg } from '../paths.js';

/** What node:fs takes as a path. */
export type PathArg = string | Uint8Array | URL;

export function invalidType(name: string, expected: string, v: unknown): FsArgumentError {
  const what = name.includes('.') ? `"${name}" property` : `"${name}" argument`;
  return new FsArgumentError('ERR_INVALID_ARG_TYPE', `The ${what} must be ${expected}. Received ${describe(v)}`);
}

/** A per-thread working directory: relative paths are joined to it, not normalised (the walk follows '..'). */
export class WorkingDir {
  dir = '/';
  /** The path argument as given (string, Buffer or file: URL, checked) and as an absolute path. */
  resolve(p: unknown, syscall: string, name = 'path'): [given: string, abs: string] {
    const s = checkPath(p, syscall, name, true);
    if (s.charCodeAt(0) === 47) return [s, s];
    return [s, this.dir === '/' ? `/${s}` : `${this.dir}/${s}`];
  }
}

/**
 * Run `fn` on absolute paths; an FsError that quotes them quotes the
 * caller's (relative) spelling instead, as node:fs does.
 */
export function asGiven<T>(given: string, abs: string, fn: () => T, givenDest?: string, absDest?: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FsError && (given !== abs || givenDest !== absDest)) {
      throw e.withPaths(e.path === abs ? given : e.path, e.dest !== undefined && e.dest === absDest ? givenDest : e.dest);
    }
    throw e;
  }
}

/**
 * node's getOptions: a string is the encoding, null/undefined the defaults, anything else but an object an error.
 * As node's assertEncoding, a falsy encoding ('', 0, false) is no encoding, not an invalid one.
 */
export function optionsOf<T extends object>(o: unknown, defaults: T): T & { encoding?: BufferEncoding | 'buffer' | null } {
  if (o === undefined || o === null || typeof o === 'function') return { ...defaults };
  if (typeof o === 'string') return { ...defaults, encoding: o === '' ? undefined : checkEncoding(o) };
  if (typeof o !== 'object') throw invalidType('options', 'one of type string or object', o);
  const out = { ...defaults, ...(o as object) } as T & { encoding?: BufferEncoding | 'buffer' | null };
  if (out.encoding !== undefined && out.encoding !== null) {
    if (!out.encoding) out.encoding = undefined;
    else checkEncoding(out.encoding);
  }
  return out;
}

/**
 * A name (readdir, readlink, realpath, mkdtemp) in the caller's encoding, as
 * node:fs returns it: the UTF-8 bytes of the name as a Buffer for 'buffer',
 * decoded as `enc` for any other ('hex', 'base64', 'latin1'...).
 */
export function encodeName(name: string, enc: BufferEncoding | 'buffer' | null | undefined): string | Buffer {
  if (enc === undefined || enc === null || enc === 'utf8' || enc === 'utf-8') return name;
  const bytes = Buffer.from(name);
  return enc === 'buffer' ? bytes : bytes.toString(enc);
}

export function checkEncoding(e: unknown): BufferEncoding | 'buffer' {
  if (e === 'buffer') return 'buffer';
  if (typeof e === 'string' && Buffer.isEncoding(e)) return e;
  throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `The argument 'encoding' is invalid encoding. Received ${describeValue(e)}`);
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** An optional boolean property of an options object. */
export function optBool(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalidType(`options.${key}`, 'of type boolean', v);
  return v;
}

/**
 * A boolean option where node spreads its defaults under the options before it validates them:
 * given as `undefined`, it is no boolean either (rm, rmdir and cp options).
 */
export function spreadBool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw invalidType(`options.${key}`, 'of type boolean', v);
  return v;
}

export function checkFd(fd: unknown): number {
  if (typeof fd !== 'number') throw invalidType('fd', 'of type number', fd);
  if (!Number.isInteger(fd)) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "fd" is out of range. It must be an integer. Received ${fd}`);
  }
  if (fd < 0 || fd > 0x7fffffff) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received ${fd}`);
  }
  return fd;
}

/** node names it 'cb' in most calls, 'callback' in opendir and Dir's, 'listener' in the watchers. */
export function checkCallback(cb: unknown, name = 'cb'): (...a: unknown[]) => void {
  if (typeof cb !== 'function') throw invalidType(name, 'of type function', cb);
  return cb as (...a: unknown[]) => void;
}

/**
 * node's toUnixTimestamp (exported by node:fs as `_toUnixTimestamp`): a
 * Date, a finite number of seconds (a negative one means now), or a string
 * that is loosely equal to its number ('', ' 12 '); returns seconds.
 */
export function toUnixTimestamp(t: unknown, name = 'time'): number {
  // node's own test of a numeric string: a loose equality.
  if (typeof t === 'string' && +t == (t as unknown as number)) return +t;
  if (typeof t === 'number' && Number.isFinite(t)) return t < 0 ? Date.now() / 1000 : t;
  if (t instanceof Date) return t.getTime() / 1000;
  throw invalidType(name, 'an instance of Date or an Time in seconds', t);
}

/** A time argument in milliseconds; node names it 'time' for utimes and lutimes, 'atime'/'mtime' for futimes. */
export function timeMs(t: unknown, name = 'time'): number {
  return toUnixTimestamp(t, name) * 1000;
}

/** Bytes of a string or ArrayBufferView data argument. */
export function dataBytes(data: unknown, encoding: BufferEncoding | undefined, name = 'data'): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  if (ArrayBuffer.isView(data)) {
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw invalidType(name, 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

/** What the facade's modules share: the thread's NrFs and working directory, and path helpers over them. */
export class FacadeContext {
  readonly cwd = new WorkingDir();
  constructor(readonly core: NrFs) {}

  /** Check `p` as node's getValidatedPath does (its type, no null bytes), before a call's other arguments. */
  checkPathArg(p: unknown, name = 'path'): void {
    pathArg(p, name);
  }

  /** Run `fn` on the absolute form of path `p`; errors quote `p` as given. */
  at<T>(p: unknown, syscall: string, fn: (abs: string, given: string) => T, name = 'path'): T {
    const [given, abs] = this.cwd.resolve(p, syscall, name);
    return asGiven(given, abs, () => fn(abs, given));
  }

  /** The same for two paths (rename, link, copyFile...). */
  at2<T>(a: unknown, b: unknown, syscall: string, fn: (absA: string, absB: string, givenA: string, givenB: string) => T, nameA: string, nameB: string): T {
    // Both arguments are checked before an empty one fails, and the ENOENT quotes both, as node's.
    const empty = (x: unknown): boolean => (typeof x === 'string' || x instanceof Uint8Array) && x.length === 0;
    if (empty(a) || empty(b)) {
      const shown = (x: unknown, name: string): string => (empty(x) ? '' : this.cwd.resolve(x, syscall, name)[0]);
      const [sa, sb] = [shown(a, nameA), shown(b, nameB)];
      throw new FsError('ENOENT', syscall, sa, sb);
    }
    const [ga, aa] = this.cwd.resolve(a, syscall, nameA);
    const [gb, ab] = this.cwd.resolve(b, syscall, nameB);
    return asGiven(ga, aa, () => fn(aa, ab, ga, gb), gb, ab);
  }
}
