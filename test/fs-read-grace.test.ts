/**
 * The read grace (src/fs/pages/read-grace.ts): a retired page that every
 * replica passed is not reused while a client's read served before the
 * grace's snapshot may still copy it; reads served after, and reads sent
 * but not yet served, do not hold it; a client that is no longer LIVE
 * (closed, declared dead) holds nothing.
 */
import { describe, expect, it } from 'vitest';
import { ClientOwners, createClientOwners } from '../src/fs/client-owners.js';
import { NO_REPLICAS, PageHolder } from '../src/fs/pages/holder.js';
import { createPool, genOfRef, indexOfRef, LIVE, RETIRING, SharedPages, stOf, TAKEN, word } from '../src/fs/pages/pool.js';
import { ReadGrace } from '../src/fs/pages/read-grace.js';

/** Slot 0's holder over a fresh pool, with a client table of 2 ids (1 and 2) and thread 5's client on id 1. */
function setup() {
  const pool = new SharedPages(createPool(64));
  const owners = new ClientOwners(createClientOwners(1, 2));
  expect(owners.claim(5)).toBe(1);
  const fence = owners.fence(1);
  const holder = new PageHolder(pool, new ReadGrace(owners));
  holder.bind(0, NO_REPLICAS, () => {});
  /** A page installed by an entry (LIVE), then displaced on this replica (retired by slot 0). */
  const retired = (): number => {
    const ref = pool.take(3);
    const i = indexOfRef(ref);
    expect(pool.cas(i, word(genOfRef(ref), 3, TAKEN), word(genOfRef(ref), 0, LIVE))).toBe(true);
    holder.retire(ref);
    return ref;
  };
  /** The node begins to serve read n of the client on id 1. */
  const serve = (n: number): void => owners.served(1, n);
  return { pool, owners, fence, holder, retired, serve };
}

describe('read grace', () => {
  it('keeps a retired page RETIRING while a read served before its snapshot is copying, frees it once LOW passes', () => {
    const { pool, fence, holder, retired, serve } = setup();
    expect(fence.send()).toBe(0); // read 0 in flight
    serve(0); // and served: its answer may name the page
    const ref = retired();
    expect(holder.reclaim(true)).toBe(0);
    expect(stOf(pool.state(indexOfRef(ref)))).toBe(RETIRING);
    expect(holder.held()).toEqual({ retiring: 1, cached: 0 });
    fence.send(); // read 1, served after the snapshot: it does not hold the page
    serve(1);
    fence.low(1); // read 0 copied; read 1 still in flight
    expect(holder.reclaim(true)).toBe(1);
    // Freed into this thread's cache: TAKEN by slot 0, one generation on.
    expect(pool.state(indexOfRef(ref))).toBe(word(genOfRef(ref) + 1, 0, TAKEN));
    expect(holder.held()).toEqual({ retiring: 0, cached: 1 });
  });

  it('frees at once when no read is in flight or the reads are not served yet, and ignores a client that is no longer LIVE', () => {
    const { owners, fence, holder, retired, serve } = setup();
    retired();
    expect(holder.reclaim(true)).toBe(1);
    fence.send(); // sent, not served (its node may be waiting for pages itself): holds nothing
    retired();
    expect(holder.reclaim(true)).toBe(1);
    serve(0); // served, and never copied: its client is killed
    retired();
    expect(holder.reclaim(true)).toBe(0);
    expect(owners.markDead(5)).toEqual([1]);
    expect(holder.reclaim(true)).toBe(1);
    expect(holder.held().retiring).toBe(0);
  });

  it('a reused id continues its counters with nothing in flight, compares them modulo 2^32, and SERVED never moves back', () => {
    const sab = createClientOwners(1, 1);
    const owners = new ClientOwners(sab);
    owners.claim(7);
    const first = owners.fence(1);
    // Near the wrap: the id's earlier client sent and was served 2^31 - 1 reads.
    while (first.sent !== 3) first.send();
    owners.served(1, 0x7ffffffe);
    const w = new Int32Array(sab);
    Atomics.store(w, w.indexOf(3), 0x7fffffff); // SENT (the only word holding 3)
    const fence = owners.fence(1); // a new client on the id: LOW = SERVED = SENT, nothing in flight
    expect(fence.sent).toBe(0x7fffffff);
    const snap = owners.newSnapshot();
    owners.served(1, fence.send());
    owners.served(1, fence.send());
    owners.served(1, 5); // a forged or late read number behind: ignored
    owners.served(9, 0); // an id outside the table: ignored
    owners.readsServed(snap); // SERVED wrapped past 2^31: -2^31 + 1
    expect([...snap]).toEqual([1, -0x7fffffff]);
    expect(owners.readsPassed(snap)).toBe(false);
    fence.low(fence.sent);
    expect(owners.readsPassed(snap)).toBe(true);
    expect(() => owners.fence(2)).toThrow(RangeError);
  });
});
