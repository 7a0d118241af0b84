/** Argument checks of NrFs calls (node:fs's codes and messages), run before anything is logged. */
import { FsError } from './errors.js';
import { inspect } from 'node:util';
import { describe, FsArgumentError } from './paths.js';
import { MAX_FILE_BYTES } from './state.js';

export type FileData = string | ArrayBufferView;

export function bytesOf(data: FileData, encoding: BufferEncoding | undefined, name = 'data'): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  if (ArrayBuffer.isView(data)) {
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${typeof data}`);
}

export function checkMode(mode: unknown, fallback: number): number {
  if (mode === undefined || mode === null) return fallback;
  // node's parseFileMode: an octal string, else a uint32.
  if (typeof mode === 'string') {
    if (/^[0-7]+$/.test(mode)) return parseInt(mode, 8);
    throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `The argument 'mode' must be a 32-bit unsigned integer or an octal string. Received ${inspect(mode)}`);
  }
  if (typeof mode !== 'number') throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "mode" argument must be of type number. Received ${describe(mode)}`);
  if (!Number.isInteger(mode)) throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "mode" is out of range. It must be an integer. Received ${mode}`);
  if (mode < 0 || mode > 0xffffffff) throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "mode" is out of range. It must be >= 0 && <= 4294967295. Received ${mode}`);
  return mode;
}

export function checkLength(len: unknown, syscall: string, name = 'len'): number {
  if (typeof len !== 'number' || !Number.isInteger(len)) {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be an integer. Received ${String(len)}`);
  }
  // node:fs clamps a negative length to 0.
  if (len < 0) return 0;
  if (len > MAX_FILE_BYTES) throw new FsError('EFBIG', syscall);
  return len;
}

/** A time in ms for utimes/futimes (the core's unit; the facade converts node's seconds and Dates): a finite number. */
export function checkTimeMs(t: unknown, name: string): number {
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be a finite number of milliseconds. Received ${describe(t)}`);
  return t;
}

export function checkPosition(pos: unknown): number {
  if (typeof pos === 'bigint') pos = Number(pos);
  if (typeof pos !== 'number' || !Number.isInteger(pos) || pos < 0 || pos > MAX_FILE_BYTES) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "position" is out of range. It must be >= 0 && <= ${MAX_FILE_BYTES}. Received ${String(pos)}`);
  }
  return pos;
}

export function checkRange(buf: Uint8Array, offset: unknown, length: unknown): void {
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "offset" is out of range. It must be >= 0 && <= ${buf.length}. Received ${String(offset)}`);
  }
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be >= 0. Received ${String(length)}`);
  }
  if (offset + length > buf.length) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be <= ${buf.length - offset}. Received ${length}`);
  }
}

