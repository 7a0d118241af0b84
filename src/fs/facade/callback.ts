/**
 * node:fs's callback forms, made from the synchronous calls. As in node, a
 * wrong argument throws at once (a TypeError/RangeError), while a file
 * system error (FsError, a SystemError) goes to the callback, and so does a
 * replica that cannot serve (detached, fail-stopped, timed out: the core's
 * ReplicationError), as an I/O failure would in node; the callback always
 * runs later (process.nextTick), never inside the call.
 */
import { ReplicationError } from '../../nr/index.js';
import { FsAbortError, FsError, FsSystemError } from '../errors.js';
import { checkCallback } from './args.js';
import { describe, FsArgumentError } from '../paths.js';

type Cb = (...a: unknown[]) => void;

/** Errors reported through the callback (or a stream's 'error') rather than thrown: everything but a wrong argument. */
export function isSystemError(e: unknown): boolean {
  return e instanceof FsError || e instanceof FsSystemError || e instanceof ReplicationError || e instanceof FsAbortError;
}

/** The callback is the last argument; `arity` is how many arguments the call takes before it at most. */
function takeCallback(args: unknown[], arity: number): Cb {
  const last = args[args.length - 1];
  if (typeof last === 'function') {
    args.pop();
    return last as Cb;
  }
  if (args.length > arity) throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "cb" argument must be of type function. Received ${describe(args[arity])}`);
  return checkCallback(undefined);
}

/**
 * `fn(...args, cb)` calling `cb(err)` or `cb(null, ...results(value))`. `required`: arguments that
 * come before the callback whatever it is (chmod's mode): node checks them first, so chmod(path, cb)
 * is the mode's error ("Received function"), not a call with the default mode.
 */
export function callbackForm<A extends unknown[], R>(fn: (...a: A) => R, arity: number, results: (r: R, args: A) => unknown[] = (r) => [r], required = 0): (...a: unknown[]) => void {
  return (...raw: unknown[]) => {
    if (raw.length <= required && typeof raw[raw.length - 1] === 'function') {
      fn(...(raw as A)); // throws: a function where a required argument goes
      checkCallback(undefined);
    }
    const cb = takeCallback(raw, arity);
    const args = raw as A;
    let r: R;
    try {
      r = fn(...args);
    } catch (e) {
      if (!isSystemError(e)) throw e;
      process.nextTick(cb, e);
      return;
    }
    process.nextTick(cb, null, ...results(r, args));
  };
}

/** fs.exists(path, cb): cb(true | false), no error argument (node's legacy form). */
export function existsForm(existsSync: (p: never) => boolean): (path: unknown, cb: unknown) => void {
  return (path, cb) => {
    const f = checkCallback(cb);
    const r = existsSync(path as never);
    process.nextTick(f, r);
  };
}

/**
 * The `signal` of a readFile/writeFile/appendFile options object, as node's
 * callback and promise forms check it: an aborted one fails the call with
 * an AbortError before anything is read or written (the sync forms take
 * no signal).
 */
export function throwIfAborted(options: unknown, check = false): void {
  if (options === null || typeof options !== 'object') return;
  const signal = (options as { signal?: unknown }).signal;
  if (check && signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "options.signal" property must be an instance of AbortSignal. Received ${describe(signal)}`);
  }
  if (signal instanceof AbortSignal && signal.aborted) throw new FsAbortError(signal.reason);
}

/** stat/lstat/fstat as node's callback and promise forms: `throwIfNoEntry` is the sync forms' option only. */
export function noThrowIfNoEntry<P, R>(fn: (p: P, o?: { bigint?: boolean; throwIfNoEntry?: boolean }) => R): (p: P, o?: { bigint?: boolean }) => R {
  return (p, o) => fn(p, o !== null && typeof o === 'object' ? { ...o, throwIfNoEntry: true } : o);
}
