/**
 * The shared open table: which inodes each replica slot's thread holds
 * open, published so that an unlink (or a rename over a file, or an rmdir)
 * can tell whether to free the inode it removes or keep it as an orphan,
 * without open and close being logged ops. See docs/fs.md, "Opens without
 * log entries", for the protocol and why its races are safe.
 *
 * One SharedArrayBuffer (byte offsets; every word is an i32 read and
 * written with Atomics only; each field another thread reads often is on
 * its own 64-byte line):
 *
 *   0    u32 MAGIC 'NROT'
 *   4    u32 SLOTS: regions in the table (the handle's maxReplicas)
 *   64   i32 TOKENS: owner tokens handed out (one per attach)
 *   96   i32 ORPHANINGS: bumped after every op that may have made an orphan
 *        (and before a dead slot's orphans are swept): a close whose
 *        thread saw it unchanged since its open asks nothing (see
 *        OpenProtocol.closed)
 *   128  regions[SLOTS], REGION_BYTES each; region r belongs to replica slot r:
 *        +0    i32 OWNER    token of the thread attached in the slot (0: none)
 *        +64   i32 PENDING  odd k while a logged open with token k is in flight, even otherwise
 *        +128  i32 ANNOUNCE key of the inode an unlink/rmdir/rename of this slot may free (0: none)
 *        +192  i32 HWM      fds [0, HWM) may be non-zero below
 *        +256  i32 FD[MAX_FDS] key of the inode fd i of this slot is open on (0: closed)
 *
 * Only a region's owner writes it (and whoever discards a dead slot's region:
 * `discard`, after the thread is gone). Readers treat every word as data to
 * validate: HWM is clamped to the array, a key outside (0, 2^31) never
 * matches, a PENDING token only counts with the replicated record of the
 * logged open that used it (see `OpenProtocol.holds`). Raised or forged
 * words only keep a file longer; a region's own words lowered by someone
 * other than its owner (HWM, an FD cleared) can hide an open fd, so NrFS
 * assumes, as for its log, that only its own threads write this table.
 *
 * A key is an inode number folded into a positive i32 (`keyOf`): inode
 * numbers grow without bound, so two inodes 2^31 - 1 apart share a key. A
 * shared key only makes an inode look open that is not (the safe way round:
 * it is kept as an orphan and reaped later), never the other way.
 */
import { FsError } from './errors.js';

export const MAX_FDS = 65536;
export const FIRST_FD = 3;
const MAGIC = 0x544f524e;
const KEY_MOD = 0x7fffffff;

const H_MAGIC = 0;
const H_SLOTS = 1;
const H_TOKENS = 64 >> 2;
const H_ORPHANINGS = 96 >> 2;
const HEADER_BYTES = 128;

const R_OWNER = 0;
const R_PENDING = 64 >> 2;
const R_ANNOUNCE = 128 >> 2;
const R_HWM = 192 >> 2;
const R_FDS = 256 >> 2;
export const REGION_BYTES = 256 + 4 * MAX_FDS;
const REGION_WORDS = REGION_BYTES >> 2;

/** An inode number as a table key: a positive i32 (inode numbers start at 1). */
export function keyOf(ino: number): number {
  return ino <= KEY_MOD ? ino : ((ino - 1) % KEY_MOD) + 1;
}

/** The inode numbers below `end` that share `ino`'s key, `ino` included (usually just it). */
export function sameKey(ino: number, end: number): number[] {
  const out: number[] = [];
  for (let v = keyOf(ino); v < end; v += KEY_MOD) out.push(v);
  return out;
}

export function createOpenTable(slots: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(HEADER_BYTES + slots * REGION_BYTES);
  const w = new Int32Array(sab);
  w[H_MAGIC] = MAGIC;
  w[H_SLOTS] = slots;
  return sab;
}

export class OpenTable {
  private readonly w: Int32Array;
  readonly slots: number;

  constructor(sab: SharedArrayBuffer) {
    const w = new Int32Array(sab);
    const slots = Atomics.load(w, H_SLOTS);
    if (Atomics.load(w, H_MAGIC) !== MAGIC || !(slots > 0 && HEADER_BYTES + slots * REGION_BYTES <= sab.byteLength)) {
      throw new FsError('EINVAL', 'open', undefined, undefined, 'not an NrFS open table');
    }
    this.w = w;
    this.slots = slots;
  }

