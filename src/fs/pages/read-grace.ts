/**
 * The read grace: retired pages that every replica has passed wait here
 * until no NrFS client can still be copying them, before they are reused.
 *
 * A client's read asks its node for the refs of the pages it spans, and
 * copies them when the answer comes (client.ts). A page named in such an
 * answer may be displaced, and every replica pass its retiring entry,
 * before the copy: without a grace it could be reused under the copy, and
 * the read would have to be asked again, at a later state (which is what
 * made a pipelined write wait for the client's earlier reads, see
 * client-pipeline.ts). Each client id has a read fence (client-owners.ts:
 * LOW, the oldest read its client may still copy for; SERVED, one past
 * the last read its node began to serve, stored before the read looks at
 * any page).
 *
 * A batch of pages stamped with mark m and past `appliedEverywhere(m)` is
 * held with a snapshot of every LIVE client's SERVED, taken after that,
 * and freed once each of those clients' LOW reached its snapshot (or it is
 * no longer LIVE: a client that closed or died copies nothing).
 *
 * Why that suffices: a page p displaced by entry d is stamped with the
 * log's tail m > d, and once `appliedEverywhere(m)` every replica, the
 * clients' nodes included, has applied d. A read whose SERVED store the
 * snapshot missed began after the snapshot, on a node already past d: its
 * answer cannot name p. A read served before is counted in the snapshot
 * and has finished copying once LOW passed it. Reads sent and not yet
 * served hold nothing (a node that waits for pages itself, serving no
 * client meanwhile, would otherwise wait on its own clients).
 */
import type { ClientOwners } from '../client-owners.js';

interface Batch {
  refs: number[];
  sent: Int32Array;
}

export class ReadGrace {
  private readonly batches: Batch[] = [];
  private incoming: number[] = [];
  private held = 0;

  constructor(private readonly owners: ClientOwners) {}

  /** Pages waiting for the clients' reads. */
  get length(): number {
    return this.held + this.incoming.length;
  }

  /** A page every replica passed (collected until `seal`). */
  readonly add = (ref: number): void => {
    this.incoming.push(ref);
  };

  /** Snapshot the clients' fences for the pages added since the last seal (call after they were stamped). */
  seal(): void {
    if (this.incoming.length === 0) return;
    const sent = this.owners.newSnapshot();
    this.owners.readsServed(sent);
    this.batches.push({ refs: this.incoming, sent });
    this.held += this.incoming.length;
    this.incoming = [];
  }

  /** Hand the pages of every batch whose reads are done to `free`, oldest first; returns how many. */
  release(free: (ref: number) => void): number {
    let n = 0;
    while (this.batches.length > 0 && this.owners.readsPassed(this.batches[0]!.sent)) {
      const { refs } = this.batches.shift()!;
      for (const ref of refs) free(ref);
      n += refs.length;
    }
    this.held -= n;
    return n;
  }
}
