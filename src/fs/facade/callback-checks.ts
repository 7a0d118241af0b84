/**
 * What node's callback forms check before they take the callback, for the
 * calls that do not check the callback first (callbackForm's `precheck`):
 * with a callback missing or not a function, these arguments' errors come
 * first, as in node. Each sees the arguments before the callback's place.
 */
import { pathArg, FsArgumentError, describe } from '../paths.js';
import { toUnixTimestamp } from './args.js';
import { checkBuffers, ownerArg, truncateLength, validateBuffer, validateOptionsObject, validFd } from './validate.js';

export const callbackChecks = {
  /** copyFile(src, dest, [mode], cb): both paths (the mode after the callback). */
  copyFile: (src: unknown, dest: unknown): void => {
    pathArg(src, 'src');
    pathArg(dest, 'dest');
  },
  // fchown, ftruncate, futimes: node 20 checks the descriptor after the callback (in its binding).
  fchown: (_fd: unknown, uid: unknown, gid: unknown): void => {
    ownerArg(uid, 'uid');
    ownerArg(gid, 'gid');
  },
  ftruncate: (_fd: unknown, len: unknown): void => {
    truncateLength(len);
  },
  futimes: (_fd: unknown, atime: unknown, mtime: unknown): void => {
    toUnixTimestamp(atime, 'atime');
    toUnixTimestamp(mtime, 'mtime');
  },
  /** readv and writev: the descriptor and the buffers. */
  vector: (fd: unknown, buffers: unknown): void => {
    validFd(fd);
    checkBuffers(buffers);
  },
};

/**
 * fs.read with no function where its callback goes: node's read checks
 * the descriptor, then (by its argument count, the would-be callback
 * included) the options object and the buffer, before the callback.
 */
export function readWithoutCallback(args: unknown[]): void {
  validFd(args[0]);
  let buffer = args[1];
  if (args.length === 4) validateOptionsObject(args[2]); // (fd, buffer, options, cb)
  else if (args.length === 3 && !ArrayBuffer.isView(buffer)) buffer = validateOptionsObject(buffer)?.buffer ?? Buffer.alloc(0); // (fd, options, cb)
  else if (args.length <= 2) buffer = Buffer.alloc(0); // (fd, cb)
  validateBuffer(buffer);
}

/** fs.write with no function where its callback goes: the descriptor, then the data's type, before the callback. */
export function writeWithoutCallback(args: unknown[]): void {
  validFd(args[0]);
  const data = args[1];
  if (!ArrayBuffer.isView(data) && typeof data !== 'string') {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${describe(data)}`);
  }
}
