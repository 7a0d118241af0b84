/**
 * The argument forms of node:fs's read and write, decoded in node 20's
 * order of checks (fs.readSync / fs.read / FileHandle.read, fs.writeSync /
 * fs.write / FileHandle.write): which buffer, which bytes of it, and where
 * in the file. Offsets and lengths count bytes of any ArrayBufferView.
 */
import { type Data } from './sync.js';
import { invalidType } from './args.js';
import { FsArgumentError } from '../paths.js';
import {
  bytesView,
  emptyBufferError,
  readAt,
  validateBuffer,
  validateInteger,
  validateOffsetLengthRead,
  validateOffsetLengthWrite,
  validateOptionsObject,
  validateReadPosition,
  writeAt,
} from './validate.js';

/** A decoded read: `at` null reads at the fd's offset, 'past' beyond any file; `length` 0 reads nothing (nothing else checked). */
export interface ReadRequest {
  buffer: ArrayBufferView;
  bytes: Uint8Array;
  offset: number;
  length: number;
  at: number | null | 'past';
}

interface ReadOptionsBag {
  buffer?: unknown;
  offset?: unknown;
  length?: unknown;
  position?: unknown;
}

function nothing(buffer: ArrayBufferView): ReadRequest {
  return { buffer, bytes: bytesView(buffer), offset: 0, length: 0, at: null };
}

/** `{ offset = 0, length = byteLength - offset, position = null }` of an options object, as node destructures it. */
function fromOptions(o: ReadOptionsBag | null | undefined, byteLength: number | undefined): [unknown, unknown, unknown] {
  const offset = o?.offset === undefined ? 0 : o.offset;
  const length = o?.length === undefined ? (byteLength ?? NaN) - (offset as number) : o.length;
  const position = o?.position === undefined ? null : o.position;
  return [offset, length, position];
}

/**
 * fs.readSync(fd, buffer, offset, length, position) and (fd, buffer,
 * options), and fs.read's forms once the callback is taken off: `args` is
 * what follows the fd. The sync form reads `offset: null` as an error, the
 * callback form as 0.
 */
export function readRequest(args: unknown[], form: 'sync' | 'callback'): ReadRequest {
  let [buffer, offset, length, position] = args;
  if (form === 'callback' && args.length <= 1 && !ArrayBuffer.isView(buffer)) {
    // fs.read(fd, cb) and fs.read(fd, { buffer, offset, length, position }, cb).
    const o = validateOptionsObject(buffer) as ReadOptionsBag | null | undefined;
    buffer = o?.buffer === undefined ? Buffer.alloc(16384) : o.buffer;
    [offset, length, position] = fromOptions(o, (buffer as ArrayBufferView | undefined)?.byteLength);
  } else if (args.length <= 2 || (form === 'sync' && typeof offset === 'object')) {
    if (form === 'sync') validateBuffer(buffer);
    const o = validateOptionsObject(offset) as ReadOptionsBag | null | undefined;
    [offset, length, position] = fromOptions(o, (buffer as ArrayBufferView | undefined)?.byteLength);
  }
  const buf = validateBuffer(buffer);
  if (form === 'sync' ? offset === undefined : offset === undefined || offset === null) offset = 0;
  else validateInteger(offset, 'offset', 0);
  const len = (length as number) | 0; // node's `length |= 0` (a bigint throws its TypeError)
  if (len === 0) return nothing(buf);
  if (buf.byteLength === 0) throw emptyBufferError(buf);
  validateOffsetLengthRead(offset as number, len, buf.byteLength);
  if (position === undefined || position === null) position = -1;
  validateReadPosition(position);
  return { buffer: buf, bytes: bytesView(buf), offset: offset as number, length: len, at: readAt(position as number | bigint) };
}

/** FileHandle.read(buffer, offset, length, position), (buffer, options) and (options). */
export function handleReadRequest(bufferOrOptions: unknown, offsetOrOptions: unknown, length: unknown, position: unknown): ReadRequest {
  let buffer = bufferOrOptions;
  let offset = offsetOrOptions;
  if (!ArrayBuffer.isView(buffer)) {
    const o = validateOptionsObject(bufferOrOptions) as ReadOptionsBag | null | undefined;
    buffer = o?.buffer === undefined ? Buffer.alloc(16384) : o.buffer;
    [offset, length, position] = fromOptions(o, (buffer as ArrayBufferView | undefined)?.byteLength);
    validateBuffer(buffer);
  }
  const buf = buffer as ArrayBufferView;
  if (offset !== null && typeof offset === 'object') [offset, length, position] = fromOptions(offset as ReadOptionsBag, buf.byteLength);
  if (offset === undefined || offset === null) offset = 0;
  else validateInteger(offset, 'offset', 0);
  length ??= buf.byteLength - (offset as number);
  if (length === 0) return nothing(buf);
  if (buf.byteLength === 0) throw emptyBufferError(buf);
  validateOffsetLengthRead(offset as number, length as number, buf.byteLength);
  const at = typeof position === 'number' && Number.isSafeInteger(position) ? readAt(position) : null;
  return { buffer: buf, bytes: bytesView(buf), offset: offset as number, length: length as number, at };
}

/** A decoded write: the bytes to write and where (null: at the fd's offset). */
export interface WriteRequest {
  bytes: Uint8Array;
  offset: number;
  length: number;
  at: number | null;
}

/** node's normalizeEncoding, enough for validateEncoding's one check: is it hex? */
function isHex(encoding: unknown): boolean {
  return typeof encoding === 'string' && encoding.toLowerCase() === 'hex';
}

/**
 * fs.writeSync(fd, buffer, offset, length, position), (fd, buffer,
 * options), (fd, string, position, encoding), and fs.write's and
 * FileHandle.write's same forms (`args` follows the fd). A string's
 * encoding node does not know is utf8, as node's binding reads it.
 */
export function writeRequest(args: unknown[]): WriteRequest {
  const [data] = args;
  let [, offset, length, position] = args;
  if (ArrayBuffer.isView(data)) {
    if (typeof offset === 'object') {
      const o = (offset ?? {}) as ReadOptionsBag;
      [offset, length, position] = fromOptions(o, data.byteLength);
    }
    if (offset === undefined || offset === null) offset = 0;
    else validateInteger(offset, 'offset', 0);
    if (typeof length !== 'number') length = data.byteLength - (offset as number);
    validateOffsetLengthWrite(offset as number, length as number, data.byteLength);
    return { bytes: bytesView(data), offset: offset as number, length: length as number, at: writeAt(position, length as number) };
  }
  if (typeof data !== 'string') throw invalidType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
  if (isHex(length) && data.length % 2 !== 0) {
    throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `The argument 'encoding' is invalid for data of length ${data.length}. Received '${String(length)}'`);
  }
  const encoding: BufferEncoding = typeof length === 'string' && Buffer.isEncoding(length) ? length : 'utf8';
  const bytes = Buffer.from(data, encoding);
  return { bytes, offset: 0, length: bytes.length, at: writeAt(offset, bytes.length) };
}

/** readv/writev's position: a safe integer >= 0, else the fd's offset (node passes anything else as null). */
export function vectorAt(position: unknown, total: number, write: boolean): number | null | 'past' {
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) return null;
  return write ? writeAt(position, total, 'write') : readAt(position);
}

export type { Data };
