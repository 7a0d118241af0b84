/**
 * Encoding write ops into log entries.
 *
 * A write op is encoded once by the replica that issues it, into that
 * worker's private staging buffer (`OpWriter`), and copied into the shared
 * log with one `set()` per batch. Other replicas decode it in place from the
 * log's own bytes (`OpReader`): no intermediate copy, no allocation beyond
 * what the decoded values themselves need. The issuing replica applies the
 * arguments it still holds, so a codec must carry them exactly: the writer's
 * primitives refuse what they would change (a number out of a field's range
 * or not an integer, -0 in an integer field, a string with a lone surrogate,
 * which UTF-8 would turn into U+FFFD), and a codec that cannot promise an
 * exact round trip sets `applyDecoded`, so the issuing replica applies the
 * decoded bytes like every other replica. `v8Codec` does: a class instance
 * loses its prototype and a getter is read once.
 *
 * Two codecs ship: `v8Codec` (any structured-cloneable args, ~1.5 µs per op
 * per side) and hand-written binary codecs built from `OpWriter`/`OpReader`.
 */
import { deserialize, serialize } from 'node:v8';
import { DecodeError } from './errors.js';

const utf8 = new TextEncoder();

/** An OpWriter's default limit: its buffer may grow to 1 GiB. */
export const NO_WRITER_LIMIT = 1 << 30;

/** @internal The op being encoded would pass its writer's `limit`: the encode site reports it as OpTooLargeError. */
export class WriterLimitError extends RangeError {
  constructor(readonly need: number) {
    super(`the op needs at least ${need} bytes of its buffer, past its limit`);
  }
}

/** Growable private byte buffer that ops are encoded into. */
export class OpWriter {
  /** @internal */ bytes: Uint8Array;
  /** @internal */ view: DataView;
  /** @internal */ words: Int32Array;
  /** @internal */ pos = 0;
  /**
   * @internal The position the writer refuses to grow past
   * (`WriterLimitError`): an encode site sets it to where the op must end,
   * so an op too large for its carrier fails before its bytes are allocated.
   */
  limit: number;

  constructor(initialBytes = 4096, limit = NO_WRITER_LIMIT) {
    this.bytes = new Uint8Array(initialBytes);
    this.view = new DataView(this.bytes.buffer);
    this.words = new Int32Array(this.bytes.buffer);
    this.limit = limit;
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    // The growth path is a call of its own, so that this check inlines into every field writer.
    if (need > this.bytes.length) this.grow(need);
  }

  // The fixed-size field writers below check room themselves rather than
  // call ensure(): inside a large encode, TurboFan ran out of inlining
  // budget and called ensure() out of line, ~20 instructions a field
  // (callgrind, bench/sync-write-cost.mjs batch: 1322 -> 1227 per put).

  private grow(need: number): void {
    if (need > this.limit) throw new WriterLimitError(need);
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    this.replaceBuffer(Math.min(size, Math.max(need, this.limit)));
  }

  private replaceBuffer(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
    this.words = new Int32Array(next.buffer);
  }

  /** @internal Claim 4 bytes, written later (an op header, patched once its length is known). */
  skip4(): void {
    const p = this.pos;
    if (p + 4 > this.bytes.length) this.grow(p + 4);
    this.pos = p + 4;
  }

  /** @internal Once empty, give back a buffer grown past `above` bytes, down to `to` (one large batch must not pin its memory for ever). */
  shrinkIfEmpty(above: number, to: number): void {
    if (this.pos === 0 && this.bytes.length > above) this.replaceBuffer(to);
  }

