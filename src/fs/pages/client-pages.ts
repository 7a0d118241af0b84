/**
 * A client's share of the page pool (client.ts): pages it takes for its
 * writes, TAKEN under its client owner id. A client applies no log entry,
 * so it never installs nor retires a page (its node's replica does, and
 * that replica's thread frees what it retired); what it holds is only:
 *
 * - its cache: pages it took and no entry installed (a write that failed,
 *   lost a conflict, or took more than it used), reused by its next write;
 * - doubtful pages: those of a write whose outcome it cannot learn (its
 *   node went away after the op was sent, or the op timed out). The client
 *   cannot catch up to find out, so it never reuses them: at close they
 *   stay TAKEN under its owner id, which it leaves DEAD for a replica to
 *   sweep (NrFs.releaseClients: once no op of the client can still reach
 *   the log, a page still TAKEN was never installed).
 *
 * At close, cached pages go back to the shared stack (FREE).
 */
import { genOfRef, indexOfRef, type SharedPages, TAKEN, word } from './pool.js';
import type { WriterPages } from '../writer.js';

export class ClientPages implements WriterPages {
  private readonly cache: number[] = [];
  private doubtful: number[] = [];

  constructor(
    readonly pool: SharedPages,
    /** This client's owner id in the pool's STATE words. */
    readonly owner: number,
  ) {}

  take(): number {
    return this.cache.pop() ?? this.pool.take(this.owner);
  }

  give(ref: number): void {
    this.cache.push(ref);
  }

  doubt(refs: readonly number[]): void {
    for (const r of refs) this.doubtful.push(r);
  }

  /** Never resolved by the client itself (see above): a write does not wait on them. */
  get hasDoubts(): boolean {
    return false;
  }

  resolveDoubtful(): void {}

  get doubts(): number {
    return this.doubtful.length;
  }

  // Nothing to stamp or free: retired pages belong to the replica that retired them.
  flush(): void {}
  steal(): number {
    return 0;
  }
  reclaim(): number {
    return 0;
  }

  get backlog(): number {
    return 0;
  }

  held(): { retiring: number; cached: number } {
    return { retiring: 0, cached: this.cache.length };
  }

  /** The client closes: its cached pages go back to every thread. Returns the doubtful pages it leaves behind (TAKEN under its id). */
  leave(): number {
    for (const ref of this.cache) this.pool.release(indexOfRef(ref), word(genOfRef(ref), this.owner, TAKEN));
    this.cache.length = 0;
    return this.doubtful.length;
  }
}
