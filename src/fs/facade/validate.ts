/**
 * node:fs's numeric argument checks, with node 20's codes, classes and
 * messages (validateInteger, validateInt32, validateUint32, the fd, offset,
 * length and position checks of read and write), and the positions node's
 * binding reads: a write's position that is not a safe integer >= 0, or a
 * read's that is negative, means "at the fd's offset".
 */
import { inspect } from 'node:util';
import { FsError } from '../errors.js';
import { describe, FsArgumentError } from '../paths.js';
import { invalidType } from './args.js';
import { MAX_FILE_BYTES } from '../state.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** '1099511627776' as node prints a large number in a range error: 1_099_511_627_776. */
function withSeparators(digits: string): string {
  const sign = digits.startsWith('-') ? '-' : '';
  let rest = digits.slice(sign.length);
  let out = '';
  while (rest.length > 3) {
    out = `_${rest.slice(-3)}${out}`;
    rest = rest.slice(0, -3);
  }
  return sign + rest + out;
}

/** The `Received ...` of node's ERR_OUT_OF_RANGE. */
function received(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) > 2 ** 32) return withSeparators(String(v));
  if (typeof v === 'bigint') return `${v > 2n ** 32n || v < -(2n ** 32n) ? withSeparators(String(v)) : String(v)}n`;
  return inspect(v);
}

export function outOfRange(name: string, range: string, v: unknown): FsArgumentError {
  return new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${received(v)}`);
}

function notANumber(name: string, v: unknown): FsArgumentError {
  return invalidType(name, 'of type number', v);
}

/** node's validateInteger: a number, an integer, within [min, max] (safe integers by default). */
export function validateInteger(v: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number') throw notANumber(name, v);
  if (!Number.isInteger(v)) throw outOfRange(name, 'an integer', v);
  if (v < min || v > max) throw outOfRange(name, `>= ${min} && <= ${max}`, v);
  return v;
}

export function validateInt32(v: unknown, name: string, min = INT32_MIN, max = INT32_MAX): number {
  return validateInteger(v, name, min, max);
}

export function validateUint32(v: unknown, name: string): number {
  return validateInteger(v, name, 0, UINT32_MAX);
}

/** node's getValidatedFd: -0 is 0, else an int32 >= 0. */
export function validFd(fd: unknown, name = 'fd'): number {
  if (Object.is(fd, -0)) return 0;
  return validateInt32(fd, name, 0);
}

/** node's ftruncate length: a safe integer (undefined is 0, null an error), a negative one read as 0. */
export function truncateLength(len: unknown): number {
  return Math.max(0, validateInteger(len === undefined ? 0 : len, 'len'));
}

/** An options argument that may be null or undefined, else a non-array object (kValidateObjectAllowNullable). */
export function validateOptionsObject(v: unknown, name = 'options'): Record<string, unknown> | null | undefined {
  if (v === undefined || v === null) return v;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type object. Received ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

export function validateBuffer(v: unknown, name = 'buffer'): ArrayBufferView {
  if (!ArrayBuffer.isView(v)) {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be an instance of Buffer, TypedArray, or DataView. Received ${describe(v)}`);
  }
  return v;
}

/** The bytes of any ArrayBufferView (offsets and lengths of reads and writes count bytes, as in node). */
export function bytesView(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export function emptyBufferError(buffer: ArrayBufferView): FsArgumentError {
  return new FsArgumentError('ERR_INVALID_ARG_VALUE', `The argument 'buffer' is empty and cannot be written. Received ${inspect(buffer)}`);
}

export function validateOffsetLengthRead(offset: number, length: number, byteLength: number): void {
  if (offset < 0) throw outOfRange('offset', '>= 0', offset);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  if (offset + length > byteLength) throw outOfRange('length', `<= ${byteLength - offset}`, length);
}

export function validateOffsetLengthWrite(offset: number, length: number, byteLength: number): void {
  if (offset > byteLength) throw outOfRange('offset', `<= ${byteLength}`, offset);
  if (length > byteLength - offset) throw outOfRange('length', `<= ${byteLength - offset}`, length);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  validateInt32(length, 'length', 0);
}

/** node's validatePosition (reads): an integer >= -1, or a bigint in the int64 range. */
export function validateReadPosition(pos: unknown, name = 'position'): void {
  if (typeof pos === 'number') validateInteger(pos, name, -1);
  else if (typeof pos === 'bigint') {
    if (!(pos >= INT64_MIN && pos <= INT64_MAX)) throw outOfRange(name, `>= ${INT64_MIN} && <= ${INT64_MAX}`, pos);
  } else throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type bigint or integer. Received ${describe(pos)}`);
}

/**
 * Where a validated read position reads: null at the fd's offset (a
 * negative one, as pread's -1), 'past' beyond any NrFS file (reads 0
 * bytes), else the byte position.
 */
export function readAt(pos: number | bigint | null): number | null | 'past' {
  if (pos === null || pos < 0) return null;
  if (pos > MAX_FILE_BYTES) return 'past';
  return Number(pos);
}

/**
 * Where a write lands, as node's binding reads its position: a safe
 * integer >= 0 is a position, anything else (null, -1, a bigint, a
 * fraction, a string) the fd's offset. A write that would end past NrFS's
 * largest file is EFBIG, as Linux's pwrite past the file system's limit.
 */
export function writeAt(pos: unknown, length: number, syscall = 'write'): number | null {
  if (typeof pos !== 'number' || !Number.isSafeInteger(pos) || pos < 0) return null;
  if (pos + length > MAX_FILE_BYTES) throw new FsError('EFBIG', syscall);
  return pos;
}

/**
 * The mode of access() and copyFile() as node 20 takes it: undefined or null is 0, another
 * non-number a type error, NaN or a number outside 0..7 out of range, a fraction in range
 * truncated (1.5 is X_OK, as its binding's int conversion does).
 */
export function accessMode(mode: unknown): number {
  if (mode === undefined || mode === null) return 0;
  if (typeof mode !== 'number') throw new FsArgumentError('ERR_INVALID_ARG_TYPE', 'mode must be int32 or null/undefined');
  if (Number.isNaN(mode)) throw new FsArgumentError('ERR_OUT_OF_RANGE', 'mode is out of range');
  if (!(mode >= 0 && mode < 8) && !(mode > -1 && mode <= 0)) throw new FsArgumentError('ERR_OUT_OF_RANGE', 'mode is out of range: >= 0 && <= 7');
  return Math.trunc(mode) | 0;
}

/** readv/writev's buffers: an array of ArrayBufferViews, as bytes. */
export function checkBuffers(buffers: unknown): Uint8Array[] {
  if (!Array.isArray(buffers) || !buffers.every((b) => ArrayBuffer.isView(b))) {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "buffers" argument must be an ArrayBufferView[]. Received ${describe(buffers)}`);
  }
  return buffers.map((b: ArrayBufferView) => bytesView(b));
}

/** node's uid/gid check: validateInteger(v, name, -1, 2^32 - 1). */
export function ownerArg(v: unknown, name: string): number {
  return validateInteger(v, name, -1, 0xffffffff);
}