  u8(v: number): void {
    if ((v & 0xff) !== v || Object.is(v, -0)) throw new RangeError(`${String(v)} is not a u8 (an integer 0..255)`);
    const p = this.pos;
    if (p + 1 > this.bytes.length) this.grow(p + 1);
    this.bytes[p] = v;
    this.pos = p + 1;
  }
  u32(v: number): void {
    if ((v >>> 0) !== v || Object.is(v, -0)) throw new RangeError(`${String(v)} is not a u32 (an integer 0..2^32-1)`);
    const p = this.pos;
    if (p + 4 > this.bytes.length) this.grow(p + 4);
    this.view.setUint32(p, v, true);
    this.pos = p + 4;
  }
  i32(v: number): void {
    if ((v | 0) !== v || Object.is(v, -0)) throw new RangeError(`${String(v)} is not an i32 (an integer -2^31..2^31-1)`);
    const p = this.pos;
    if (p + 4 > this.bytes.length) this.grow(p + 4);
    this.view.setInt32(p, v, true);
    this.pos = p + 4;
  }
  /**
   * A u8 tag then an i32, with one room check: the common shape of a
   * tagged scalar (HashMap's integer keys and values). Inside an op's
   * encode TurboFan called `u8` out of line; this writes both fields inline.
   */
  tagI32(tag: number, v: number): void {
    if ((tag & 0xff) !== tag || Object.is(tag, -0)) throw new RangeError(`${String(tag)} is not a u8 (an integer 0..255)`);
    if ((v | 0) !== v || Object.is(v, -0)) throw new RangeError(`${String(v)} is not an i32 (an integer -2^31..2^31-1)`);
    const p = this.pos;
    if (p + 5 > this.bytes.length) this.grow(p + 5);
    this.bytes[p] = tag;
    this.view.setInt32(p + 1, v, true);
    this.pos = p + 5;
  }
  f64(v: number): void {
    // Any number round-trips (NaN, -0 included); anything else would arrive as a different value.
    if (typeof v !== 'number') throw new TypeError(`${typeof v} is not an f64 (a number)`);
    const p = this.pos;
    if (p + 8 > this.bytes.length) this.grow(p + 8);
    this.view.setFloat64(p, v, true);
    this.pos = p + 8;
  }
  /** A UTF-8 string with a u32 byte-length prefix; a lone surrogate is a TypeError (UTF-8 cannot carry it). */
  str(s: string): void {
    if (typeof s !== 'string') throw new TypeError(`${typeof s} is not a string`);
    // Worst case 3 bytes per UTF-16 unit; encodeInto writes in place. Near
    // the limit, the exact UTF-8 length decides, so a string that fits is not refused.
    const worst = 4 + s.length * 3;
    this.ensure(this.pos + worst > this.limit ? 4 + Buffer.byteLength(s, 'utf8') : worst);
    const start = this.pos + 4;
    let n: number;
    if (s.length <= 32 && isAscii(s)) {
      for (let i = 0; i < s.length; i++) this.bytes[start + i] = s.charCodeAt(i);
      n = s.length;
    } else {
      if (!s.isWellFormed()) throw new TypeError('a string with a lone surrogate cannot be carried as UTF-8 (it would become U+FFFD)');
      n = utf8.encodeInto(s, this.bytes.subarray(start)).written;
    }
    this.view.setUint32(this.pos, n, true);
    this.pos = start + n;
  }
  /** @internal Zero bytes up to the next multiple of 4 (op framing). */
  align4(): void {
    const pad = -this.pos & 3;
    if (pad === 0) return;
    this.ensure(pad);
    for (let i = 0; i < pad; i++) this.bytes[this.pos++] = 0;
  }
  /** Raw bytes copied from `src[from, from+len)`, no length prefix. */
  copyFrom(src: Uint8Array, from: number, len: number): void {
    this.ensure(len);
    this.bytes.set(src.subarray(from, from + len), this.pos);
    this.pos += len;
  }
  /** Raw bytes with a u32 length prefix. */
  bytesWithLength(b: Uint8Array): void {
    if (!(b instanceof Uint8Array)) throw new TypeError(`bytesWithLength takes a Uint8Array, got ${b === null ? 'null' : typeof b}`);
    this.ensure(4 + b.length);
    this.view.setUint32(this.pos, b.length, true);
    this.bytes.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Reads one encoded op in place from the shared log (or a client slot).
 * Those bytes are shared memory, so every field is checked against `end`
 * (the op's end, set by whoever frames the op) before it is read: a field or
 * a length prefix that would run past it throws `DecodeError` instead of
 * reading a neighbour's bytes or a silently shortened string.
 */
export class OpReader {
  /** @internal */ readonly bytes: Uint8Array;
  /** @internal */ readonly view: DataView;
  /** @internal */ readonly buffer: Buffer;
  /** @internal */ pos = 0;
  /** @internal */ end: number;

  /** `end` defaults to the whole of `bytes`; a reader reused op by op sets `pos` and `end` for each. */
  constructor(bytes: Uint8Array, end = bytes.byteLength) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = end;
  }

  /** Bytes left in the current op. */
  get remaining(): number {
    return this.end - this.pos;
  }
  /**
   * Claim the next `n` bytes of the op and return where they start; throws
   * `DecodeError` (nothing consumed) when fewer are left. For codecs that
   * read raw bytes themselves.
   */
  take(n: number, what = 'field'): number {
    const start = this.pos;
    // Also refuses a negative or non-integer n, and a pos outside [0, end].
    if (!(n >= 0 && start >= 0 && n <= this.end - start) || n !== Math.floor(n)) throw this.overrun(n, what);
    this.pos = start + n;
    return start;
  }
  private overrun(n: number, what: string): DecodeError {
    return new DecodeError(`op bytes do not decode: a ${what} of ${n} bytes at byte ${this.pos} runs past the op's end at byte ${this.end}`);
  }
  u8(): number {
    if (this.pos >= this.end) throw this.overrun(1, 'u8');
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    if (this.pos + 4 > this.end) throw this.overrun(4, 'u32');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    if (this.pos + 4 > this.end) throw this.overrun(4, 'i32');
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    if (this.pos + 8 > this.end) throw this.overrun(8, 'f64');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  str(): string {
    const start = this.lengthPrefixed('string (its u32 length prefix)');
    const n = this.pos - start;
    if (n <= 16) {
      // Short ASCII keys are the common case; building them by char code
      // avoids the native call that dominates a short utf8 decode.
      let ascii = true;
      for (let i = 0; i < n; i++) if (this.bytes[start + i]! > 0x7f) { ascii = false; break; }
      if (ascii) {
        let s = '';
        for (let i = 0; i < n; i++) s += String.fromCharCode(this.bytes[start + i]!);
        return s;
      }
    }
    return this.buffer.toString('utf8', start, start + n);
  }
  /** A private copy of length-prefixed raw bytes (the log slot will be reused). */
  bytesWithLength(): Uint8Array {
    const start = this.lengthPrefixed('byte string (its u32 length prefix)');
    return this.bytes.slice(start, this.pos);
  }
  /** @internal Read a u32 length prefix and claim that many bytes; returns where they start. */
  lengthPrefixed(what: string): number {
    const n = this.u32();
    if (n > this.end - this.pos) {
      this.pos -= 4;
      throw this.overrun(n, what);
    }
    const start = this.pos;
    this.pos += n;
    return start;
  }
  /** A view of the rest of the current op, valid only until the apply returns. */
  rest(): Uint8Array {
    const v = this.bytes.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}

/**
 * How one write op's arguments become bytes and back. `decode` may return the
 * same (reused) array every time: the runtime applies each decoded op before
 * decoding the next, and never keeps the array.
 */
export interface ArgsCodec<A extends readonly unknown[]> {
  encode(w: OpWriter, ...args: A): void;
  decode(r: OpReader): A;
  /**
   * The issuing replica applies `decode(encode(args))`, as every other
   * replica does, instead of the caller's own objects: set it when the round
   * trip may change what the apply sees. Costs one decode per local write.
   */
  readonly applyDecoded?: boolean;
  /**
   * The most arguments the codec carries. A call with more is refused with
   * `EncodeError` and nothing is written: the issuing replica would apply
   * the extra arguments, which no other replica ever sees. Leave it out
   * only for a codec that carries every argument it is given (`v8Codec`).
   */
  readonly arity?: number;
}

/** Zero-effort codec for structured-cloneable arguments (node:v8 serialize). */
export function v8Codec<A extends readonly unknown[]>(): ArgsCodec<A> {
  const tuple = v8ValueCodec<A>();
  return {
    encode: (w: OpWriter, ...args: A): void => tuple.encode(w, args),
    decode: (r: OpReader): A => tuple.decode(r),
    // Structured clone is not exact for what an apply may look at (prototypes, getters, non-enumerable and symbol keys).
    applyDecoded: true,
  };
}

/** How one value (an op's result, for clients) becomes bytes and back. */
export interface ValueCodec<T> {
  encode(w: OpWriter, value: T): void;
  decode(r: OpReader): T;
}

/** Zero-effort codec for one structured-cloneable value (node:v8 serialize). */
export function v8ValueCodec<T>(): ValueCodec<T> {
  return {
    encode(w: OpWriter, value: T): void {
      w.bytesWithLength(serialize(value));
    },
    decode(r: OpReader): T {
      const start = r.lengthPrefixed('v8 value (its u32 length prefix)');
      return deserialize(r.buffer.subarray(start, r.pos)) as T;
    },
  };
}

const NO_ARGS: [] = [];
/** Codec for write ops that take no arguments. */
export const noArgsCodec: ArgsCodec<[]> = {
  encode(): void {},
  decode: (): [] => NO_ARGS,
  arity: 0,
};

/** Refuse a call with more arguments than its codec carries (see `ArgsCodec.arity`). */
export function checkArity(codec: ArgsCodec<readonly unknown[]>, count: number): void {
  if (codec.arity !== undefined && count > codec.arity) throw arityError(codec, count);
}

/** @internal What checkArity throws. */
export function arityError(codec: ArgsCodec<readonly unknown[]>, count: number): RangeError {
  const arity = codec.arity;
  return new RangeError(`takes at most ${arity} argument${arity === 1 ? '' : 's'} (its codec carries no more), got ${count}`);
}
