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

/**
 * node takes the callback by position: the first function among the optional positions
 * (`required`..`arity`: an options argument left out shifts it), else what is at `arity`;
 * arguments after it are ignored. Returns its index, or -1 if no function is where it goes.
 */
function callbackAt(args: unknown[], arity: number, required: number): number {
  for (let i = required; i <= arity && i < args.length; i++) if (typeof args[i] === 'function') return i;
  return -1;
}

/** How node's callback form of one call treats its callback argument, where it is not the default. */
export interface CallbackRules {
  /** Arguments that come before the callback whatever they are (utimes' times, chmod's mode). */
  required?: number;
  /**
   * The argument checks node makes before it takes the callback, in its order (chmod checks the path
   * and mode first, so chmod(path, cb) is the mode's error, "Received function"); it sees the
   * arguments before the callback's place. Without one the callback is checked first, as node's
   * makeCallback at the top of most calls.
   */
  precheck?: (...a: unknown[]) => void;
  /** How node's message names the callback ('cb'; 'callback' in opendir). */
  name?: string;
  /** What node took as the callback when none is a function, for its message (default: the argument at the callback's place). */
  taken?: (args: unknown[]) => unknown;
  /**
   * Checks node makes before it finds the callback missing, where they depend on all the arguments
   * (read and write pick their form by argument count): run, with every argument, only when no
   * function is where the callback goes.
   */
  noCallback?: (args: unknown[]) => void;
}

/** node's `callback ||= options` (readFile, writeFile, readv...): the callback's place, or the argument before it if that is falsy. */
export const orBefore =
  (arity: number) =>
  (args: unknown[]): unknown =>
    args[arity] || args[arity - 1];

/** `fn(...args, cb)` calling `cb(err)` or `cb(null, ...results(value))`, with node's rules for the callback argument. */
export function callbackForm<A extends unknown[], R>(
  fn: (...a: A) => R,
  arity: number,
  results: (r: R, args: A) => unknown[] = (r) => [r],
  rules: CallbackRules = {},
): (...a: unknown[]) => void {
  const { required = 0, precheck, name = 'cb' } = rules;
  const taken = rules.taken ?? ((args: unknown[]) => args[arity]);
  return (...raw: unknown[]) => {
    const at = callbackAt(raw, arity, required);
    precheck?.(...raw.slice(0, at < 0 ? arity : at));
    if (at < 0) {
      rules.noCallback?.(raw);
      throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type function. Received ${describe(taken(raw))}`);
    }
    const cb = raw[at] as Cb;
    const args = raw.slice(0, at) as A;
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
