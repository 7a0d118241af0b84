/**
 * The shared header and the value arena: untrusted memory.
 *
 * Header SharedArrayBuffer layout (byte offsets; every hot word on its own 64-byte line):
 *
 *   0   u32 magic 'NRKV'         4  u32 format version      8  u32 flags (bit 0: encrypted)
 *   12  u32 kdf (0 raw key, 1 passphrase)  16 u32 pwhash opslimit  20 u32 pwhash memlimit
 *   24  u32 maxKeyBytes          28 u32 maxValueBytes       32 u32 arena capacity
 *   64  salt (16 bytes)          80 key check value (32 bytes)
 *   128 i32 bump: next free arena offset (fresh space starts here)
 *   192 i64 seal-id counter: the last seal id handed out (each thread reserves SEAL_ID_BLOCK at a time)
 *   256 i32 free bytes on the free lists (statistics only)
 *   320 + 64·c  i64 free-list head of size class c: low 32 bits offset (0 = empty), high 32 bits ABA tag
 *
 * Arena SharedArrayBuffer: offsets [ARENA_START, capacity) hold blocks, 16-byte aligned;
 * offset 0 means "none". A free block's first 4 bytes link to the next free block of its class.
 *
 * Nothing here is trusted. Every offset read from shared memory is bounds-checked
 * before use (a bad free-list link drops the list, a bad bump pointer fails the
 * allocation), so corruption can make a block overlap a live one (whose next get
 * then fails verification) or leak space, but never reach outside the arena or loop.
 * Free lists are lock-free Treiber stacks with a tag against ABA: a thread that dies
 * mid-operation leaves no lock behind.
 */
import { ArenaFullError, KvConfigError } from './errors.js';

export const MAGIC = 0x564b524e;
export const FORMAT = 1;
export const H_MAGIC = 0;
export const H_FORMAT = 4;
export const H_FLAGS = 8;
export const H_KDF = 12;
export const H_OPS = 16;
export const H_MEM = 20;
export const H_MAX_KEY = 24;
export const H_MAX_VALUE = 28;
export const H_CAPACITY = 32;
export const H_SALT = 64;
export const H_KCV = 80;
export const H_BUMP = 128;
const H_VERSION = 192;
const H_FREE_BYTES = 256;
export const H_HEADS = 320;

export const ARENA_START = 64;
const ALIGN = 16;
/**
 * Seal ids a thread reserves from the shared counter at once: one contended
 * atomic add (and its BigInt boxing) per this many puts, not per put. A seal
 * id only names a ciphertext in its AD (it orders nothing), so ids unused at
 * detach are simply skipped.
 */
export const SEAL_ID_BLOCK = 64;
const SEAL_ID_BLOCK_BIG = BigInt(SEAL_ID_BLOCK);
/**
 * Size classes: 16..1024 bytes in steps of 16 (64 classes), 1280..16384 in
 * steps of 256 (60 classes), then powers of two 32 KiB..2 MiB (7 classes):
 * at most 1/16 waste above 1 KiB (a 1 KiB value sealed is 1064 bytes: a
 * 1280-byte block), at most 2x only for values above 16 KiB.
 */
const SMALL_CLASSES = 64;
const MEDIUM_CLASSES = 60;
export const CLASSES = SMALL_CLASSES + MEDIUM_CLASSES + 7;
export const MAX_BLOCK_BYTES = 2048 << 10;
export const HEADER_BYTES = H_HEADS + 64 * CLASSES;

/**
 * A free-list head word: the offset of the first free block (low 32 bits)
 * and an ABA tag, bumped by every push and pop (high bits). The tag keeps
 * TAG_BITS bits so that the whole word is below 2^53: it converts to and
 * from a Number exactly, one BigInt per conversion instead of one per
 * BigInt operator (a pop or push cost ~300 ns of BigInt arithmetic). A
 * wrap needs 2^21 pushes and pops of one class while a thread sits between
 * its load and its CAS; even then (or when the word is corrupted) the
 * result is a bad list, which bounds checks and the values' AEAD catch.
 */
const TAG_BITS = 21;
const TAG_MASK = (1 << TAG_BITS) - 1;
const LOW = 2 ** 32;
const MAX_EXACT = 2 ** 53;

function splitHead(h: bigint): { link: number; tag: number } {
  // A word at or above 2^53 was not written by this code (a corrupted tag): read its low bits, tag 0.
  let v = Number(h);
  if (!(v >= 0 && v < MAX_EXACT)) v = Number(BigInt.asUintN(32, h));
  return { link: v % LOW, tag: Math.floor(v / LOW) };
}

function joinHead(link: number, tag: number): bigint {
  return BigInt((tag & TAG_MASK) * LOW + link);
}

export function classOf(bytes: number): number {
  if (bytes <= 1024) return Math.max(0, Math.ceil(bytes / 16) - 1);
  if (bytes <= 16384) return SMALL_CLASSES + Math.ceil((bytes - 1024) / 256) - 1;
  return SMALL_CLASSES + MEDIUM_CLASSES + Math.max(0, Math.ceil(Math.log2(bytes)) - 15);
}

