/**
 * The authenticated chain over the log, kept in each replica's enclave state.
 *
 * Every applied record advances it: count + 1, and
 * head = BLAKE2b-128 under the chain key of (previous head ‖ count ‖ the
 * record's AEAD tag). Every honest replica that applied the same records in
 * the same order holds the same (count, head). Each record also carries the
 * (count, head) its writer had applied when it wrote it; the records that
 * pair covers precede it in the log, so a replica checks that it has applied
 * at least that many and that its head at that count matches. A record
 * dropped, reordered, replayed or injected before a writer's known point
 * fails at that writer's next record on every replica.
 */
import type { Cipher } from './crypto.js';

/** Heads kept for checking records whose writer lagged behind (by count modulo this). */
export const CHAIN_RING = 1024;

export class Chain {
  count = 0;
  /** The head as a 16-char latin1 string ('' in a plaintext store, which has no chain key). */
  head = '';
  private readonly ring: string[] = new Array<string>(CHAIN_RING).fill('');
  /** The count each ring slot's head belongs to (-1: none): after a restore most slots hold nothing. */
  private readonly ringCount = new Float64Array(CHAIN_RING).fill(-1);
  private readonly scratch = Buffer.alloc(16 + 8 + 16);
  private readonly out = Buffer.alloc(16);

  /** Advance over one applied record whose authenticator (AEAD tag) is `auth`. */
  advance(cipher: Cipher, auth: string): void {
    this.count++;
    if (!cipher.secure) return;
    const b = this.scratch;
    b.write(this.head.length === 16 ? this.head : '\0'.repeat(16), 0, 'latin1');
    b.writeDoubleLE(this.count, 16);
    b.write(auth, 24, 'latin1');
    cipher.tagInto('chain', b, this.out);
    this.head = this.out.toString('latin1');
    this.ring[this.count % CHAIN_RING] = this.head;
    this.ringCount[this.count % CHAIN_RING] = this.count;
  }

  /** The head after `n` records, if remembered ('' for n = 0); undefined when too old or from before a restore. */
  headAt(n: number): string | undefined {
    if (n === this.count) return this.head;
    if (n === 0) return '';
    if (n > this.count || this.ringCount[n % CHAIN_RING] !== n) return undefined;
    return this.ring[n % CHAIN_RING];
  }

  /** The heads still remembered, oldest first, as parallel arrays (a snapshot carries them). */
  recent(): { counts: number[]; heads: string[] } {
    const counts: number[] = [];
    const heads: string[] = [];
    for (let n = Math.max(1, this.count - CHAIN_RING + 1); n <= this.count; n++) {
      if (this.ringCount[n % CHAIN_RING] !== n) continue;
      counts.push(n);
      heads.push(this.ring[n % CHAIN_RING]!);
    }
    return { counts, heads };
  }

  /**
   * Start from a snapshot's (count, head) and the heads it remembered before
   * it (`recent()` of its provider), so a receiver can check the snapshot
   * extends its own chain and later records' known points are checked by
   * head, not only by count. Throws on a shape that `recent()` cannot make.
   */
  static at(count: number, head: string, counts: readonly number[] = [], heads: readonly string[] = []): Chain {
    const c = new Chain();
    if (!Array.isArray(counts) || !Array.isArray(heads) || counts.length !== heads.length || counts.length > CHAIN_RING) throw new RangeError('chain heads');
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      const h = heads[i]!;
      if (!Number.isSafeInteger(n) || n < 1 || n > count || n <= count - CHAIN_RING || (i > 0 && n <= counts[i - 1]!) || typeof h !== 'string' || h.length !== head.length) throw new RangeError('chain heads');
      if (n === count && h !== head) throw new RangeError('chain heads');
      c.ring[n % CHAIN_RING] = h;
      c.ringCount[n % CHAIN_RING] = n;
    }
    c.count = count;
    c.head = head;
    c.ring[count % CHAIN_RING] = head;
    c.ringCount[count % CHAIN_RING] = count;
    return c;
  }
}
