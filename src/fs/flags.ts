/** open(2) flags from node:fs's string forms ('r', 'w+', 'ax', ...) or numbers. */
import { inspect } from 'node:util';
import { FsArgumentError } from './paths.js';
import { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from './state.js';

/** O_SYNC is accepted and ignored: there is nothing to sync in memory. */
export const O_SYNC = 0o4010000;

const BY_STRING: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

export type OpenFlags = string | number;

/**
 * node's stringToFlags: a number is an int32 (node's range message; NrFS
 * refuses a negative one, whose bits it does not model, with the same
 * code), a known string its flags, anything else ERR_INVALID_ARG_VALUE.
 */
export function parseFlags(flags: unknown, fallback: number): number {
  if (flags === undefined || flags === null) return fallback;
  if (typeof flags === 'number') {
    if (!Number.isInteger(flags)) throw rangeError(flags, 'an integer');
    if (flags < -2147483648 || flags > 2147483647) throw rangeError(flags, '>= -2147483648 && <= 2147483647');
    if (flags < 0) throw rangeError(flags, '>= 0 && <= 2147483647 (NrFS models no negative flags)');
    return flags;
  }
  if (typeof flags === 'string') {
    const f = BY_STRING[flags];
    if (f !== undefined && Object.hasOwn(BY_STRING, flags)) return f;
  }
  throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `The argument 'flags' is invalid. Received ${inspect(flags)}`);
}

function rangeError(flags: number, range: string): FsArgumentError {
  const shown = Math.abs(flags) > 2 ** 32 ? String(flags).replace(/\B(?=(\d{3})+(?!\d))/g, '_') : String(flags);
  return new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "flags" is out of range. It must be ${range}. Received ${shown}`);
}
