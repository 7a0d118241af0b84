/**
 * A census of an NrFS page pool, read from its shared STATE words: how many
 * pages are LIVE (named by page tables), RETIRING, and TAKEN under each
 * owner id. Tests compare it with what the surviving data needs, to see
 * that nothing leaked.
 */
import type { NrFsHandle } from '../../src/fs/index.js';
import { LIVE, ownerOf, RETIRING, stOf, TAKEN } from '../../src/fs/pages/pool.js';

export interface PoolCensus {
  live: number;
  retiring: number;
  /** TAKEN pages per owner id (owners with none are absent). */
  taken: Record<number, number>;
}

export function poolCensus(h: NrFsHandle): PoolCensus {
  const words = new Int32Array(h.pool.meta);
  const out: PoolCensus = { live: 0, retiring: 0, taken: {} };
  for (let i = 0; i < h.pool.data.byteLength / 4096; i++) {
    const w = Atomics.load(words, 64 + i);
    if (stOf(w) === LIVE) out.live++;
    else if (stOf(w) === RETIRING) out.retiring++;
    else if (stOf(w) === TAKEN) out.taken[ownerOf(w)] = (out.taken[ownerOf(w)] ?? 0) + 1;
  }
  return out;
}