export function classBytes(c: number): number {
  if (c < SMALL_CLASSES) return (c + 1) * 16;
  if (c < SMALL_CLASSES + MEDIUM_CLASSES) return 1024 + (c - SMALL_CLASSES + 1) * 256;
  return 32768 << (c - SMALL_CLASSES - MEDIUM_CLASSES);
}

/** The block size a value's stored bytes occupy. */
export function blockBytesFor(storedBytes: number): number {
  return classBytes(classOf(storedBytes));
}

export class Arena {
  readonly header: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly capacity: number;
  private readonly words: Int32Array;
  private readonly arenaWords: Int32Array;
  private readonly big: BigInt64Array;
  /** Free-list links found out of range (and dropped) by this thread. */
  repairs = 0;

  constructor(header: SharedArrayBuffer, arena: SharedArrayBuffer) {
    if (!(header instanceof SharedArrayBuffer) || !(arena instanceof SharedArrayBuffer) || header.byteLength < HEADER_BYTES) {
      throw new KvConfigError('not a KV handle: header and arena must be SharedArrayBuffers');
    }
    this.header = header;
    this.words = new Int32Array(header);
    this.big = new BigInt64Array(header);
    this.bytes = new Uint8Array(arena);
    this.arenaWords = new Int32Array(arena, 0, arena.byteLength >> 2);
    // The capacity comes from the buffer itself, not from (untrusted) header words.
    this.capacity = arena.byteLength & ~(ALIGN - 1);
  }

  static init(header: SharedArrayBuffer): void {
    Atomics.store(new Int32Array(header), H_BUMP >> 2, ARENA_START);
  }

  /** Allocate a block for `storedBytes`; returns its offset. */
  alloc(storedBytes: number): number {
    const c = classOf(storedBytes);
    const size = classBytes(c);
    const reused = this.pop(c, size);
    return reused !== 0 ? reused : this.bump(size);
  }

  /** Return a block no replica can reference any more. */
  free(off: number, storedBytes: number): void {
    const c = classOf(storedBytes);
    const size = classBytes(c);
    if (!this.inRange(off, size)) return;
    const at = (H_HEADS >> 3) + 8 * c;
    for (;;) {
      const h = Atomics.load(this.big, at);
      const { link, tag } = splitHead(h);
      this.arenaWords[off >> 2] = link;
      if (Atomics.compareExchange(this.big, at, h, joinHead(off, tag + 1)) === h) break;
    }
    Atomics.add(this.words, H_FREE_BYTES >> 2, size);
  }

  /** This thread's reserved seal ids: next to hand out, and the end of the block. */
  private sealNext = 0;
  private sealEnd = 0;

  /** Next seal id: unique across the store's threads (from this thread's reserved block). */
  nextVersion(): number {
    if (this.sealNext === this.sealEnd) {
      const last = Number(Atomics.add(this.big, H_VERSION >> 3, SEAL_ID_BLOCK_BIG));
      this.sealNext = last + 1;
      this.sealEnd = last + 1 + SEAL_ID_BLOCK;
    }
    return this.sealNext++;
  }

  usedBytes(): number {
    return Math.max(0, Math.min(this.capacity, Atomics.load(this.words, H_BUMP >> 2)) - ARENA_START);
  }

  freeListBytes(): number {
    return Atomics.load(this.words, H_FREE_BYTES >> 2);
  }

  /** A block of `size` bytes at `off` lies inside the allocated part of the arena. */
  inRange(off: number, size: number): boolean {
    const bump = Atomics.load(this.words, H_BUMP >> 2);
    return (off & (ALIGN - 1)) === 0 && off >= ARENA_START && off + size <= this.capacity && off + size <= bump;
  }

  private pop(c: number, size: number): number {
    const at = (H_HEADS >> 3) + 8 * c;
    // Each failed CAS means another thread made progress; the bound only guards against a livelock we cannot rule out.
    for (let attempt = 0; attempt < 1000; attempt++) {
      const h = Atomics.load(this.big, at);
      const { link: off, tag } = splitHead(h);
      if (off === 0) return 0;
      if (!this.inRange(off, size)) {
        // A corrupted head: drop the list (its blocks leak) rather than trust it.
        this.repairs++;
        Atomics.compareExchange(this.big, at, h, joinHead(0, tag + 1));
        return 0;
      }
      let next = this.arenaWords[off >> 2]! >>> 0;
      if (next !== 0 && !this.inRange(next, size)) next = 0; // a corrupted link: drop the rest (it may also be a racing pop; the CAS decides)
      if (Atomics.compareExchange(this.big, at, h, joinHead(next, tag + 1)) === h) {
        Atomics.sub(this.words, H_FREE_BYTES >> 2, size);
        return off;
      }
    }
    return 0;
  }

  private bump(size: number): number {
    // A failed CAS means another thread moved bump: global progress, so the loop is lock-free.
    for (;;) {
      const seen = Atomics.load(this.words, H_BUMP >> 2);
      let b = (seen + ALIGN - 1) & ~(ALIGN - 1);
      if (seen < ARENA_START || b < ARENA_START) b = ARENA_START; // corrupted: may overlap live blocks, which then fail verification
      const nb = b + size;
      if (nb > this.capacity) throw new ArenaFullError(size, this.capacity - ARENA_START);
      if (Atomics.compareExchange(this.words, H_BUMP >> 2, seen, nb) === seen) return b;
    }
  }
}