  private base(slot: number): number {
    return (HEADER_BYTES >> 2) + slot * REGION_WORDS;
  }

  // ---- the owner's side ---------------------------------------------------------------

  /** Take slot `slot` for a new owner: a fresh token, the region cleared first (see `discard`). */
  claim(slot: number): number {
    this.discard(slot);
    const token = (Atomics.add(this.w, H_TOKENS, 1) + 1) | 0 || 1;
    Atomics.store(this.w, this.base(slot) + R_OWNER, token);
    return token;
  }

  /** The ORPHANINGS count (wraps). */
  orphanings(): number {
    return Atomics.load(this.w, H_ORPHANINGS);
  }

  /** An op may have made an orphan (call after it is in the log, before looking for its holders). */
  orphaned(): void {
    Atomics.add(this.w, H_ORPHANINGS, 1);
  }

  /** Is `token` still the owner of `slot` (not discarded for a thread presumed dead)? */
  owns(slot: number, token: number): boolean {
    return Atomics.load(this.w, this.base(slot) + R_OWNER) === token;
  }

  /** fd `fd` of `slot` is open on the inode with key `key` (the HWM is raised before the entry is written). */
  publish(slot: number, fd: number, key: number): void {
    const b = this.base(slot);
    if (Atomics.load(this.w, b + R_HWM) <= fd) Atomics.store(this.w, b + R_HWM, fd + 1);
    Atomics.store(this.w, b + R_FDS + fd, key);
  }

  unpublish(slot: number, fd: number): void {
    Atomics.store(this.w, this.base(slot) + R_FDS + fd, 0);
  }

  setPending(slot: number, token: number): void {
    Atomics.store(this.w, this.base(slot) + R_PENDING, token);
  }

  announce(slot: number, key: number): void {
    Atomics.store(this.w, this.base(slot) + R_ANNOUNCE, key);
  }

  /**
   * Clear a region: its fds, pending open and announcement. For the slot's
   * next owner and for a live thread releasing the slot of a thread that
   * died. Returns the fds that were still open in it.
   */
  discard(slot: number): number {
    const b = this.base(slot);
    const w = this.w;
    const hwm = this.hwm(b);
    let open = 0;
    for (let fd = 0; fd < hwm; fd++) if (Atomics.exchange(w, b + R_FDS + fd, 0) !== 0) open++;
    Atomics.store(w, b + R_HWM, 0);
    Atomics.store(w, b + R_PENDING, 0);
    Atomics.store(w, b + R_ANNOUNCE, 0);
    Atomics.store(w, b + R_OWNER, 0);
    return open;
  }

  // ---- readers ------------------------------------------------------------------------

  private hwm(b: number): number {
    const h = Atomics.load(this.w, b + R_HWM);
    return h > 0 ? (h < MAX_FDS ? h : MAX_FDS) : 0;
  }

  /** The PENDING word of `slot` (odd: a logged open with this token is in flight). */
  pending(slot: number): number {
    return Atomics.load(this.w, this.base(slot) + R_PENDING);
  }

  /** Does some slot other than `self` announce an unlink that may free the inode with key `key`? */
  announced(self: number, key: number): boolean {
    const w = this.w;
    for (let s = 0; s < this.slots; s++) {
      if (s !== self && Atomics.load(w, this.base(s) + R_ANNOUNCE) === key) return true;
    }
    return false;
  }

  /** Does some fd of `slot` name the key `key`? */
  hasKey(slot: number, key: number): boolean {
    const w = this.w;
    const b = this.base(slot);
    const end = b + R_FDS + this.hwm(b);
    for (let i = b + R_FDS; i < end; i++) if (Atomics.load(w, i) === key) return true;
    return false;
  }

  /** @internal Tests: write a raw word of a region (shared memory is untrusted: readers must cope). */
  poke(slot: number, word: 'hwm' | 'pending' | 'announce' | number, value: number): void {
    const off = word === 'hwm' ? R_HWM : word === 'pending' ? R_PENDING : word === 'announce' ? R_ANNOUNCE : R_FDS + word;
    Atomics.store(this.w, this.base(slot) + off, value);
  }
}
